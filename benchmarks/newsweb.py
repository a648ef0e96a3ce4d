"""A generated local news web: many sites, feeds and article pages, for benchmarks and the soak test.

Page *structure* comes from templates: real news pages (the news-pages dataset folder, read at
run time and never stored in the repository) whose headline, article paragraphs, dates and
structured data are cut out and replaced by placeholders; without the dataset a few built-in
synthetic layouts are used. Article *text* is generated: developments (a ban, a deadline, a
ruling …) reported by several sites in different words, syndicated copies of the same wire text,
and unrelated news, with entity names taken from the project's gazetteer. Each development has
its own specifics (long-tail content words, names, figures) that its reports share in varying
wordings and other developments do not; the words all reports share (stock frames, the domain's
vocabulary) are a minority, so TF-IDF similarity within and across developments is close to that
of real news (the news-events dataset: median cosine ~0.3 within an event, ~0.02-0.05 across).

Everything is a pure function of (seed, article number), so the server can generate any page on
demand and a process that knows the seed knows what was published. Sites are host names
``s<N>.newsweb.test``; point the Fetcher's resolver at 127.0.0.1 (``resolve``).

    web = NewsWeb(NewsWebSpec(sites=20, articles=2000), templates=TemplateBank.load(folder))
    with serve(web) as port: ...                      # threads, in this process
    with serve_in_process(spec, folder) as port: ...  # a separate process (benchmarks)
"""

from __future__ import annotations

import contextlib
import gzip
import json
import multiprocessing as mp
import os
import random
import re
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BODY_MARK, TITLE_MARK, HEAD_MARK = "\x01BODY\x01", "\x01TITLE\x01", "\x01HEAD\x01"
DOMAIN = "newsweb.test"

# ------------------------------------------------------------------------------------------ templates


@dataclass(frozen=True)
class Template:
    name: str
    html: str  # with BODY_MARK, TITLE_MARK (zero or more) and HEAD_MARK (once, inside <head>)

    def render(self, title: str, paragraphs: list[str], head: str) -> str:
        body = "".join(f"<p>{escape(p)}</p>\n" for p in paragraphs)
        return self.html.replace(HEAD_MARK, head).replace(TITLE_MARK, escape(title)).replace(BODY_MARK, body)


_BUILTIN = [
    ("plain", "<!doctype html><html lang=en><head><meta charset=utf-8><title>\x01TITLE\x01 | Daily Wire</title>"
     "\x01HEAD\x01</head><body><header><nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/tech'>"
     "Tech</a></nav></header><main><article><h1>\x01TITLE\x01</h1><div class=byline>By Staff</div>"
     "\x01BODY\x01</article><aside><h3>Most read</h3><ul><li><a href='/x'>Markets close higher</a></li>"
     "<li><a href='/y'>Weather: rain all week</a></li></ul></aside></main><footer>© Daily Wire · "
     "<a href='/privacy'>Privacy</a></footer></body></html>"),
    ("divs", "<!DOCTYPE html><html lang=en-GB><head><title>\x01TITLE\x01</title><link rel=stylesheet "
     "href=/s.css>\x01HEAD\x01</head><body><div id=top><div class=menu>Sections: UK · World · Business · "
     "Technology · Science</div></div><div class=wrap><div class=story><h1 class=headline>\x01TITLE\x01</h1>"
     "<div class=story-body>\x01BODY\x01</div><div class=share>Share this article</div></div><div class=rail>"
     "<div class=promo>Subscribe for unlimited access to all our journalism.</div></div></div>"
     "<div class=cookie>We use cookies to improve your experience.</div></body></html>"),
    ("heavy", "<!doctype html><html><head><meta name=viewport content='width=device-width'><title>\x01TITLE\x01"
     "</title>\x01HEAD\x01<script>window.dataLayer=[];" + "var a=1;" * 400 + "</script></head><body>"
     + "<div class=ad>Advertisement</div>" * 5 + "<section><h1>\x01TITLE\x01</h1><div class=content>\x01BODY\x01"
     "</div></section>" + "".join(f"<div class=teaser><a href='/t{i}'>Related story number {i} about "
                                  f"something else</a></div>" for i in range(40))
     + "<footer>Copyright. All rights reserved.</footer></body></html>"),
]


def _norm(text: str) -> str:
    return " ".join(text.split())


def template_from_page(html: str, label: dict) -> Template | None:
    """Cut a real page into a template: the labelled paragraphs become BODY_MARK, the headline TITLE_MARK.

    Structured data, dates and titles in <head> are removed (the generated article brings its own).
    Returns None when too little of the labelled body is found as <p> elements.
    """
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(html)
    wanted = {_norm(p) for p in (label.get("body") or "").split("\n\n") if len(_norm(p)) > 40}
    hits = [n for n in tree.css("p") if _norm(n.text()) in wanted]
    if len(hits) < 2:
        return None
    for node in tree.css("script[type*='ld+json'], time, meta[property], meta[name], meta[itemprop], "
                         "title, link[rel=canonical], link[rel=amphtml]"):
        node.decompose()
    hits[0].replace_with("\x01BODYNODE\x01")
    for n in hits[1:]:
        n.decompose()
    title = _norm(label.get("title") or "")
    for h in tree.css("h1"):
        if title and _norm(h.text()) == title:
            h.replace_with("\x01H1NODE\x01")
    head = tree.head
    if head is None:
        return None
    head.insert_child("\x01HEADNODE\x01")
    out = tree.html or ""
    if "\x01HEADNODE\x01" not in out:
        return None
    out = (out.replace("\x01BODYNODE\x01", BODY_MARK).replace("\x01HEADNODE\x01", "<title>" + TITLE_MARK
                                                                  + "</title>" + HEAD_MARK)
           .replace("\x01H1NODE\x01", "<h1>" + TITLE_MARK + "</h1>"))
    return Template(label.get("publisher") or label["file"], out)


@dataclass
class TemplateBank:
    templates: list[Template]
    source: str

    @classmethod
    def builtin(cls) -> TemplateBank:
        return cls([Template(n, h) for n, h in _BUILTIN], "builtin")

    @classmethod
    def load(cls, folder: str | Path | None, limit: int | None = None) -> TemplateBank:
        """Templates from the news-pages dataset folder (labels.jsonl + gzipped pages); built-in without it."""
        if not folder or not (Path(folder) / "labels.jsonl").is_file():
            return cls.builtin()
        root = Path(folder)
        out: list[Template] = []
        for line in (root / "labels.jsonl").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            label = json.loads(line)
            raw = (root / label["file"]).read_bytes()
            if label["file"].endswith(".gz"):
                raw = gzip.decompress(raw)
            try:
                t = template_from_page(raw.decode("utf-8", "replace"), label)
            except Exception:  # noqa: BLE001 - a page that does not cut cleanly is just skipped
                t = None
            if t is not None:
                out.append(t)
            if limit and len(out) >= limit:
                break
        return cls(out or cls.builtin().templates, f"{root} ({len(out)} pages)")


# ------------------------------------------------------------------------------------------ text

_WORDS = ("analysts investors market quarter growth officials company network customers service report "
          "statement data security industry government year month week plan review decision country region "
          "spokesperson systems equipment operators suppliers contracts providers devices software hardware "
          "infrastructure telecom carriers chips semiconductors exports imports trade rules policy agency "
          "minister parliament committee hearing court judge appeal lawyers documents filing deadline "
          "vendors schools hospitals cities councils budget costs prices revenue profit shares investors "
          "consumers users app platform cloud storage cameras drones vehicles batteries solar panels routers "
          "modems towers cables satellites ports cranes scanners").split()
_GLUE = ["the", "of", "and", "to", "in", "for", "with", "on", "that", "as", "by", "from", "after", "while"]


def _zipf_vocab(size: int = 6000) -> tuple[list[str], list[float]]:
    rng = random.Random(12345)
    syll = "ba be bi bo ca co da de di do fa fe ga go ha he la le li lo ma me mi mo na ne ni no pa pe " \
           "po ra re ri ro sa se si so ta te ti to va ve vi wa we za ze an en in on ar er or al el il st".split()
    words = list(dict.fromkeys(_WORDS + ["".join(rng.choice(syll) for _ in range(rng.randint(2, 4)))
                                         for _ in range(size)]))
    cum, total = [], 0.0
    for rank in range(1, len(words) + 1):
        total += 1.0 / (rank + 40)  # Zipf-Mandelbrot: content words (stop words gone) have a flat head
        cum.append(total)
    return words, cum


_VOCAB, _VOCAB_CUM = _zipf_vocab()


def _word(rng: random.Random) -> str:
    return rng.choices(_VOCAB, cum_weights=_VOCAB_CUM)[0]


_FILLER = [
    "The {w1} said the {w2} would be reviewed again next {w3}.",
    "Several {w1} told reporters that {n} {w2} had already been affected.",
    "According to a {w1} seen by this newspaper, the {w2} could cost about {n} million dollars.",
    "A {w1} for the {w2} declined to comment on the {w3} on {day}.",
    "Local {w1} have asked for more time to replace the {w2} and {w3}.",
    "Critics argued that the {w1} lacked detail about {w2} and {w3}.",
    "The {w1} has {n} {w2} in the region and employs about {n2} people.",
    "Last {w3}, the {w1} published figures showing {n} percent more {w2}.",
    "Industry groups warned that {w1} and {w2} could be delayed for months.",
    "It was not immediately clear how many {w1} would need new {w2}.",
    "Earlier this year, {n} {w1} signed a letter about {w2} and {w3}.",
    "Shares in the {w1} fell {n} percent in early trading on {day}.",
    "Officials expect a decision on the {w1} before the end of the {w2}.",
    "The {w1} employs {n2} people and sells {w2} in {n} countries.",
]
_ACTIONS = [
    ("banned", "ban", "{actor} banned {company} {thing} from {scope}, citing national security risks."),
    ("restricted", "restriction", "{actor} restricted the use of {company} {thing} in {scope} over security "
                                  "concerns."),
    ("added", "entity list", "{actor} added {company} to the entity list, barring exports of {thing} to it."),
    ("ordered", "divest", "{actor} ordered {company} to divest its {thing} business or face a ban in {scope}."),
    ("upheld", "court ruling", "A court upheld the ban on {company} {thing} in {scope}, rejecting the "
                               "company's challenge."),
]
_THINGS = ["equipment", "software", "devices", "cameras", "drones", "apps", "routers", "modules", "services"]
_SCOPES = ["government networks", "federal agencies", "the country's 5G networks", "public schools",
           "state devices", "critical infrastructure", "the domestic market"]
# The facts of one development, each in two wordings. {t<i>} are the development's own content words
# (the specifics real reports of one event share and reports of other events do not); the frames
# around them are the domain's common wording, which every development shares.
_FACTS = [
    ("The {noun} is tied to {t0} and {t1}, {actor} said of the decision on {company}.",
     "{actor} pointed to {t0} and {t1} when it acted against {company}."),
    ("The measure takes effect on {effective}, and operators must remove the {thing} by {deadline}.",
     "Operators in {place} have until {deadline} to remove the {thing}; the rules apply from {effective}."),
    ("{company} said it would challenge the decision, spokesperson {person} told {t2} {t3}.",
     "In a statement, {person}, a spokesperson for {company}, called the {noun} {t2} and cited {t3}."),
    ("The {noun} follows months of review by {actor} of {t4} {t5} and {t6}.",
     "{actor} had examined {t4}, {t5} and {t6} for months before acting."),
    ("Deputy director {official} said the {programme} programme would pay to replace {units} {thing} at "
     "{t7} {t8}.",
     "{official}, a deputy director in {place}, said {units} {thing} at {t7} {t8} would be replaced through "
     "the {programme} programme."),
    ("The replacement is expected to cost {money} million dollars, with {org} carrying most of the {t9} {t10}.",
     "{org} estimates the bill at {money} million dollars, mostly for {t9} {t10}."),
    ("{org} operates {t11} {t12} across {place} and uses {company} {thing} in {t13}.",
     "In {place}, {org} relies on {company} {thing} for its {t11} {t12} and {t13}."),
    ("{actor} said the restrictions would also cover new contracts for {t14} {t15}.",
     "New contracts for {t14} and {t15} fall under the restrictions too, {actor} said."),
    ("Critics including {critic} argued that the {noun} did little about {t16} {t17}.",
     "{critic}, a critic of the {noun}, said {t16} {t17} had been ignored."),
    ("A hearing on {t18} {t19} is scheduled in {place} next month.",
     "Lawmakers in {place} will discuss {t18} and {t19} at a hearing next month."),
]
# Unrelated news: one topic per article, its own content words in general-news frames.
_OTHER = [
    "The {t0} {t1} in {place} announced {t2} {t3} on {day}.",
    "{person} of the {org} said {t4} and {t5} would change by the end of the year.",
    "About {units} {t6} are expected at the {t7} event in {place}.",
    "Organisers said {t8} {t9} had cost {money} million dollars.",
    "{org} confirmed that {t10} {t11} will follow next month.",
    "Residents of {place} said the {t12} {t13} mattered more than {t14}.",
]
_N_TOPIC = 20  # content words per development (or unrelated article)


def _topic(rng: random.Random) -> dict[str, str]:
    """Specifics of one event: content words from the vocabulary's long tail, names and figures."""
    words = rng.sample(_VOCAB[300:], _N_TOPIC)
    out = {f"t{i}": w for i, w in enumerate(words)}
    out.update(place=_name(rng), official=f"{_name(rng)} {_name(rng)}", programme=_name(rng),
               person=f"{_name(rng)} {_name(rng)}", critic=f"{_name(rng)} {_name(rng)}",
               org=f"{_name(rng)} {rng.choice(['Telecom', 'Networks', 'Utilities', 'Transit', 'Health'])}",
               units=str(rng.randint(12, 4000)), money=str(rng.randint(2, 900)))
    return out


@lru_cache(maxsize=1)
def gazetteer_names() -> dict[str, list[str]]:
    """Names by role from the shipped gazetteer: subject companies/products, actors, laws."""
    data = tomllib.loads((REPO / "pipeline" / "data" / "gazetteer.toml").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {"company": [], "actor": [], "law": []}
    for e in data.get("entity", []):
        if e.get("type") in ("company", "product") and e.get("country") in ("CN", "RU", "IR", "KP", "HK"):
            out["company"].append(e["name"])
        elif e.get("type") == "government_body" and e.get("country") in ("US", "GB", "EU", "AU", "CA", "DE"):
            out["actor"].append(e["name"])
        elif e.get("type") == "law_or_rule":
            out["law"].append(e["name"])
    for k, fallback in (("company", "Huawei"), ("actor", "the Commerce Department"), ("law", "the rule")):
        out[k] = out[k] or [fallback]
    return out


_SYLLABLES = ("ka lo ven dra mi sor tel an ber qui zo ru pa nesh tor vil ma gre dun hal sia ro bex fen "
              "gor lis mur nav pel rak sut tam ul wes yor zil").split()


def _name(rng: random.Random) -> str:
    """A made-up proper name (~1.5 million of them: two developments rarely share one by chance)."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def _fmt_day(d: datetime) -> str:
    return f"{d:%B} {d.day}, {d.year}"


@dataclass(frozen=True)
class Article:
    number: int
    site: int
    path: str
    title: str
    paragraphs: list[str]
    published: datetime
    kind: str  # development | copy | other
    development: int | None = None


@dataclass(frozen=True)
class NewsWebSpec:
    """What the web holds: ``articles`` articles over ``sites`` sites, published ``interval`` apart."""

    sites: int = 10
    articles: int = 1000
    seed: int = 1
    start: datetime = datetime(2024, 3, 1, 6, tzinfo=UTC)
    interval: timedelta = timedelta(minutes=3)
    per_development: int = 3  # articles per development (different sites, different words)
    copy_share: float = 0.1  # syndicated copies of an earlier article
    other_share: float = 0.4  # unrelated news
    feed_items: int = 100  # newest items in each site's feed
    paragraphs: tuple[int, int] = (5, 12)
    one_host: bool = False  # all sites on 127.0.0.1 under /s<N>/ (for processes without a custom resolver)
    slow_every: int = 0  # every k-th article page answers after slow_delay seconds
    slow_delay: float = 0.0


class ArticleGen:
    """Article ``n`` of the web, a pure function of the spec."""

    def __init__(self, spec: NewsWebSpec) -> None:
        self.spec = spec
        self.names = gazetteer_names()

    def _rng(self, *key: object) -> random.Random:
        return random.Random(f"{self.spec.seed}:" + ":".join(map(str, key)))

    def _fill(self, rng: random.Random, tpl: str, day: datetime) -> str:
        """A background sentence: mostly Zipf-distributed words, now and then in one of the stock frames
        (a frame in every sentence would make all articles alike in their boilerplate)."""
        if rng.random() < 0.7:
            words = " ".join(_word(rng) if i % 2 else rng.choice(_GLUE) for i in range(rng.randint(9, 19)))
            return f"{words[0].upper()}{words[1:]}."
        w = [_word(rng) for _ in range(3)]
        sent = tpl.format(w1=w[0], w2=w[1], w3=w[2], n=rng.randint(2, 90), n2=rng.randint(100, 9000),
                          day=f"{day:%A}")
        # a clause of Zipf-distributed content words, so that articles share words like real ones do
        # (a few very often, most rarely) instead of repeating one small vocabulary
        extra = " ".join(_word(rng) if i % 2 else rng.choice(_GLUE) for i in range(rng.randint(4, 10)))
        return f"{sent[:-1]}, {extra}."

    def kind_of(self, n: int) -> str:
        r = self._rng("kind", n).random()
        if r < self.spec.copy_share and n > 10:
            return "copy"
        if r < self.spec.copy_share + self.spec.other_share:
            return "other"
        return "development"

    def article(self, n: int) -> Article:
        spec = self.spec
        rng = self._rng("article", n)
        published = spec.start + spec.interval * n
        site = rng.randrange(spec.sites)
        kind = self.kind_of(n)
        if kind == "copy":
            orig = self.article(max(0, n - 1 - rng.randrange(min(n, 20))))
            paras = list(orig.paragraphs)
            if len(paras) > 3 and rng.random() < 0.5:
                paras.pop()  # a copy cut short
            title = orig.title if rng.random() < 0.5 else f"{orig.title} (wire)"
            return Article(n, site, self._path(site, n, published), title, paras, published, "copy",
                           orig.development)
        n_par = rng.randint(*spec.paragraphs)
        if kind == "other":
            topic = _topic(self._rng("other", n))
            sents = [s.format(day=f"{published:%A}", **topic) for s in _OTHER]
            rng.shuffle(sents)
            title = sents[0].rstrip(".")[:90]
            return Article(n, site, self._path(site, n, published), title,
                           self._paragraphs(rng, sents, n_par, published), published, "other")
        dev = n // max(1, spec.per_development)
        drng = self._rng("development", dev)
        # a gazetteer company in a third of the developments, otherwise a company of its own: the
        # web publishes hundreds of developments a day, and 25 companies would each have several
        # a day, far more than any has in reality
        company = (drng.choice(self.names["company"]) if drng.random() < 1 / 3
                   else f"{_name(drng)} {drng.choice(['Technologies', 'Electronics', 'Semiconductor', 'Robotics'])}")
        actor = drng.choice(self.names["actor"])
        verb, noun, lede = drng.choice(_ACTIONS)
        thing, scope = drng.choice(_THINGS), drng.choice(_SCOPES)
        # the specifics of this development (content words, a place, people, figures): real events
        # differ in them, and they are what tells two developments about one company apart
        topic = _topic(drng)
        place = topic["place"]
        scope = f"{scope} in {place}"
        effective = published + timedelta(days=drng.randint(10, 200))
        deadline = effective + timedelta(days=drng.randint(30, 300))
        values = dict(topic, actor=actor, company=company, thing=thing, noun=noun,
                      effective=_fmt_day(effective), deadline=_fmt_day(deadline))
        # each report tells the lede and a few of the other facts, each in one of its wordings
        chosen = rng.sample(_FACTS, rng.randint(3, 5))
        facts = [rng.choice(f).format(**values) for f in chosen]
        facts = [s[0].upper() + s[1:] for s in facts]
        rng.shuffle(facts)
        # headlines name the development's own specifics; stock headline frames (the same words in
        # every development's headlines, weighted as headlines are) would make them all alike
        t = topic
        title = rng.choice([f"{actor} {verb} {company} {thing} in {place}",
                            f"{company} {thing} {verb} by {actor}",
                            f"{company} {noun} hits {t['t0']} {t['t1']} in {place}",
                            f"{t['official']} on {company} {noun}: {t['t2']} {t['t3']}",
                            f"{t['org']}, {t['t4']} and the {company} {noun}",
                            f"{place} {t['t5']} {t['t6']} after {company} {noun}"])
        title = title[0].upper() + title[1:]
        paras = self._paragraphs(rng, [lede.format(actor=actor, company=company, thing=thing, scope=scope)]
                                 + facts, n_par, published)
        return Article(n, site, self._path(site, n, published), title, paras, published, "development", dev)

    def _paragraphs(self, rng: random.Random, facts: list[str], n_par: int, day: datetime) -> list[str]:
        """``n_par`` paragraphs: the facts in order, spread out, among general background sentences."""
        paras: list[list[str]] = [[] for _ in range(n_par)]
        for i, f in enumerate(facts):
            paras[i * n_par // len(facts)].append(f)
        for p in paras:
            for _ in range(rng.randint(1, 2)):
                p.insert(rng.randrange(len(p) + 1), self._fill(rng, rng.choice(_FILLER), day))
        return [" ".join(p) for p in paras]

    @staticmethod
    def _path(site: int, n: int, when: datetime) -> str:
        return f"/{when:%Y/%m/%d}/story-{n}.html"


# ------------------------------------------------------------------------------------------ the web


@dataclass
class NewsWeb:
    """Serves feeds and pages of the spec; ``published`` (articles visible so far) can grow over time."""

    spec: NewsWebSpec
    templates: TemplateBank = field(default_factory=TemplateBank.builtin)
    published: int | None = None  # None: all spec.articles

    def __post_init__(self) -> None:
        self.gen = ArticleGen(self.spec)
        self._site_articles: dict[int, list[int]] = {}
        self._known = 0
        self._lock = threading.Lock()

    @staticmethod
    def host(site: int) -> str:
        return f"s{site}.{DOMAIN}"

    def visible(self) -> int:
        return self.spec.articles if self.published is None else min(self.published, self.spec.articles)

    def _index(self, upto: int) -> None:
        with self._lock:
            for n in range(self._known, upto):
                self._site_articles.setdefault(self.gen.article(n).site, []).append(n)
            self._known = max(self._known, upto)

    def site_articles(self, site: int) -> list[int]:
        self._index(self.visible())
        limit = self.visible()
        return [n for n in self._site_articles.get(site, []) if n < limit]

    def base(self, site: int, port: int) -> str:
        if self.spec.one_host:
            return f"http://127.0.0.1:{port}/s{site}"
        return f"http://{self.host(site)}:{port}"

    def feed_url(self, site: int, port: int) -> str:
        return f"{self.base(site, port)}/feed.xml"

    def article_url(self, n: int, port: int) -> str:
        a = self.gen.article(n)
        return f"{self.base(a.site, port)}{a.path}"

    def feed(self, site: int, port: int) -> str:
        base = self.base(site, port)
        items = []
        for n in reversed(self.site_articles(site)[-self.spec.feed_items:]):
            a = self.gen.article(n)
            items.append(f"<item><title>{escape(a.title)}</title><link>{base}{a.path}</link>"
                         f"<guid isPermaLink='false'>art-{n}</guid><pubDate>{format_datetime(a.published)}"
                         f"</pubDate></item>")
        return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Site {site}</title>"
                f"<link>{base}/</link><description>generated</description>{''.join(items)}</channel></rss>")

    def page(self, n: int, port: int) -> str:
        a = self.gen.article(n)
        tpl = self.templates.templates[(n * 7919 + a.site) % len(self.templates.templates)]
        iso = a.published.isoformat()
        url = f"{self.base(a.site, port)}{a.path}"
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
                         "datePublished": iso, "mainEntityOfPage": url})
        head = (f'<meta property="og:type" content="article"><meta property="og:title" content="{escape(a.title)}">'
                f'<meta property="article:published_time" content="{iso}"><link rel="canonical" href="{url}">'
                f'<script type="application/ld+json">{ld}</script>')
        return tpl.render(a.title, a.paragraphs, head)

    def delay(self, path: str) -> float:
        pm = re.search(r"/story-(\d+)\.html$", path)
        if pm and self.spec.slow_every and int(pm.group(1)) % self.spec.slow_every == 0:
            return self.spec.slow_delay
        return 0.0

    def respond(self, host: str, path: str, port: int) -> tuple[int, str, str]:
        if self.spec.one_host:
            m = re.match(r"/s(\d+)(/.*)$", path)
            if m is None:
                return (200, "text/plain", "User-agent: *\nAllow: /\n") if path == "/robots.txt" else (
                    404, "text/plain", "not found")
            path = m.group(2)
        else:
            m = re.fullmatch(rf"s(\d+)\.{re.escape(DOMAIN)}", host)
            if m is None:
                return 404, "text/plain", "unknown host"
        site = int(m.group(1))
        if path == "/feed.xml":
            return 200, "application/rss+xml", self.feed(site, port)
        if path == "/robots.txt":
            return 200, "text/plain", "User-agent: *\nAllow: /\n"
        pm = re.fullmatch(r"/\d{4}/\d\d/\d\d/story-(\d+)\.html", path)
        if pm and int(pm.group(1)) < self.visible() and self.gen.article(int(pm.group(1))).site == site:
            return 200, "text/html; charset=utf-8", self.page(int(pm.group(1)), port)
        return 404, "text/plain", "not found"


def _handler(web: NewsWeb) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
            path = self.path.split("?", 1)[0]
            wait = web.delay(path)
            if wait:
                time.sleep(wait)
            status, ctype, body = web.respond(host, path, self.server.server_address[1])
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return H


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@contextlib.contextmanager
def serve(web: NewsWeb) -> Iterator[int]:
    """Serve ``web`` from threads of this process on 127.0.0.1; yields the port."""
    server = _Server(("127.0.0.1", 0), _handler(web))
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _child(spec: NewsWebSpec, folder: str | None, cpus: set[int] | None, port_q: mp.Queue) -> None:
    if cpus:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cpus)
    web = NewsWeb(spec, TemplateBank.load(folder))
    web.site_articles(0)  # index every article before the clock starts
    server = _Server(("127.0.0.1", 0), _handler(web))
    port_q.put((server.server_address[1], web.templates.source, len(web.templates.templates)))
    server.serve_forever(poll_interval=0.1)


@contextlib.contextmanager
def serve_in_process(spec: NewsWebSpec, folder: str | None, cpus: set[int] | None = None
                     ) -> Iterator[tuple[int, str]]:
    """Serve the web from a separate process (optionally pinned to ``cpus``); yields (port, template info)."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(spec, folder, cpus, q), daemon=True)
    proc.start()
    try:
        port, source, count = q.get(timeout=300)
        yield port, f"{source}, {count} templates"
    finally:
        proc.terminate()
        proc.join(5)


async def resolve(host: str, port: int) -> list[str]:
    """Resolver for the Fetcher: every site of the news web is on 127.0.0.1."""
    return ["127.0.0.1"]


def sources_toml(sites: int, port: int, *, interval: str = "30m", max_articles: int = 100,
                 one_host: bool = False) -> str:
    """The ``[[source]]`` tables of the web's feeds."""
    web = NewsWeb(NewsWebSpec(sites=sites, articles=0, one_host=one_host))
    return "".join(f'\n[[source]]\nkey = "site-{i}"\nkind = "feed"\nurl = "{web.feed_url(i, port)}"\n'
                   f'interval = "{interval}"\nmax_articles = {max_articles}\n' for i in range(sites))

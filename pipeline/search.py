"""Full-text search over article titles and text: FTS5 on SQLite, tsvector + GIN on PostgreSQL.

Both backends get the same query language, parsed here and translated for each, so a query means
the same thing whichever database holds the articles:

    huawei ban              both words (AND is implicit)
    "entity list"           a phrase
    huawei OR zte           either (OR binds looser than AND)
    kaspersky -update       without a word (also: kaspersky NOT update)
    sanction*               a prefix
    (huawei OR zte) ban     grouping

Words are stemmed on both sides ("banned" finds "ban"). The index objects are created by the
Alembic revision 0002 (``articles_fts`` on SQLite, ``articles.search_vector`` on PostgreSQL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from pipeline.errors import UsageError

FTS_TABLE = "articles_fts"
PG_VECTOR_COLUMN = "search_vector"
PG_VECTOR_INDEX = "ix_articles_search_vector"
HIT_START, HIT_END = "\ue000", "\ue001"  # private-use marks around matched words in snippets
SYNTAX_HELP = ('words (all must match), "a phrase", OR, -word or NOT word, prefix*, and parentheses; '
               'e.g. "entity list" (huawei OR zte) -smartphone')


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic hook: the FTS objects of revision 0002 are not models, so comparisons skip them."""
    if type_ == "table" and name is not None and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    if type_ == "column" and name == PG_VECTOR_COLUMN and getattr(getattr(obj, "table", None), "name",
                                                                  None) == "articles":
        return False
    return not (type_ == "index" and name == PG_VECTOR_INDEX)


# ---------------------------------------------------------------- the query language


@dataclass(frozen=True)
class Term:
    word: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    words: str


@dataclass(frozen=True)
class And:
    positives: tuple[Node, ...]
    negatives: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Or:
    options: tuple[Node, ...]


Node = Term | Phrase | And | Or
_TOKEN = re.compile(r'\s*(?:(")|(\()|(\))|([^\s"()]+))')
_WORDISH = re.compile(r"\w", re.UNICODE)


def _bad(message: str) -> UsageError:
    return UsageError(f"search query: {message}. The syntax is: {SYNTAX_HELP}")


def _tokens(query: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None:  # pragma: no cover - the pattern matches any non-space character
            raise _bad(f"cannot read {query[pos:]!r}")
        if m.group(1):
            end = query.find('"', m.end())
            if end < 0:
                raise _bad("a quote is not closed")
            out.append(("phrase", query[m.end():end]))
            pos = end + 1
            continue
        if m.group(2):
            out.append(("(", "("))
        elif m.group(3):
            out.append((")", ")"))
        else:
            word = m.group(4)
            out.append(("op", word) if word in ("AND", "OR", "NOT") else ("word", word))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise _bad("the query is empty")
        node = self.or_expr()
        if self.peek() is not None:
            kind, value = self.peek()  # type: ignore[misc]
            raise _bad("a closing parenthesis has no opening one" if kind == ")" else f"unexpected {value!r}")
        return node

    def or_expr(self) -> Node:
        options = [self.and_expr()]
        while self.peek() == ("op", "OR"):
            self.take()
            if self.peek() is None or self.peek() in (("op", "OR"), (")", ")")):
                raise _bad("OR needs something on both sides")
            options.append(self.and_expr())
        return options[0] if len(options) == 1 else Or(tuple(options))

    def and_expr(self) -> Node:
        pos: list[Node] = []
        neg: list[Node] = []
        while True:
            tok = self.peek()
            if tok is None or tok == (")", ")") or tok == ("op", "OR"):
                break
            if tok == ("op", "AND"):
                self.take()
                if self.peek() is None or self.peek() in (("op", "OR"), ("op", "AND"), (")", ")")):
                    raise _bad("AND needs something on both sides")
                continue
            negate = False
            if tok == ("op", "NOT"):
                self.take()
                negate = True
                if self.peek() is None or self.peek()[0] in ("op", ")"):  # type: ignore[index]
                    raise _bad("NOT needs a word, phrase or group after it")
            node, minus = self.unary()
            (neg if negate or minus else pos).append(node)
        if not pos and not neg:
            if self.peek() == ("op", "OR"):
                raise _bad("OR needs something on both sides")
            raise _bad("an empty group or a missing term")
        if not pos:
            raise _bad("a query (or group) needs at least one word that must match, not only excluded ones")
        if len(pos) == 1 and not neg:
            return pos[0]
        return And(tuple(pos), tuple(neg))

    def unary(self) -> tuple[Node, bool]:
        kind, value = self.take()
        if kind == "(":
            inner = self.or_expr()
            if self.peek() != (")", ")"):
                raise _bad("a parenthesis is not closed")
            self.take()
            return inner, False
        if kind == "phrase":
            words = " ".join(value.split())
            if not _WORDISH.search(words):
                raise _bad("an empty phrase")
            return Phrase(words), False
        if kind == "word":
            minus = value.startswith("-") and len(value) > 1
            word = value[1:] if minus else value
            prefix = word.endswith("*")
            word = word.rstrip("*") if prefix else word
            if not _WORDISH.search(word):
                raise _bad(f"{value!r} has no letters or digits")
            if prefix and not re.fullmatch(r"\w+", word):
                raise _bad(f"a prefix search takes one plain word, not {value!r}")
            return Term(word, prefix), minus
        raise _bad(f"unexpected {value!r}")


def parse_query(query: str) -> Node:
    """The query as a tree; UsageError (with the syntax) when it cannot be read."""
    return _Parser(_tokens(query)).parse()


def to_fts5(node: Node) -> str:
    """An FTS5 MATCH expression; every word is quoted, so FTS5 operators in words are inert."""
    if isinstance(node, Term):
        quoted = '"' + node.word.replace('"', '""') + '"'
        return quoted + ("*" if node.prefix else "")
    if isinstance(node, Phrase):
        return '"' + node.words.replace('"', '""') + '"'
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(o) for o in node.options) + ")"
    expr = "(" + " AND ".join(to_fts5(p) for p in node.positives) + ")"
    for n in node.negatives:
        expr = f"({expr} NOT {to_fts5(n)})"
    return expr


def to_tsquery_sql(node: Node, params: dict[str, Any]) -> str:
    """A PostgreSQL tsquery expression built from bound values (no user text in the SQL itself)."""
    if isinstance(node, Term):
        name = f"q{len(params)}"
        if node.prefix:
            params[name] = node.word + ":*"
            return f"to_tsquery('english', :{name})"
        params[name] = node.word
        return f"plainto_tsquery('english', :{name})"
    if isinstance(node, Phrase):
        name = f"q{len(params)}"
        params[name] = node.words
        return f"phraseto_tsquery('english', :{name})"
    if isinstance(node, Or):
        return "(" + " || ".join(to_tsquery_sql(o, params) for o in node.options) + ")"
    expr = "(" + " && ".join(to_tsquery_sql(p, params) for p in node.positives) + ")"
    for n in node.negatives:
        expr = f"({expr} && !!{to_tsquery_sql(n, params)})"
    return expr


# ---------------------------------------------------------------- running a search


@dataclass(frozen=True)
class SearchHit:
    article_id: int
    title: str | None
    url: str
    outlet: str | None
    published_at: datetime | None
    first_seen_at: datetime
    snippet: str  # matched words between HIT_START and HIT_END
    event_id: int | None
    story_id: int | None
    story_title: str | None
    is_relevant: bool
    copies: int  # this article and its syndicated copies among the hits' database rows
    rank: float


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


_SELECT = """
SELECT a.id, a.title, a.url, COALESCE(NULLIF(a.site_name, ''), s.name) AS outlet, a.published_at,
       a.first_seen_at, r.event_id, e.story_id, st.title AS story_title, r.is_relevant,
       r.id AS root_id, {snippet} AS snippet, {rank} AS rank
FROM {source}
JOIN articles a ON {join}
JOIN articles r ON r.id = COALESCE(a.duplicate_of, a.id)
LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN events e ON e.id = r.event_id
LEFT JOIN stories st ON st.id = e.story_id
WHERE {where}
ORDER BY rank {order}, a.id
LIMIT :fetch
"""


def search_articles(session: Session, query: str, *, since: date | None = None, limit: int = 20
                    ) -> list[SearchHit]:
    """Best hits first; syndicated copies fold into the first copy seen (``copies`` counts them).

    A hit shows the copy that matched best; its event and story are the first copy's (copies have
    none of their own).
    """
    if limit < 1:
        raise UsageError("--limit must be at least 1")
    tree = parse_query(query)
    dialect = session.get_bind().dialect.name
    params: dict[str, Any] = {"fetch": limit * 4 + 20}
    where: list[str] = []
    if dialect == "postgresql":
        tsq = to_tsquery_sql(tree, params)
        source = f"(SELECT {tsq} AS q) AS fts"
        join = "a.search_vector @@ fts.q"
        snippet = (f"ts_headline('english', COALESCE(a.text, ''), fts.q, 'StartSel={HIT_START}, "
                   f"StopSel={HIT_END}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter="
                   f"\" … \"')")
        rank, order = "ts_rank_cd(a.search_vector, fts.q)", "DESC"
        where.append("TRUE")
    else:
        params["match"] = to_fts5(tree)
        source = FTS_TABLE
        join = f"a.id = {FTS_TABLE}.rowid"
        snippet = f"snippet({FTS_TABLE}, 1, '{HIT_START}', '{HIT_END}', ' … ', 24)"
        rank, order = f"bm25({FTS_TABLE}, 4.0, 1.0)", "ASC"
        where.append(f"{FTS_TABLE} MATCH :match")
    if since is not None:
        where.append("COALESCE(a.published_at, a.first_seen_at) >= :since")
        params["since"] = _start_of(since) if dialect == "postgresql" else _start_of(since).strftime(
            "%Y-%m-%d %H:%M:%S")
    sql = _SELECT.format(snippet=snippet, rank=rank, source=source, join=join, where=" AND ".join(where),
                         order=order)
    try:
        rows = session.execute(text(sql), params).all()
    except Exception as exc:  # the parser should prevent this; keep any backend complaint readable
        msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise _bad(f"the database refused it ({msg})") from None
    hits: dict[int, dict[str, Any]] = {}
    for r in rows:
        root = int(r.root_id)
        if root in hits:
            hits[root]["copies"] += 1
            continue
        if len(hits) >= limit:
            continue
        hits[root] = {"row": r, "copies": 1}
    return [_hit(v["row"], v["copies"]) for v in hits.values()]


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _hit(r: Any, copies: int) -> SearchHit:
    snippet = " ".join((r.snippet or "").split())
    return SearchHit(article_id=int(r.id), title=r.title, url=r.url, outlet=r.outlet,
                     published_at=_aware(r.published_at), first_seen_at=_aware(r.first_seen_at),  # type: ignore[arg-type]
                     snippet=snippet, event_id=r.event_id, story_id=r.story_id, story_title=r.story_title,
                     is_relevant=bool(r.is_relevant), copies=copies, rank=float(r.rank or 0.0))


def print_search(rt: Any, console: Any, query: str, *, since: date | None = None, limit: int = 20) -> int:
    """``banwatch search``: print the hits (snippet, date, outlet, story); returns their number."""
    from rich.text import Text

    with rt.sessions() as session:
        hits = search_articles(session, query, since=since, limit=limit)
    if not hits:
        console.print(f"no articles match {query!r}" + (f" since {since.isoformat()}" if since else ""))
        return 0
    for n, h in enumerate(hits, 1):
        when = h.published_at or h.first_seen_at
        head = Text(f"{n:>2}. ", style="bold")
        head.append(h.title or "(no title)", style="bold")
        console.print(head)
        meta = f"    {when:%Y-%m-%d}  {h.outlet or '?'}"
        if h.copies > 1:
            meta += f"  (+{h.copies - 1} {'copy' if h.copies == 2 else 'copies'})"
        if h.story_id is not None:
            meta += f"  story {h.story_id}: {h.story_title or ''}"
        elif not h.is_relevant:
            meta += "  (judged off-topic)"
        console.print(Text(meta, style="dim"))
        console.print(snippet_text(h.snippet, indent="    "))
        console.print(Text(f"    {h.url}", style="blue"))
    return len(hits)


def snippet_text(snippet: str, indent: str = "") -> Any:
    """The snippet as rich Text with the matched words highlighted."""
    from rich.text import Text

    out = Text(indent)
    for i, part in enumerate(re.split(f"[{HIT_START}{HIT_END}]", snippet)):
        out.append(part, style="bold yellow" if i % 2 else "")
    return out

"""Deterministic language identification from a script profile and stopword counts.

Hand-written so that it is light (no model download) and stable: the same text always gives the same
answer, with ties broken by a fixed language order.
"""

from __future__ import annotations

import re
from collections import Counter

_STOPWORDS: dict[str, str] = {
    "en": "the and of to in is that for it was on with as are be by this at from have has but not they said "
          "which their will an were been its would who more also after than about",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als auch es an wird "
          "aus er hat dass sie nach bei um noch wie über einen so zum war haben nur oder aber vor zur bis mehr "
          "durch kann sind",
    "fr": "le la les de des et est en du un une que qui dans pour pas sur au par plus il ce avec sont ont "
          "aux été cette mais ou elle nous leur se",
    "es": "el la de que y en los del las un por con no una para es al lo como más pero sus le ya fue este "
          "entre cuando muy sin sobre también ha han desde",
    "it": "il di che la e è per un in non una sono del della con le si da dei nel gli alla ha al più anche "
          "ma ci questo delle come",
    "pt": "o a de que e do da em um para é com não uma os no se na por mais as dos como mas foi ao ele das "
          "tem à seu sua ou ser quando também",
    "nl": "de en van het een in is dat op te zijn voor met die niet aan er om ook als bij door maar wordt "
          "nog naar dan uit zo wel hij",
    "sv": "och att det som en på är av för med till den har de inte om ett var jag men också efter sig vid "
          "kan när från skulle eller hade",
    "no": "og i det som en på er av for med til den har de ikke om et var jeg men også etter seg ved kan når "
          "fra skal eller hadde ble noen mye hva",
    "da": "og i det som en på er af for med til den har de ikke om et var jeg men også efter sig ved kan når "
          "fra skal eller havde blev nogen meget hvad",
    "is": "og að í á er sem til það var með um fyrir af ekki við en hann eru hafa þess sér þetta hefur",
    "fi": "ja on ei se että oli hän ovat kun mutta myös tai jo niin mitä kuin joka sen ole",
    "pl": "i w na z że się nie do to jest jak po co od ale o dla jego przez są tak jej czy także",
    "cs": "a v se na je že to s z do o jako pro by ale jsou už tak které byl jeho od po při",
    "sk": "a v sa na je že to s z do o ako pre by ale sú už tak ktoré bol jeho od po pri",
    "tr": "ve bir bu da de için ile olarak çok daha gibi olan ama en sonra ise kadar değil",
    "ro": "și de în la a cu că pe din nu se o un este care mai pentru au fost ce sau",
    "hu": "a az és hogy nem is egy meg van már de csak volt ez mint még azt",
    "id": "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke ada karena oleh",
    "ms": "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke ada kerana oleh telah",
    "vi": "của và là có được cho các trong này những với một không người đã đến khi theo",
    "lt": "ir kad į su iš yra bet tai o kaip buvo jo ar apie dar",
    "lv": "un ir ar par uz no kas ka bet arī tas lai vai pie",
    "et": "ja on et ei ka oli see mis kui aga nii seda",
    "hr": "i je u na se da za od su s ne koji kao iz što ali",
    "sl": "in je v na se da za so z ki ne pa tudi iz",
    "ca": "el la de i que els les en un una per amb no és del al com més",
    "sw": "na ya wa kwa katika za la ni kuwa hiyo ambao hii",
    "lb": "an der dem de fir mat net ass et sinn och déi vun eng op",
}
_ORDER = list(_STOPWORDS)
_SETS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_INDEX: dict[str, tuple[str, ...]] = {}
for _code in _ORDER:
    for _word in _SETS[_code]:
        _INDEX[_word] = (*_INDEX.get(_word, ()), _code)
_LATIN_RE = re.compile(r"[\x00-\u024f\u1e00-\u1eff\u2000-\u206f]+")
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
# ASCII letters lower-cased, everything else a space: the same words as _WORD_RE on lower-cased ASCII text
_ASCII_WORDS = {c: chr(c).lower() if chr(c).isalpha() else " " for c in range(128)}

_SCRIPTS = (
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("ka", re.compile(r"[\u10a0-\u10ff]")),
    ("hy", re.compile(r"[\u0530-\u058f]")),
)


_SCRIPT_NAMES = [name for name, _ in _SCRIPTS]


def detect_language(text: str, *, max_chars: int = 1200) -> tuple[str | None, float]:
    """Return (ISO 639-1 code or None, confidence 0..1)."""
    sample = text[:max_chars]
    if not sample.strip():
        return None, 0.0
    letters = (len(sample) - sample.count(" ")) or 1  # a cheap denominator: shares need no precision
    rest = "" if sample.isascii() else _LATIN_RE.sub("", sample)
    if len(rest) >= 5:  # the scripts lie outside the Latin ranges: counting in the rest is enough
        script_counts = {lang: len(rx.findall(rest)) for lang, rx in _SCRIPTS}
    else:
        script_counts = dict.fromkeys(_SCRIPT_NAMES, 0)
    # Japanese text is mostly kanji with some kana; any real share of kana makes it Japanese.
    if script_counts["ja"] >= max(5, 0.05 * letters):
        return "ja", min(1.0, script_counts["ja"] / letters * 5)
    if script_counts["ko"] >= 0.2 * letters:
        return "ko", script_counts["ko"] / letters
    if script_counts["zh"] >= 0.3 * letters:
        return "zh", script_counts["zh"] / letters
    lang, count = max(((k, v) for k, v in script_counts.items() if k not in ("ja", "ko", "zh")),
                      key=lambda kv: kv[1])
    if count >= 0.3 * letters:
        if lang == "ru" and re.search(r"[іїєґ]", sample, re.I):
            return "uk", count / letters
        if lang == "ru" and re.search(r"[ђћџљњ]", sample, re.I):
            return "sr", count / letters
        if lang == "ar" and re.search(r"[پچژگ]", sample):
            return "fa", count / letters
        return lang, count / letters
    # ASCII text: its words are its runs of letters, which str.translate and split find 3x faster
    words = sample.translate(_ASCII_WORDS).split() if sample.isascii() else _WORD_RE.findall(sample.lower())
    total = len(words)
    if total < 3:
        return None, 0.0
    hits_by_lang = dict.fromkeys(_ORDER, 0)
    for word, n in Counter(filter(_INDEX.__contains__, words)).items():
        for code in _INDEX[word]:
            hits_by_lang[code] += n
    best, best_hits, second = None, 0, 0
    for code in _ORDER:
        hits = hits_by_lang[code]
        if hits > best_hits:
            best, second, best_hits = code, best_hits, hits
        elif hits > second:
            second = hits
    if best is None or best_hits < 2:
        return None, 0.0
    confidence = min(1.0, best_hits / max(total, 1) * 2) * (1 - second / best_hits / 2)
    return best, round(confidence, 3)


def choose_language(declared: str | None, text: str) -> str | None:
    """Trust a confident detection on enough text; else the page's declared language; else detection."""
    detected, confidence = detect_language(text)
    if detected and (declared is None or (len(text) >= 400 and confidence >= 0.3)):
        if declared and _close(declared, detected):
            return declared
        return detected
    return declared or detected


_RELATED = ({"no", "nb", "nn", "da"}, {"id", "ms"}, {"hr", "sr", "bs"}, {"de", "lb"}, {"cs", "sk"})


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    return any(a in group and b in group for group in _RELATED)

"""Text normalisation and tokenisation shared by the matcher, the date finder and the discoverer.

One regex pass gives word-level tokens with offsets. Hyphens are dropped as tokens so that
"TP-Link", "TP Link" and "Huawei-made" line up with the gazetteer; possessive "'s" is its own token.
"""

from __future__ import annotations

import re

# (str.replace per character present: str.translate takes a slow path on any non-ASCII text)
_UNIFY = (("\u2019", "'"), ("\u2018", "'"), ("\u00a0", " "), ("\u2011", "-"), ("\u2010", "-"), ("\u00ad", ""))
_SOFT_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\r?\n[ \t]*(?=[a-z])")
TOKEN_RE = re.compile(r"(?:[A-Za-z]\.){2,}|\d+(?:[.,]\d+)*|\w+|'s\b|[^\w\s-]")
# TOKEN_RE with a first alternative that starts with a character class (the engine then skips it at once
# on other characters): the same tokens
_TOKEN_PART = re.compile(r"[A-Za-z]\.(?:[A-Za-z]\.)+|\d+(?:[.,]\d+)*|\w+|'s\b|[^\w\s-]")

# marks that are a token of their own ([^\w\s-] and no "'s"): "said," is "said" and ","
_CLOSING = frozenset(",.;:?!)\"'")


def normalise(text: str) -> str:
    """Undo soft hyphenation at line ends, unify apostrophes; offsets of the result are used downstream."""
    for src, dst in _UNIFY:
        if src in text:
            text = text.replace(src, dst)
    if "-\n" in text or "- \n" in text or "-\r\n" in text:
        text = _SOFT_HYPHEN_BREAK.sub(r"\1", text)
    return text


def tokenize(text: str) -> list[str]:
    """Word-level tokens (hyphens and whitespace are not tokens).

    No token holds whitespace or depends on what lies beyond it, so the text is tokenised a
    whitespace-separated chunk at a time: a chunk of letters only (most of them) is one token as it
    stands, and only the others go through the regex (40% less time than one findall on the text).
    A word with one closing mark (",", ".", ")" ...) is those two tokens, as the regex gives them.
    """
    out: list[str] = []
    append, extend, part, closing = out.append, out.extend, _TOKEN_PART.findall, _CLOSING
    for chunk in text.split():
        if chunk.isalpha():
            append(chunk)
        elif chunk[-1] in closing and chunk[:-1].isalpha():
            append(chunk[:-1])
            append(chunk[-1])
        else:
            extend(part(chunk))
    return out


def tokenize_lower(text: str, toks: list[str]) -> list[str]:
    """The same tokens lower-cased (the trie is keyed by lower-case tokens)."""
    return list(map(str.lower, toks))


def alias_tokens(alias: str) -> list[str]:
    return TOKEN_RE.findall(normalise(alias))

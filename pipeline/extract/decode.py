"""Turn the bytes of a fetched page into text.

Cheap, reliable signals first (byte-order mark, a declared charset, strict UTF-8), and the
statistical detector of charset-normalizer only when those fail.
"""

from __future__ import annotations

import codecs
import logging
import re

log = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.I)
# WHATWG: a page labelled latin-1/ascii is decoded as windows-1252.
_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252",
            "ascii": "cp1252", "x-sjis": "shift_jis", "gb2312": "gb18030", "gbk": "gb18030"}


def _codec(name: str) -> str | None:
    label = name.strip().lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def declared_charset(head: bytes) -> str | None:
    """The charset a page declares in its first bytes (meta tag or XML prolog), if Python knows it."""
    m = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
    return _codec(m.group(1).decode("ascii", "ignore")) if m else None


def decode_html(data: bytes | str | None, content_type_charset: str | None = None) -> str:
    """Decode page bytes to str; never raises."""
    return decode_with_utf8(data, content_type_charset)[0]


def decode_with_utf8(data: bytes | str | None, content_type_charset: str | None = None
                     ) -> tuple[str, bytes | None]:
    """The page as str, plus its UTF-8 bytes when the input already was valid UTF-8 (so that a parser
    wanting UTF-8 can take them without re-encoding); never raises."""
    if data is None:
        return "", None
    if isinstance(data, str):
        return data, None
    try:
        return _decode(bytes(data), content_type_charset)
    except Exception:  # noqa: BLE001 - robustness: a page must always decode to something
        log.debug("decode failed, falling back to utf-8 replace")
        return bytes(data).decode("utf-8", "replace"), None


def _decode(data: bytes, hinted: str | None) -> tuple[str, bytes | None]:
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        try:
            return body.decode("utf-8"), body
        except UnicodeDecodeError:
            return body.decode("utf-8", "replace"), None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(enc, "replace"), None
    # Bytes that decode as strict UTF-8 are UTF-8 whatever the page claims (legacy encodings with
    # non-ASCII text practically never form valid UTF-8), so the declaration is only read when they don't.
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        pass
    candidates: list[str] = []
    if hinted and (c := _codec(hinted)):
        candidates.append(c)
    if declared := declared_charset(data[:4096]):
        candidates.append(declared)
    for enc in candidates:
        if enc in ("utf-8", "utf-16", "utf-32"):  # declared UTF but invalid: try the other signals
            continue
        try:
            return data.decode(enc), None
        except (UnicodeDecodeError, LookupError):
            continue
    guess = _detect(data)
    if guess:
        return data.decode(guess, "replace"), None
    for enc in candidates:
        return data.decode(enc, "replace"), None
    return data.decode("cp1252", "replace"), None


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - httpx normally brings it
        return None
    best = from_bytes(data[:200_000]).best()
    return best.encoding if best is not None else None

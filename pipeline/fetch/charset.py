"""Bytes to text with the right charset: BOM, HTTP header, meta tag / XML prolog, then detection.

One correction on top of the usual order: a page *labelled* Latin-1/Windows-1252/ASCII whose
bytes are valid, non-ASCII UTF-8 is decoded as UTF-8. Mislabelled UTF-8 is the most common
charset bug on the web, and Windows-1252 text is almost never valid UTF-8 by accident.
"""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
_XML = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.I)
_CT_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
# WHATWG: these labels mean windows-1252 in practice.
_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "utf8": "utf-8",
}
_SINGLE_BYTE_WESTERN = {"cp1252", "latin_1", "iso8859-15", "ascii"}


def codec_name(label: str | None) -> str | None:
    """Python's codec name for a charset label, or None for unknown/unsafe labels."""
    if not label:
        return None
    name = _ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    # Never decode web text with codecs that are not text encodings (e.g. "rot13", "base64").
    if not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def charset_from_content_type(content_type: str | None) -> str | None:
    m = _CT_CHARSET.search(content_type or "")
    return m.group(1) if m else None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_body(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, codec name) for a body; never raises."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(enc, "replace"), enc
    head = data[:4096]
    m = _XML.search(head) or _META.search(head)
    in_document = codec_name(m.group(1).decode("ascii", "ignore")) if m else None
    declared = codec_name(charset_from_content_type(content_type)) or in_document
    if declared in _SINGLE_BYTE_WESTERN and not data.isascii() and _is_utf8(data):
        return data.decode("utf-8"), "utf-8"
    for enc in dict.fromkeys(e for e in (declared, in_document) if e and e not in ("utf-16", "utf-32")):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue  # mislabelled (usually "utf-8" on a legacy page): try the next signal
    if data.isascii() or _is_utf8(data):
        return data.decode("utf-8"), "utf-8"
    enc = _detect(data) or (declared if declared and declared != "utf-8" else "cp1252")
    return data.decode(enc, "replace"), enc


def _detect(data: bytes) -> str | None:
    """charset-normalizer's best guess; among equally good guesses, windows-1252 (the web's commonest)."""
    try:
        from charset_normalizer import from_bytes

        matches = list(from_bytes(data[:65536]))
    except Exception:  # noqa: BLE001 - the detector is best effort
        return None
    if not matches:
        return None
    best = matches[0]
    ties = [m.encoding for m in matches if m.chaos == best.chaos and m.coherence == best.coherence]
    return codec_name("cp1252" if "cp1252" in ties else best.encoding)

"""Charset signals shared by the fetcher and the extractor: byte-order marks, the charset a page
declares (meta tag, XML prolog, Content-Type), and the WHATWG label-to-codec mapping.

Pure functions on bytes, no network: the extractor decodes stored pages without importing pipeline.fetch.
How the signals are weighed stays with each caller.
"""

from __future__ import annotations

import codecs
import re

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:\-]+)""", re.I)
_CT_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.I)
# WHATWG: a page labelled latin-1/ascii is decoded as windows-1252.
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
# Python codecs that are no web charset: "undefined" always raises, punycode/idna raise UnicodeError
# (not UnicodeDecodeError) on most text and punycode is quadratic (an 800 KB body: minutes of CPU).
_NOT_CHARSETS = {"undefined", "punycode", "idna", "unicode-escape", "raw-unicode-escape"}


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
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        return None
    return info.name


def charset_from_content_type(content_type: str | None) -> str | None:
    """The raw charset label of a Content-Type header value, if any."""
    m = _CT_CHARSET.search(content_type or "")
    return m.group(1) if m else None


def declared_charset(head: bytes, *, xml_first: bool = False) -> str | None:
    """The codec a document declares in its first bytes (meta tag or XML prolog), if Python knows it.

    HTML readers take the meta tag first (browsers ignore the XML prolog of text/html); feed readers
    pass ``xml_first`` as the prolog is authoritative for XML."""
    order = (XML_ENCODING, META_CHARSET) if xml_first else (META_CHARSET, XML_ENCODING)
    m = order[0].search(head) or order[1].search(head)
    return codec_name(m.group(1).decode("ascii", "ignore")) if m else None


def split_bom(data: bytes) -> tuple[str, bytes] | None:
    """(codec, bytes after the mark) when ``data`` starts with a byte-order mark, else None."""
    for bom, enc in BOMS:
        if data.startswith(bom):
            return enc, data[len(bom):]
    return None

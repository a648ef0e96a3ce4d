"""Bytes to text with the right charset: BOM, HTTP header, meta tag / XML prolog, then detection.

One correction on top of the usual order: a page *labelled* Latin-1/Windows-1252/ASCII whose
bytes are valid, non-ASCII UTF-8 is decoded as UTF-8. Mislabelled UTF-8 is the most common
charset bug on the web, and Windows-1252 text is almost never valid UTF-8 by accident.
"""

from __future__ import annotations

from pipeline.charset import charset_from_content_type, codec_name, declared_charset, split_bom

__all__ = ["charset_from_content_type", "codec_name", "decode_body"]

_SINGLE_BYTE_WESTERN = {"cp1252", "latin_1", "iso8859-15", "ascii"}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_body(data: bytes, content_type: str | None = None) -> tuple[str, str]:
    """(text, codec name) for a body; never raises."""
    if bommed := split_bom(data):
        enc, body = bommed
        return body.decode(enc, "replace"), enc
    in_document = declared_charset(data[:4096], xml_first=True)
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

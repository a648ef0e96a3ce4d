"""Turn the bytes of a fetched page into text.

Cheap, reliable signals first (byte-order mark, a declared charset, strict UTF-8), and the
statistical detector of charset-normalizer only when those fail.
"""

from __future__ import annotations

import logging

from pipeline.charset import codec_name, declared_charset, split_bom

__all__ = ["declared_charset", "decode_html", "decode_lazily", "decode_with_utf8"]

log = logging.getLogger(__name__)


def decode_html(data: bytes | str | None, content_type_charset: str | None = None) -> str:
    """Decode page bytes to str; never raises."""
    return decode_with_utf8(data, content_type_charset)[0]


def decode_with_utf8(data: bytes | str | None, content_type_charset: str | None = None
                     ) -> tuple[str, bytes | None]:
    """The page as str, plus its UTF-8 bytes when the input already was valid UTF-8 (so that a parser
    wanting UTF-8 can take them without re-encoding); never raises."""
    text, utf8 = decode_lazily(data, content_type_charset)
    return (utf8.decode("utf-8") if text is None else text), utf8  # text None: utf8 is valid UTF-8


def decode_lazily(data: bytes | str | None, content_type_charset: str | None = None
                  ) -> tuple[str | None, bytes | None]:
    """As decode_with_utf8, but for valid UTF-8 input only the bytes, without the text (None): a parser
    that takes UTF-8 needs no text, and checking the bytes costs half of decoding them. Never raises."""
    if data is None:
        return "", None
    if isinstance(data, str):
        return data, None
    try:
        return _decode(bytes(data), content_type_charset)
    except Exception:  # noqa: BLE001 - robustness: a page must always decode to something
        log.debug("decode failed, falling back to utf-8 replace")
        return bytes(data).decode("utf-8", "replace"), None


def _decode(data: bytes, hinted: str | None) -> tuple[str | None, bytes | None]:
    """(text, None), or (None, the UTF-8 bytes) when they are valid UTF-8 (the text left to the caller)."""
    if bommed := split_bom(data):
        enc, body = bommed
        if enc == "utf-8" and _is_utf8(body):
            return None, body
        return body.decode(enc, "replace"), None
    # Bytes that decode as strict UTF-8 are UTF-8 whatever the page claims (legacy encodings with
    # non-ASCII text practically never form valid UTF-8), so the declaration is only read when they don't.
    if _is_utf8(data):
        return None, data
    candidates: list[str] = []
    if c := codec_name(hinted):
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


def _is_utf8(data: bytes) -> bool:
    """Whether ``data.decode("utf-8")`` succeeds, without building the whole text: chunks that are ASCII
    are skipped (bytes.isascii is ~50x faster than decoding), each run of the other chunks is decoded
    strictly. A sequence cannot span an ASCII chunk, so the runs decode exactly when the whole does."""
    if data.isascii():
        return True
    size = _CHUNK
    start = -1  # where the current run of non-ASCII chunks began
    for at in range(0, len(data), size):
        if data[at:at + size].isascii():
            if start >= 0:
                try:
                    data[start:at].decode("utf-8")
                except UnicodeDecodeError:
                    return False
                start = -1
        elif start < 0:
            start = at
    if start >= 0:
        try:
            data[start:].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


_CHUNK = 4096  # on news pages a third of the 4 KB chunks are ASCII (markup, scripts, styles)


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - httpx normally brings it
        return None
    best = from_bytes(data[:200_000]).best()
    return best.encoding if best is not None else None

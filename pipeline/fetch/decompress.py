"""Incremental, size-bounded decompression of response bodies.

We stream the raw bytes ourselves instead of letting httpx decode, so that a
compression bomb stops at ``max_body_size`` decoded bytes: zlib is asked for at most
the remaining budget per call (``max_length``), never for the whole expansion.

Brotli (``br``) is optional: it is decoded, and advertised in Accept-Encoding, only when the
``brotli`` or ``brotlicffi`` package is importable *and* new enough (1.2) to take an
``output_buffer_limit`` -- older decoders cannot stop a brotli bomb before expanding a whole
chunk, so they are treated as absent.
"""

from __future__ import annotations

import types
import zlib

from pipeline.fetch.errors import BadContentEncoding, TooLarge

GZIP_MAGIC = b"\x1f\x8b"


def _load_brotli() -> types.ModuleType | None:
    """The first importable brotli decoder module that can bound its output, else None."""
    for name in ("brotli", "brotlicffi"):
        try:
            mod = __import__(name)
            dec = mod.Decompressor()
            dec.process(b"", output_buffer_limit=1)
            dec.can_accept_more_data()
        except Exception:  # noqa: BLE001 - missing, too old (TypeError/AttributeError) or broken
            continue
        return mod
    return None


_brotli = _load_brotli()
_BROTLI_ERROR: type[Exception] = getattr(_brotli, "error", Exception)


def brotli_available() -> bool:
    return _brotli is not None


def accept_encoding() -> str:
    """The Accept-Encoding to send: only what :class:`BoundedDecoder` can decode here."""
    return "gzip, deflate, br" if _brotli is not None else "gzip, deflate"


ACCEPT_ENCODING = accept_encoding()  # at import time; Fetcher asks accept_encoding() itself


class BoundedDecoder:
    """Decode one Content-Encoding chunk by chunk, raising TooLarge past ``limit`` output bytes."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        enc = (encoding or "identity").strip().lower()
        if "," in enc:  # stacked encodings are legal but never seen on real news sites
            raise BadContentEncoding(f"unsupported stacked content-encoding {encoding!r}")
        if enc == "br" and _brotli is None:
            raise BadContentEncoding(
                f"unsupported content-encoding {encoding!r} (no brotli decoder installed: "
                "pip install 'brotli>=1.2')"
            )
        if enc not in ("identity", "gzip", "x-gzip", "deflate", "br"):
            raise BadContentEncoding(f"unsupported content-encoding {encoding!r}")
        self.encoding = "gzip" if enc == "x-gzip" else enc
        self.limit = limit
        self.produced = 0
        self._raw_deflate = False
        self._z = self._new()

    def _new(self):  # noqa: ANN202 - zlib's Decompress type is not public
        if self.encoding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.encoding == "deflate":
            return zlib.decompressobj(-zlib.MAX_WBITS if self._raw_deflate else zlib.MAX_WBITS)
        if self.encoding == "br":
            return _brotli.Decompressor()  # type: ignore[union-attr]
        return None

    def _count(self, n: int) -> None:
        self.produced += n
        if self.produced > self.limit:
            what = "after decompression" if self.encoding != "identity" else "while streaming"
            raise TooLarge(f"body exceeds max_body_size of {self.limit} bytes {what}")

    def feed(self, data: bytes) -> bytes:
        if self._z is None:
            self._count(len(data))
            return data
        if self.encoding == "br":
            return self._feed_brotli(data)
        out: list[bytes] = []
        while data:
            try:
                piece = self._z.decompress(data, self.limit - self.produced + 1)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._raw_deflate and self.produced == 0 and not out:
                    self._raw_deflate = True  # some servers send raw deflate without the zlib header
                    self._z = self._new()
                    continue
                raise BadContentEncoding(f"corrupt {self.encoding} data: {exc}") from None
            self._count(len(piece))
            out.append(piece)
            data = self._z.unconsumed_tail
            if self._z.eof:
                rest = self._z.unused_data
                if self.encoding == "gzip" and rest.strip(b"\0"):
                    self._z = self._new()  # a multi-member gzip stream
                    data = rest
                else:
                    break
        return b"".join(out)

    def _feed_brotli(self, data: bytes) -> bytes:
        """Brotli may hold more output than we ask for: drain it with empty input, budget by budget."""
        out: list[bytes] = []
        try:
            if self._z.is_finished():
                return b""  # trailing bytes after the stream end are ignored, as for gzip padding
            piece = self._z.process(data, output_buffer_limit=self.limit - self.produced + 1)
            self._count(len(piece))
            out.append(piece)
            while not self._z.can_accept_more_data() and not self._z.is_finished():
                piece = self._z.process(b"", output_buffer_limit=self.limit - self.produced + 1)
                if not piece:
                    break  # nothing more to drain (never expected; guards against spinning)
                self._count(len(piece))
                out.append(piece)
        except _BROTLI_ERROR as exc:
            raise BadContentEncoding(f"corrupt br data: {exc}") from None
        return b"".join(out)

    def flush(self) -> bytes:
        if self._z is None:
            return b""
        if self.encoding == "br":
            if not self._z.is_finished():
                raise BadContentEncoding("truncated br data (the brotli stream does not end)")
            return b""
        try:
            tail = self._z.flush()
        except zlib.error as exc:
            raise BadContentEncoding(f"corrupt {self.encoding} data: {exc}") from None
        self._count(len(tail))
        return tail


def gunzip_bounded(data: bytes, limit: int) -> bytes:
    """Decompress a gzip file (e.g. ``sitemap.xml.gz`` served as application/gzip) up to ``limit`` bytes."""
    dec = BoundedDecoder("gzip", limit)
    out = []
    for i in range(0, len(data), 65536):
        out.append(dec.feed(data[i : i + 65536]))
    out.append(dec.flush())
    return b"".join(out)

"""Incremental, size-bounded decompression of response bodies.

We stream the raw bytes ourselves instead of letting httpx decode, so that a
compression bomb stops at ``max_body_size`` decoded bytes: zlib is asked for at most
the remaining budget per call (``max_length``), never for the whole expansion.
"""

from __future__ import annotations

import zlib

from pipeline.fetch.errors import BadContentEncoding, TooLarge

SUPPORTED = ("identity", "gzip", "x-gzip", "deflate")
ACCEPT_ENCODING = "gzip, deflate"
GZIP_MAGIC = b"\x1f\x8b"


class BoundedDecoder:
    """Decode one Content-Encoding chunk by chunk, raising TooLarge past ``limit`` output bytes."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        enc = (encoding or "identity").strip().lower()
        if "," in enc:  # stacked encodings are legal but never seen on real news sites
            raise BadContentEncoding(f"unsupported stacked content-encoding {encoding!r}")
        if enc not in SUPPORTED:
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

    def flush(self) -> bytes:
        if self._z is None:
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

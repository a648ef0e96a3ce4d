"""URL canonicalisation, content fingerprints and the near-duplicate index.

One article should be one row whatever URL variant it was reached by (tracking parameters, AMP
and mobile variants, http/https), and a syndicated copy (the same wire text with other
boilerplate, another headline, a paragraph cut or added) should point at the first copy seen.

The similarity sketch is a one-permutation MinHash over word 4-gram shingles, cut into LSH bands
stored in ``dedup_bands``. A lookup is one query that reads at most ``bucket_cap + 1`` postings of
each band key (a primary-key range), ranks the articles found by band hits weighted by bucket rarity
and verifies only the best few against their stored signatures. An over-full bucket (shared
boilerplate, a sentence common to many texts) is a stop-bucket: it costs no more than a small one,
and one hit there alone makes no candidate. Every step is bounded, so the cost does not grow with
the number of articles stored. A copy adds only the band keys its first copy lacks, so a widely
syndicated story does not turn its own buckets into stop-buckets.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import operator
import posixpath
import re
import struct
import unicodedata
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from sqlalchemy import TextClause, bindparam, func, select, text
from sqlalchemy.orm import Session

from pipeline.store import core
from pipeline.store.index_models import DedupBandRow, DedupSketchRow, insert_ignore
from pipeline.store.models import ArticleRow

_ARTICLES = ArticleRow.__table__
# The first copy of a text as an aggregate over the hash's rows, not "ORDER BY id LIMIT 1": with that
# LIMIT, PostgreSQL walks the primary key in id order filtering on the hash whenever its statistics are
# missing or stale (it expects a match early), which is a full scan of the table for every new text:
# 42 ms an article at 40,000 stored. (Ordering by the hash first did not help: with the hash fixed by
# the WHERE, the planner drops it from the order.) Every exact copy points at the same first copy, so
# the smallest root is that one. Built once (``:exclude`` -1 when there is nothing to exclude).
_EXACT_COPY = (select(func.min(func.coalesce(_ARTICLES.c.duplicate_of, _ARTICLES.c.id)))
               .where(_ARTICLES.c.content_hash == bindparam("hash"), _ARTICLES.c.id != bindparam("exclude")))

# The copies' shortcut of ``Deduplicator.index``: the band keys the first copy already holds.
_FIRST_COPY_KEYS = (select(DedupBandRow.__table__.c.band_key)
                    .where(DedupBandRow.__table__.c.article_id == bindparam("first"),
                           DedupBandRow.__table__.c.band_key.in_(bindparam("keys", expanding=True))))
# ``Deduplicator.index`` on PostgreSQL in one statement: the sketch, and the band keys (an array)
# less those the first copy holds (``:first``: NULL for an original). ON CONFLICT keeps it idempotent.
_PG_INDEX = text("""
WITH sketch AS (
    INSERT INTO dedup_sketches (article_id, signature, shingle_count)
    VALUES (:article_id, :signature, :shingle_count) ON CONFLICT DO NOTHING
)
INSERT INTO dedup_bands (band_key, article_id)
SELECT k, :article_id FROM unnest(CAST(:keys AS BIGINT[])) AS k
WHERE NOT EXISTS (SELECT 1 FROM dedup_bands f WHERE f.band_key = k AND f.article_id = :first)
ON CONFLICT DO NOTHING
""")

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# URL canonicalisation

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
    "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid", "s_kwcid", "cmpid", "cmp", "ocid",
    "icid", "ito", "itm_source", "itm_medium", "itm_campaign", "itm_content", "sr_share", "smid",
    "smtyp", "share", "shared", "ref", "ref_src", "ref_url", "referrer", "src", "source", "via",
    "spm", "scm", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
    "cid", "mbid", "rss", "feed", "fromrss", "from", "partner", "__twitter_impression", "amp",
    "outputtype", "output", "platform", "bc", "id_source",
})
TRACKING_PREFIXES = ("utm_", "pk_", "ns_", "hmb_", "at_", "mtm_", "matomo_", "ga_", "stm_", "oly_", "wt.")
# Values of these parameters only select an AMP/mobile rendering.
AMP_VALUES = {"amp", "1", "true", "yes"}
MOBILE_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.", "amp-", "wap.")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Second-level labels under which registrations happen (co.uk, com.au, ...): a compact stand-in
# for the public suffix list, enough to tell two sites apart for the canonical-hint check.
SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nic"})
_UNRESERVED = re.compile(r"%([0-9A-Fa-f]{2})")
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"


def _normalize_escapes(part: str, safe: str) -> str:
    """Decode percent-escapes of unreserved characters, upper-case the rest, quote what must be."""
    return quote(unquote(part), safe=safe)


def _strip_host(host: str) -> str:
    # a few thousand sites; the IDNA codec is the costly part of a URL. A name longer than DNS allows
    # (hostile input) is not cached
    return _strip_host_cached(host) if len(host) <= 255 else _strip_host_uncached(host)


def _strip_host_uncached(host: str) -> str:
    host = host.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    changed = True
    while changed:
        changed = False
        for prefix in MOBILE_HOST_PREFIXES:
            if host.startswith(prefix) and host.count(".") >= 2:
                host = host[len(prefix):]
                changed = True
    return host


_strip_host_cached = lru_cache(maxsize=4096)(_strip_host_uncached)


def registrable_domain(host: str) -> str:
    """example.co.uk for news.example.co.uk; an approximation of the public suffix rule."""
    labels = _strip_host(host).split(".")
    if len(labels) >= 3 and (labels[-2] in SECOND_LEVEL or len(labels[-2]) <= 2) and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _clean_path(path: str) -> str:
    path = _normalize_escapes(path or "/", _SAFE_PATH)
    path = re.sub(r"/{2,}", "/", path)
    if path not in ("", "/"):
        path = posixpath.normpath(path)
    # AMP renderings: /amp/, trailing /amp, .amp.html, /amp/s/ proxies are handled by the host check
    segments = [s for s in path.split("/") if s]
    segments = [s for s in segments if s.lower() not in ("amp", "amp.html")]
    if segments:
        last = segments[-1]
        segments[-1] = re.sub(r"\.amp(\.html?)$", r"\1", last, flags=re.I)
        if segments[-1].lower() in ("index.html", "index.htm", "index.php"):
            segments.pop()
    return "/" + "/".join(segments)


def _is_tracking(name: str, value: str) -> bool:
    low = name.lower()
    if low in ("amp", "outputtype", "output") and value.lower() in AMP_VALUES | {"amp", ""}:
        return True
    if low in ("amp", "outputtype", "output"):
        return False
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


_AMP_CACHE = re.compile(r"^/[a-z]/(s/)?(?P<rest>[^/]+\.[^/]+/.*)$", re.I)


_CACHED_URL_MAX = 2048  # longer URLs (rare, possibly hostile) are not cached: the cache stays a few MB


def _canonical(url: str) -> str:
    return _canonical_cached(url) if len(url) <= _CACHED_URL_MAX else _canonical_uncached(url)


def _canonical_uncached(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if (parts.hostname or "").endswith(".cdn.ampproject.org"):  # Google's AMP cache: /c/s/host/path
        m = _AMP_CACHE.match(parts.path)
        if m:
            scheme = "https" if m.group(1) else "http"
            return _canonical(f"{scheme}://{m.group('rest')}" + (f"?{parts.query}" if parts.query else ""))
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url
    host = _strip_host(parts.hostname or "")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, DEFAULT_PORTS["http"], DEFAULT_PORTS["https"]) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, v)]
    query.sort()
    # http and https of one page are one article; https is what sites serve today
    return urlunsplit(("https", netloc, _clean_path(parts.path), urlencode(query, doseq=True), ""))


# every cycle canonicalises each listed candidate again, known ones included
_canonical_cached = lru_cache(maxsize=8192)(_canonical_uncached)


def canonicalize_url(url: str, *, canonical_hint: str | None = None) -> str:
    """The one URL under which an article is stored.

    ``canonical_hint`` (``<link rel=canonical>`` or ``og:url``) wins when it is consistent: on the
    same registrable site as ``url`` and not a home or section front page (sites that point every
    canonical at their home page are common).
    """
    own = _canonical(url)
    if canonical_hint:
        hint = _canonical(urljoin(url, canonical_hint.strip()))
        h, o = urlsplit(hint), urlsplit(own)
        hint_path, own_path = h.path.strip("/"), o.path.strip("/")
        same_site = bool(h.hostname) and registrable_domain(h.hostname) == registrable_domain(o.hostname or "")
        # a home page, or a section front that the article's own path lies under, is not the article
        front = not hint_path or (hint_path != own_path and own_path.startswith(hint_path + "/"))
        if h.scheme == "https" and same_site and not front:
            return hint
    return own


def normalize_guid(guid: str | None) -> str | None:
    """A feed GUID as a stable key: URL-like GUIDs are canonicalised like URLs, others trimmed."""
    if not guid or not guid.strip():
        return None
    guid = guid.strip()
    if guid.lower().startswith(("http://", "https://")):
        return canonicalize_url(guid)
    return guid


# ---------------------------------------------------------------------------------------------
# Fingerprints

SHINGLE = 4
BINS = 126  # 42 bands of 3 rows
ROWS = 3
BANDS = BINS // ROWS
_MASK64 = (1 << 64) - 1
_MULTS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What identifies an article's content: an exact hash and a MinHash sketch with LSH keys."""

    content_hash: str
    signature: tuple[int, ...]  # BINS 32-bit minima; empty when the text is too short to sketch
    band_keys: tuple[int, ...]  # signed 64-bit keys, one per band
    shingle_count: int
    word_count: int = 0

    @property
    def simhash(self) -> None:  # kept for callers that look for it; we use MinHash instead
        return None

    def signature_bytes(self) -> bytes:
        return struct.pack(f"<{len(self.signature)}I", *self.signature)


def normalized_words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


# ASCII bytes of a word character (what \w matches among ASCII characters) kept, all others made spaces
_ASCII_WORDS = bytes(b if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else 0x20 for b in range(256))


def _encoded_words(text: str) -> list[bytes]:
    """``normalized_words`` encoded as UTF-8; an ASCII text is split as bytes (a third of the regex's time)."""
    norm = unicodedata.normalize("NFKC", text).casefold()
    if norm.isascii():
        return norm.encode("ascii").translate(_ASCII_WORDS).split()
    return list(map(_encode, _WORD.findall(norm)))


def _mix(h: int) -> int:
    # splitmix64 finaliser: spreads the combined shingle hash over all 64 bits (``_shingle_hashes``
    # computes it for every shingle at once; this scalar form is the definition)
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK64
    return h ^ (h >> 31)


# The shingle hashes are computed in 128-bit lanes of one big integer, so each step is a single C-level
# operation over the whole text instead of a dozen interpreted ones per shingle: a lane holds a 64-bit
# value with room above it for a 64x64-bit product, so no carry crosses into the next lane, and bits a
# right shift brings down from the next lane land above bit 64, where the mask clears them.
_LANE = b"\xff" * 8 + b"\x00" * 8
_LANES_MASK = int.from_bytes(_LANE * 1024, "little")  # a longer mask costs nothing (``&`` stops at the shorter)
# Multiplying the lanes of word hashes by this puts a*m0 + b*m1 + c*m2 + d*m3 of the shingle (a, b, c, d)
# in the lane of its last word.
_SHINGLE_MULT = _MULTS[3] | _MULTS[2] << 128 | _MULTS[1] << 256 | _MULTS[0] << 384
_crc32 = zlib.crc32
_encode = str.encode


def _shingle_hashes(words: Sequence[bytes]) -> memoryview:
    """``_mix`` of the combined word hashes of every 4-word shingle, in text order (len(words) >= 4;
    the words encoded as UTF-8)."""
    n = len(words)
    lanes = n + SHINGLE  # the product spills up to SHINGLE lanes past the last word
    mask = _LANES_MASK if lanes <= 1024 else int.from_bytes(_LANE * lanes, "little")
    buf = bytearray(16 * n)
    memoryview(buf).cast("I")[::4] = array("I", map(_crc32, words))
    h = int.from_bytes(buf, "little") * _SHINGLE_MULT & mask
    h = (h ^ (h >> 30)) & mask
    h = h * 0xBF58476D1CE4E5B9 & mask
    h = (h ^ (h >> 27)) & mask
    h = h * 0x94D049BB133111EB & mask
    h ^= h >> 31  # only the low 64 bits of each lane are read
    return memoryview(h.to_bytes(16 * lanes, "little")).cast("Q")[2 * (SHINGLE - 1):2 * n:2]


def minhash(words: Sequence[str]) -> tuple[tuple[int, ...], int]:
    """One-permutation MinHash with rotation densification (one hash per shingle, not per bin)."""
    return _minhash(list(map(_encode, words)))


def _minhash(words: Sequence[bytes]) -> tuple[tuple[int, ...], int]:
    """``minhash`` of the words encoded as UTF-8."""
    if len(words) < SHINGLE:
        return (), 0
    hashes = set(_shingle_hashes(words))
    empty = 1 << 64
    mins = [empty] * BINS
    for h in hashes:  # a bin's smallest hash has its smallest high half
        b = h % BINS
        if h < mins[b]:
            mins[b] = h
    mins = [v >> 32 for v in mins]
    empty = 1 << 32
    if empty in mins:  # short text: borrow from the next filled bin, offset by distance
        filled = [i for i, v in enumerate(mins) if v != empty]
        ahead = filled + [x + BINS for x in filled]  # ascending: the next filled bin after i, round the ring
        out = list(mins)
        for i, v in enumerate(mins):
            if v == empty:
                j = ahead[bisect.bisect_right(ahead, i)]
                out[i] = (mins[j % BINS] + (j - i) * 0x9E3779B1) & 0xFFFFFFFF
        mins = out
    return tuple(mins), len(hashes)


_BAND_HASH = hashlib.blake2b(digest_size=8)  # copied per band: cheaper than a new one with its arguments


def band_keys(signature: Sequence[int]) -> tuple[int, ...]:
    """Signed 64-bit blake2b of each band's (index, rows) as little-endian 32-bit words."""
    nb = len(signature) // ROWS
    rows = iter(signature)
    words = [v for band in zip(range(nb), *[rows] * ROWS, strict=False) for v in band]  # (b, rows of b)...
    raw = struct.pack(f"<{len(words)}I", *words)
    step = 4 * (ROWS + 1)
    digests = []
    for i in range(0, len(raw), step):
        h = _BAND_HASH.copy()
        h.update(raw[i:i + step])
        digests.append(h.digest())
    return struct.unpack(f"<{nb}q", b"".join(digests))


def fingerprint(title: str | None, text: str, *, min_shingles: int = 25) -> Fingerprint:
    """Exact hash of the normalised text and its MinHash sketch.

    The headline is left out (syndicators rewrite it) unless there is no text at all.
    """
    words = _encoded_words(text or "")
    if not words:
        words = _encoded_words(title or "")
    content_hash = hashlib.sha256(b" ".join(words)).hexdigest()
    signature, count = _minhash(words)
    if count < min_shingles:  # too short for a meaningful similarity: exact matches only
        return Fingerprint(content_hash, (), (), count, len(words))
    return Fingerprint(content_hash, signature, band_keys(signature), count, len(words))


def estimate_jaccard(a: Sequence[int], b: Sequence[int]) -> float:
    if not a or len(a) != len(b):
        return 0.0
    return sum(map(operator.eq, a, b)) / len(a)  # C-level loop: each lookup verifies a few candidates


def estimate_containment(a: Sequence[int], na: int, b: Sequence[int], nb: int) -> float:
    """Share of the smaller shingle set found in the larger one (a truncated wire copy)."""
    return _containment(estimate_jaccard(a, b), na, nb)


def _containment(j: float, na: int, nb: int) -> float:
    if not na or not nb:
        return 0.0
    inter = j * (na + nb) / (1 + j)
    return min(1.0, inter / min(na, nb))


# ---------------------------------------------------------------------------------------------
# The index


@lru_cache(maxsize=16)
def _candidates_sql(dialect: str, keys: int, cap: int, limit: int) -> TextClause:
    """The lookup's one query: capped postings per band key, ranked by weighted hits, best few read.

    Each band key reads its earliest ``cap + 1`` postings at most (an index range with a LIMIT), so
    a bucket that every boilerplate-sharing article lands in costs the same as a rare one. A hit in
    a bucket of ``n`` postings read weighs ``1/n``: rarer shared bands are stronger evidence. An
    article whose only hit is in an over-full bucket (``n > cap``) is no candidate, but hits in many
    over-full buckets still add up (a text whose sentences are all quoted elsewhere keeps its copies).
    Only the ``limit`` best-scored candidates are read back with their signatures.

    PostgreSQL gets the keys as one array joined LATERAL to the capped index range (a quarter of
    the planning time of a 42-branch UNION, and cheaper to run); SQLite, which has no LATERAL, one
    FROM-subquery per key.
    """
    if dialect == "postgresql":
        postings = (f"SELECT k.band_key, b.article_id FROM unnest(CAST(:keys AS BIGINT[])) AS k(band_key) "
                    f"CROSS JOIN LATERAL (SELECT article_id FROM dedup_bands WHERE band_key = k.band_key "
                    f"ORDER BY article_id LIMIT {cap + 1}) AS b")
    else:
        postings = "\n    UNION ALL ".join(
            f"SELECT band_key, article_id FROM (SELECT band_key, article_id FROM dedup_bands "
            f"WHERE band_key = :k{i} ORDER BY article_id LIMIT {cap + 1}) AS b{i}"
            for i in range(keys)
        )
    return text(f"""
WITH p AS (
    {postings}
), w AS (
    SELECT article_id, count(*) OVER (PARTITION BY band_key) AS n FROM p
), c AS (
    SELECT article_id, sum(1.0 / n) AS score FROM w
    WHERE article_id <> :exclude
    GROUP BY article_id HAVING min(n) <= {cap} OR count(*) > 1
    ORDER BY score DESC, article_id LIMIT {limit}
)
SELECT c.article_id, s.signature, s.shingle_count, a.duplicate_of
FROM c JOIN dedup_sketches s ON s.article_id = c.article_id JOIN articles a ON a.id = c.article_id
""")


@dataclass(slots=True)
class Deduplicator:
    """Finds the first copy of an article's content among the stored ones, by index lookups only.

    ``jaccard`` is the estimated shingle resemblance above which two texts are one article;
    ``containment`` catches a copy cut to its first paragraphs (the smaller text must be at least
    ``min_contained`` shingles long, so a short brief quoting a long report is not a copy).
    ``bucket_cap`` is the number of postings above which a band bucket is a stop-bucket (only its
    earliest ``bucket_cap + 1`` are read), and ``max_candidates`` how many candidates, best band
    evidence first, are verified: together they bound a lookup's work whatever the size of the store.
    """

    jaccard: float = 0.55
    containment: float = 0.9
    min_contained: int = 80
    max_candidates: int = 6
    bucket_cap: int = 16
    min_exact_words: int = 8  # two pages whose whole text is "Read more" are not one article

    def find_duplicate(self, session: Session, fp: Fingerprint, *, exclude_id: int | None = None) -> int | None:
        if fp.word_count < self.min_exact_words:
            return None
        exclude = -1 if exclude_id is None else exclude_id
        root = core.execute(session, _EXACT_COPY, {"hash": fp.content_hash, "exclude": exclude}).scalar()
        if root is not None:
            return int(root)
        if not fp.band_keys:
            return None
        dialect = session.get_bind().dialect.name
        params: dict[str, object] = {"exclude": exclude}
        if dialect == "postgresql":
            params["keys"] = list(fp.band_keys)
        else:
            params.update((f"k{i}", k) for i, k in enumerate(fp.band_keys))
        query = _candidates_sql(dialect, len(fp.band_keys), self.bucket_cap, self.max_candidates)
        rows = core.execute(session, query, params).all()
        best: tuple[float, int] | None = None
        for article_id, sig_bytes, count, duplicate_of in rows:
            sig = struct.unpack(f"<{len(sig_bytes) // 4}I", sig_bytes)
            j = estimate_jaccard(fp.signature, sig)
            ok = j >= self.jaccard
            if not ok and min(count, fp.shingle_count) >= self.min_contained:
                ok = _containment(j, fp.shingle_count, count) >= self.containment
            if ok:
                root = duplicate_of or article_id
                if best is None or (j, -root) > (best[0], -best[1]):
                    best = (j, root)
        if best is not None:
            log.debug("near_duplicate root=%s jaccard=%.2f", best[1], best[0])
        return best[1] if best else None

    def index(self, session: Session, article: ArticleRow, fp: Fingerprint) -> None:
        """Store the sketch and band keys of a stored article (idempotent).

        A copy (``duplicate_of`` set) adds only the band keys its first copy does not hold: band
        keys are equal values, so whatever finds the copy through a shared band finds the first copy
        too, and a story carried by hundreds of sites does not fill its buckets to stop-buckets.
        """
        if not fp.band_keys:
            return
        if article.id is None:
            session.flush()
        if session.get_bind().dialect.name == "postgresql":
            # one round trip instead of up to three (the first copy's keys, the sketch, and an
            # executemany of the bands, which psycopg runs as a bind/execute round per row): 0.2-0.3 ms
            # of client CPU an article instead of 1.0-1.2, and about 0.4 ms less server CPU. The keys
            # are sorted, so that two daemons inserting the same keys lock them in one order.
            core.execute(session, _PG_INDEX, {
                "article_id": article.id, "signature": fp.signature_bytes(), "shingle_count": fp.shingle_count,
                "keys": sorted(set(fp.band_keys)), "first": article.duplicate_of})
            return
        keys = set(fp.band_keys)
        if article.duplicate_of is not None:
            keys -= set(core.execute(session, _FIRST_COPY_KEYS,
                                     {"first": article.duplicate_of, "keys": sorted(keys)}).scalars())
        insert_ignore(session, DedupSketchRow.__table__, [{
            "article_id": article.id, "signature": fp.signature_bytes(), "shingle_count": fp.shingle_count,
        }], ["article_id"])
        # SQLite: an executemany of one cached statement is the cheapest way there (an INSERT … SELECT
        # FROM json_each, or a multi-row VALUES, took twice as long: 0.45 against 0.2 ms for 42 keys)
        insert_ignore(session, DedupBandRow.__table__,
                      [{"band_key": k, "article_id": article.id} for k in keys],
                      ["band_key", "article_id"])

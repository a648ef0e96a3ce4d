"""URL canonicalisation and near-duplicate detection (pipeline.dedup), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from pipeline.dedup import Deduplicator, canonicalize_url, estimate_jaccard, fingerprint, normalize_guid
from pipeline.store import ArticleRow, session_factory, transaction
from pipeline.store.index_models import DedupBandRow, DedupSketchRow

WIRE = [
    "WASHINGTON (AP) — The Commerce Department on Thursday barred the sale of Kaspersky Lab antivirus "
    "software in the United States, saying the company's ties to Russia pose a significant risk to "
    "American infrastructure and services.",
    "The ban, announced by Commerce Secretary Gina Raimondo, takes effect on July 20 for new sales. "
    "Existing customers will stop receiving software updates and malware signatures on September 29, "
    "officials said, giving businesses and consumers time to find replacements.",
    "Officials said Russia's ability to influence or direct Kaspersky's operations meant the software "
    "could be used to collect sensitive information from American computers or to install malicious code. "
    "The company has denied any links to the Russian government.",
    "The action is the first final determination under a 2019 executive order that lets the department "
    "restrict technology transactions with companies from foreign adversaries. It follows a probe that "
    "began in 2021 and a 2017 order removing Kaspersky products from federal networks.",
    "Kaspersky said in a statement that the decision was based on the present geopolitical climate and "
    "theoretical concerns rather than on a comprehensive evaluation of its products, and that it intends "
    "to pursue all legally available options to preserve its operations.",
    "Customers who keep using the software after the cut-off will not be breaking the law, the department "
    "said, but they will be exposed to security risks as the product stops receiving updates.",
]

OWN_REPORT = (
    "Russian cybersecurity firm Kaspersky Lab will be shut out of the American market under a rule "
    "unveiled Thursday by the Biden administration, capping a years-long campaign against the Moscow-based "
    "vendor. Retailers and resellers must stop offering its antivirus products by July 20. The Commerce "
    "Department will also add three Kaspersky units to its Entity List. \"Russia has shown it has the "
    "capacity and the intent to exploit Russian companies like Kaspersky,\" Secretary Gina Raimondo told "
    "reporters on a call. Analysts at Gartner estimated the company's US consumer base in the hundreds of "
    "thousands, many of them small businesses that bought the product through retail chains. The company, "
    "founded by Eugene Kaspersky in 1997, moved some data processing to Switzerland years ago to answer "
    "Western concerns. Lawyers said the firm could challenge the decision in court, as it did unsuccessfully "
    "after the 2017 federal ban."
)


def _article(session, url: str, title: str, text: str, fp) -> ArticleRow:
    row = ArticleRow(url=url, canonical_url=canonicalize_url(url), title=title, text=text,
                     content_hash=fp.content_hash, published_at=datetime(2024, 6, 20, tzinfo=UTC))
    session.add(row)
    session.flush()
    return row


def _store(engine: Engine, url: str, title: str, text: str) -> tuple[int, int | None]:
    """The pipeline's order: store the row, look for its first copy, index it."""
    dedup = Deduplicator()
    fp = fingerprint(title, text)
    with transaction(session_factory(engine)) as s:
        row = _article(s, url, title, text, fp)
        first = dedup.find_duplicate(s, fp, exclude_id=row.id)
        row.duplicate_of = first
        dedup.index(s, row, fp)
        return row.id, first


@pytest.mark.parametrize("variant", [
    "http://www.example.com/news/kaspersky-ban/",
    "https://EXAMPLE.com:443/news/kaspersky-ban?utm_source=twitter&utm_medium=social",
    "https://m.example.com/news/kaspersky-ban?fbclid=IwAR0abc&gclid=xyz#comments",
    "https://example.com/news/kaspersky-ban/amp",
    "https://amp.example.com/amp/news/kaspersky-ban",
    "https://example.com/news/kaspersky-ban?outputType=amp&mc_cid=1",
    "https://example.com//news/./kaspersky-ban",
    "https://example.com/news/kaspersky-ban?amp",
    "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/kaspersky-ban/amp/",
])
def test_url_variants_share_one_canonical_url(variant: str) -> None:
    assert canonicalize_url(variant) == "https://example.com/news/kaspersky-ban"


def test_meaningful_query_parameters_are_kept_and_sorted() -> None:
    assert canonicalize_url("https://example.com/article?p=2&id=7&utm_campaign=x") == \
        "https://example.com/article?id=7&p=2"
    assert canonicalize_url("https://example.com/gear/guitar-amp") == "https://example.com/gear/guitar-amp"


def test_canonical_hint_used_only_when_consistent() -> None:
    url = "https://www.example.com/story.php?id=991&ref=rss"
    assert canonicalize_url(url, canonical_hint="/2024/06/kaspersky-ban") == \
        "https://example.com/2024/06/kaspersky-ban"
    assert canonicalize_url(url, canonical_hint="https://example.com/") == "https://example.com/story.php?id=991"
    assert canonicalize_url(url, canonical_hint="https://other.org/2024/06/kaspersky-ban") == \
        "https://example.com/story.php?id=991"


def test_url_guid_is_canonicalised_and_opaque_guid_kept() -> None:
    assert normalize_guid("http://www.example.com/a/?utm_source=rss") == "https://example.com/a"
    assert normalize_guid(" tag:example.com,2024:1234 ") == "tag:example.com,2024:1234"


def test_exact_copy_is_detected(db_engine: Engine) -> None:
    text = "\n".join(WIRE)
    first, dup = _store(db_engine, "https://a.example/kaspersky", "US bans Kaspersky", text)
    assert dup is None
    _, dup2 = _store(db_engine, "https://b.example/wire/kaspersky", "US bans Kaspersky", text)
    assert dup2 == first


def test_syndicated_copy_with_other_boilerplate_headline_and_cut_is_detected(db_engine: Engine) -> None:
    first, _ = _store(db_engine, "https://apnews.example/article/1", "US bans sales of Kaspersky software",
                      "\n".join(WIRE))
    copy = ("Sign up for our morning newsletter. Advertisement.\n" + "\n".join(WIRE[:4] + WIRE[5:])
            + "\nCopyright 2024 The Associated Press. All rights reserved. Share this story on Facebook.")
    second, dup = _store(db_engine, "https://localpaper.example/news/russian-antivirus-banned",
                         "Biden administration moves to block Russian antivirus maker", copy)
    assert dup == first
    # a copy of the copy still points at the first copy seen
    _, dup3 = _store(db_engine, "https://third.example/x", "Kaspersky ban", copy + "\nMore at 11.")
    assert dup3 == first and second != first


def test_own_reports_of_the_same_event_are_not_duplicates(db_engine: Engine) -> None:
    _store(db_engine, "https://apnews.example/article/1", "US bans Kaspersky software", "\n".join(WIRE))
    _, dup = _store(db_engine, "https://other.example/kaspersky-shut-out",
                    "Kaspersky shut out of US market", OWN_REPORT)
    assert dup is None
    assert estimate_jaccard(fingerprint(None, "\n".join(WIRE)).signature, fingerprint(None, OWN_REPORT).signature) < 0.2


def test_index_is_idempotent(db_engine: Engine) -> None:
    fp = fingerprint("t", "\n".join(WIRE))
    with transaction(session_factory(db_engine)) as s:
        row = _article(s, "https://a.example/1", "t", "\n".join(WIRE), fp)
        Deduplicator().index(s, row, fp)
        Deduplicator().index(s, row, fp)
        assert s.scalar(select(func.count()).select_from(DedupBandRow)) == len(set(fp.band_keys))


def test_short_texts_match_only_exactly() -> None:
    fp = fingerprint("Brief", "Kaspersky ban takes effect.")
    assert fp.band_keys == () and fp.content_hash


def test_empty_or_tiny_texts_are_never_copies_of_each_other(db_engine: Engine) -> None:
    _store(db_engine, "https://a.example/video/1", "Storm hits coast", "")
    _, dup = _store(db_engine, "https://a.example/video/2", None, "")  # type: ignore[arg-type]
    assert dup is None
    _store(db_engine, "https://b.example/1", "One", "Read more")
    assert _store(db_engine, "https://b.example/2", "Two", "Read more")[1] is None


def _copy_of_wire() -> str:
    """A syndicated copy of WIRE: other boilerplate, one paragraph cut."""
    return ("Sign up for our morning newsletter.\n" + "\n".join(WIRE[:3] + WIRE[4:])
            + "\nCopyright 2024 The Associated Press. All rights reserved.")


def _share_bands(engine: Engine, keys: list[int], count: int) -> None:
    """``count`` unrelated articles that hold ``keys`` among their band keys, as shared boilerplate does."""
    other = fingerprint(None, OWN_REPORT)
    with transaction(session_factory(engine)) as s:
        for i in range(count):
            row = _article(s, f"https://boilerplate.example/{i}", "Other", f"Other story {i}", other)
            s.add(DedupSketchRow(article_id=row.id, signature=other.signature_bytes(),
                                 shingle_count=other.shingle_count))
            s.add_all(DedupBandRow(band_key=k, article_id=row.id) for k in keys)


def test_over_full_buckets_do_not_hide_the_original(db_engine: Engine) -> None:
    """Half the original's buckets hold many other articles; only the best-evidenced candidate is
    verified, and it is the original (its rare buckets outweigh the crowded ones)."""
    dedup = Deduplicator(bucket_cap=4, max_candidates=1)
    first, _ = _store(db_engine, "https://apnews.example/article/1", "US bans Kaspersky", "\n".join(WIRE))
    keys = fingerprint(None, "\n".join(WIRE)).band_keys
    _share_bands(db_engine, list(keys[::2]), 12)
    copy = fingerprint("Russian antivirus banned", _copy_of_wire())
    with session_factory(db_engine)() as s:
        assert dedup.find_duplicate(s, copy) == first


def test_original_found_when_all_its_buckets_are_over_full(db_engine: Engine) -> None:
    """Every band of the original is crowded (its sentences quoted everywhere): hits in many
    over-full buckets still add up to a candidate."""
    dedup = Deduplicator(bucket_cap=4, max_candidates=2)
    first, _ = _store(db_engine, "https://apnews.example/article/1", "US bans Kaspersky", "\n".join(WIRE))
    _share_bands(db_engine, list(fingerprint(None, "\n".join(WIRE)).band_keys), 12)
    copy = fingerprint("Russian antivirus banned", _copy_of_wire())
    with session_factory(db_engine)() as s:
        assert dedup.find_duplicate(s, copy) == first


def test_copy_indexes_only_band_keys_its_original_lacks(db_engine: Engine) -> None:
    first, _ = _store(db_engine, "https://apnews.example/article/1", "US bans Kaspersky", "\n".join(WIRE))
    second, dup = _store(db_engine, "https://localpaper.example/1", "Russian antivirus banned", _copy_of_wire())
    assert dup == first
    with session_factory(db_engine)() as s:
        own = set(s.scalars(select(DedupBandRow.band_key).where(DedupBandRow.article_id == first)))
        added = set(s.scalars(select(DedupBandRow.band_key).where(DedupBandRow.article_id == second)))
    copy_keys = set(fingerprint(None, _copy_of_wire()).band_keys)
    assert copy_keys & own  # the copy shares bands with its original ...
    assert added == copy_keys - own  # ... and stores only the others


def test_exact_lookup_reads_the_hash_index_even_without_statistics(db_engine: Engine) -> None:
    """On PostgreSQL, "ORDER BY id LIMIT 1" made the planner walk the primary key filtering on the hash
    while the table had no statistics (a full scan per article: 42 ms at 40,000 stored). The lookup
    must be answered from the content_hash index on a table whose size is known but whose columns
    were never analysed (after a bulk load or a restore, or between autovacuum's analyses)."""
    from sqlalchemy import event, insert

    from pipeline.dedup import Fingerprint

    rows = [{"url": f"https://s.example/{i}", "canonical_url": f"https://s.example/{i}", "title": "t",
             "text": "x", "content_hash": f"{i:064x}", "word_count": 1, "duplicate_count": 0,
             "is_relevant": False, "first_seen_at": datetime(2024, 1, 1, tzinfo=UTC)} for i in range(40_000)]
    with db_engine.begin() as conn:
        conn.execute(insert(ArticleRow.__table__), rows)
    if db_engine.dialect.name == "postgresql":
        # what autovacuum (or a restore) leaves: the row count known, no column statistics yet
        with db_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM articles")
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if "content_hash" in statement:
            statements.append((statement, parameters))

    event.listen(db_engine, "before_cursor_execute", capture)
    fp = Fingerprint(f"{39_999:064x}", (), (), 0, word_count=50)
    with transaction(session_factory(db_engine)) as s:
        assert Deduplicator().find_duplicate(s, fp, exclude_id=-1) is not None
    event.remove(db_engine, "before_cursor_execute", capture)
    (statement, parameters), = statements
    explain = "EXPLAIN " if db_engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with db_engine.connect() as conn:
        plan = " ".join(str(r) for r in conn.exec_driver_sql(explain + statement, parameters).all())
    assert "ix_articles_content_hash" in plan, plan


def test_url_caches_hold_no_oversized_urls_or_hosts() -> None:
    from pipeline import dedup

    long_host = "a" * 300 + ".example"
    urls = [f"https://{long_host}/x?{i}" for i in range(20)] + [f"https://e.example/{'p' * 5000}/{i}" for i in range(20)]
    before = (dedup._canonical_cached.cache_info().currsize, dedup._strip_host_cached.cache_info().currsize)
    first = [canonicalize_url(u) for u in urls]
    assert [canonicalize_url(u) for u in urls] == first  # the same answers, computed again
    after = (dedup._canonical_cached.cache_info().currsize, dedup._strip_host_cached.cache_info().currsize)
    assert after[0] == before[0] + 20  # the 5,000-letter URLs were not cached
    assert after[1] <= before[1] + 1  # nor the 300-letter host (only e.example, if it was new)
    assert canonicalize_url("http://E.example/a?utm_source=x&b=1") == canonicalize_url("https://e.example/a?b=1")

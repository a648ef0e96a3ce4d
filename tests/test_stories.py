"""Events, stories, merges, dormancy and timelines (pipeline.stories), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from pipeline.store import (
    ArticleDateRow,
    ArticleRow,
    EventMergeRow,
    EventRow,
    StoryRow,
    session_factory,
    transaction,
)
from pipeline.store.index_models import ClusterPostingRow, TermStatRow
from pipeline.stories import (
    ArticleFeatures,
    StoryTracker,
    _dot,
    _top,
    headline_actions,
    list_stories,
    representative_title,
    timeline,
)

T0 = datetime(2024, 6, 20, 14, 0, tzinfo=UTC)

BAN = [
    ("Commerce bans Kaspersky antivirus sales in the US",
     "The Commerce Department banned sales of Kaspersky Lab antivirus software in the United States, "
     "citing national security risks from the Russian company. New sales end July 20 and software updates "
     "stop September 29 under the final determination announced by Secretary Gina Raimondo."),
    ("US bans Kaspersky software over Russia ties - Example News",
     "Washington banned Kaspersky antivirus software on Thursday. Secretary Gina Raimondo said the Russian "
     "government could use Kaspersky to collect data from American computers. The Commerce Department "
     "determination stops new sales from July 20 and updates from September 29."),
    ("Kaspersky antivirus banned in US by Commerce Department",
     "Kaspersky Lab antivirus products can no longer be sold in the United States after July 20, the Commerce "
     "Department said, and updates will end September 29. Raimondo cited Russia's influence over the "
     "company as a national security risk; Kaspersky said it would pursue legal options."),
]
WIND_DOWN = [
    ("Kaspersky to shut down US operations and lay off staff",
     "Kaspersky Lab will gradually wind down its operations in the United States and lay off its American "
     "employees, the company confirmed, weeks after the Commerce Department ban on its antivirus software. "
     "The wind-down starts July 20, when new sales end."),
    ("Kaspersky winds down US operations, lays off American staff",
     "Russian security firm Kaspersky is winding down its operations in the United States and laying off "
     "fewer than 50 American employees, the company said. The wind-down of US operations starts July 20."),
]
DJI = ("DJI sues Pentagon over Chinese military company label",
       "Drone maker DJI filed a lawsuit in federal court in Washington against the Defense Department, "
       "asking a judge to remove it from the 1260H list of Chinese military companies. DJI said the "
       "designation cost it business deals and damaged its reputation with drone pilots.")


@dataclass
class Hit:
    key: str
    name: str
    type: str = "company"
    country: str | None = None
    mentions: int = 1


@dataclass
class Dated:
    date: date
    precision: str
    role: str
    snippet: str


def place(engine: Engine, tracker: StoryTracker, title: str, text: str, when: datetime, *,
          outlet: str = "example.com", entities: list[Hit] | None = None,
          dates: list[Dated] | None = None) -> tuple[int, int, int | None]:
    """Store and place one article as the pipeline does; returns (article, event, story) ids."""
    with transaction(session_factory(engine)) as s:
        n = s.scalar(select(func.count()).select_from(ArticleRow)) or 0
        row = ArticleRow(url=f"https://{outlet}/a/{n}", canonical_url=f"https://{outlet}/a/{n}", title=title,
                         text=text, site_name=outlet, published_at=when, first_seen_at=when)
        s.add(row)
        s.flush()
        for d in dates or []:
            s.add(ArticleDateRow(article_id=row.id, date=d.date, precision=d.precision, role=d.role,
                                 snippet=d.snippet))
        event = tracker.place(s, row, entities or [Hit("kaspersky", "Kaspersky")], dates or [], now=when)
        return row.id, event.id, event.story_id


def test_same_event_reports_join_one_event(db_engine: Engine) -> None:
    tracker = StoryTracker()
    events = {place(db_engine, tracker, t, x, T0 + timedelta(hours=3 * i), outlet=f"o{i}.example")[1]
              for i, (t, x) in enumerate(BAN)}
    assert len(events) == 1
    with session_factory(db_engine)() as s:
        ev = s.get(EventRow, events.pop())
        assert ev.article_count == 3 and ev.outlet_count == 3


def test_unrelated_article_opens_its_own_event_and_story(db_engine: Engine) -> None:
    tracker = StoryTracker()
    _, ev1, st1 = place(db_engine, tracker, *BAN[0], T0)
    _, ev2, st2 = place(db_engine, tracker, *DJI, T0 + timedelta(hours=5), entities=[Hit("dji", "DJI")])
    assert ev1 != ev2 and st1 != st2


def test_follow_up_development_is_a_new_event_in_the_same_story(db_engine: Engine) -> None:
    tracker = StoryTracker()
    for i, (t, x) in enumerate(BAN):
        _, ban_event, story = place(db_engine, tracker, t, x, T0 + timedelta(hours=i))
    later = T0 + timedelta(days=25)
    _, e1, s1 = place(db_engine, tracker, *WIND_DOWN[0], later)
    _, e2, s2 = place(db_engine, tracker, *WIND_DOWN[1], later + timedelta(hours=6))
    assert e1 == e2 != ban_event
    assert s1 == s2 == story


def test_later_report_of_the_same_action_by_another_outlet_joins_its_event(db_engine: Engine) -> None:
    """Six days on (past the event window), other words, no date: nothing says it is another action."""
    tracker = StoryTracker()
    _, ban_event, _ = place(db_engine, tracker, *BAN[0], T0, outlet="a.example")
    late = ("Russia's Kaspersky barred from selling antivirus in America",
            "American shops and websites must stop selling Kaspersky products next month. The Commerce Department "
            "says the Moscow-based security firm poses a national security risk, a charge the company denies; "
            "existing users will be left without updates in the autumn.")
    _, event, _ = place(db_engine, tracker, *late, T0 + timedelta(days=6), outlet="d.example")
    assert event == ban_event


def test_different_action_by_the_same_agency_next_day_is_a_new_event_in_the_same_story(db_engine: Engine) -> None:
    """Shared vocabulary, but another action in the headline and a later action day in the text."""
    tracker = StoryTracker()
    announced = [Dated(T0.date(), "day", "announcement", "announced on Thursday")]
    for i, (t, x) in enumerate(BAN[:2]):
        _, ban_event, story = place(db_engine, tracker, t, x, T0 + timedelta(hours=4 * i), outlet=f"o{i}.example",
                                    dates=announced)
    listing = ("Commerce adds Kaspersky units to Entity List",
               "The Commerce Department added three Kaspersky Lab units to its Entity List on Friday, a day after "
               "it banned sales of the Russian company's antivirus software in the United States over national "
               "security risks. Secretary Gina Raimondo said the listing bars exports to the units without a licence.")
    next_day = T0 + timedelta(days=1)
    _, event, story2 = place(db_engine, tracker, *listing, next_day, outlet="c.example",
                             dates=[Dated(next_day.date(), "day", "announcement", "added on Friday")])
    assert event != ban_event
    assert story2 == story


def test_headline_actions_fold_wordings_of_one_action_and_ignore_the_bare_noun() -> None:
    assert headline_actions("Commerce bans Kaspersky") == headline_actions("Kaspersky barred from US") == {"ban"}
    assert headline_actions("Treasury sanctions 12 Kaspersky executives") == {"sanction"}
    assert headline_actions("Kaspersky vows to fight the ban") == frozenset()


def test_article_close_to_two_events_merges_them_and_records_it(db_engine: Engine) -> None:
    tracker = StoryTracker(event_threshold=0.5, merge_threshold=0.3)
    a = ("Kaspersky antivirus sales banned", BAN[0][1])
    b = ("Kaspersky updates cut off", "Kaspersky Lab customers in the United States will stop receiving "
         "signature updates on September 29 under the Commerce Department final determination, and "
         "retailers must pull the antivirus from shelves.")
    _, ea, _ = place(db_engine, tracker, *a, T0)
    _, eb, _ = place(db_engine, tracker, *b, T0 + timedelta(hours=1))
    assert ea != eb
    bridge = ("Kaspersky antivirus sales banned, updates cut off", a[1] + " " + b[1])
    _, ec, _ = place(db_engine, tracker, *bridge, T0 + timedelta(hours=2))
    assert ec == min(ea, eb)
    with session_factory(db_engine)() as s:
        merge = s.scalars(select(EventMergeRow)).one()
        assert (merge.kind, merge.kept_id, merge.merged_id) == ("event", ea, eb)
        gone = s.get(EventRow, eb)
        assert gone.merged_into == ea and gone.article_count == 0
        assert s.get(EventRow, ea).article_count == 3
        assert set(s.scalars(select(ArticleRow.event_id))) == {ea}
        assert s.scalar(select(func.count()).select_from(ClusterPostingRow)
                        .where(ClusterPostingRow.kind == "event", ClusterPostingRow.cluster_id == eb)) == 0


def test_story_is_titled_after_its_largest_event_after_a_merge(db_engine: Engine) -> None:
    """The merge retitles the story from what it remembers (no read of the story's events), also
    when the event merged away was the story's largest."""
    apart = StoryTracker(event_threshold=0.5, merge_threshold=0.9)
    b_text = ("Kaspersky Lab customers in the United States will stop receiving signature updates on "
              "September 29 under the Commerce Department final determination, and retailers must pull "
              "the antivirus from shelves.")
    _, eb, story = place(db_engine, apart, "Kaspersky updates cut off", b_text, T0)
    a = ("Kaspersky antivirus sales banned", BAN[0][1])
    _, ea, _ = place(db_engine, apart, *a, T0 + timedelta(hours=1))
    _, again, _ = place(db_engine, apart, *a, T0 + timedelta(hours=1, minutes=30), outlet="b.example")
    assert eb < ea == again  # the younger event is the story's largest
    bridge = ("Kaspersky antivirus sales banned, updates cut off", a[1] + " " + b_text)
    merging = StoryTracker(event_threshold=0.5, merge_threshold=0.3)
    _, kept, st = place(db_engine, merging, *bridge, T0 + timedelta(hours=2))
    assert kept == eb and st == story
    with session_factory(db_engine)() as s:
        largest = s.scalars(select(EventRow).where(EventRow.story_id == story, EventRow.merged_into.is_(None))
                            .order_by(EventRow.article_count.desc(), EventRow.id)).first()
        row = s.get(StoryRow, story)
        assert largest.id == kept and row.title == largest.title
        assert row.profile["best"] == [largest.article_count, kept]  # what the next retitle compares with


def test_story_goes_dormant_and_wakes_up(db_engine: Engine) -> None:
    tracker = StoryTracker(story_dormant_after=14 * 86400)
    _, _, story = place(db_engine, tracker, *BAN[0], T0)
    factory = session_factory(db_engine)
    with transaction(factory) as s:
        assert tracker.update_dormancy(s, T0 + timedelta(days=13)) == 0
    with transaction(factory) as s:
        assert tracker.update_dormancy(s, T0 + timedelta(days=15)) == 1
    with factory() as s:
        assert s.get(StoryRow, story).status == "dormant"
        assert [x.story_id for x in list_stories(s, status="developing")] == []
    _, _, woken = place(db_engine, tracker, *WIND_DOWN[0], T0 + timedelta(days=25))
    assert woken == story
    with factory() as s:
        assert s.get(StoryRow, story).status == "developing"
        assert s.get(StoryRow, story).last_updated_at == T0 + timedelta(days=25)


def test_timeline_lists_events_in_date_order_with_member_headlines_and_dates(db_engine: Engine) -> None:
    tracker = StoryTracker()
    # the later development arrives first (an out-of-order feed); the timeline still sorts by date
    place(db_engine, tracker, *WIND_DOWN[0], T0 + timedelta(days=25), outlet="a.example")
    place(db_engine, tracker, *WIND_DOWN[1], T0 + timedelta(days=25, hours=2), outlet="b.example")
    cut_off = Dated(date(2024, 9, 29), "day", "effective_date", "updates stop September 29")
    for i, (t, x) in enumerate(BAN):
        _, _, story = place(db_engine, tracker, t, x, T0 + timedelta(hours=i), outlet=f"o{i}.example",
                            dates=[cut_off])
    with session_factory(db_engine)() as s:
        tl = timeline(s, story)
    assert tl is not None and len(tl.events) == 2
    first, second = tl.events
    assert first.occurred_on == T0.date() and second.occurred_on == (T0 + timedelta(days=25)).date()
    assert first.title in {t for t, _ in BAN} and second.title in {t for t, _ in WIND_DOWN}
    assert (first.article_count, first.outlet_count) == (3, 3)
    assert [(d.date, d.role) for d in first.dates] == [(date(2024, 9, 29), "effective_date")]
    assert len(first.links) == 3 and all(link.url.startswith("https://") for link in first.links)


def test_representative_title_is_a_member_headline() -> None:
    titles = ["US bans Kaspersky antivirus", "Kaspersky antivirus banned in US", "Russia reacts"]
    assert representative_title(titles) in titles[:2]


def test_concurrent_writers_place_without_conflicts(db_engine: Engine) -> None:
    """Two daemons placing reports of one event at once: idempotent upserts, no unique-key errors."""
    import threading

    tracker = StoryTracker()
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(3):
                t, x = BAN[(i + offset) % len(BAN)]
                place(db_engine, tracker, t, x, T0 + timedelta(minutes=10 * i + offset),
                      outlet=f"w{offset}-{i}.example")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    assert not errors, errors
    with session_factory(db_engine)() as s:
        assert s.scalar(select(func.count()).select_from(ArticleRow).where(ArticleRow.event_id.is_(None))) == 0
        live = s.scalars(select(EventRow).where(EventRow.merged_into.is_(None))).all()
        assert sum(e.article_count for e in live) == 6


def _post(engine: Engine, key: str, cluster_ids: range | list[int], last_day: int | list[int]) -> None:
    days = last_day if isinstance(last_day, list) else [last_day] * len(cluster_ids)
    with transaction(session_factory(engine)) as s:
        s.add_all([ClusterPostingRow(kind="event", key=key, cluster_id=c, last_day=d)
                   for c, d in zip(cluster_ids, days, strict=True)])


def _feats(vector: dict[str, float], common: frozenset[str] = frozenset()) -> ArticleFeatures:
    return ArticleFeatures(vector, T0, T0, "t", "o", common=common)


TODAY = (T0.date() - date(1970, 1, 1)).days


def test_candidate_lookup_reads_only_the_newest_postings_of_a_frequent_key(db_engine: Engine) -> None:
    """A key shared by many clusters costs ``postings_per_key`` rows, those of the latest clusters."""
    _post(db_engine, "security", range(100, 150), [TODAY - 60 + i for i in range(50)])
    tracker = StoryTracker(postings_per_key=5)
    with session_factory(db_engine)() as s:
        ids = tracker._candidate_ids(s, "event", _feats({"security": 1.0}), timedelta(days=365))
    assert sorted(ids) == [145, 146, 147, 148, 149]


def test_frequent_key_does_not_hide_an_older_cluster_found_by_a_rarer_key(db_engine: Engine) -> None:
    """The right event, older than every cluster sharing the article's heaviest (frequent) key,
    is still a candidate through a rarer key, ahead of the many clusters found by the frequent key."""
    _post(db_engine, "security", range(100, 150), TODAY)
    _post(db_engine, "security", [7], TODAY - 90)
    _post(db_engine, "kaspersky", [7], TODAY - 90)
    _post(db_engine, "kaspersky", [8], TODAY - 200)  # shares only the rarer key: still a candidate
    tracker = StoryTracker(postings_per_key=5, max_candidates=3)
    with session_factory(db_engine)() as s:
        ids = tracker._candidate_ids(s, "event", _feats({"security": 0.8, "kaspersky": 0.6}), timedelta(days=365))
    assert {7, 8} <= set(ids)


def test_a_default_tracker_scores_only_the_ten_clusters_sharing_most_of_the_article_keys(
        db_engine: Engine) -> None:
    """However many clusters share the article's keys, a lookup reads, decodes and scores at most 10
    profiles, those sharing the most key weight."""
    _post(db_engine, "security", range(100, 112), TODAY)
    _post(db_engine, "kaspersky", [103, 110], TODAY)
    tracker = StoryTracker()
    with session_factory(db_engine)() as s:
        feats = _feats({"security": 0.5, "kaspersky": 0.8})
        ids = tracker._candidate_ids(s, "event", feats, timedelta(days=365))
    assert len(ids) == 10 and ids[:2] == [110, 103]


def test_a_default_tracker_reads_the_newest_32_postings_of_a_key(db_engine: Engine) -> None:
    """The rows a lookup reads stop growing once 32 clusters share a key, not 64."""
    _post(db_engine, "security", range(100, 150), [TODAY - 60 + i for i in range(50)])
    tracker = StoryTracker(max_candidates=100)
    with session_factory(db_engine)() as s:
        ids = tracker._candidate_ids(s, "event", _feats({"security": 1.0}), timedelta(days=365))
    assert sorted(ids) == list(range(118, 150))


def test_keys_as_common_as_stop_words_are_not_looked_up_while_others_remain(db_engine: Engine) -> None:
    _post(db_engine, "said", [1], TODAY)
    _post(db_engine, "dji", [2], TODAY)
    tracker = StoryTracker()
    with session_factory(db_engine)() as s:
        both = {"said": 0.9, "dji": 0.3}
        assert tracker._candidate_ids(s, "event", _feats(both, frozenset({"said"})), timedelta(days=30)) == [2]
        only_common = _feats({"said": 1.0}, frozenset({"said"}))
        assert tracker._candidate_ids(s, "event", only_common, timedelta(days=30)) == [1]


def test_features_mark_terms_in_most_documents_as_common_once_there_are_enough(db_engine: Engine) -> None:
    with transaction(session_factory(db_engine)) as s:
        s.add_all([TermStatRow(term="", df=2000), TermStatRow(term="commerce", df=1500),
                   TermStatRow(term="kaspersky", df=40)])
    tracker = StoryTracker(common_key_share=0.5, common_key_min_docs=1000)
    with transaction(session_factory(db_engine)) as s:
        row = ArticleRow(url="https://a.example/1", canonical_url="https://a.example/1", title=BAN[0][0],
                         text=BAN[0][1], published_at=T0, first_seen_at=T0)
        s.add(row)
        s.flush()
        feats = tracker.features(s, row, [], T0)
    assert "commerce" in feats.common and "kaspersky" not in feats.common


def test_document_frequencies_are_read_before_the_article_and_then_counted(db_engine: Engine) -> None:
    tracker = StoryTracker()
    factory = session_factory(db_engine)
    with transaction(factory) as s:
        assert tracker._document_frequencies(s, ["ban", "kaspersky"])[1] == 0
    with transaction(factory) as s:
        df, n_docs = tracker._document_frequencies(s, ["ban", "dji"])
    assert n_docs == 1 and df.get("ban", 0) == 1 and df.get("dji", 0) == 0
    with factory() as s:
        counts = dict(s.execute(select(TermStatRow.term, TermStatRow.df)).all())
    assert counts == {"": 2, "ban": 2, "kaspersky": 1, "dji": 1}


def test_top_terms_are_heaviest_first_with_ties_in_term_order() -> None:
    vec = {"c": 0.5, "a": 0.5, "b": 0.9, "d": 0.1, "e": 0.5}
    assert list(_top(vec, 3).items()) == [("b", 0.9), ("a", 0.5), ("c", 0.5)]


def test_dot_product_does_not_depend_on_the_order_of_terms() -> None:
    a = {f"t{i}": 1 / (i + 1) for i in range(200)}
    b = {f"t{i}": (i % 7) / 3 for i in range(0, 400, 2)}
    reordered = dict(reversed(list(a.items())))
    assert _dot(a, b) == _dot(reordered, b) == _dot(b, reordered)


def test_centroid_of_members_with_little_in_common_does_not_match_an_article_sharing_only_their_common_word(
) -> None:
    tracker = StoryTracker()
    # 50 reports that share one word and nothing else: their summed vector is mostly that word
    members = [{"ban": 0.3, f"own{i}": 0.954} for i in range(50)]
    v: dict[str, float] = {}
    for m in members:
        for t, w in m.items():
            v[t] = v.get(t, 0.0) + w
    article = {"ban": 0.2, "other": 0.98}
    plain = _dot(article, v) / math.sqrt(_dot(v, v))
    scored = _dot(article, v) / tracker._centroid_norm({"v": v, "n": len(members)})
    assert plain >= tracker.event_threshold > scored


def test_centroid_norm_of_a_small_event_is_its_vector_norm() -> None:
    v = {"ban": 0.6, "a": 0.8, "b": 0.8}
    assert StoryTracker()._centroid_norm({"v": v, "n": 2}) == math.sqrt(_dot(v, v))


def test_profile_cache_keeps_one_version_per_cluster() -> None:
    import json

    from pipeline import stories
    tracker = stories.StoryTracker()
    for n in range(50):  # every article joining an event rewrites its profile
        tracker._decoded("event", 7, json.dumps({"v": {"w": 1.0}, "n": n}))
    assert len(tracker._profiles) == 1


def test_candidate_profiles_are_decoded_once_per_version(db_engine: Engine) -> None:
    """Candidates' profiles are read as JSON text and decoded through the tracker's cache on both
    backends: psycopg decoded them itself on PostgreSQL, so every lookup decoded every candidate."""
    tracker = StoryTracker()
    for i, (t, x) in enumerate(BAN):
        place(db_engine, tracker, t, x, T0 + timedelta(hours=3 * i), outlet=f"o{i}.example")
    assert tracker._profiles, "no candidate profile went through the cache"
    assert all(isinstance(prof, dict) and prof.get("v") for _, prof in tracker._profiles.values())


def test_a_candidate_lookup_reads_the_postings_index_alone_on_sqlite(tmp_path: Path) -> None:
    """The postings index carries cluster_id (revision 0004): no table row is read per posting."""
    from pipeline.store import make_engine, upgrade
    from pipeline.stories import _postings_query

    engine = make_engine(f"sqlite:///{tmp_path / 'plan.db'}")
    upgrade(engine)
    sql = str(_postings_query(2))  # plain SQL with :named parameters, as sqlite3 takes them
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, {"kind": "event", "k0": "a", "k1": "b", "lo": 0, "cap": 32}))
    engine.dispose()
    assert plan.count("COVERING INDEX ix_cluster_postings_kind_key_last_day_cluster_id") == 2, plan

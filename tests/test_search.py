"""Full-text search on both backends: the query language, index sync, folding of copies, the CLI."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from pipeline.config import Config
from pipeline.errors import UsageError
from pipeline.runtime import Runtime
from pipeline.search import And, Or, Phrase, Term, parse_query, print_search, search_articles, to_fts5
from pipeline.store.models import ArticleRow
from tests.test_views import populate


def hits(engine: Engine, query: str, **kw: object) -> list[int]:
    with Session(engine) as s:
        return [h.article_id for h in search_articles(s, query, **kw)]  # type: ignore[arg-type]


# ---------------------------------------------------------------- the query language (no database)


def test_parse_query_tree() -> None:
    assert parse_query("huawei") == Term("huawei")
    assert parse_query('"entity list" zte') == And((Phrase("entity list"), Term("zte")))
    assert parse_query("huawei OR zte ban") == Or((Term("huawei"), And((Term("zte"), Term("ban")))))
    assert parse_query("(huawei OR zte) AND ban -phone") == And(
        (Or((Term("huawei"), Term("zte"))), Term("ban")), (Term("phone"),))
    assert parse_query("sanction*") == Term("sanction", prefix=True)
    assert parse_query("kaspersky NOT update") == And((Term("kaspersky"),), (Term("update"),))


def test_fts5_translation_quotes_every_word() -> None:
    assert to_fts5(parse_query('huawei "entity list" -phone')) == '(("huawei" AND "entity list") NOT "phone")'
    assert to_fts5(parse_query("near:x")) == '"near:x"'  # FTS5 syntax inside a word is inert


@pytest.mark.parametrize("query, why", [
    ("", "empty"),
    ("   ", "empty"),
    ('"huawei ban', "quote is not closed"),
    ("(huawei OR zte", "parenthesis is not closed"),
    ("huawei)", "closing parenthesis"),
    ("huawei OR", "OR needs something"),
    ("OR huawei", "OR needs something"),
    ("huawei AND", "AND needs something"),
    ("-huawei", "at least one word that must match"),
    ("NOT", "NOT needs"),
    ("()", "empty group"),
    ("***", "no letters or digits"),
    ('""', "empty phrase"),
    ("hua-wei*", "prefix search takes one plain word"),
])
def test_bad_syntax_is_a_usage_error(query: str, why: str) -> None:
    with pytest.raises(UsageError, match="search query") as info:
        parse_query(query)
    assert why in str(info.value)
    assert "The syntax is" in str(info.value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab "()*-ANDORT\u00e9', max_size=30))
def test_any_input_parses_or_gives_a_usage_error(query: str) -> None:
    try:
        parse_query(query)
    except UsageError:
        pass


# ---------------------------------------------------------------- searching


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet='ab zé"()*-:^ANDORT.\'', max_size=24))
def test_every_accepted_query_runs_on_the_database(db_engine: Engine, query: str) -> None:
    """What the parser accepts, the backend accepts: no query reaches the database and fails there."""
    try:
        parse_query(query)
    except UsageError:
        return
    with Session(db_engine) as s:
        search_articles(s, query)  # "the database refused it" would be a UsageError raised here


def test_search_words_phrases_operators(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    assert hits(db_engine, "kaspersky") == [ids["a5"]]
    assert set(hits(db_engine, "huawei")) == {ids["a1"], ids["a3"], ids["a4"]}  # a2 folds into a1
    assert set(hits(db_engine, "huawei -smartphone")) == {ids["a1"], ids["a3"]}
    assert set(hits(db_engine, "huawei NOT (smartphone OR court)")) == {ids["a1"]}
    assert set(hits(db_engine, "foldable OR antivirus")) == {ids["a4"], ids["a5"]}
    assert hits(db_engine, '"appeals court"') == [ids["a3"]]
    assert hits(db_engine, '"court appeals"') == []
    assert set(hits(db_engine, "antivir*")) == {ids["a5"]}
    # stemming on both backends: "banning" finds "ban"
    assert set(hits(db_engine, "banning huawei")) == {ids["a1"], ids["a3"]}


def test_search_ranks_title_hits_first(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    assert hits(db_engine, "court")[0] == ids["a3"]


def test_search_since_and_limit(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    assert set(hits(db_engine, "huawei", since=date(2024, 4, 1))) == {ids["a3"]}
    assert len(hits(db_engine, "huawei", limit=1)) == 1
    with pytest.raises(UsageError):
        hits(db_engine, "huawei", limit=0)


def test_search_hit_details_and_copies(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    with Session(db_engine) as s:
        (hit,) = [h for h in search_articles(s, "prohibition") if h.article_id == ids["a1"]]
    assert hit.copies == 2 and hit.outlet == "Harbour Times"
    assert hit.story_id == ids["s1"] and hit.story_title == "US bans Huawei network equipment"
    assert "\ue000" in hit.snippet and "rohibition" in hit.snippet
    assert hit.published_at == datetime(2024, 3, 1, 8, tzinfo=UTC)
    with Session(db_engine) as s:
        (copy,) = search_articles(s, "wire")  # only the copy's title says so: the copy is the hit
    assert copy.article_id == ids["a2"] and copy.outlet == "Daily Ledger"
    assert copy.story_id == ids["s1"] and copy.is_relevant  # the story is the first copy's


def test_index_follows_inserts_updates_and_deletes(db_engine: Engine) -> None:
    ids = populate(db_engine).ids
    with Session(db_engine) as s, s.begin():
        s.add(ArticleRow(url="https://x.test/a", canonical_url="https://x.test/a", title="Drone maker blacklisted",
                         text="The quadcopter company was added to the list.", first_seen_at=datetime.now(UTC)))
    assert len(hits(db_engine, "quadcopter")) == 1
    with Session(db_engine) as s, s.begin():
        s.get(ArticleRow, ids["a5"]).title = "Commerce bars Eugene antivirus sales"
        s.get(ArticleRow, ids["a5"]).text = "Different words now."
    assert hits(db_engine, "kaspersky") == []
    assert hits(db_engine, "eugene") == [ids["a5"]]
    with Session(db_engine) as s, s.begin():
        s.get(ArticleRow, ids["a5"]).event_id = None  # a non-text update leaves the index alone
    assert hits(db_engine, "eugene") == [ids["a5"]]
    with Session(db_engine) as s, s.begin():
        s.delete(s.get(ArticleRow, ids["a5"]))
    assert hits(db_engine, "eugene") == []


def test_a_huge_article_is_stored_and_found(db_engine: Engine) -> None:
    # 2.6 MB of distinct words: a PostgreSQL tsvector of all of it would exceed 1 MB and fail the INSERT
    words = " ".join(f"w{i}x" for i in range(300_000))
    with Session(db_engine) as s, s.begin():
        s.add(ArticleRow(url="https://x.test/huge", canonical_url="https://x.test/huge", title="Huge report",
                         text="bellwether " + words, first_seen_at=datetime.now(UTC)))
    assert len(hits(db_engine, "bellwether")) == 1


def test_print_search(db_url: str) -> None:
    rt = Runtime(Config(path=None), db_url)
    ids = populate(rt.engine).ids
    console = Console(record=True, width=200, color_system=None)
    assert print_search(rt, console, "prohibition") == 1
    out = console.export_text()
    assert "FCC moves to ban Huawei routers" in out
    assert "2024-03-01" in out and "Harbour Times" in out and "(+1 copy)" in out
    assert f"story {ids['s1']}: US bans Huawei network equipment" in out
    assert "takes effect" in out
    console = Console(record=True, width=200, color_system=None)
    assert print_search(rt, console, "foldable") == 1
    assert "judged off-topic" in console.export_text()
    console = Console(record=True, width=200, color_system=None)
    assert print_search(rt, console, "zzzz", since=date(2024, 1, 1)) == 0
    assert "no articles match 'zzzz' since 2024-01-01" in console.export_text()
    rt.close()


def test_cli_search_bad_query_exits_2_without_traceback(db_url: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import main

    cfg = tmp_path / "sources.toml"
    cfg.write_text("[settings]\n")
    rt = Runtime(Config(path=None), db_url)
    populate(rt.engine)
    rt.close()
    with pytest.raises(SystemExit) as info:
        main(["--config", str(cfg), "--db", db_url, "search", '"unclosed'])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "quote is not closed" in err and "Traceback" not in err
    main_ok = None
    try:
        main_ok = main(["--config", str(cfg), "--db", db_url, "search", "kaspersky", "--since", "2024-06-01"])
    except SystemExit as exc:  # typer may exit 0 explicitly
        assert exc.code in (0, None)
    assert main_ok is None or main_ok == 0
    assert "Commerce bars Kaspersky antivirus sales" in capsys.readouterr().out

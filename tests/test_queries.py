"""Every SQL block in docs/schema.md runs on a populated database, on the backend(s) it is for.

The queries are parsed out of the document, so the docs cannot drift from the schema: a renamed
column or view fails here. The "Questions and their SQL" answers are checked against the known
content written by ``tests.test_views.populate`` (plus a few rows for the time-relative questions).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from pipeline.store.models import ArticleDateRow, ArticleEntityRow, EntityRow, FetchRow, SourceRow
from tests.test_views import populate

DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"
_FENCE = re.compile(r"^```(sql(?: [a-z]+)*)\n(.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class DocQuery:
    section: str  # the nearest heading above the block
    backends: tuple[str, ...]  # ("sqlite", "postgresql") for portable blocks
    sql: str
    kind: str  # "query" or "role"


def doc_queries() -> list[DocQuery]:
    doc = DOC.read_text(encoding="utf-8")
    out: list[DocQuery] = []
    for m in _FENCE.finditer(doc):
        words = m.group(1).split()[1:]
        heading = [h for h in re.findall(r"^#+ (.+)$", doc[: m.start()], re.M)][-1]
        kind = "role" if "role" in words else "query"
        backends = tuple(w for w in words if w in ("sqlite", "postgresql")) or ("sqlite", "postgresql")
        out.append(DocQuery(heading.strip(), backends, m.group(2).strip().rstrip(";"), kind))
    return out


QUERIES = doc_queries()
QUESTIONS = [q for q in QUERIES if re.match(r"\d+\. ", q.section)]


def test_every_table_and_column_is_documented() -> None:
    from pipeline.store import Base

    doc = DOC.read_text(encoding="utf-8")
    tables_part = doc.split("## Tables", 1)[1].split("## Views", 1)[0]
    sections = dict(re.findall(r"^### `(\w+)`(.*?)(?=^### |\Z)", tables_part, re.M | re.S))
    index_rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(\w+)` \| (.*)$", tables_part, re.M)}
    for table in Base.metadata.sorted_tables:
        text_of = sections.get(table.name) or index_rows.get(table.name)
        assert text_of is not None, f"table {table.name} is not in docs/schema.md"
        for col in table.columns:
            assert f"`{col.name}`" in text_of, f"column {table.name}.{col.name} is not in docs/schema.md"


def test_the_views_are_documented_with_their_columns() -> None:
    from tests.test_views import VIEW_COLUMNS

    views_part = DOC.read_text(encoding="utf-8").split("## Views", 1)[1].split("## Full-text search", 1)[0]
    for view, cols in VIEW_COLUMNS.items():
        section = views_part.split(f"### `{view}`", 1)[1].split("### ", 1)[0]
        for col in cols:
            assert f"`{col}`" in section, f"{view}.{col} is not in docs/schema.md"


def test_the_document_has_enough_questions() -> None:
    numbers = {q.section.split(".")[0] for q in QUESTIONS}
    assert len(numbers) >= 10
    for q in QUESTIONS:  # a question answered for one backend only must be answered for the other too
        both = {b for other in QUESTIONS if other.section == q.section for b in other.backends}
        assert both == {"sqlite", "postgresql"}, q.section


def _populated(engine: Engine) -> dict[str, int]:
    now = datetime.now(UTC)
    ids = populate(engine, now=now).ids
    with Session(engine) as s, s.begin():
        zte = EntityRow(key="zte", name="ZTE Corporation", type="company", country="CN", origin="gazetteer",
                        first_seen_at=now)
        s.add(zte)
        s.flush()
        s.add(ArticleEntityRow(article_id=ids["a1"], entity_id=zte.id, mentions=1))
        s.add(ArticleDateRow(article_id=ids["a1"], date=(now + timedelta(days=30)).date(), precision="day",
                             role="compliance_deadline", snippet="must remove the equipment by then"))
        harbour = s.get(SourceRow, ids["harbour"])
        harbour.consecutive_failures, harbour.last_status, harbour.last_error = 2, "error", "HTTP 500"
        for hours in (30, 2):
            s.add(FetchRow(source_id=ids["harbour"], target="source", url=harbour.url, status="error",
                           started_at=now - timedelta(hours=hours), http_status=500, error="HTTP 500"))
        ids["zte"] = zte.id
    return ids


def _iso(v: object) -> object:
    return v.isoformat() if isinstance(v, date) else v


def _run(engine: Engine, sql: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [{k: _iso(v) for k, v in r._mapping.items()} for r in conn.execute(text(sql))]


def _check(number: str, got: list[dict[str, object]], ids: dict[str, int]) -> None:
    """The expected answers of the numbered questions on the populated database."""
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    if number == "1":
        assert [r["date"] for r in got] == ["2024-06-01"]
    elif number == "2":
        assert [r["id"] for r in got] == [ids["s2"]]
    elif number == "3":
        assert [(r["event_id"], r["outlet"]) for r in got] == [
            (ids["e1"], "Harbour Times"), (ids["e2"], "Daily Ledger"), (ids["e3"], "Harbour Times")]
    elif number == "4":
        assert "ZTE Corporation" in [r["name"] for r in got]
    elif number == "5":
        assert [(r["date"], r["role"]) for r in got] == [
            ("2024-03-01", "event"), ("2024-03-01", "announcement"), ("2024-04-10", "event"),
            ("2024-04-10", "court_ruling"), ("2024-06-01", "effective_date"), (future, "compliance_deadline")]
    elif number == "6":
        assert [(r["date"], r["role"], r["story_title"]) for r in got] == [
            (future, "compliance_deadline", "US bans Huawei network equipment")]
    elif number == "7":
        assert [(r["outlet"], r["copies"]) for r in got] == [("Daily Ledger", 1)]
    elif number == "8":
        assert [(r["entity"], r["articles"]) for r in got] == [("Huawei Technologies Co., Ltd.", 2),
                                                               ("Kaspersky Lab", 1), ("ZTE Corporation", 1)]
    elif number == "9":
        assert [(r["day"], r["articles"], r["events"]) for r in got] == [("2024-03-01", 2, 1), ("2024-04-10", 1, 1)]
    elif number == "10":
        assert got[0]["id"] == ids["e1"] and got[0]["outlet_count"] == 2
    elif number == "11":
        assert [(r["date"], r["event_title"]) for r in got] == [("2024-04-10", "Court upholds Huawei ban")]
    elif number == "12":
        assert [(r["key"], r["consecutive_failures"]) for r in got] == [("harbour", 2)]
        assert got[0]["failing_since"] is not None
    elif number == "13":
        counts = {(r["month"], r["outlet"]): r["articles"] for r in got}
        assert counts[("2024-03", "Harbour Times")] == 1 and counts[("2024-04", "Daily Ledger")] == 1
    elif number == "14":
        assert [r["article_id"] for r in got] == [ids["a1"]]
    elif number == "15":
        assert [r["id"] for r in got] == [ids["a5"]]
    elif number == "16":
        lags = {(r["event"], r["outlet"]): float(r["hours_after_first"]) for r in got}
        # the wire copy on the Ledger came out three hours after the Harbour Times' original
        assert lags[("FCC votes to ban Huawei routers", "Daily Ledger")] == 3.0
    else:  # a new question: add its expected answer here
        pytest.fail(f"question {number} has no expected answer in tests/test_queries.py")


def test_documented_queries(db_engine: Engine) -> None:
    backend = db_engine.dialect.name
    ids = _populated(db_engine)
    ran = 0
    for q in QUERIES:
        if q.kind != "query" or backend not in q.backends:
            continue
        try:
            got = _run(db_engine, q.sql)
        except Exception as exc:  # name the block, not just the SQL error
            pytest.fail(f"docs/schema.md, {q.section!r} on {backend}: {exc}")
        number = q.section.split(".")[0]
        if q in QUESTIONS:
            _check(number, got, ids)
        ran += 1
    assert ran >= 16


def test_read_only_role(db_engine: Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL role")
    (block,) = [q for q in QUERIES if q.kind == "role"]
    populate(db_engine)
    role = f"bw_reader_{uuid.uuid4().hex[:8]}"
    dbname = make_url(str(db_engine.url)).database
    sql = block.sql.replace("banwatch_reader", role).replace("DATABASE banwatch", f'DATABASE "{dbname}"')
    with db_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            for stmt in [s.strip() for s in sql.split(";") if s.strip()]:
                conn.exec_driver_sql(stmt)
            conn.exec_driver_sql(f"SET ROLE {role}")
            assert conn.execute(text("SELECT COUNT(*) FROM v_unique_articles")).scalar() == 4
            assert conn.execute(text("SELECT COUNT(*) FROM v_story_timeline")).scalar() > 0
            with pytest.raises(Exception, match="permission denied"):
                conn.execute(text("UPDATE sources SET name = 'x'"))
            conn.exec_driver_sql("RESET ROLE")
            settings = conn.execute(text(
                "SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                "WHERE r.rolname = :r"), {"r": role}).scalar()
            assert "default_transaction_read_only=on" in settings
        finally:
            conn.exec_driver_sql("RESET ROLE")
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")

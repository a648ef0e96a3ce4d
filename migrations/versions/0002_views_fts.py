"""researcher views and full-text search

Revision ID: 0002
Revises: 0001

Hand-written (autogenerate knows neither views nor FTS). The four views have the same names and
columns on SQLite and PostgreSQL; days are ISO dates (``date`` on PostgreSQL, ``YYYY-MM-DD``
text on SQLite, like every Date column). Full-text search over title and text:

* SQLite: the FTS5 table ``articles_fts`` (external content: it indexes ``articles`` without a
  second copy of the text), kept in sync by three triggers.
* PostgreSQL: the generated column ``articles.search_vector`` (title weighted A, text B) with the
  GIN index ``ix_articles_search_vector``. Only the first 200,000 characters of the text are
  indexed: a tsvector is limited to 1 MB, and a longer one would make the article's INSERT fail.

Both sides use English stemming ("banned" finds "ban"). docs/schema.md shows the SQL.

Note for later revisions: SQLite batch migrations that recreate ``articles`` drop its triggers;
such a revision must recreate them (``create_sqlite_fts`` below) and rebuild the index.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = ("v_unique_articles", "v_article_entities", "v_story_timeline", "v_entity_activity")


def _sql(dialect: str) -> dict[str, str]:
    """Dialect-specific fragments; the view bodies are otherwise the same text on both."""
    if dialect == "postgresql":
        return {
            "day": "((COALESCE({p}.published_at, {p}.first_seen_at) AT TIME ZONE 'UTC')::date)",
            "agg": "string_agg(o, ', ' ORDER BY o)",
        }
    return {
        "day": "date(COALESCE({p}.published_at, {p}.first_seen_at))",
        "agg": "group_concat(o, ', ')",
    }


def _outlet(p: str, s: str) -> str:
    # the outlet is the site's own name when the page gave one, else the configured source's
    return f"COALESCE(NULLIF({p}.site_name, ''), {s}.name)"


def view_statements(dialect: str) -> list[str]:
    f = _sql(dialect)
    day = f["day"].format
    unique_articles = f"""
CREATE VIEW v_unique_articles AS
SELECT a.id AS article_id,
       a.title,
       a.url,
       a.canonical_url,
       {_outlet('a', 's')} AS outlet,
       s.key AS source_key,
       a.published_at,
       a.first_seen_at,
       {day(p='a')} AS day,
       a.language,
       a.relevance,
       a.is_relevant,
       a.event_id,
       e.story_id,
       1 + (SELECT COUNT(*) FROM articles d WHERE d.duplicate_of = a.id) AS copies,
       (SELECT {f['agg']} FROM (
            SELECT DISTINCT {_outlet('m', 'ms')} AS o
            FROM articles m LEFT JOIN sources ms ON ms.id = m.source_id
            WHERE m.id = a.id OR m.duplicate_of = a.id
            ORDER BY 1) AS outlet_names) AS outlets
FROM articles a
LEFT JOIN sources s ON s.id = a.source_id
LEFT JOIN events e ON e.id = a.event_id
WHERE a.duplicate_of IS NULL
"""
    article_entities = f"""
CREATE VIEW v_article_entities AS
SELECT a.id AS article_id,
       a.title,
       {_outlet('a', 's')} AS outlet,
       {day(p='a')} AS day,
       a.is_relevant,
       a.duplicate_of,
       a.event_id,
       en.id AS entity_id,
       en.key AS entity_key,
       en.name AS entity,
       en.type,
       en.country,
       en.origin,
       ae.mentions
FROM article_entities ae
JOIN articles a ON a.id = ae.article_id
JOIN entities en ON en.id = ae.entity_id
LEFT JOIN sources s ON s.id = a.source_id
"""
    # One row per event ("event": when it happened, and the first article that reported it) plus
    # one row per distinct dated statement of the event's articles (effective date, deadline,
    # ruling, ...; from the earliest article that made it). Merged events and stories are left out.
    # Written as two plain SELECTs with index-probing subqueries (no window over all articles), so
    # a filter such as story_id = 7 reaches both branches and reads only that story's rows.
    first = "COALESCE({p}.published_at, {p}.first_seen_at)".format
    story_timeline = f"""
CREATE VIEW v_story_timeline AS
SELECT st.id AS story_id,
       st.title AS story_title,
       st.status AS story_status,
       e.id AS event_id,
       e.title AS event_title,
       e.occurred_on AS event_date,
       COALESCE(e.occurred_on, {day(p='a')}) AS date,
       'day' AS precision,
       'event' AS role,
       NULL AS snippet,
       a.id AS article_id,
       a.title AS article_title,
       a.url AS article_url,
       {_outlet('a', 's')} AS outlet,
       a.published_at
FROM events e
JOIN stories st ON st.id = e.story_id AND st.merged_into IS NULL
LEFT JOIN articles a ON a.id = (
    SELECT a2.id FROM articles a2 WHERE a2.event_id = e.id
    ORDER BY {first(p='a2')}, a2.id LIMIT 1)
LEFT JOIN sources s ON s.id = a.source_id
WHERE e.merged_into IS NULL
UNION ALL
SELECT st.id, st.title, st.status, e.id, e.title, e.occurred_on,
       d.date, d.precision, d.role, d.snippet,
       a.id, a.title, a.url, {_outlet('a', 's')}, a.published_at
FROM events e
JOIN stories st ON st.id = e.story_id AND st.merged_into IS NULL
JOIN articles a ON a.event_id = e.id
JOIN article_dates d ON d.article_id = a.id
LEFT JOIN sources s ON s.id = a.source_id
WHERE e.merged_into IS NULL
  AND NOT EXISTS (
    SELECT 1 FROM articles a2 JOIN article_dates d2 ON d2.article_id = a2.id
    WHERE a2.event_id = e.id AND d2.date = d.date AND d2.role = d.role
      AND ({first(p='a2')} < {first(p='a')}
           OR ({first(p='a2')} = {first(p='a')} AND a2.id < a.id)))
"""
    # Copies are folded: a syndicated copy does not count as another article.
    entity_activity = f"""
CREATE VIEW v_entity_activity AS
SELECT en.id AS entity_id,
       en.key AS entity_key,
       en.name AS entity,
       en.type,
       en.country,
       {day(p='a')} AS day,
       COUNT(DISTINCT a.id) AS articles,
       COUNT(DISTINCT CASE WHEN a.is_relevant THEN a.id END) AS relevant_articles,
       COUNT(DISTINCT a.event_id) AS events,
       SUM(ae.mentions) AS mentions
FROM article_entities ae
JOIN articles a ON a.id = ae.article_id AND a.duplicate_of IS NULL
JOIN entities en ON en.id = ae.entity_id
GROUP BY en.id, en.key, en.name, en.type, en.country, {day(p='a')}
"""
    return [unique_articles, article_entities, story_timeline, entity_activity]


# content="articles" in double quotes: Datasette looks for exactly that to offer its search box
SQLITE_FTS = [
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, text, content="articles", content_rowid="id",
        tokenize='porter unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END""",
    """CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    END""",
    # only title/text changes touch the index: the pipeline updates counts and event ids often
    """CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
    END""",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
]

PG_FTS = [
    """ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', COALESCE(title, '')), 'A') ||
        setweight(to_tsvector('english', left(COALESCE(text, ''), 200000)), 'B')) STORED""",
    "CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)",
]


def create_sqlite_fts() -> None:
    for stmt in SQLITE_FTS:
        op.execute(stmt)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for stmt in PG_FTS:
            op.execute(stmt)
    else:
        create_sqlite_fts()
    for stmt in view_statements(dialect):
        op.execute(stmt)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
    else:
        for trig in ("articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trig}")
        op.execute("DROP TABLE IF EXISTS articles_fts")

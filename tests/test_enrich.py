"""Entity linking, discovered entities, the user entity file and topic configuration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.enrich import Enricher, EntityHit, load_gazetteer, load_topic
from pipeline.errors import ConfigError

PUB = dt.datetime(2024, 6, 21, 14, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


@pytest.fixture(scope="module")
def enricher(gazetteer):
    return Enricher(gazetteer, load_topic({"name": "bans"}, Path(".")))


def linked(enricher: Enricher, text: str, title: str | None = None) -> dict[str, EntityHit]:
    return {h.key: h for h in enricher.enrich(title, text, PUB).entities if h.origin == "gazetteer"}


def discovered(enricher: Enricher, text: str) -> dict[str, EntityHit]:
    return {h.name: h for h in enricher.enrich(None, text, PUB).entities if h.origin == "discovered"}


# -- gazetteer ----------------------------------------------------------------------------------

def test_shipped_gazetteer_keeps_the_research_facts(gazetteer):
    assert len(gazetteer) >= 150
    kas = gazetteer.get("ao_kaspersky")
    assert kas.parent == "kaspersky" and kas.country == "RU" and kas.sources
    assert "Covered List" in kas.note
    assert "bis" in gazetteer.children["doc"]


# -- linking ------------------------------------------------------------------------------------

def test_aliases_resolve_to_canonical_entities(enricher):
    hits = linked(enricher, "The Commerce Department acted. The Department of Commerce said more. "
                            "U.S. Commerce officials agreed.")
    assert hits["doc"].mentions == 3
    assert hits["doc"].name == "U.S. Department of Commerce"


def test_kaspersky_names_follow_the_gazetteer_split(enricher):
    hits = linked(enricher, "Kaspersky Labs and Kaspersky Lab denied it. AO Kaspersky Lab was listed, "
                            "and so was Kaspersky Lab, Inc. in Massachusetts.")
    assert hits["kaspersky"].mentions == 2
    assert hits["ao_kaspersky"].mentions == 1 and hits["ao_kaspersky"].parent_key == "kaspersky"
    assert hits["kaspersky_us"].mentions == 1


def test_possessives_hyphens_and_line_breaks(enricher):
    text = ("Kaspersky's lawyers objected. Huawei-made radios and ZTE-supplied gear were named, "
            "as was TP Link. The Bureau of Industry and\nSecurity and Hik-\nvision were mentioned.")
    hits = linked(enricher, text)
    for key in ("kaspersky", "huawei", "zte", "tplink_sys", "bis", "hikvision"):
        assert key in hits, key


def test_acronyms_are_case_sensitive(enricher):
    hits = linked(enricher, "The bis repetition and the fcc typo and a dji clip; us and them.")
    assert not hits
    hits = linked(enricher, "BIS and the FCC spoke about DJI drones in the US.")
    assert {"bis", "fcc", "dji", "us"} <= set(hits)


def test_word_boundaries(enricher):
    hits = linked(enricher, "Kasperskyite forums, Huaweian fans and a ZTEX board are not companies.")
    assert not hits


def test_weak_aliases_need_support(enricher):
    assert "cn" not in linked(enricher, "Chinese suppliers met in Beijing to discuss prices.")
    hits = linked(enricher, "China objected. Beijing said Chinese firms were treated unfairly.")
    assert hits["cn"].mentions == 3


def test_ambiguous_aliases_need_context(enricher):
    # "Commerce" alone is a word, not the department, unless the department family is named
    assert "doc" not in linked(enricher, "Commerce between the two cities grew last year.")
    assert linked(enricher, "BIS added the firm. Commerce said the rule is final.")["doc"].mentions == 1
    # "the Commission" follows the commission the article names
    fcc = linked(enricher, "The FCC voted 4-0. The Commission said carriers must comply.")
    assert fcc["fcc"].mentions == 2 and "eu_commission" not in fcc
    eu = linked(enricher, "The European Commission said the Commission would act.")
    assert eu["eu_commission"].mentions == 2 and "fcc" not in eu
    assert not linked(enricher, "The Commission said it would act.")


def test_veto_phrase_switches_off_an_acronym(enricher):
    hits = linked(enricher, "The Bank for International Settlements (BIS) warned that the BIS sees risks.")
    assert "bis" not in hits


def test_government_body_inside_a_longer_name_counts(enricher):
    hits = linked(enricher, "The FCC Covered List grew.")
    assert {"fcc", "covered_list"} <= set(hits)
    hits = linked(enricher, "AO Kaspersky Lab was listed.")
    assert "kaspersky" not in hits  # a parent inside its child's name does not count


def test_hard_negative_same_company_unrelated_news_still_links(enricher):
    out = enricher.enrich("Huawei Mate 70 launches",
                          "Huawei unveiled new flagship phones with a bigger battery and camera.", PUB)
    assert "huawei" in {h.key for h in out.entities}
    assert not out.is_relevant


# -- discovered entities ------------------------------------------------------------------------

def test_discovers_unknown_organisations_and_people(enricher):
    text = ("The National Institute of Standards and Technology (NIST) published guidance. "
            "Acme Robotics Co. was named, and Public Safety Minister Marco Mendicino said NIST agreed. "
            "Analyst Rachel Tobac said Mendicino was right.")
    found = discovered(enricher, text)
    assert found["National Institute of Standards and Technology"].type == "organization"
    assert found["National Institute of Standards and Technology"].mentions == 2  # name (NIST) + NIST
    assert found["Acme Robotics Co"].type == "company"
    assert found["Marco Mendicino"].type == "person" and found["Marco Mendicino"].mentions == 2
    assert "Rachel Tobac" in found
    assert all(h.key.startswith("discovered:") for h in found.values())


def test_discovery_precision_guards(enricher):
    text = ("The Company said on Tuesday that The Department would respond. In March, Federal Agency "
            "officials met. The Government and the Ministry declined. Chinese Foreign Ministry staff "
            "attended. New York Times readers and Last Week viewers noticed.")
    assert discovered(enricher, text) == {}


def test_gazetteer_names_are_not_rediscovered(enricher):
    found = discovered(enricher, "Commerce Secretary Gina Raimondo and Huawei Technologies Co., Ltd. met.")
    assert found == {}


# -- user entity file ---------------------------------------------------------------------------

def test_user_entity_file_adds_and_extends(tmp_path):
    f = tmp_path / "entities.toml"
    f.write_text('''
[[entity]]
key = "acme_drones"
name = "Acme Drone Works Ltd."
type = "company"
country = "CN"
aliases = ["Acme Drone Works", "ADW"]

[[entity]]
extends = "dji"
aliases = ["Dajiang"]
''', encoding="utf-8")
    gaz = load_gazetteer(f)
    e = Enricher(gaz, None)
    hits = {h.key: h for h in e.enrich(None, "ADW and Acme Drone Works rival Dajiang.", PUB).entities}
    assert hits["acme_drones"].mentions == 2 and hits["acme_drones"].origin == "gazetteer"
    assert hits["dji"].mentions == 1


@pytest.mark.parametrize("body, field", [
    ('[[entity]]\nkey = "x"\nname = "X"\ntype = "alien"\n', "type"),
    ('[[entity]]\nname = "X"\ntype = "company"\n', "key"),
    ('[[entity]]\nkey = "x"\nname = "X"\ntype = "company"\naliases = "X"\n', "aliases"),
    ('[[entity]]\nkey = "x"\nname = "X"\ntype = "company"\nparent = "nope"\n', "parent"),
])
def test_bad_user_entity_file(tmp_path, body, field):
    f = tmp_path / "entities.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_gazetteer(f)
    assert exc.value.field == field
    assert str(f) in str(exc.value)


# -- topic configuration ------------------------------------------------------------------------

def test_no_topic_keeps_every_article(gazetteer):
    assert load_topic(None, Path(".")) is None
    out = Enricher(gazetteer, None).enrich("Cats", "A story about cats.", PUB)
    assert out.is_relevant and out.relevance == 1.0


def test_topic_threshold_overrides_vocabulary(tmp_path):
    topic = load_topic({"name": "X", "threshold": 0.9, "vocabulary": "foreign-adversary-tech-bans"}, tmp_path)
    assert topic.threshold == 0.9 and topic.name == "X"


def test_user_vocabulary_file_relative_to_config(tmp_path, gazetteer):
    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "cats.toml").write_text(
        'threshold = 0.5\nbias = -2.0\nrequired = ["cats"]\n[groups.cats]\nweight = 3.0\n'
        'terms = ["cat", "cats", "kitten"]\n', encoding="utf-8")
    topic = load_topic({"vocabulary": "vocab/cats.toml"}, tmp_path)
    e = Enricher(gazetteer, topic)
    assert e.enrich("Cats", "The cats and a kitten slept. A cat woke up.", PUB).is_relevant
    assert not e.enrich("Dogs", "The dog slept all day in the sun.", PUB).is_relevant


@pytest.mark.parametrize("table, field", [
    ({"threshold": 1.5}, "threshold"),
    ({"threshold": "high"}, "threshold"),
    ({"threshold": True}, "threshold"),
    ({"vocabulary": "no-such-topic"}, "vocabulary"),
    ({"vocabulary": "missing/file.toml"}, "vocabulary"),
    ({"vocabulary": 3}, "vocabulary"),
    ({"name": ""}, "name"),
    ({"keywords": ["x"]}, "keywords"),
])
def test_bad_topic_config(tmp_path, table, field):
    with pytest.raises(ConfigError) as exc:
        load_topic(table, tmp_path)
    assert exc.value.where == "topic"
    assert exc.value.field == field


def test_bad_vocabulary_file(tmp_path):
    (tmp_path / "v.toml").write_text('required = ["nope"]\n[groups.a]\nterms = ["x"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_topic({"vocabulary": "v.toml"}, tmp_path)
    assert exc.value.field == "vocabulary.required"


# -- robustness ---------------------------------------------------------------------------------

_WORDS = ["May", "June", "Monday", "in", "by", "until", "2024", "29", "Huawei", "the", "Commission", "FCC",
          "(", ")", "Inc.", "days", "within", "90", "last", "month", "U.S.", "-\n", "Kas-\npersky", "Acme", "Co."]


@settings(max_examples=150, deadline=None)
@given(words=st.lists(st.sampled_from(_WORDS) | st.text(max_size=12), max_size=60),
       day=st.one_of(st.none(), st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))))
def test_enrich_never_fails_on_odd_text(enricher, words, day):
    text = " ".join(words)
    pub = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC) if day else None
    out = enricher.enrich(text[:30], text, pub)
    assert 0.0 <= out.relevance <= 1.0
    for d in out.dates:
        assert d.precision in ("day", "month", "year") and d.snippet
    assert all(h.mentions >= 1 for h in out.entities)


_TOKEN_CHUNKS = ["said,", "said.", "U.S.", "U.S", "I.", "a.", ".", ",", "dogs'", "Huawei's", "HUAWEI'S", "(Reuters)",
                 "\u00e9t\u00e9,", "\u0663\u0664,", "a_b,", "2024.", "x\u0130,", "ok!\"", "why?)", "end;", "--", "-a-"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_TOKEN_CHUNKS) | st.text(alphabet="aZ\u00e9_1.,;:?!)\"'s- \n", max_size=8),
                max_size=12))
def test_tokenize_fast_paths_give_the_regex_tokens(chunks):
    from pipeline.enrich.text import TOKEN_RE, tokenize

    text = " ".join(chunks)
    assert tokenize(text) == TOKEN_RE.findall(text)

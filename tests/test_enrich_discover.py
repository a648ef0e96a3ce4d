"""Discovered entities: single-word names with organisational cues, context-typed names, precision guards."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.enrich import Enricher, load_gazetteer, load_topic

PUB = dt.datetime(2025, 3, 12, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def enricher():
    return Enricher(load_gazetteer(), load_topic({"name": "bans"}, Path(".")))


def names(enricher: Enricher, text: str) -> set[str]:
    return {h.name for h in enricher.enrich(None, text, PUB).entities if h.origin == "discovered"}


@pytest.mark.parametrize("text, name", [
    # a noun before the name says what it is
    ("Regulators also questioned battery maker Voltaris about its supply chain.", "Voltaris"),
    ("The ministry met executives from carmaker Zentro on Monday.", "Zentro"),
    # role + for/at/of
    ("A spokesperson for Kelvora declined to comment on the order.", "Kelvora"),
    ("Analysts at Brightmoor expect the ban to cut sales by a fifth.", "Brightmoor"),
    # possessive role after the name
    ("The order surprised investors, and Quillon's chief executive called it unfair.", "Quillon"),
    # apposition with an organisational noun
    ("The cameras were supplied by local installers and by Vexa, a Shenzhen-based maker of sensors.", "Vexa"),
    ("The tender went to Norlink, which runs the national backbone.", "Norlink"),
    # "owned by", "subsidiary of"
    ("The app is owned by Tavlo and hosted abroad.", "Tavlo"),
])
def test_single_word_names_with_an_organisational_cue(enricher, text, name):
    assert name in names(enricher, text)


def test_lists_share_the_cue_of_one_member(enricher):
    found = names(enricher, "The tender was won by operators such as Ardent, Belvo and Corix, officials said.")
    assert {"Ardent", "Belvo", "Corix"} <= found
    found = names(enricher, "The regulator said Pellam and Ostrava, the two carriers most exposed, had a year.")
    assert {"Pellam", "Ostrava"} <= found


def test_speech_verb_needs_a_mid_sentence_capital_elsewhere(enricher):
    # "Trevia" is capitalised mid-sentence in the first sentence, so "Trevia said" names it
    text = "Modules from Trevia were found in the meters. Trevia said it would cooperate with the review."
    assert "Trevia" in names(enricher, text)
    # sentence-initial common nouns before "said" are not names
    text = "Officials said the review would take a year. Critics said it was too slow. Operators declined to comment."
    assert names(enricher, text) == set()


def test_people_by_context_and_more_given_names(enricher):
    found = names(enricher, '"It is overdue," said Oksana Veldt, a senior fellow at a research institute.')
    assert "Oksana Veldt" in found
    found = names(enricher, "Chief executive Borje Lindqvist said the company would comply.")
    assert "Borje Lindqvist" in found
    found = names(enricher, "The order was signed by Vice President JD Vance on Friday.")
    assert "JD Vance" in found
    assert not any(n.startswith("Vice") for n in found)


def test_acronym_after_a_discovered_name_is_the_same_entity(enricher):
    text = ("The Maritime Safety Directorate issued the notice. Ports must report incidents to the MSD, "
            "a spokesperson for MSD said.")
    found = names(enricher, text)
    assert "Maritime Safety Directorate" in found
    assert "MSD" not in found


@pytest.mark.parametrize("text", [
    "The Company said on Tuesday that Sweden and Germany would review the rules.",
    "In Shenzhen, Monday's meeting ended early. Sweden said it would wait.",
    "Parliament's vote came after Christmas. Today said nothing.",
    "Raimondo said the ministry would act, and Dowden said the same.",  # gazetteer surnames are mentions
    "Operators such as those in Texas and Ontario, the regulator said, must comply.",
])
def test_precision_guards_for_single_words(enricher, text):
    assert names(enricher, text) == set()


def test_surname_after_a_full_name_is_not_a_new_entity(enricher):
    text = "Defence Minister Hallam Pryce said the cameras would go. Pryce said the review was finished."
    assert names(enricher, text) == {"Hallam Pryce"}


def test_lists_end_and_need_a_conjunction(enricher):
    found = names(enricher, "The tender went to suppliers such as Ardent and Belvo, Heston officials said.")
    assert {"Ardent", "Belvo"} <= found
    assert "Heston" not in found
    # "Already, Tarrow's chief executive ..." is not a list: the adverb is not a name
    found = names(enricher, "The review took months. Already, Tarrow's chief executive has resigned.")
    assert found == {"Tarrow"}


def test_news_outlets_and_plural_nouns_are_not_entities(enricher):
    text = ("A spokesperson for Reuters declined to comment, and analysts at Bloomberg agreed. "
            "Image caption Doctors said more victims were expected.")
    assert names(enricher, text) == set()


def test_context_typed_runs_drop_places_and_common_nouns(enricher):
    text = "Texas Authorities said the rule was clear. The authorities declined further comment."
    assert names(enricher, text) == set()


def test_products_from_and_partners_of_found_organisations(enricher):
    found = names(enricher, "Most new handsets, including recent models from Ardoise and Quenby, support the standard.")
    assert {"Ardoise", "Quenby"} <= found
    found = names(enricher, "Shares of its suppliers Velmar Communications and Oxtane fell in late trading.")
    assert {"Velmar Communications", "Oxtane"} <= found
    found = names(enricher, "The camera takes aim at market leader Pivora, which sells twice as many units.")
    assert "Pivora" in found
    # "from" + a time word is not a product cue
    assert names(enricher, "The devices from Monday onwards must carry a label.") == set()

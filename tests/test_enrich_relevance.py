"""Relevance on restrictions outside the U.S. and on hard negatives (own texts)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.enrich import Enricher, load_gazetteer, load_topic

PUB = dt.datetime(2025, 3, 14, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def enricher():
    return Enricher(load_gazetteer(), load_topic({"name": "bans"}, Path(".")))


RELEVANT = [
    ("Japan tells ministries to avoid Chinese drones",
     "TOKYO - Japan's government has instructed ministries and agencies to stop buying drones made by Chinese "
     "companies for sensitive work such as surveillance and disaster response, officials said on Friday. "
     "Existing aircraft must be replaced by the end of the fiscal year. The guidance does not name "
     "manufacturers, but DJI dominates the market. \"We want to eliminate the risk of data leaks,\" a "
     "government spokesperson told reporters. Police and the coast guard are expected to switch to domestic "
     "suppliers, and the cabinet will review other equipment bought from abroad."),
    ("Port operators told to swap out Chinese crane software",
     "The transport ministry has told port operators to stop using remote-maintenance software supplied with "
     "Chinese-made ship-to-shore cranes and to disconnect the cranes' cellular modems by the end of June. "
     "Officials said the modems were not needed for operation and could give the manufacturer access to "
     "critical infrastructure. Operators that cannot comply must submit a plan to replace the equipment. "
     "The ministry said the measure was a precaution and that no breach had been found."),
]

IRRELEVANT = [
    ("Tanker caught moving fuel to North Korea despite sanctions",
     "A tanker registered in Panama transferred fuel to a North Korean vessel at sea last month in violation "
     "of United Nations sanctions, according to satellite images reviewed by a monitoring group. The "
     "sanctions cap North Korea's imports of refined petroleum, and officials said Chinese and Russian "
     "traders had helped evade them. Shipments of coal were also recorded. The foreign ministry in Seoul "
     "said it was checking the report and would raise it with partners."),
    ("Hikvision wins smart city contract in Dubai",
     "Hikvision has won a contract to supply 5,000 cameras for a smart city project in Dubai, the company "
     "said on Monday. The cameras will use artificial intelligence to monitor traffic and detect accidents. "
     "Hikvision did not disclose the value of the deal, and its shares rose 2 percent. The company has been "
     "expanding in the Middle East as revenue at home slows."),
]


@pytest.mark.parametrize("title, text", RELEVANT)
def test_restrictions_outside_the_us_are_relevant(enricher, title, text):
    assert enricher.enrich(title, text, PUB).is_relevant


@pytest.mark.parametrize("title, text", IRRELEVANT)
def test_sanctions_on_oil_and_company_news_are_not(enricher, title, text):
    assert not enricher.enrich(title, text, PUB).is_relevant

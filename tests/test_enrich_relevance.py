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


# -- generalisation pass: restriction wording without "ban", other technologies, look-alike negatives ----------

RELEVANT_WORDING = [
    ("Procurement guidelines shut Chinese robots out of public contracts",
     "Public hospitals and universities will no longer be able to purchase industrial and service robots from "
     "manufacturers based in China, under procurement guidelines adopted by the cabinet on Tuesday. The "
     "guidelines require buyers to confirm that robots connected to internal networks come from suppliers that "
     "are not subject to foreign laws obliging them to cooperate with intelligence services. Officials said the "
     "measure was a response to the growing number of robots that upload sensor data and video to cloud "
     "servers abroad. Existing robots can stay in use, but software updates must be installed only after a "
     "security check by the national cyber agency. The guidelines do not name companies, but Chinese firms "
     "supply most of the cleaning and delivery robots used in the country's hospitals. An industry association "
     "said members would need more time to find alternative suppliers."),
    ("Taiwan tells contractors to certify drones free of mainland parts",
     "Defence contractors supplying drones to Taiwan's military will have to certify that critical components "
     "were not made in mainland China, under rules the defence ministry presented to lawmakers. Flight "
     "controllers, radios, cameras, motors and batteries are covered. The ministry said the certification "
     "requirement would apply to all new contracts and that contractors found to have used mainland parts "
     "would be disqualified from future tenders. Officials said the rules were needed to make sure drones "
     "would keep working in a conflict and could not be disabled remotely. Industry representatives said the "
     "rules were achievable but costly, because domestic components cost two to three times as much."),
]

LOOKALIKE_NEGATIVES = [
    ("New rules on e-cigarettes take effect across the country",
     "A ban on the sale of disposable e-cigarettes takes effect on Monday, the health ministry said, with fines "
     "for shops that keep selling them. Retailers must return unsold stock to wholesalers, and vapes that "
     "contain lithium batteries must be taken to licensed recycling centres. Most of the devices sold in the "
     "country are made in China, and officials said they expected illegal imports to rise. The ministry said "
     "the ban was needed to protect children, as the number of teenagers who vape has tripled in five years. "
     "Public health groups welcomed the move, while vape shops warned that smokers trying to quit would go back "
     "to cigarettes. Refillable devices remain legal, but flavours will be restricted from next year."),
    ("Teen social media ban: what platforms must do",
     "Social media platforms including TikTok, Instagram and Snapchat must stop children under 16 from opening "
     "accounts from next month, under a law that parliament passed last year. Companies that fail to take "
     "reasonable steps face fines of up to 30 million euros. The regulator said platforms would not have to "
     "check every user's identity, but would be expected to use age estimation tools and to remove accounts "
     "that clearly belong to minors. Parents' groups welcomed the ban, while digital rights campaigners said age "
     "checks would put the privacy of adult users at risk. TikTok said it would comply and had already removed "
     "more than a million accounts it believed belonged to under-13s. Messaging services, games and educational "
     "apps are exempt from the ban."),
    ("Chinese drone maker opens European repair hub",
     "A Chinese maker of agricultural drones has opened a repair and training centre in the Netherlands, its "
     "first in Europe, as it tries to expand sales to farmers. The centre near Rotterdam will stock spare parts, "
     "repair damaged drones within 48 hours and train 2,000 pilots a year. Its drones spray crops and map "
     "fields with multispectral cameras. The company faces restrictions in the United States, where lawmakers "
     "have sought to ban new Chinese drones on national security grounds, but European regulators have not "
     "followed. The chief executive said the company stored customers' flight data on servers in Frankfurt and "
     "had passed an independent security audit. Sales in Europe doubled last year."),
]


@pytest.mark.parametrize("title, text", RELEVANT_WORDING)
def test_restriction_wording_without_ban_is_relevant(enricher, title, text):
    assert enricher.enrich(title, text, PUB).is_relevant


@pytest.mark.parametrize("title, text", LOOKALIKE_NEGATIVES)
def test_health_child_safety_and_expansion_stories_are_not(enricher, title, text):
    assert not enricher.enrich(title, text, PUB).is_relevant

"""Typed dates: formats, year inference, relative references and roles."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.enrich.dates import DateFinder

# a Friday
PUB = dt.date(2025, 6, 20)


def found(text: str, published: dt.date | None = PUB) -> set[tuple[str, str]]:
    return {(d.iso(), d.role) for d in DateFinder().find(text, published)}


@pytest.mark.parametrize("text, expected", [
    ("The order takes effect on Sept. 29, 2024, the agency said.", ("2024-09-29", "effective_date")),
    ("Sales must stop by 31 December 2026.", ("2026-12-31", "compliance_deadline")),
    ("The docket entry is dated 2024-11-03.", ("2024-11-03", "other")),
    ("The carrier has until March 2026 to comply.", ("2026-03", "compliance_deadline")),
    ("The ban applies beginning with model year 2027 vehicles.", ("2027", "effective_date")),
    ("A judge upheld the law on Dec. 6, 2024.", ("2024-12-06", "court_ruling")),
    ("The company filed a lawsuit on October 18th, 2024, in Washington.", ("2024-10-18", "filing")),
    ("The president extended the deadline to Sept. 17, 2025.", ("2025-09-17", "extension")),
    ("Regulators announced the restriction on January 30, 2025.", ("2025-01-30", "announcement")),
])
def test_formats_and_roles(text, expected):
    assert expected in found(text)


def test_year_inference_forward_for_deadlines_and_back_for_events():
    # published in June 2025: "from September 29 onwards" is this September, "on May 16" in the past
    assert ("2025-09-29", "effective_date") in found("Updates are barred from September 29 onwards.")
    assert ("2025-05-16", "announcement") in found("The department added the firm to the list on May 16.")
    # published in December: a January deadline is next year, a November ruling this year
    dec = dt.date(2024, 12, 10)
    assert ("2025-01-19", "compliance_deadline") in found("ByteDance must sell the app by January 19.", dec)
    assert ("2024-11-30", "court_ruling") in found("The court ruled on November 30 that the law stands.", dec)


def test_year_less_dates_need_a_publication_date():
    assert found("The rule takes effect on March 17.", None) == set()
    assert ("2025-03-17", "effective_date") in found("The rule takes effect on March 17, 2025.", None)


def test_weekdays_resolve_against_publication():
    # PUB is Friday 2025-06-20
    assert ("2025-06-17", "announcement") in found("The FCC said Tuesday it had named the companies.")
    assert ("2025-06-20", "announcement") in found("The ministry announced on Friday that the app is blocked.")
    assert ("2025-06-26", "announcement") in found("The commission will vote on Thursday on the measure.")
    assert ("2025-06-22", "effective_date") in found("The ban is due to take effect on Sunday.")


def test_relative_periods_and_offsets():
    assert ("2025-05", "announcement") in found("Last month, the secretary announced the prohibition.")
    assert ("2024", "other") in found("Sales of the devices rose last year, analysts noted.")
    assert ("2025-09-18", "compliance_deadline") in found("Carriers must remove the gear within 90 days.")
    assert ("2025-06-19", "announcement") in found("The regulator said yesterday that it had acted.")
    # an offset counted from another event is not resolved against the publication date
    assert found("Carriers must remove the gear within 60 days of being placed on the list.") == set()


def test_days_to_act_from_publication():
    assert ("2025-08-19", "compliance_deadline") in found("The order gives the parties 60 days to close the deal.")


def test_after_a_ban_date_is_a_deadline():
    assert ("2025-12-31", "compliance_deadline") in found(
        "Operators are banned from buying new equipment after 31 December.")


def test_pitfalls_not_dates():
    text = ("May 5G rollouts slow? The company may 10 times over. Every Monday is busy. "
            "Shares rose 2024 percent. Today's action was praised. Over 2,000 drones were sold.")
    assert found(text) == set()


def test_federal_register_publication_is_other():
    assert ("2024-06-24", "other") in found(
        "The determination was published in the Federal Register on June 24, 2024.")


def test_specific_role_wins_over_other_for_the_same_date():
    dates = DateFinder().find("The rule takes effect on March 17, 2025. March 17, 2025 is a Monday.", PUB)
    assert [(d.iso(), d.role) for d in dates] == [("2025-03-17", "effective_date")]


def test_snippet_is_the_sentence():
    (d,) = DateFinder().find("First sentence here. The U.S. ban starts on July 20, 2024, officials said. Next.",
                             PUB)
    assert d.snippet == "The U.S. ban starts on July 20, 2024, officials said."
    assert d.precision == "day" and d.date == dt.date(2024, 7, 20)

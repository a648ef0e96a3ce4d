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
    # a scheduled action lies after publication: nothing was announced on that day yet (as in the dev labels)
    assert ("2025-06-26", "other") in found("The commission will vote on Thursday on the measure.")
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


# -- accuracy pass: clause, tense and cue handling (own sentences) ------------------------------

@pytest.mark.parametrize("text, expected", [
    # present-tense schedule points forward even after a past verb in the same sentence
    ("The ban was announced on Monday and takes effect on Friday.", ("2025-06-20", "effective_date")),
    ("A hearing is scheduled for Tuesday.", ("2025-06-24", "other")),
    # sentence-initial "In"/"From", and "mid-2026"
    ("In January, the regulator opened an inquiry into the vendor.", ("2025-01", "announcement")),
    ("From 1 October 2025, agencies may no longer buy the modems.", ("2025-10-01", "effective_date")),
    ("The ministry expects a decision by mid-2026.", ("2026", "compliance_deadline")),
    # extensions: "extended until", "extended by N days to"; the day of the decision is an announcement
    ("The grace period was extended until 31 December 2026.", ("2026-12-31", "extension")),
    ("The deadline was extended by 90 days to September 17.", ("2025-09-17", "extension")),
    ("The president extended the deadline by 75 days on Thursday.", ("2025-06-19", "announcement")),
    # "since" states a period, not an event; availability and markets are not events either
    ("The agency has restricted the cameras since 2021.", ("2021", "other")),
    ("The handset is available from today in Europe.", ("2025-06-20", "other")),
    ("Shares of the firm fell 4 percent on Wednesday.", ("2025-06-18", "other")),
    # a plan is not an announcement, even with "said" before it
    ("Officials have said the review will conclude later this year.", ("2025", "other")),
    ("The company said it would cut prices next month.", ("2025-07", "other")),
    # past tense pulls a date without a year into the past
    ("The measure was signed on July 2 and gives the company 270 days to divest.", ("2024-07-02", "announcement")),
    # more action verbs and filings
    ("Regulators put the company on the list in August 2023.", ("2023-08", "announcement")),
    ("The firm lodged an appeal with the High Court on 3 June.", ("2025-06-03", "filing")),
    ("The operator was given 30 days to remove the equipment.", ("2025-07-20", "compliance_deadline")),
    # immediate effect: the day of the order is also its effective date
    ("The ministry issued the order on 3 June, with immediate effect.", ("2025-06-03", "effective_date")),
])
def test_roles_from_clause_tense_and_cues(text, expected):
    assert expected in found(text)


def test_immediate_effect_keeps_the_announcement_too():
    got = found("The ministry issued the order on 3 June, with immediate effect.")
    assert {("2025-06-03", "announcement"), ("2025-06-03", "effective_date")} <= got
    # without a date in the sentence nothing is invented
    assert found("The order applies with immediate effect.") == set()


def test_said_on_weekday_near_a_court_is_still_an_announcement():
    got = found("The appeals court upheld the order last week, and the company said on Monday it would appeal.")
    assert ("2025-06-16", "announcement") in got


def test_present_tense_schedule_is_not_turned_into_a_past_announcement():
    got = found("The grace period ends on 30 September.")
    assert {d for d, _ in got} == {"2025-09-30"}
    assert ("2025-09-30", "announcement") not in got


@pytest.mark.parametrize("text, published, expected", [
    # the verb right after "on <day>" names the action of that day
    ("The Commission on Thursday asked member states to stop buying the gear by 2026.", PUB,
     ("2025-06-19", "announcement")),
    ("A federal judge in Denver on Tuesday refused to block the state law.", PUB, ("2025-06-17", "court_ruling")),
    # "last May" is before the publication month; past-tense events do not move into the future
    ("The council issued a similar ban last May.", dt.date(2024, 3, 21), ("2023-05", "announcement")),
    ("The operator had told the regulator in December that it would miss the date.", dt.date(2024, 10, 4),
     ("2023-12", "announcement")),
    # a clause boundary keeps an earlier clause's cue away
    ("The law had taken effect on Sunday, and the app went offline on Saturday night.", PUB,
     ("2025-06-14", "other")),
    # "a decision from March that upheld ..." is no start date
    ("The court left in place a decision from March that upheld the order.", PUB, ("2025-03", "court_ruling")),
    # filings
    ("The unit had asked the court in April to review the case.", PUB, ("2025-04", "filing")),
    ("The company, which brought the case in January, said it would appeal.", PUB, ("2025-01", "filing")),
    # consultations and comment periods close on a deadline
    ("A consultation on the plan closes on 15 July.", PUB, ("2025-07-15", "compliance_deadline")),
])
def test_clause_and_tense_cues(text, published, expected):
    assert expected in found(text, published)


def test_coordinated_years_share_the_statement():
    got = found("Estonia and Latvia barred the vendors in 2020 and 2021.")
    assert {("2020", "announcement"), ("2021", "announcement")} <= got
    # a bare year without a preposition is still not a date ("between 2017 and 2023")
    assert found("The group stole funds between 2017 and 2023.") == set()


# -- generalisation pass: datelines, untyped past actions, lists, modals, precision guards ---------------------

# a Wednesday
GEN_PUB = dt.date(2025, 6, 11)


@pytest.mark.parametrize("text, expected", [
    # a wire dateline names the day of publication, not an event
    ("OSLO, June 11 (Reuters) - The regulator said the ban would cover routers.", {("2025-06-11", "other")}),
    # "a memo dated ..." is a record's date
    ("In a memo dated May 2, the department set out the plan.", {("2025-05-02", "other")}),
    # no role cue, but an official actor and a past-tense verb: the day of that action
    ("The order was made on May 9, 2025, on the advice of the security agencies.", {("2025-05-09", "announcement")}),
    ("The framework was agreed in March 2021 by ministers.", {("2021-03", "announcement")}),
    ("The watchdog made the call in late 2024.", {("2024", "announcement")}),
    # ... but a company's own past business is not an announcement
    ("Apple's new phone sold strongly in China in March.", {("2025-03", "other")}),
    # a range's ends are not actions
    ("The review ran from March 3 to April 4.", {("2025-03-03", "other"), ("2025-04-04", "other")}),
    # extensions: "pushes the deadline back ... to", "was moved to"; the new date lies ahead
    ("The order pushes the deadline back by 75 days, to October 3.", {("2025-10-03", "extension")}),
    ("The deadline, originally March 31, was moved to September 30.",
     {("2025-03-31", "compliance_deadline"), ("2025-09-30", "extension")}),
    # "no new ... after" is a cut-off
    ("No new terminals may be connected after 1 May 2026.", {("2026-05-01", "compliance_deadline")}),
    # "the end of the year/month" is this year/month
    ("The plant is expected to open by the end of the year.", {("2025", "compliance_deadline")}),
    ("The exemption expires at the end of the month.", {("2025-06", "compliance_deadline")}),
    # "in the three months to June": a reporting period
    ("Sales in the three months to June rose 4%.", {("2025-06", "other")}),
    # a list of days shares the year stated at its end, and the role of its cue
    ("The deadlines are March 1, June 1 and September 1, 2026.",
     {("2026-03-01", "compliance_deadline"), ("2026-06-01", "compliance_deadline"),
      ("2026-09-01", "compliance_deadline")}),
    # a modal makes an announcement a possibility, and the date lies ahead
    ("The agency could impose the ban as early as June, people familiar said.", {("2025-06", "other")}),
    # a time of day between the verb and the weekday does not hide the tense
    ("The meeting starts at 9:30 a.m. on Thursday.", {("2025-06-12", "other")}),
    # past tense looks back: "expired on Sunday", "had been removed by Tuesday"
    ("The licences expired on Sunday, officials said.", {("2025-06-08", "compliance_deadline")}),
    ("Officials said the app had been removed from 40,000 devices by Tuesday.",
     {("2025-06-10", "compliance_deadline")}),
    # a court disposing of a petition rules; it does not file
    ("A court in Delhi dismissed the petition on Monday.", {("2025-06-09", "court_ruling")}),
])
def test_generalisation_roles(text, expected):
    assert found(text, GEN_PUB) == expected


@pytest.mark.parametrize("text", [
    "Chief executive Li Wei, 62, said demand was weak.",
    "Profit for the second quarter of 2025 fell 12%.",
    "Revenue in FY2024 rose 8%, and in fiscal 2025 the company booked a loss.",
    "Shares fell 3% by 11:15 a.m. in Hong Kong.",
    "The Mate 70 and the Watch 5 Pro will be sold together.",
    "Section 2025 of the bill sets penalties, the report said on page 2024.",
    "The 2027 target is ambitious, analysts said.",
    "Stores were told to delist the app within 72 hours.",
    "Firms that want a waiver must apply no later than 30 days before the sale.",
])
def test_generalisation_not_dates(text):
    assert found(text, GEN_PUB) == set()

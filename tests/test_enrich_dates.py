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


# -- issue 5: the clause that governs a date, year references, ranges and attributions (own sentences) ---------

@pytest.mark.parametrize("text, expected", [
    # the past-tense verb of the clause dates an action even when it sits far before the date
    ("The trade ministry added the two equipment makers to its export control list in 2021.",
     ("2021", "announcement")),
    ("The measures, approved by the Cabinet Office and the Home Office last year, cover all laptops.",
     ("2024", "announcement")),
    # a subject with its date fronted: the verb follows the date
    ("A similar government order in May 2022 required agencies to delete the app.", ("2022-05", "announcement")),
    # a noun naming an official action: "a decision by ... in", "to ban ..., in"
    ("The notice follows a decision by the telecoms regulator in early 2024 to review the vendors.",
     ("2024", "announcement")),
    ("Ohio was the second state to ban the app on government phones, in March 2023.",
     ("2023-03", "announcement")),
    # an aside between verb and date is skipped
    ("The government forced the sale of the chip plant by its owner, which is based in Shanghai, in 2021.",
     ("2021", "announcement")),
    # ", and in 2022 it stopped ...": the verb of a short clause follows its date
    ("Since 2019 the regulator has kept a register of risky vendors, and in 2022 it stopped approving their "
     "radios.", ("2022", "announcement")),
    # phrasal verbs: "called in the deal"
    ("The minister called in the takeover for a security review in October 2023.", ("2023-10", "announcement")),
])
def test_clause_verb_dates_an_action(text, expected):
    assert expected in found(text)


@pytest.mark.parametrize("text, expected", [
    # a relative clause has its own verb: "a review that began in 2024" is not the order's day
    ("Ottawa has ordered the vendor to close its office, ending a security review that began in 2023.",
     ("2023", "other")),
    # an obligation or plan in the clause: nothing happened on that date
    ("Under the rules, operators must have filed their network plans with the regulator in 2024.",
     ("2024", "other")),
    # a present-tense verb between the past verb and the date: the date belongs to that clause
    ("A clip uploaded by a student has become the most-watched video on the platform this month.",
     ("2025-06", "other")),
    # "for last year": a reporting period
    ("The operator reported a rise in profit for last year on Thursday.", ("2024", "other")),
    # "The decision follows a robocall last month": the date belongs to the robocall, not the decision
    ("The decision follows a scam call last month that copied the minister's voice.", ("2025-05", "other")),
    # a past role cannot lie in a year after publication
    ("The minister signed a plan that reshapes the network in 2027.", ("2027", "other")),
])
def test_clause_verb_limits(text, expected):
    assert expected in found(text)


def test_month_with_this_year_is_one_date():
    assert found("The court dismissed the appeal in February this year.") == {("2025-02", "court_ruling")}


def test_month_of_that_year_takes_the_last_stated_year():
    got = found("The agency banned the software in May 2023. It added the firm to a list in July of that year.")
    assert ("2023-07", "announcement") in got


def test_weekday_before_a_day_does_not_hide_the_cue():
    got = found("Disposable vapes will be banned from Sunday, July 6, under new rules.")
    assert got == {("2025-07-06", "effective_date")}


def test_from_day_and_verb_is_not_a_range():
    assert ("2025-07-04", "effective_date") in found("The carrier will block the app from July 4 and refund users.")


def test_took_full_effect():
    assert ("2025-06-15", "effective_date") in found("The state ban took full effect on Sunday.")


def test_since_at_least_is_a_period():
    assert found("Hackers have targeted the ministry since at least March 2024.") == {("2024-03", "other")}


def test_holiday_named_after_a_weekday_is_no_action_day():
    assert ("2025-06-13", "announcement") not in found("The retailer said sales over the Black Friday weekend doubled.")


def test_between_two_days_is_a_period():
    got = found("The firm said shoppers placed 2 million orders between Friday and Monday.")
    assert {r for _, r in got} == {"other"}


def test_until_instead_of_an_earlier_date_is_an_extension():
    got = found("Carriers now have until 30 June 2026, instead of 31 March 2026, to strip out the gear.")
    assert ("2026-06-30", "extension") in got


def test_closing_attribution_is_not_the_day_of_saying():
    assert found("A ruling is not expected before late 2026, two lawyers said.") == {("2026", "other")}


def test_quote_attribution_is_not_the_day_of_saying():
    assert ("2025-01", "other") in found('"Our budget was fixed in January," said Ana Ruiz, a clinic manager.')


def test_when_clause_event_dates_the_period():
    got = found("The rival app gained two million users last month when a national ban briefly took effect.")
    assert ("2025-05", "effective_date") in got


def test_comment_period_range_end_is_its_deadline():
    got = found("A comment period ran from April 2 to May 2, and the agency received 90 comments.")
    assert ("2025-05-02", "compliance_deadline") in got


def test_enforcement_discretion_until_is_an_extension():
    got = found("The agency said it would exercise enforcement discretion until 1 March 2026 for small operators.")
    assert ("2026-03-01", "extension") in got


def test_availability_far_before_from_is_not_an_effective_date():
    got = found("The new routers will be available through retailers in Europe and Latin America from August.")
    assert got == {("2025-08", "other")}


def test_comparison_from_a_period_is_not_an_effective_date():
    assert found("Exports fell 8 percent in May, down from the previous year.") >= {("2024", "other")}


def test_begins_with_model_year_is_effective():
    assert ("2029", "effective_date") in found("The software rules, which begin with model year 2029, cover trucks.")


def test_court_said_is_its_ruling():
    got = found("The High Court said on Tuesday that the ban was lawful.")
    assert got == {("2025-06-17", "court_ruling")}


def test_had_taken_effect_looks_back():
    dec = dt.date(2025, 12, 19)
    assert ("2025-01-19", "effective_date") in found("The law had taken effect on January 19, a court noted.", dec)


def test_cue_scan_matches_the_plain_alternation():
    import re

    from pipeline.enrich import dates
    plain = re.compile(dates._WS + "(?:" + "|".join(f"(?P<{r}>{x})" for r, x in dates._ROLE_CUES) + r")\b", re.I)
    text = ("The court ruled on Monday; the firm filed an appeal, said it would comply, and the ban takes full "
            "effect in May. Shares fell. No longer available; the deadline was pushed back to June, no later than.")
    for pos, end in ((0, len(text)), (5, 60), (40, 41), (17, len(text) - 3)):
        assert [(m.span(), m.lastgroup) for m in dates._ALL_CUES.finditer(text, pos, end)] == [
            (m.span(), m.lastgroup) for m in plain.finditer(text, pos, end)]


def test_distant_cue_verb_needs_no_official_actor():
    # a role cue ("ordered") dates the action whoever acts; a country is no "official" word
    assert ("2020-07", "announcement") in found(
        "Britain ordered the two vendors out of all of its fixed and mobile networks in July 2020.")


def test_court_in_a_later_clause_does_not_make_a_ruling():
    got = found("The state banned the app in May 2023, though a judge later blocked the law.")
    assert ("2023-05", "announcement") in got


def test_a_later_plain_verb_governs_the_date_not_an_earlier_cue():
    assert ("2009", "other") in found("The stadium was opened in 1998 and was fully repainted in 2009.")


def test_every_cue_is_indexed_by_its_first_letters():
    from pipeline.enrich import dates
    assert all(starts is not None for _, _, starts in dates._ALL_CUES.alts)


def test_cue_scan_without_an_index_finds_the_same_cues(monkeypatch):
    import re

    from pipeline.enrich import dates
    monkeypatch.setattr(dates, "_sp", None)  # as on a Python whose re internals differ
    unindexed = dates._CueScan(dates._ROLE_CUES, re.I)
    assert all(starts is None for _, _, starts in unindexed.alts)
    text = "The agency said the rule takes effect on May 1 and that firms must comply by June; a judge ruled."
    assert [(m.span(), m.lastgroup) for m in unindexed.finditer(text)] == [
        (m.span(), m.lastgroup) for m in dates._ALL_CUES.finditer(text)]


@pytest.mark.parametrize("text", [
    "", "May", "Mayday in May.", "on 2019-05-06 and 2020/01", "12019 x2019 2019x", "Sept. 3, Sept 4, Sep 5 and Sep.",
    "Jan. Jun Jul Junk Julys Aug. Augusta", "Monday,Tuesday;Thursday(Wednesday) Sunday-Saturday Friday's",
    "today's Today yesterday Yesterday todays yesterdays", "month months year-old years year. days daysx 30days",
    "\u00e9May \u0130June K2019 _2019 9December", "The Thursday Tuesday Thu Thurs", "a\nMarch\n2024\tdays",
])
def test_anchor_scan_finds_what_the_single_pattern_finds(text):
    from pipeline.enrich.dates import _ANCHOR, _anchors

    assert _anchors(text) == [m.end() - 1 for m in _ANCHOR.finditer(" " + text)]

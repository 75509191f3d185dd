"""The marketers' sentences, as segment queries, over fixture data built to catch off-by-one
windows, NOT-logic and NULLs. Each segment's refreshed members are exactly the expected people,
and the one-person evaluator (`matches`) agrees with the SQL for everyone."""

import datetime

import pytest

from contacts.models import Contact, CustomAttribute
from segments import services
from segments.models import Segment
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)


def contact(name: str, **fields) -> Contact:
    fields.setdefault("state", "")
    fields.setdefault("country", "United States")
    return ContactFactory(first_name=name, email=f"{name}@example.com", **fields)


def did(person, kind: str, at, **columns):
    return InteractionFactory(contact=person, type=kind, occurred_at=at, **columns)


def segment(name: str, query: dict, now, **fields) -> Segment:
    seg = services.save_segment(Segment(name=name, query={"version": 1, **query}, **fields), now=now)
    services.refresh(seg, now=now) if seg.is_dynamic else None
    return seg


def names(seg: Segment) -> set[str]:
    return set(services.members(seg).values_list("first_name", flat=True))


def assert_matches_agree(seg: Segment, now) -> None:
    expected = names(seg)
    for person in Contact.objects.all():
        assert services.matches(seg.query, person=person, now=now) == (person.first_name in expected), person


def purchase(product=None, last_days=None, count=None):
    condition = {"type": "behavior", "interaction": "purchase"}
    if product:
        condition["where"] = [{"field": "product", "op": "equals", "value": product}]
    if last_days:
        condition["window"] = {"last_days": last_days}
    if count:
        condition["count"] = count
    return condition


def test_customers_in_sweden_with_a_recent_purchase_and_an_open_opportunity(now):
    inside = contact("inside", country="Sweden")
    did(inside, "purchase", now - 90 * DAY + MINUTE)
    OpportunityFactory(contact=inside, account=None, status="open")
    via_account = contact("via_account", country="Sweden", account=AccountFactory())
    did(via_account, "purchase", now - 10 * DAY)
    OpportunityFactory(account=via_account.account, status="open")
    too_old = contact("too_old", country="Sweden")
    did(too_old, "purchase", now - 90 * DAY - MINUTE)
    OpportunityFactory(contact=too_old, account=None, status="open")
    only_won = contact("only_won", country="Sweden")
    did(only_won, "purchase", now - DAY)
    OpportunityFactory(contact=only_won, account=None, status="won")
    norway = contact("norway", country="Norway")
    did(norway, "purchase", now - DAY)
    OpportunityFactory(contact=norway, account=None, status="open")
    contact("no_country", country="")
    seg = segment("Sweden buyers", {"match": "all", "conditions": [
        {"type": "attribute", "field": "country", "op": "equals", "value": "Sweden"},
        purchase(last_days=90),
        {"type": "related", "relation": "opportunities", "exists": True,
         "where": [{"field": "status", "op": "equals", "value": "open"}]},
    ]}, now)
    assert names(seg) == {"inside", "via_account"}
    assert_matches_agree(seg, now)


def test_texas_loyalty_members_who_bought_cold_brew_but_not_the_concentrate(now):
    CustomAttribute.objects.create(key="loyalty_member", label="Loyalty member", type="boolean")
    texan = {"state": "Texas", "attributes": {"loyalty_member": True}}
    yes = contact("yes", **texan)
    did(yes, "purchase", now - 5 * DAY, product="cold brew")
    both = contact("both", **texan)
    did(both, "purchase", now - 5 * DAY, product="cold brew")
    did(both, "purchase", now - 3 * DAY, product="cold brew concentrate")
    earlier_concentrate = contact("earlier_concentrate", **texan)
    did(earlier_concentrate, "purchase", now - 5 * DAY, product="cold brew")
    did(earlier_concentrate, "purchase", now - 200 * DAY, product="cold brew concentrate")
    old = contact("old", **texan)
    did(old, "purchase", now - 100 * DAY, product="cold brew")
    not_member = contact("not_member", state="Texas", attributes={"loyalty_member": False})
    did(not_member, "purchase", now - 5 * DAY, product="cold brew")
    unknown = contact("unknown", state="Texas", attributes={})
    did(unknown, "purchase", now - 5 * DAY, product="cold brew")
    ohio = contact("ohio", state="Ohio", attributes={"loyalty_member": True})
    did(ohio, "purchase", now - 5 * DAY, product="cold brew")
    seg = segment("Cold brew, not concentrate", {"match": "all", "conditions": [
        {"type": "attribute", "field": "attributes.loyalty_member", "op": "is_true"},
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"},
        purchase("cold brew", last_days=90),
        purchase("cold brew concentrate", count={"op": "exactly", "value": 0}),
    ]}, now)
    assert names(seg) == {"yes"}
    assert_matches_agree(seg, now)


def test_contacts_whose_account_industry_is_manufacturing_and_the_negation_keeps_nulls(now):
    contact("maker", account=AccountFactory(industry="Manufacturing"))
    contact("shop", account=AccountFactory(industry="Retail"))
    contact("loner", account=None)
    contact("blank", account=AccountFactory(industry=""))
    seg = segment("Manufacturing", {"match": "all", "conditions": [
        {"type": "attribute", "field": "account.industry", "op": "equals", "value": "Manufacturing"}]}, now)
    others = segment("Not manufacturing", {"match": "all", "conditions": [
        {"type": "attribute", "field": "account.industry", "op": "not_equals", "value": "Manufacturing"}]}, now)
    empty = segment("No industry", {"match": "all", "conditions": [
        {"type": "attribute", "field": "account.industry", "op": "is_empty"}]}, now)
    assert names(seg) == {"maker"}
    assert names(others) == {"shop", "loner", "blank"}
    assert names(empty) == {"loner", "blank"}
    for each in (seg, others, empty):
        assert_matches_agree(each, now)


def test_north_dakota_contacts_who_opened_an_email_and_clicked_a_link_within_90_days(now):
    def nd(name):
        return contact(name, state="North Dakota")

    both = nd("both")
    did(both, "email_opened", now - 10 * DAY, email_key="spring")
    did(both, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/offer")
    other_link = nd("other_link")
    did(other_link, "email_opened", now - 10 * DAY, email_key="spring")
    did(other_link, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/other")
    other_email = nd("other_email")
    did(other_email, "email_opened", now - 10 * DAY, email_key="autumn")
    did(other_email, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/offer")
    stale = nd("stale")
    did(stale, "email_opened", now - 91 * DAY, email_key="spring")
    did(stale, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/offer")
    texan = contact("texan", state="Texas")
    did(texan, "email_opened", now - 10 * DAY, email_key="spring")
    did(texan, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/offer")
    window = {"last_days": 90}
    seg = segment("ND engaged", {"match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "North Dakota"},
        {"type": "behavior", "interaction": "email_opened", "window": window,
         "where": [{"field": "email_key", "op": "equals", "value": "spring"}]},
        {"type": "behavior", "interaction": "email_clicked", "window": window,
         "where": [{"field": "email_key", "op": "equals", "value": "spring"},
                   {"field": "link", "op": "equals", "value": "https://x.test/offer"}]},
    ]}, now)
    assert names(seg) == {"both"}
    assert_matches_agree(seg, now)


def test_customers_who_have_not_purchased_in_the_last_60_days(now):
    lapsed = contact("lapsed")
    did(lapsed, "purchase", now - 60 * DAY - MINUTE)
    recent = contact("recent")
    did(recent, "purchase", now - 60 * DAY + MINUTE)
    did(recent, "purchase", now - 300 * DAY)
    contact("never")
    seg = segment("Lapsed", {"match": "all", "conditions": [
        purchase(), purchase(last_days=60, count={"op": "exactly", "value": 0})]}, now)
    assert names(seg) == {"lapsed"}
    assert_matches_agree(seg, now)


def test_segment_a_excluding_the_board_and_members_of_both_a_and_b(now):
    for name, country, state in [("ann", "Sweden", "Skane"), ("bo", "Sweden", "Texas"),
                                 ("cy", "United States", "Texas"), ("di", "Sweden", "")]:
        contact(name, country=country, state=state)
    a = segment("Swedes", {"match": "all", "conditions": [
        {"type": "attribute", "field": "country", "op": "equals", "value": "Sweden"}]}, now)
    b = segment("Texas", {"match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}, now)
    board = services.save_segment(Segment(name="Board of Directors", kind="static"), now=now)
    services.add_members(board, [Contact.objects.get(first_name="ann").pk], now=now)
    a_minus_board = segment("Swedes, not the board", {"match": "all", "conditions": [
        {"type": "segment", "op": "in", "segment": a.pk},
        {"type": "segment", "op": "not_in", "segment": board.pk}]}, now)
    a_and_b = segment("Swedes in Texas", {"match": "all", "conditions": [
        {"type": "segment", "segment": a.pk}, {"type": "segment", "segment": b.pk}]}, now)
    assert names(a_minus_board) == {"bo", "di"}
    assert names(a_and_b) == {"bo"}
    assert_matches_agree(a_minus_board, now)
    assert_matches_agree(a_and_b, now)

"""A query reads as one sentence a marketer understands, with the catalog's labels and the names
of the segments and topics it refers to — and a half-built query still reads."""

import pytest

from contacts.models import CustomAttribute, Topic
from segments.models import Segment
from segments.sentences import describe

pytestmark = pytest.mark.django_db


def query(*conditions, match="all"):
    return {"version": 1, "match": match, "conditions": list(conditions)}


def state_is(value):
    return {"type": "attribute", "field": "state", "op": "equals", "value": value}


def purchase(product=None, **extra):
    condition = {"type": "behavior", "interaction": "purchase", **extra}
    if product:
        condition["where"] = [{"field": "product", "op": "equals", "value": product}]
    return condition


def test_the_cold_brew_sentence_reads_as_the_marketer_said_it():
    text = describe(query(state_is("Texas"), purchase("cold brew", window={"last_days": 90})), "contact")
    assert text == ('Contacts whose State / region is "Texas" and who made a purchase where Product is "cold brew" '
                    "at least once in the last 90 days")


def test_no_conditions_means_everyone():
    assert describe(query(), "contact") == "All contacts"
    assert describe(query(), "lead") == "All leads"


def test_any_and_none_groups_join_with_or_and_except():
    assert describe(query(state_is("Texas"), state_is("Ohio"), match="any"), "lead") == \
        'Leads whose State / region is "Texas" or whose State / region is "Ohio"'
    assert describe(query(state_is("Texas"), purchase(), match="none"), "contact") == \
        'All contacts except those whose State / region is "Texas" or who made a purchase at least once'


def test_nested_groups_are_bracketed():
    nested = {"type": "group", "match": "any", "conditions": [state_is("Texas"), state_is("Ohio")]}
    excluded = {"type": "group", "match": "none", "conditions": [purchase("espresso")]}
    assert describe(query(nested, excluded), "contact") == (
        'Contacts (whose State / region is "Texas" or whose State / region is "Ohio") and '
        'not (who made a purchase where Product is "espresso" at least once)')


def test_did_not_counts_and_windows():
    lapsed = purchase(window={"last_days": 60}, count={"op": "exactly", "value": 0})
    often = purchase(count={"op": "at_least", "value": 3}, window={"from": "2026-01-01", "to": "2026-03-31"})
    twice = {"type": "behavior", "interaction": "email_opened", "count": {"op": "at_most", "value": 2},
             "window": {"from": "2026-02-01"}}
    assert describe(query(lapsed), "contact") == "Contacts who did not make a purchase in the last 60 days"
    assert describe(query(often), "contact") == \
        "Contacts who made a purchase at least 3 times between Jan 1, 2026 and Mar 31, 2026"
    assert describe(query(twice), "contact") == "Contacts who opened an email at most twice since Feb 1, 2026"


def test_operators_and_values_by_type():
    CustomAttribute.objects.create(key="loyalty_member", label="Loyalty member", type="boolean")
    CustomAttribute.objects.create(key="lifetime_value", label="Lifetime value", type="number")
    text = describe(query(
        {"type": "attribute", "field": "attributes.loyalty_member", "op": "is_true"},
        {"type": "attribute", "field": "attributes.lifetime_value", "op": "between", "value": [1000, 2500.5]},
        {"type": "attribute", "field": "state", "op": "in", "value": ["Texas", "Ohio"]},
        {"type": "attribute", "field": "created_at", "op": "in_last_days", "value": 30},
        {"type": "attribute", "field": "birthday", "op": "before", "value": "2000-07-04"},
        {"type": "attribute", "field": "email", "op": "is_empty"},
    ), "contact")
    assert text == ('Contacts whose Loyalty member is yes and whose Lifetime value is between 1,000 and 2,500.5 and '
                    'whose State / region is one of "Texas", "Ohio" and whose Created is in the last 30 days and '
                    "whose Birthday is before Jul 4, 2000 and whose Email is empty")


def test_opportunities_consent_and_segments_by_name():
    Topic.objects.create(key="newsletter", name="Newsletter")
    board = Segment.objects.create(name="Board of Directors", kind="static")
    text = describe(query(
        {"type": "related", "relation": "opportunities", "exists": True,
         "where": [{"field": "status", "op": "equals", "value": "open"}]},
        {"type": "related", "relation": "opportunities", "exists": False},
        {"type": "consent", "channel": "email", "topic": "newsletter", "state": "opted_in"},
        {"type": "consent", "channel": "sms", "state": "not_set"},
        {"type": "segment", "op": "not_in", "segment": board.pk},
    ), "contact")
    assert text == ('Contacts who have an opportunity where Status is "open" and who have no opportunity and '
                    'who opted in to Email for "Newsletter" and whose SMS consent is not set and '
                    'who are not in the segment "Board of Directors"')


def test_interaction_properties_and_links_read_as_filters():
    clicked = {"type": "behavior", "interaction": "email_clicked", "window": {"last_days": 1},
               "where": [{"field": "email_key", "op": "equals", "value": "spring"},
                         {"field": "properties.campaign", "op": "starts_with", "value": "easter"}]}
    assert describe(query(clicked), "lead") == ('Leads who clicked a link in an email where Email is "spring" and '
                                                'property campaign starts with "easter" at least once in the last day')


def test_a_half_built_query_still_reads_with_placeholders():
    text = describe(query(
        {"type": "attribute", "field": "state", "op": "equals", "value": ""},
        {"type": "attribute", "field": "created_at", "op": "in_last_days", "value": None},
        {"type": "segment", "op": "in", "segment": None},
        {"type": "segment", "op": "in", "segment": 987654},
        {"type": "mystery"},
    ), "contact")
    assert text == ("Contacts whose State / region is … and whose Created is in the last … days and "
                    "who are in the segment (no segment chosen) and who are in the segment #987654 (deleted) and "
                    "(an unknown kind of condition)")
    assert describe("not a query", "contact") == "Contacts (the query cannot be read)"

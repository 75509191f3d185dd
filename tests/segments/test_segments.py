"""Segments: validation with precise errors, cycles, refresh diffs, continuous re-checks, static
members, preview, and the one-person evaluator agreeing with the SQL compiler."""

import datetime
import json
from pathlib import Path

import jsonschema
import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts import services as people
from contacts.models import Contact, CustomAttribute
from segments import compiler, services
from segments.models import MembershipChange, Segment
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def texans(**fields):
    query = {"version": 1, "match": "all",
             "conditions": [{"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}
    return Segment(name="Texans", query=query, **fields)


def errors_for(query, audience="contact"):
    return [str(e) for e in services.check_query(query, audience=audience)]


def test_validation_names_the_condition_and_what_is_wrong():
    query = {"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"},
        {"type": "group", "match": "any", "conditions": [
            {"type": "attribute", "field": "shoe_size", "op": "equals", "value": "9"},
            {"type": "attribute", "field": "created_at", "op": "contains", "value": "x"},
        ]},
        {"type": "behavior", "interaction": "purchase", "count": {"op": "at_least", "value": -1},
         "window": {"last_days": 0}},
        {"type": "segment", "segment": 999},
    ]}
    assert errors_for(query) == [
        "conditions[1].conditions[0].field: unknown contact field 'shoe_size'",
        "conditions[1].conditions[1].op: 'contains' does not apply to Created (date); use one of equals, before, "
        "after, between, in_last_days, more_than_days_ago, in_next_days, is_empty, is_not_empty",
        "conditions[2].count.value: must be a whole number, 0 or more",
        "conditions[2].window.last_days: must be a whole number of days, at least 1",
        "conditions[3].segment: no segment with id 999",
    ]


@pytest.mark.parametrize(("condition", "message"), [
    ({"type": "attribute", "field": "state", "op": "in", "value": []}, "non-empty list"),
    ({"type": "attribute", "field": "created_at", "op": "between", "value": ["2026-02-01", "2026-01-01"]},
     "low value"),
    ({"type": "attribute", "field": "created_at", "op": "in_last_days", "value": "ten"}, "whole number"),
    ({"type": "attribute", "field": "trigger.amount", "op": "equals", "value": "1"}, "journey conditions"),
    ({"type": "related", "relation": "invoices"}, "no related 'invoices'"),
    ({"type": "behavior", "interaction": "purchase", "where": [{"field": "colour", "op": "equals", "value": "x"}]},
     "unknown field 'colour'"),
    ({"type": "consent", "channel": "fax", "state": "opted_in"}, "unknown channel"),
    ({"type": "magic"}, "unknown condition type"),
])
def test_each_kind_of_mistake_is_reported(condition, message):
    errors = errors_for({"version": 1, "match": "all", "conditions": [condition]})
    assert errors and message in errors[0]


def test_lead_segments_know_lead_fields_only():
    assert errors_for({"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "status", "op": "equals", "value": "qualified"}]}, audience="lead") == []
    assert "unknown contact field 'status'" in errors_for({"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "status", "op": "equals", "value": "qualified"}]})[0]


def test_a_broken_query_is_never_saved_as_ready(now):
    broken = Segment(name="Broken", query={"version": 1, "match": "all", "conditions": [{"type": "attribute"}]})
    with pytest.raises(ValidationError):
        services.save_segment(broken, now=now)
    assert not Segment.objects.exists()
    draft = services.save_segment(broken, now=now, make_ready=False)
    assert draft.status == Segment.Status.DRAFT
    with pytest.raises(ValidationError, match="draft"):
        services.refresh(draft, now=now)


def test_segments_that_refer_to_each_other_in_a_cycle_are_refused(now):
    a = services.save_segment(texans(), now=now)
    b = services.save_segment(Segment(name="B", query={"version": 1, "match": "all", "conditions": [
        {"type": "segment", "segment": a.pk}]}), now=now)
    a.query = {"version": 1, "match": "all", "conditions": [{"type": "segment", "segment": b.pk}]}
    with pytest.raises(ValidationError, match="Texans → B → Texans"):
        services.save_segment(a, now=now)


def test_a_refresh_writes_only_the_difference_and_records_who_entered_and_exited(now):
    stays, leaves = ContactFactory(state="Texas"), ContactFactory(state="Texas")
    seg = services.save_segment(texans(), now=now)
    first = services.refresh(seg, now=now)
    assert (first.entered, first.exited, first.member_count) == (2, 0, 2)
    leaves.state = "Ohio"
    leaves.save()
    joins = ContactFactory(state="Texas")
    second = services.refresh(seg, now=now + DAY)
    assert (second.entered, second.exited, seg.member_count) == (1, 1, 2)
    assert set(services.members(seg)) == {stays, joins}
    changes = MembershipChange.objects.filter(refresh=second)
    assert {(c.contact_id, c.change) for c in changes} == {(joins.pk, "entered"), (leaves.pk, "exited")}
    assert services.refresh(seg, now=now + 2 * DAY).entered == 0


@pytest.mark.django_db(transaction=True)
def test_an_interaction_makes_a_contact_enter_a_continuous_segment_without_a_full_refresh(now):
    buyer = ContactFactory()
    seg = services.save_segment(Segment(name="Cold brew buyers", refresh_mode="continuous", query={
        "version": 1, "match": "all", "conditions": [{"type": "behavior", "interaction": "purchase",
                                                      "where": [{"field": "product", "op": "equals",
                                                                 "value": "cold brew"}]}]}), now=now)
    services.refresh(seg, now=now)
    assert not services.is_member(seg, buyer)
    people.record_interaction(buyer, type="purchase", occurred_at=now, product="cold brew")
    assert services.is_member(seg, buyer)
    seg.refresh_from_db()
    assert seg.refreshes.first().kind == "partial" and seg.member_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_profile_change_makes_a_contact_exit_a_continuous_segment(now):
    texan = ContactFactory(state="Texas")
    seg = services.save_segment(texans(refresh_mode="continuous"), now=now)
    services.refresh(seg, now=now)
    loaded = Contact.objects.get(pk=texan.pk)
    loaded.state = "Ohio"
    loaded.save()
    assert not services.is_member(seg, texan)
    assert MembershipChange.objects.filter(contact=texan, change="exited").exists()


@pytest.mark.django_db(transaction=True)
def test_daily_segments_ignore_changes_until_their_refresh(now):
    seg = services.save_segment(texans(refresh_mode="daily"), now=now)
    services.refresh(seg, now=now)
    texan = ContactFactory(state="Texas")
    assert not services.is_member(seg, texan)
    assert services.refresh_due(now=now + DAY, continuous_every=DAY) == 1
    assert services.is_member(seg, texan)


def test_refresh_due_refreshes_referenced_segments_first(now):
    base = services.save_segment(texans(refresh_mode="daily"), now=now)
    derived = services.save_segment(Segment(name="Derived", refresh_mode="daily", query={
        "version": 1, "match": "all", "conditions": [{"type": "segment", "segment": base.pk}]}), now=now)
    texan = ContactFactory(state="Texas")
    services.refresh_due(now=now, continuous_every=DAY)
    assert services.is_member(derived, texan)


def test_static_segments_take_members_by_hand_by_email_and_by_freezing_a_query(now):
    ann, bo, cy = ContactFactory(email="ann@example.com"), ContactFactory(state="Texas"), ContactFactory()
    board = services.save_segment(Segment(name="Board", kind="static"), now=now)
    services.add_members(board, [cy.pk], now=now)
    entered, unknown = services.add_members_by_email(board, ["ANN@example.com", "nobody@example.com"], now=now)
    assert (entered, unknown) == (1, ["nobody@example.com"])
    services.freeze(board, texans().query, now=now)
    assert set(services.members(board)) == {ann, bo, cy}
    ContactFactory(state="Texas")  # joins Texas later: a frozen query does not follow
    services.remove_members(board, [cy.pk], now=now)
    assert set(services.members(board)) == {ann, bo}
    board.refresh_from_db()
    assert board.member_count == 2
    with pytest.raises(ValidationError):
        services.refresh(board, now=now)


def test_preview_counts_and_samples_without_saving(now):
    ContactFactory.create_batch(3, state="Texas")
    count, sample = services.preview(texans().query, audience="contact", now=now, sample=2)
    assert count == 3 and len(sample) == 2
    assert not Segment.objects.exists()


def test_lead_segments_select_leads(now):
    LeadFactory(status="qualified"), LeadFactory(status="new")
    seg = services.save_segment(Segment(name="Qualified", audience="lead", query={
        "version": 1, "match": "all", "conditions": [
            {"type": "attribute", "field": "status", "op": "equals", "value": "qualified"}]}), now=now)
    services.refresh(seg, now=now)
    assert [lead.status for lead in services.members(seg)] == ["qualified"]


def test_matches_reads_trigger_fields_from_the_payload(now):
    query = {"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "trigger.amount", "op": "gte", "value": 100, "value_type": "number"}]}
    assert services.check_query(query, audience="contact", allow_trigger=True) == []
    person = ContactFactory()
    assert services.matches(query, person=person, payload={"amount": 120}, now=now)
    assert not services.matches(query, person=person, payload={"amount": 80}, now=now)
    assert not services.matches(query, person=person, payload={}, now=now)


def test_consent_conditions_count_only_effective_opt_ins(now):
    confirmed, pending, out, unset = ContactFactory.create_batch(4)
    people.set_consent(confirmed, channel="email", status="opted_in", now=now)
    people.set_consent(pending, channel="email", status="opted_in", double_opt_in="pending", now=now)
    people.set_consent(out, channel="email", status="opted_out", now=now)
    for state, expected in [("opted_in", {confirmed}), ("opted_out", {out}), ("not_set", {unset})]:
        query = {"version": 1, "match": "all", "conditions": [{"type": "consent", "channel": "email",
                                                               "state": state}]}
        count, sample = services.preview(query, audience="contact", now=now)
        assert set(sample) == expected, state
        assert all(services.matches(query, person=p, now=now) == (p in expected)
                   for p in (confirmed, pending, out, unset))


# --- The evaluator agrees with the compiler on generated queries and data -------------------------
STATES = ["Texas", "Ohio", ""]
PRODUCTS = ["cold brew", "cold brew concentrate", "espresso"]

text_condition = st.builds(
    lambda field, op, value: {"type": "attribute", "field": field, "op": op, "value": value},
    st.sampled_from(["state", "city", "account.industry"]),
    st.sampled_from(["equals", "not_equals", "contains", "starts_with", "is_empty", "is_not_empty"]),
    st.sampled_from(["Texas", "Ohio", "Tex", "Manufacturing", "Aus"]),
)
number_condition = st.builds(
    lambda op, value: {"type": "attribute", "field": "attributes.visits", "op": op, "value": value},
    st.sampled_from(["equals", "not_equals", "gt", "lte", "is_empty"]), st.integers(0, 4),
)
date_condition = st.builds(
    lambda op, value: {"type": "attribute", "field": "created_at", "op": op, "value": value},
    st.sampled_from(["in_last_days", "more_than_days_ago"]), st.integers(1, 3),
)
behavior_condition = st.builds(
    lambda product, days, op, n: {
        "type": "behavior", "interaction": "purchase", "count": {"op": op, "value": n},
        **({"where": [{"field": "product", "op": "equals", "value": product}]} if product else {}),
        **({"window": {"last_days": days}} if days else {})},
    st.sampled_from([None, *PRODUCTS]), st.sampled_from([None, 1, 30]),
    st.sampled_from(["at_least", "at_most", "exactly"]), st.integers(0, 2),
)
related_condition = st.builds(
    lambda exists, status: {"type": "related", "relation": "opportunities", "exists": exists,
                            "where": [{"field": "status", "op": "equals", "value": status}]},
    st.booleans(), st.sampled_from(["open", "won"]),
)
leaf = st.one_of(text_condition, number_condition, date_condition, behavior_condition, related_condition)
conditions = st.recursive(
    leaf, lambda children: st.builds(lambda match, items: {"type": "group", "match": match, "conditions": items},
                                     st.sampled_from(["all", "any", "none"]), st.lists(children, max_size=3)),
    max_leaves=6,
)
queries = st.builds(lambda match, items: {"version": 1, "match": match, "conditions": items},
                    st.sampled_from(["all", "any", "none"]), st.lists(conditions, min_size=1, max_size=3))


@pytest.fixture
def population(now):
    """A small population covering NULLs, empty strings, boundaries and related rows."""
    CustomAttribute.objects.create(key="visits", label="Visits", type="number")
    maker = AccountFactory(industry="Manufacturing")
    for i in range(12):
        person = ContactFactory(
            state=STATES[i % 3], city=["Austin", "", "Dallas"][i % 3], account=maker if i % 4 == 0 else None,
            attributes={"visits": i % 4} if i % 5 else {},
        )
        Contact.objects.filter(pk=person.pk).update(created_at=now - (i % 4) * DAY)
        for j in range(i % 3):
            InteractionFactory(contact=person, type="purchase", product=PRODUCTS[(i + j) % 3],
                               occurred_at=now - (j * 20 + i) * DAY)
        if i % 3 == 1:
            OpportunityFactory(contact=person, account=None, status=["open", "won"][i % 2])
    return Contact.objects.select_related("account").order_by("pk")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries)
def test_the_evaluator_agrees_with_the_sql_compiler(population, now, query):
    assert services.check_query(query, audience="contact") == []
    selected = set(compiler.audience_queryset("contact").filter(
        compiler.compile_query(query, audience="contact", now=now)).values_list("pk", flat=True))
    for person in population:
        assert services.matches(query, person=person, now=now) == (person.pk in selected), (query, person.pk)


def test_the_documented_json_schema_accepts_what_the_validator_accepts_and_rejects_nonsense(now):
    schema = json.loads((Path(services.__file__).parent / "query-v1.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"},
        {"type": "behavior", "interaction": "purchase", "window": {"last_days": 90},
         "count": {"op": "exactly", "value": 0}, "where": [{"field": "product", "op": "equals", "value": "x"}]},
        {"type": "group", "match": "none", "conditions": [{"type": "consent", "channel": "email",
                                                            "state": "opted_out"}]},
    ]}
    assert services.check_query(good, audience="contact") == []
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({"match": "some", "conditions": [{"type": "magic"}]}))


def test_changes_queue_a_recheck_only_while_a_segment_is_continuous(now, monkeypatch):
    from segments import hooks, tasks

    queued = []
    monkeypatch.setattr(tasks.recheck_people, "delay", lambda *args: queued.append(args))
    change = hooks.PeopleChange(frozenset({7}), frozenset(), frozenset({"state"}), False)
    services.save_segment(texans(refresh_mode="daily"), now=now)
    hooks.on_people_changed(change)
    assert queued == []
    services.save_segment(Segment(name="Live Texans", refresh_mode="continuous", query=texans().query), now=now)
    hooks.on_people_changed(change)
    assert queued == [([7], [])]

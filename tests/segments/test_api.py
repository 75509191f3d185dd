"""The segments REST API: the marketers' sentences built, refreshed and read through it; precise
query errors, cycles and drafts; validate and preview; static member edits; permissions; the
trend; and self-hosted API docs."""

import datetime
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from contacts.models import APIKey, Contact, CustomAttribute
from segments.models import Segment
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
SEGMENTS = "/api/segments/"
DAY = datetime.timedelta(days=1)
MINUTE = datetime.timedelta(minutes=1)
TEXANS = {"version": 1, "match": "all",
          "conditions": [{"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}


@pytest.fixture
def now():
    """The API reads the clock: the data is placed around the real now (margins of a minute)."""
    return timezone.now()


@pytest.fixture
def api(marketer_client):
    return marketer_client


def post(client, url, data=None, **extra):
    return client.post(url, data or {}, content_type="application/json", **extra)


def create(client, name, query=None, **fields):
    body = {"name": name, **fields}
    if query is not None:
        body["query"] = {"version": 1, **query}
    response = post(client, SEGMENTS, body)
    assert response.status_code == 201, response.json()
    return response.json()


def refresh(client, segment):
    response = post(client, f"{SEGMENTS}{segment['id']}/refresh/")
    assert response.status_code == 200, response.json()
    return response.json()


def built(client, name, query, **fields):
    """Create a dynamic segment and refresh it, through the API."""
    segment = create(client, name, query, **fields)
    assert segment["status"] == "ready"
    refresh(client, segment)
    return segment


def members(client, segment, **params):
    response = client.get(f"{SEGMENTS}{segment['id']}/members/", {"page_size": 500, **params})
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def names(client, segment, **params):
    return {m["first_name"] for m in members(client, segment, **params)}


def contact(name, **fields):
    fields.setdefault("state", "")
    fields.setdefault("country", "United States")
    return ContactFactory(first_name=name, email=f"{name}@example.com", **fields)


def did(person, kind, at, **columns):
    return InteractionFactory(contact=person, type=kind, occurred_at=at, **columns)


def purchase(product=None, last_days=None, count=None):
    condition = {"type": "behavior", "interaction": "purchase"}
    if product:
        condition["where"] = [{"field": "product", "op": "equals", "value": product}]
    if last_days:
        condition["window"] = {"last_days": last_days}
    if count:
        condition["count"] = count
    return condition


def key_client(user, scope):
    key = APIKey(name="Integration", user=user, scope=scope)
    raw_key = key.generate()
    key.save()
    return Client(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


# --- The sentences, through the API -------------------------------------------------------------
def test_customers_in_sweden_with_a_recent_purchase_and_an_open_opportunity(api, now):
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
    segment = built(api, "Sweden buyers", {"match": "all", "conditions": [
        {"type": "attribute", "field": "country", "op": "equals", "value": "Sweden"},
        purchase(last_days=90),
        {"type": "related", "relation": "opportunities", "exists": True,
         "where": [{"field": "status", "op": "equals", "value": "open"}]},
    ]})
    assert names(api, segment) == {"inside", "via_account"}


def test_texas_loyalty_members_who_bought_cold_brew_but_not_the_concentrate(api, now):
    CustomAttribute.objects.create(key="loyalty_member", label="Loyalty member", type="boolean")
    texan = {"state": "Texas", "attributes": {"loyalty_member": True}}
    yes = contact("yes", **texan)
    did(yes, "purchase", now - 5 * DAY, product="cold brew")
    both = contact("both", **texan)
    did(both, "purchase", now - 5 * DAY, product="cold brew")
    did(both, "purchase", now - 3 * DAY, product="cold brew concentrate")
    old = contact("old", **texan)
    did(old, "purchase", now - 100 * DAY, product="cold brew")
    not_member = contact("not_member", state="Texas", attributes={"loyalty_member": False})
    did(not_member, "purchase", now - 5 * DAY, product="cold brew")
    ohio = contact("ohio", state="Ohio", attributes={"loyalty_member": True})
    did(ohio, "purchase", now - 5 * DAY, product="cold brew")
    segment = built(api, "Cold brew, not concentrate", {"match": "all", "conditions": [
        {"type": "attribute", "field": "attributes.loyalty_member", "op": "is_true"},
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"},
        purchase("cold brew", last_days=90),
        purchase("cold brew concentrate", count={"op": "exactly", "value": 0}),
    ]})
    assert names(api, segment) == {"yes"}


def test_contacts_whose_account_industry_is_manufacturing(api):
    contact("maker", account=AccountFactory(industry="Manufacturing"))
    contact("shop", account=AccountFactory(industry="Retail"))
    contact("loner", account=None)
    segment = built(api, "Manufacturing", {"match": "all", "conditions": [
        {"type": "attribute", "field": "account.industry", "op": "equals", "value": "Manufacturing"}]})
    others = built(api, "Not manufacturing", {"match": "all", "conditions": [
        {"type": "attribute", "field": "account.industry", "op": "not_equals", "value": "Manufacturing"}]})
    assert names(api, segment) == {"maker"}
    assert names(api, others) == {"shop", "loner"}


def test_north_dakota_contacts_who_opened_an_email_and_clicked_a_link_within_90_days(api, now):
    def nd(name):
        return contact(name, state="North Dakota")

    engaged = nd("engaged")
    did(engaged, "email_opened", now - 10 * DAY, email_key="spring")
    did(engaged, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/offer")
    other_link = nd("other_link")
    did(other_link, "email_opened", now - 10 * DAY, email_key="spring")
    did(other_link, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/other")
    stale = nd("stale")
    did(stale, "email_opened", now - 91 * DAY, email_key="spring")
    did(stale, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/offer")
    texan = contact("texan", state="Texas")
    did(texan, "email_opened", now - 10 * DAY, email_key="spring")
    did(texan, "email_clicked", now - 10 * DAY, email_key="spring", link="https://x.test/offer")
    window = {"last_days": 90}
    segment = built(api, "ND engaged", {"match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "North Dakota"},
        {"type": "behavior", "interaction": "email_opened", "window": window,
         "where": [{"field": "email_key", "op": "equals", "value": "spring"}]},
        {"type": "behavior", "interaction": "email_clicked", "window": window,
         "where": [{"field": "email_key", "op": "equals", "value": "spring"},
                   {"field": "link", "op": "equals", "value": "https://x.test/offer"}]},
    ]})
    assert names(api, segment) == {"engaged"}


def test_customers_who_have_not_purchased_in_the_last_60_days(api, now):
    lapsed = contact("lapsed")
    did(lapsed, "purchase", now - 60 * DAY - MINUTE)
    recent = contact("recent")
    did(recent, "purchase", now - 60 * DAY + MINUTE)
    did(recent, "purchase", now - 300 * DAY)
    contact("never")
    segment = built(api, "Lapsed", {"match": "all", "conditions": [
        purchase(), purchase(last_days=60, count={"op": "exactly", "value": 0})]})
    assert names(api, segment) == {"lapsed"}


def test_segment_a_excluding_the_static_board_and_members_of_both_a_and_b(api):
    for name, country, state in [("ann", "Sweden", "Skane"), ("bo", "Sweden", "Texas"),
                                 ("cy", "United States", "Texas"), ("di", "Sweden", "")]:
        contact(name, country=country, state=state)
    a = built(api, "Swedes", {"match": "all", "conditions": [
        {"type": "attribute", "field": "country", "op": "equals", "value": "Sweden"}]})
    b = built(api, "Texas", TEXANS)
    board = create(api, "Board of Directors", kind="static")
    added = post(api, f"{SEGMENTS}{board['id']}/members/add/", {"ids": [Contact.objects.get(first_name="ann").pk]})
    assert added.json()["entered"] == 1
    a_minus_board = built(api, "Swedes, not the board", {"match": "all", "conditions": [
        {"type": "segment", "op": "in", "segment": a["id"]},
        {"type": "segment", "op": "not_in", "segment": board["id"]}]})
    a_and_b = built(api, "Swedes in Texas", {"match": "all", "conditions": [
        {"type": "segment", "segment": a["id"]}, {"type": "segment", "segment": b["id"]}]})
    assert names(api, a_minus_board) == {"bo", "di"}
    assert names(api, a_and_b) == {"bo"}
    assert sorted(a_and_b["depends_on"]) == sorted([a["id"], b["id"]])


# --- Saving: errors, cycles, drafts ---------------------------------------------------------------
def test_a_segment_answers_with_its_definition_and_refresh_figures(api):
    contact("tex", state="Texas")
    segment = built(api, "Texans", TEXANS, description="Everyone in Texas", refresh_mode="manual")
    body = api.get(f"{SEGMENTS}{segment['id']}/").json()
    assert set(body) == {"id", "name", "description", "kind", "audience", "query", "refresh_mode", "status",
                         "member_count", "last_refreshed_at", "last_refresh_ms", "depends_on", "created_at",
                         "updated_at"}
    assert body["member_count"] == 1 and body["last_refreshed_at"] and body["last_refresh_ms"] is not None
    assert (body["kind"], body["audience"], body["refresh_mode"]) == ("dynamic", "contact", "manual")
    assert Segment.objects.get().created_by.username == "marketer"


def test_a_broken_query_is_refused_with_the_path_of_every_problem(api):
    response = post(api, SEGMENTS, {"name": "Broken", "query": {"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"},
        {"type": "group", "match": "any", "conditions": [
            {"type": "attribute", "field": "shoe_size", "op": "equals", "value": "9"}]},
        {"type": "behavior", "interaction": "purchase", "window": {"last_days": 0}},
    ]}})
    assert response.status_code == 400
    assert response.json() == {"query": [
        {"path": "conditions[1].conditions[0].field", "message": "unknown contact field 'shoe_size'"},
        {"path": "conditions[2].window.last_days", "message": "must be a whole number of days, at least 1"},
    ]}
    assert not Segment.objects.exists()


def test_a_query_that_is_not_an_object_is_a_query_error(api):
    response = post(api, SEGMENTS, {"name": "Broken", "query": ["state", "Texas"]})
    assert response.status_code == 400
    assert response.json() == {"query": [{"path": "", "message": "a query must be an object"}]}


def test_a_cycle_between_segments_is_refused(api):
    a = create(api, "A", TEXANS)
    b = create(api, "B", {"match": "all", "conditions": [{"type": "segment", "segment": a["id"]}]})
    response = api.patch(f"{SEGMENTS}{a['id']}/", {"query": {"version": 1, "match": "all", "conditions": [
        {"type": "segment", "segment": b["id"]}]}}, content_type="application/json")
    assert response.status_code == 400
    [error] = response.json()["query"]
    assert error["path"] == "" and "A → B → A" in error["message"]
    assert Segment.objects.get(pk=a["id"]).query == TEXANS


def test_a_broken_query_can_be_kept_as_a_draft_until_it_is_fixed(api):
    broken = {"match": "all", "conditions": [{"type": "attribute", "field": "state", "op": "equals"}]}
    draft = post(api, f"{SEGMENTS}?draft=1", {"name": "Work in progress", "query": {"version": 1, **broken}})
    assert draft.status_code == 201
    assert draft.json()["status"] == "draft"
    url = f"{SEGMENTS}{draft.json()['id']}/"
    refused = post(api, f"{url}refresh/")
    assert refused.status_code == 409
    assert "draft" in refused.json()["detail"]

    fixed = api.patch(url, {"query": TEXANS}, content_type="application/json")
    assert fixed.status_code == 200
    assert fixed.json()["status"] == "ready"
    assert post(api, f"{url}refresh/").status_code == 200


def test_a_static_segment_takes_no_query(api):
    response = post(api, SEGMENTS, {"name": "Board", "kind": "static", "query": TEXANS})
    assert response.status_code == 400
    assert "static" in response.json()["query"][0]


def test_the_audience_of_a_segment_with_members_cannot_change(api):
    contact("tex", state="Texas")
    segment = built(api, "Texans", TEXANS)
    response = api.patch(f"{SEGMENTS}{segment['id']}/", {"audience": "lead"}, content_type="application/json")
    assert response.status_code == 400
    assert "audience" in response.json()


def test_a_segment_others_refer_to_cannot_be_deleted(api):
    a = create(api, "A", TEXANS)
    b = create(api, "B", {"match": "all", "conditions": [{"type": "segment", "segment": a["id"]}]})
    refused = api.delete(f"{SEGMENTS}{a['id']}/")
    assert refused.status_code == 409
    assert "B" in refused.json()["detail"]
    assert api.delete(f"{SEGMENTS}{b['id']}/").status_code == 204
    assert api.delete(f"{SEGMENTS}{a['id']}/").status_code == 204
    assert not Segment.objects.exists()


# --- Validate and preview -----------------------------------------------------------------------
def test_validate_reports_errors_without_saving(api):
    ok = post(api, f"{SEGMENTS}validate/", {"audience": "contact", "query": TEXANS})
    assert ok.json() == {"valid": True, "errors": []}
    lead_field = {"version": 1, "match": "all",
                  "conditions": [{"type": "attribute", "field": "status", "op": "equals", "value": "qualified"}]}
    assert post(api, f"{SEGMENTS}validate/", {"audience": "lead", "query": lead_field}).json()["valid"] is True
    wrong = post(api, f"{SEGMENTS}validate/", {"audience": "contact", "query": lead_field})
    assert wrong.status_code == 200
    assert wrong.json() == {"valid": False, "errors": [
        {"path": "conditions[0].field", "message": "unknown contact field 'status'"}]}
    assert not Segment.objects.exists()


def test_validate_finds_cycles_for_the_segment_being_edited(api):
    a = create(api, "A", TEXANS)
    b = create(api, "B", {"match": "all", "conditions": [{"type": "segment", "segment": a["id"]}]})
    back = {"version": 1, "match": "all", "conditions": [{"type": "segment", "segment": b["id"]}]}
    assert post(api, f"{SEGMENTS}validate/", {"query": back}).json()["valid"] is True
    answer = post(api, f"{SEGMENTS}validate/", {"query": back, "segment": a["id"]}).json()
    assert answer["valid"] is False
    assert "cannot refer to themselves" in answer["errors"][0]["message"]


def test_preview_counts_and_samples_without_saving(api):
    tex = contact("tex", state="Texas", last_name="Ranger")
    contact("ohio", state="Ohio")
    response = post(api, f"{SEGMENTS}preview/", {"audience": "contact", "query": TEXANS})
    assert response.status_code == 200
    assert response.json() == {"count": 1, "sample": [{"id": tex.pk, "email": "tex@example.com",
                                                       "name": "tex Ranger"}]}
    assert not Segment.objects.exists()


def test_preview_of_leads_samples_leads(api):
    lead = LeadFactory(first_name="Lee", last_name="Ad", state="Texas")
    ContactFactory(state="Texas")
    answer = post(api, f"{SEGMENTS}preview/", {"audience": "lead", "query": TEXANS}).json()
    assert answer["count"] == 1 and answer["sample"][0]["id"] == lead.pk


def test_preview_of_a_broken_query_is_a_400_with_paths(api):
    response = post(api, f"{SEGMENTS}preview/", {"query": {"version": 1, "match": "some", "conditions": []}})
    assert response.status_code == 400
    assert response.json() == {"query": [{"path": "match", "message": "must be one of all, any, none"}]}


# --- Members, changes and static edits -------------------------------------------------------------
def test_members_are_paginated_and_searchable(api):
    for name in ("ann", "bob", "cat"):
        contact(name, state="Texas", last_name="Smith" if name != "cat" else "Jones")
    segment = built(api, "Texans", TEXANS)
    page = api.get(f"{SEGMENTS}{segment['id']}/members/", {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert set(page["results"][0]) == {"id", "email", "first_name", "last_name", "entered_at"}
    assert names(api, segment, search="smith") == {"ann", "bob"}
    assert names(api, segment, search="smith bob@") == {"bob"}


def test_changes_list_who_entered_and_exited(api):
    tex = contact("tex", state="Texas")
    segment = built(api, "Texans", TEXANS)
    Contact.objects.filter(pk=tex.pk).update(state="Ohio")
    refresh(api, segment)
    changes = api.get(f"{SEGMENTS}{segment['id']}/changes/").json()["results"]
    assert [(c["change"], c["person"]["id"], c["person"]["email"]) for c in changes] == [
        ("exited", tex.pk, "tex@example.com"), ("entered", tex.pk, "tex@example.com")]
    only_exits = api.get(f"{SEGMENTS}{segment['id']}/changes/", {"change": "exited"}).json()
    assert [c["change"] for c in only_exits["results"]] == ["exited"]
    assert api.get(f"{SEGMENTS}{segment['id']}/changes/", {"change": "left"}).status_code == 400


def test_a_refresh_answers_with_what_it_did(api):
    contact("tex", state="Texas")
    contact("tess", state="Texas")
    segment = create(api, "Texans", TEXANS)
    result = refresh(api, segment)
    assert result["kind"] == "full"
    assert (result["entered"], result["exited"], result["member_count"]) == (2, 0, 2)
    assert result["duration_ms"] >= 0


def test_static_members_are_added_and_removed_by_id_and_by_email(api):
    ann, bob = contact("ann"), contact("bob")
    contact("cy")
    board = create(api, "Board", kind="static")
    url = f"{SEGMENTS}{board['id']}/members/"
    by_id = post(api, f"{url}add/", {"ids": [ann.pk, 999999]})
    assert by_id.status_code == 200
    assert by_id.json() == {"entered": 1, "exited": 0, "member_count": 1, "unknown_ids": [999999],
                            "unknown_emails": []}
    by_email = post(api, f"{url}add/", {"emails": ["BOB@example.com", "cy@example.com", "nobody@example.com"]})
    assert by_email.json() == {"entered": 2, "exited": 0, "member_count": 3, "unknown_ids": [],
                               "unknown_emails": ["nobody@example.com"]}
    assert names(api, board) == {"ann", "bob", "cy"}

    removed = post(api, f"{url}remove/", {"ids": [ann.pk], "emails": ["cy@example.com", "ghost@example.com"]})
    assert removed.json() == {"entered": 0, "exited": 2, "member_count": 1, "unknown_ids": [],
                              "unknown_emails": ["ghost@example.com"]}
    assert names(api, board) == {"bob"}
    assert bob.pk in {m["id"] for m in members(api, board)}


def test_an_edit_needs_ids_or_emails(api):
    board = create(api, "Board", kind="static")
    response = post(api, f"{SEGMENTS}{board['id']}/members/add/", {"ids": []})
    assert response.status_code == 400


def test_members_of_a_dynamic_segment_are_not_edited_by_hand(api):
    tex = contact("tex", state="Texas")
    segment = create(api, "Texans", TEXANS)
    response = post(api, f"{SEGMENTS}{segment['id']}/members/add/", {"ids": [tex.pk]})
    assert response.status_code == 409
    assert "static" in response.json()["detail"]
    assert post(api, f"{SEGMENTS}{segment['id']}/freeze/", {"query": TEXANS}).status_code == 409


def test_a_static_segment_is_not_refreshed(api):
    board = create(api, "Board", kind="static")
    assert post(api, f"{SEGMENTS}{board['id']}/refresh/").status_code == 409


def test_freezing_adds_everyone_a_query_selects_now_once(api):
    contact("tex", state="Texas")
    board = create(api, "Texans back then", kind="static")
    frozen = post(api, f"{SEGMENTS}{board['id']}/freeze/", {"query": TEXANS})
    assert frozen.status_code == 200
    assert (frozen.json()["kind"], frozen.json()["entered"], frozen.json()["member_count"]) == ("edit", 1, 1)
    contact("later", state="Texas")
    assert names(api, board) == {"tex"}
    broken = post(api, f"{SEGMENTS}{board['id']}/freeze/", {"query": {"version": 1, "match": "all",
                                                                        "conditions": [{"type": "magic"}]}})
    assert broken.status_code == 400
    assert broken.json()["query"][0]["path"] == "conditions[0].type"


# --- Trend --------------------------------------------------------------------------------------
def test_the_trend_has_one_point_per_day_ending_today(api, now):
    contact("tex", state="Texas")
    segment = built(api, "Texans", TEXANS)
    trend = api.get(f"{SEGMENTS}{segment['id']}/trend/", {"days": 7}).json()
    assert trend["days"] == 7 and len(trend["points"]) == 7
    assert set(trend["points"][0]) == {"date", "members", "entered", "exited"}
    assert trend["points"][-1] == {"date": now.date().isoformat(), "members": 1, "entered": 1, "exited": 0}
    assert trend["points"][0]["members"] == 0
    assert len(api.get(f"{SEGMENTS}{segment['id']}/trend/").json()["points"]) == 30
    assert api.get(f"{SEGMENTS}{segment['id']}/trend/", {"days": 0}).status_code == 400


# --- Permissions --------------------------------------------------------------------------------
def test_sales_can_read_segments_but_not_create_or_refresh_them(api, client, sales_user):
    segment = create(api, "Texans", TEXANS)
    client.force_login(sales_user)
    assert client.get(SEGMENTS).status_code == 200
    assert client.get(f"{SEGMENTS}{segment['id']}/members/").status_code == 200
    assert post(client, SEGMENTS, {"name": "Mine", "query": TEXANS}).status_code == 403
    assert post(client, f"{SEGMENTS}{segment['id']}/refresh/").status_code == 403
    assert client.delete(f"{SEGMENTS}{segment['id']}/").status_code == 403
    assert post(client, f"{SEGMENTS}preview/", {"query": TEXANS}).status_code == 200


def test_a_read_only_api_key_reads_and_previews_but_does_not_refresh(api, marketer):
    segment = create(api, "Texans", TEXANS)
    reader = key_client(marketer, APIKey.Scope.READ)
    assert reader.get(f"{SEGMENTS}{segment['id']}/").status_code == 200
    assert post(reader, f"{SEGMENTS}validate/", {"query": TEXANS}).status_code == 200
    refused = post(reader, f"{SEGMENTS}{segment['id']}/refresh/")
    assert refused.status_code == 403
    assert "read-only" in refused.json()["detail"]
    assert post(reader, SEGMENTS, {"name": "Mine", "query": TEXANS}).status_code == 403


def test_a_write_api_key_refreshes(api, marketer):
    segment = create(api, "Texans", TEXANS)
    writer = key_client(marketer, APIKey.Scope.WRITE)
    assert post(writer, f"{SEGMENTS}{segment['id']}/refresh/").status_code == 200


def test_anonymous_requests_are_not_authenticated(client):
    assert client.get(SEGMENTS).status_code == 401
    assert post(client, f"{SEGMENTS}preview/", {"query": TEXANS}).status_code == 401


# --- Query counts ---------------------------------------------------------------------------------
def test_the_segment_list_costs_the_same_few_queries_however_many_segments(api, django_assert_max_num_queries):
    base = create(api, "Base", TEXANS)
    for n in range(12):
        create(api, f"Uses base {n}", {"match": "all", "conditions": [{"type": "segment", "segment": base["id"]}]})
    create(api, "Board", kind="static")
    with django_assert_max_num_queries(7):  # session, user, 2 × permissions, count, page, depends_on
        response = api.get(SEGMENTS)
    assert response.json()["count"] == 14
    assert {s["name"]: s["depends_on"] for s in response.json()["results"]}["Uses base 3"] == [base["id"]]


def test_members_and_changes_cost_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    for n in range(20):
        contact(f"tex{n}", state="Texas")
    segment = built(api, "Texans", TEXANS)
    # session, user, 2 × permissions, the segment, count, page
    with django_assert_max_num_queries(7):
        assert len(api.get(f"{SEGMENTS}{segment['id']}/members/").json()["results"]) == 20
    with django_assert_max_num_queries(7):
        assert len(api.get(f"{SEGMENTS}{segment['id']}/changes/").json()["results"]) == 20


# --- Documentation --------------------------------------------------------------------------------
def test_the_schema_documents_the_segment_endpoints(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in ["/api/segments/", "/api/segments/{id}/", "/api/segments/validate/", "/api/segments/preview/",
                 "/api/segments/{id}/members/", "/api/segments/{id}/members/add/",
                 "/api/segments/{id}/members/remove/", "/api/segments/{id}/freeze/",
                 "/api/segments/{id}/refresh/", "/api/segments/{id}/changes/", "/api/segments/{id}/trend/"]:
        assert path in paths, path
    assert "draft" in {p["name"] for p in paths["/api/segments/"]["post"]["parameters"]}


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_the_api_docs_load_everything_from_our_own_static_files(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert links, html
    assert not [link for link in links if "://" in link or link.startswith("//")], links
    assert "cdn" not in html.lower()
    assets = [link for link in links if link.startswith("/static/")]
    assert any(link.endswith(".js") for link in assets)
    for link in assets:
        assert finders.find(link.removeprefix("/static/")), link
    # Redoc's bundle fetches its vendor's logo from a CDN by itself: the policy forbids it.
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:;" in policy


def test_a_segment_a_journey_uses_cannot_be_deleted_and_409_names_the_uses(api):
    from journeys.models import Journey

    entry, excluded = create(api, "Lapsed", TEXANS), create(api, "Staff", TEXANS)
    Journey.objects.create(name="Win back lapsed customers", entry_segment_id=entry["id"])
    Journey.objects.create(name="Spring sale").exclusion_segments.add(excluded["id"])
    refused = api.delete(f"{SEGMENTS}{entry['id']}/")
    assert refused.status_code == 409
    assert refused.json()["uses"] == ["journey “Win back lapsed customers” (entry segment)"]
    assert "Win back lapsed customers" in refused.json()["detail"]
    refused = api.delete(f"{SEGMENTS}{excluded['id']}/")
    assert refused.status_code == 409 and refused.json()["uses"] == ["journey “Spring sale” (exclusion segment)"]
    assert Segment.objects.count() == 2

"""Journeys as code: a journey exported to YAML or JSON names what it uses by key or name, comes
back exactly, says what an import would change, and refuses what it cannot resolve."""

import json

import pytest
import yaml

from channels.models import WebhookEndpoint
from journeys import catalog, portable
from journeys.models import Journey
from journeys.models.triggers import CustomTrigger
from journeys.validation import validate_journey
from segments.models import Segment
from tests.factories import SalesQueueFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_document_names_references_by_key_and_name(brew_journey):
    doc = portable.export_journey(brew_journey)
    assert doc["format"] == "waymark.journey/1"
    assert doc["entry"] == {"trigger": "form.submitted", "conditions": {"version": 1, "match": "all", "conditions": [
        {"type": "segment", "op": "in", "segment": "VIP customers"}]}}
    governance = doc["governance"]
    assert governance["exclusion_segments"] == ["Staff"]
    assert governance["goal_segment"] == "Purchased"
    assert governance["exit_trigger"] == "purchase.completed"
    assert governance["quiet_hours_start"] == "21:00"
    assert governance["starts_at"] == "2026-11-01T00:00:00+00:00"
    assert governance["cap_per_day"] is None and governance["cap_per_week"] == 3
    tiles = doc["tiles"]
    assert list(tiles) == ["send_guide", "two_days", "clicked", "offer", "vip", "call", "desk", "tips", "end"]
    assert tiles["call"]["user"] == "barista"
    assert tiles["desk"]["queue"] == "Coffee desk"
    assert tiles["vip"]["branches"][0]["conditions"]["conditions"][0]["segment"] == "VIP customers"
    assert list(tiles["clicked"])[:2] == ["type", "name"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_import_round_trips_exactly(brew_journey, now, fmt):
    text = portable.dumps(portable.export_journey(brew_journey), fmt)
    result = portable.import_journey(text, now=now)
    assert result.ok, result.errors
    copy = result.journey
    assert copy.pk != brew_journey.pk and copy.status == Journey.Status.DRAFT
    assert portable.dumps(portable.export_journey(copy), fmt) == text
    assert copy.tiles == brew_journey.tiles
    assert copy.entry_conditions == brew_journey.entry_conditions
    assert list(copy.exclusion_segments.all()) == list(brew_journey.exclusion_segments.all())
    assert (copy.goal_segment, copy.quiet_hours_start, copy.cap_action) == (
        brew_journey.goal_segment, brew_journey.quiet_hours_start, brew_journey.cap_action)
    assert validate_journey(copy) == {}
    assert result.validation == {}


def test_yaml_and_json_text_read_the_same(brew_journey):
    doc = portable.export_journey(brew_journey)
    assert portable.loads(portable.dumps(doc, "yaml")) == doc
    assert portable.loads(portable.dumps(doc, "json").encode()) == doc


def test_a_hand_written_yaml_document_fills_in_defaults(published_email, now):
    published_email("hello")
    text = """
name: Welcome
entry:
  trigger: form.submitted
governance:
  quiet_hours_start: 21:00
  quiet_hours_end: "08:00"
  starts_at: 2026-12-01 09:00
  time_zone: Europe/Stockholm
start: hello
tiles:
  hello: {type: send_email, email: hello, next: exit}
"""
    result = portable.import_journey(text, now=now)
    assert result.ok, result.errors
    journey = result.journey
    assert journey.quiet_hours_start.isoformat() == "21:00:00"
    assert journey.starts_at.isoformat() == "2026-12-01T08:00:00+00:00"  # 09:00 in Stockholm
    assert (journey.cap_action, journey.re_entry, journey.honor_suppression) == ("defer", "never", True)
    assert journey.tiles == {"start": "hello", "tiles": {"hello": {"type": "send_email", "email": "hello",
                                                                   "next": "exit"}}}


def test_reference_problems_are_reported_with_their_paths_and_nothing_is_saved(brew_journey, now):
    doc = portable.export_journey(brew_journey)
    doc["tiles"]["send_guide"]["email"] = "missing-guide"
    doc["tiles"]["call"]["user"] = "nobody"
    doc["tiles"]["desk"]["queue"] = "No desk"
    doc["tiles"]["vip"]["branches"][0]["conditions"]["conditions"][0]["segment"] = "Ghosts"
    doc["governance"]["exit_trigger"] = "spaceship.landed"
    doc["governance"]["exclusion_segments"] = ["Staff", "Interns"]
    before = Journey.objects.count()
    result = portable.import_journey(doc, now=now)
    assert not result.ok
    assert result.errors == [
        "governance.exclusion_segments[1]: no segment named 'Interns'",
        "governance.exit_trigger: no trigger with key 'spaceship.landed'",
        "tiles.send_guide.email: no email with key 'missing-guide'",
        "tiles.vip.branches[0].conditions.conditions[0].segment: no segment named 'Ghosts'",
        "tiles.call.user: no user with username 'nobody'",
        "tiles.desk.queue: no sales queue named 'No desk'",
    ]
    assert result.journey is None and Journey.objects.count() == before


def test_an_ambiguous_segment_name_is_an_error(brew_journey, segment, now):
    segment("Staff")
    result = portable.import_journey(portable.export_journey(brew_journey), now=now)
    assert result.errors == [
        "governance.exclusion_segments[0]: more than one segment named 'Staff'; rename one so the name is unique"]


def test_shape_problems_are_reported_with_their_paths(now):
    result = portable.import_journey({
        "name": "", "colour": "blue", "entry": {"mode": "one_time"},
        "governance": {"cap_per_day": "three", "quiet_hours_start": "late", "time_zone": "Mars/Olympus",
                       "cap_action": "explode", "honour": True},
        "tiles": {"a": {"type": "teleport"}, "b": "wait"},
    }, now=now)
    assert result.errors == [
        "colour: unknown key; expected one of format, name, description, audience, entry, governance, start, "
        "tiles, canvas",
        "name: give the journey a name",
        "entry.mode: only for a segment entry; give entry.segment too",
        "governance.honour: unknown setting; expected one of " + ", ".join(portable.GOVERNANCE),
        "governance.quiet_hours_start: not a time of day; write it like \"21:00\"",
        "governance.cap_per_day: must be a whole number",
        "governance.time_zone: unknown time zone 'Mars/Olympus'; give an IANA name like Europe/Stockholm",
        "tiles.a.type: unknown tile type 'teleport'; expected one of " + ", ".join(catalog.KINDS),
        "tiles.b: a tile must be a mapping with a type",
    ]


def test_model_rules_are_reported_against_the_document(now):
    result = portable.import_journey({"name": "x" * 201, "governance": {"cap_action": "explode"}}, now=now)
    assert "name: Ensure this value has at most 200 characters (it has 201)." in result.errors
    assert "governance.cap_action: Value 'explode' is not a valid choice." in result.errors


def test_not_json_nor_yaml_is_a_clear_error(now):
    assert portable.import_journey("name: [unclosed", now=now).errors[0].startswith(
        "The document is neither JSON nor YAML")
    assert portable.import_journey("- just\n- a list\n", now=now).errors == [
        "The document must be a mapping with a name and tiles."]


def test_importing_over_a_draft_updates_it_and_the_diff_says_what_changed(brew_journey, published_email, now):
    published_email("espresso-tips")
    doc = portable.export_journey(brew_journey)
    doc["name"] = "Brew Better"
    doc["governance"]["cap_per_week"] = 5
    doc["tiles"]["tips"]["email"] = "espresso-tips"
    doc["tiles"]["tips"]["next"] = "pause"
    doc["tiles"]["pause"] = {"type": "wait", "hours": 4, "next": "end"}
    del doc["tiles"]["desk"]
    doc["tiles"]["vip"]["branches"][0]["next"] = "tips"
    assert portable.diff(doc, brew_journey) == [
        '~ name: "Brew Better at Home" → "Brew Better"',
        "~ governance.cap_per_week: 3 → 5",
        '~ tile vip (Attribute branch): branches[0].next "desk" → "tips"',
        '~ tile tips (Send email): email "brew-tips" → "espresso-tips", next "end" → "pause"',
        "+ tile pause (Wait)",
        "- tile desk (Create task)",
    ]
    result = portable.import_journey(doc, now=now, journey=brew_journey)
    assert result.ok and not result.created, result.errors
    brew_journey.refresh_from_db()
    assert brew_journey.name == "Brew Better" and brew_journey.cap_per_week == 5
    assert "desk" not in brew_journey.tiles["tiles"]
    assert portable.diff(doc, brew_journey) == []


def test_a_dry_run_saves_nothing(brew_journey, now):
    doc = portable.export_journey(brew_journey)
    doc["description"] = "Changed"
    result = portable.import_journey(doc, now=now, journey=brew_journey, dry_run=True)
    assert result.ok and result.changes == ['~ description: "From the guide to a grinder" → "Changed"']
    brew_journey.refresh_from_db()
    assert brew_journey.description == "From the guide to a grinder"


def test_a_new_journey_diff_lists_its_tiles(brew_journey):
    lines = portable.diff(portable.export_journey(brew_journey), None)
    assert lines[:3] == ['+ new journey "Brew Better at Home"', "+ tile send_guide (Send email)",
                         "+ tile two_days (Wait)"]


def test_a_live_journey_is_not_overwritten(brew_journey, now):
    Journey.objects.filter(pk=brew_journey.pk).update(status=Journey.Status.LIVE)
    brew_journey.refresh_from_db()
    doc = portable.export_journey(brew_journey)
    doc["name"] = "Renamed"
    result = portable.import_journey(doc, now=now, journey=brew_journey)
    assert result.errors == ["journey 'Brew Better at Home' is live: only a draft can be overwritten; "
                             "create a new version instead"]
    brew_journey.refresh_from_db()
    assert brew_journey.name == "Brew Better at Home"


def test_the_import_reports_what_going_live_would_say(now):
    result = portable.import_journey({"name": "Half done", "entry": {"trigger": "form.submitted"},
                                      "start": "pause", "tiles": {"pause": {"type": "wait", "next": "exit"}}},
                                     now=now)
    assert result.ok
    assert result.validation == {"pause": ["a wait must be positive"]}


def test_a_segment_entry_names_its_segment_and_mode(segment, now):
    members = segment("Lapsed buyers")
    journey = Journey.objects.create(name="Re-engage", entry_segment=members, entry_mode="repeating",
                                     repeat_every=2, repeat_unit="weeks",
                                     tiles={"start": "end", "tiles": {"end": {"type": "exit"}}})
    doc = portable.export_journey(journey)
    assert doc["entry"] == {"segment": "Lapsed buyers", "mode": "repeating", "at": None, "repeat_every": 2,
                            "repeat_unit": "weeks"}
    copy = portable.import_journey(json.loads(json.dumps(doc)), now=now).journey
    assert (copy.entry_segment, copy.entry_mode, copy.repeat_every) == (members, "repeating", 2)


def test_users_and_queues_resolve_in_another_waymark_by_name(brew_journey, now):
    """The ids differ between installations; the names are what travels."""
    doc = portable.export_journey(brew_journey)
    other_user, other_queue = UserFactory(username="roaster"), SalesQueueFactory(name="Roastery")
    doc["tiles"]["call"]["user"], doc["tiles"]["desk"]["queue"] = "roaster", "Roastery"
    copy = portable.import_journey(yaml.safe_load(portable.dumps(doc)), now=now).journey
    assert copy.tiles["tiles"]["call"]["user"] == other_user.pk
    assert copy.tiles["tiles"]["desk"]["queue"] == other_queue.pk
    assert Segment.objects.filter(name="VIP customers").count() == 1


def test_webhook_endpoints_and_static_segments_travel_by_name(segment, now):
    hook = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/hooks")
    list_ = segment("Newsletter list", kind="static")
    journey = Journey.objects.create(name="Sync", entry_trigger="form.submitted", tiles={"start": "post", "tiles": {
        "post": {"type": "webhook", "endpoint": hook.pk, "next": "add"},
        "add": {"type": "add_to_segment", "segment": list_.pk, "next": "exit"}}})
    doc = portable.export_journey(journey)
    assert doc["tiles"]["post"]["endpoint"] == "CRM" and doc["tiles"]["add"]["segment"] == "Newsletter list"
    copy = portable.import_journey(doc, now=now).journey
    assert copy.tiles == journey.tiles
    WebhookEndpoint.objects.create(name="CRM", url="https://crm2.example.com/hooks")
    assert portable.import_journey(doc, now=now).errors == [
        "tiles.post.endpoint: more than one webhook endpoint named 'CRM'; rename one so the name is unique"]


def test_text_of_several_lines_reads_as_a_yaml_block_and_comes_back(brew_journey, now):
    brew_journey.description = "From the guide to a grinder.\nOwner: the coffee team.\n"
    brew_journey.save()
    text = portable.dumps(portable.export_journey(brew_journey))
    assert "description: |\n  From the guide to a grinder.\n  Owner: the coffee team.\n" in text
    assert portable.import_journey(text, now=now).journey.description == brew_journey.description


def test_custom_triggers_are_referenced_by_key(now):
    doc = {"name": "Abandoned carts", "entry": {"trigger": "cart.abandoned"}, "start": "end",
           "tiles": {"end": {"type": "exit"}}}
    assert portable.import_journey(doc, now=now).errors == ["entry.trigger: no trigger with key 'cart.abandoned'"]
    CustomTrigger.objects.create(name="Cart abandoned", key="cart.abandoned")
    result = portable.import_journey(doc, now=now)
    assert result.ok and result.journey.entry_trigger == "cart.abandoned"
    assert portable.export_journey(result.journey)["entry"] == {"trigger": "cart.abandoned", "conditions": None}

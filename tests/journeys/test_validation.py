"""Going live validates the journey and pins every error to its tile ("" is the journey itself)."""

import pytest
from django.core.exceptions import ValidationError

from journeys import services
from journeys.models import EXIT, Journey
from journeys.validation import validate_journey
from segments import services as segments
from segments.models import Segment

pytestmark = pytest.mark.django_db


def test_a_well_formed_journey_has_no_errors(journey_of, published_email):
    published_email("hello")
    journey = journey_of("send", {"send": {"type": "send_email", "email": "hello", "next": "end"},
                                  "end": {"type": "exit"}}, entry_trigger="form.submitted")
    assert validate_journey(journey) == {}


def test_errors_are_pinned_to_their_tiles(journey_of, make_email):
    make_email(key="unpublished")
    journey = journey_of("send", {
        "send": {"type": "send_email", "email": "unpublished", "next": "pause"},
        "pause": {"type": "wait", "days": 0, "next": "teleport"},
        "mystery": {"type": "teleport", "next": EXIT},
        "branch": {"type": "attribute_branch", "other": EXIT, "branches": [
            {"name": "Bad", "next": EXIT, "conditions": {"version": 1, "match": "all", "conditions": [
                {"type": "attribute", "field": "shoe_size", "op": "equals", "value": 4}]}}]},
        "opened": {"type": "interaction_branch", "tile": "pause", "interaction": "liked", "yes": EXIT},
        "task": {"type": "create_task", "subject": "", "next": EXIT},
    }, entry_trigger="form.submitted")
    errors = validate_journey(journey)
    assert errors["send"] == ["email 'unpublished' does not exist or is not published"]
    assert errors["pause"] == ["next: goes to unknown tile 'teleport'", "a wait must be positive"]
    assert errors["mystery"][0].startswith("unknown tile type 'teleport'; expected one of wait, wait_trigger")
    assert "branches[0]: conditions[0].field: unknown contact field 'shoe_size'" in errors["branch"]
    assert errors["opened"] == [
        "no: this path does not end; choose the next tile or exit",
        "tile 'pause' is not a send-email tile of this journey",
        "interaction must be one of opened, clicked",
        "unreachable: no path leads to this tile",
    ]
    assert errors["task"][:2] == ["a task needs a subject", "assign the task to a user or a sales queue"]
    for tile in ("mystery", "branch", "task"):
        assert "unreachable: no path leads to this tile" in errors[tile]


def test_a_loop_without_a_wait_is_refused_but_a_loop_with_one_is_fine(journey_of):
    check = {"version": 1, "match": "all", "conditions": []}
    spin = journey_of("a", {"a": {"type": "attribute_branch", "branches": [{"conditions": check, "next": "b"}],
                                  "other": EXIT},
                            "b": {"type": "attribute_branch", "branches": [{"conditions": check, "next": "a"}],
                                  "other": EXIT}}, entry_trigger="form.submitted")
    assert validate_journey(spin)["a"] == ["this loop has no wait: a person would go round it forever"]
    spin.tiles["tiles"]["b"]["branches"][0]["next"] = "pause"
    spin.tiles["tiles"]["pause"] = {"type": "wait", "days": 1, "next": "a"}
    assert validate_journey(spin) == {}


def test_journey_level_errors(journey_of, now):
    draft = segments.save_segment(Segment(name="Broken", query={"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "nope", "op": "equals", "value": 1}]}), now=now, make_ready=False)
    journey = journey_of("end", {"end": {"type": "exit"}}, entry_trigger="form.sent", exit_segment=draft,
                         goal_trigger="nothing.happened")
    errors = validate_journey(journey)[""]
    assert "entry trigger 'form.sent' is not a known trigger" in errors
    assert "goal trigger 'nothing.happened' is not a known trigger" in errors
    assert "exit segment 'Broken' is not ready" in errors
    journey.entry_segment = draft
    assert "choose exactly one entry: a trigger or a segment" in validate_journey(journey)[""]


def test_going_live_refuses_an_invalid_journey_and_freezes_a_valid_one(journey_of, now):
    journey = journey_of("missing", {}, entry_trigger="form.submitted")
    with pytest.raises(ValidationError) as error:
        services.go_live(journey, now=now)
    assert error.value.message_dict == {"journey": ["the start tile 'missing' does not exist"]}
    assert Journey.objects.get().status == Journey.Status.DRAFT
    journey.tiles = {"start": "end", "tiles": {"end": {"type": "exit"}}}
    journey.save()
    version = services.go_live(journey, now=now)
    journey.tiles["tiles"]["end"]["type"] = "changed later"
    journey.save()
    version.refresh_from_db()
    assert (version.number, version.tiles["tiles"]["end"]["type"]) == (1, "exit")
    assert Journey.objects.get().status == Journey.Status.LIVE


def test_a_new_tile_says_what_to_choose_rather_than_none(journey_of):
    journey = journey_of("send", {
        "send": {"type": "send_email", "next": "wait_for"},
        "wait_for": {"type": "wait_trigger", "timeout": {"days": 1}, "next": "branch", "timeout_next": "branch"},
        "branch": {"type": "interaction_branch", "interaction": "opened", "yes": "hook", "no": "hook"},
        "hook": {"type": "webhook", "next": "seg"},
        "seg": {"type": "add_to_segment", "segment": "not-a-number", "next": "exit"},
    }, entry_trigger="form.submitted")
    errors = validate_journey(journey)
    assert errors["send"] == ["choose the email to send"]
    assert errors["wait_for"] == ["choose the trigger"]
    assert errors["branch"] == ["choose the send-email tile whose email is checked"]
    assert errors["hook"] == ["choose the webhook endpoint"]
    assert errors["seg"] == ["choose the static segment"]
    assert not any("None" in message for messages in errors.values() for message in messages)

"""The journeys REST API: drafts edited through it, lifecycle actions calling the services, errors
pinned to tiles, live journeys changed only by new versions, journeys as code, runs with their
explained path, the step log, the shared settings, and the same permissions as every other app."""

import json

import pytest
import yaml
from django.test import Client

from contacts.models import APIKey
from journeys.models import EXIT, Journey, JourneyRun, JourneySettings, StepLog
from tests.journeys_api.conftest import key_client

pytestmark = pytest.mark.django_db
JOURNEYS = "/api/journeys/"


def post(client, url, data=None, **extra):
    return client.post(url, json.dumps(data or {}), content_type="application/json", **extra)


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


def one_email_tiles(email="hello"):
    return {"start": "send", "tiles": {"send": {"type": "send_email", "email": email, "next": "end"},
                                       "end": {"type": "exit"}}}


@pytest.fixture
def hello(published_email):
    return published_email("hello")


@pytest.fixture
def draft(marketer, hello):
    author = Client()
    author.force_login(marketer)
    response = post(author, JOURNEYS, {"name": "Welcome", "entry_trigger": "form.submitted",
                                       "tiles": one_email_tiles(), "time_zone": "Europe/Stockholm",
                                       "quiet_hours_start": "21:00", "quiet_hours_end": "08:00"})
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_draft_is_created_read_and_edited(marketer_client, draft, marketer):
    assert draft["status"] == "draft" and draft["entry_type"] == "trigger"
    assert draft["created_by"] == marketer.pk and draft["quiet_hours_start"] == "21:00:00"
    url = f"{JOURNEYS}{draft['id']}/"
    response = patch(marketer_client, url, {"cap_per_week": 3, "priority": 2})
    assert response.status_code == 200, response.json()
    listed = marketer_client.get(JOURNEYS, {"search": "welc"}).json()["results"]
    assert [(j["name"], j["cap_per_week"], j["open_runs"]) for j in listed] == [("Welcome", 3, 0)]


def test_bad_shapes_are_refused_with_field_errors(marketer_client):
    response = post(marketer_client, JOURNEYS, {"name": "Broken", "time_zone": "Mars/Olympus",
                                                "tiles": {"start": "a", "tiles": {"a": {"type": "teleport"}}}})
    assert response.status_code == 400
    assert response.json() == {
        "time_zone": ["Unknown time zone 'Mars/Olympus'; give an IANA name like Europe/Stockholm."],
        "tiles": ["tiles.a: unknown tile type 'teleport'; use one of " + ", ".join(
            ["wait", "wait_trigger", "attribute_branch", "interaction_branch", "trigger_branch", "ab_test", "split",
             "send_email", "send_sms", "send_push", "create_task", "update_record", "webhook", "add_to_segment",
             "remove_from_segment", "exit"]) + "."]}
    assert not Journey.objects.exists()


def test_validate_pins_errors_to_tiles(marketer_client, journey_of):
    journey = journey_of("pause", {"pause": {"type": "wait", "days": 0, "next": "nowhere"}})
    response = marketer_client.get(f"{JOURNEYS}{journey.pk}/validate/")
    assert response.status_code == 200
    assert response.json() == {"valid": False, "errors": {
        "journey": ["choose exactly one entry: a trigger or a segment"],
        "pause": ["next: goes to unknown tile 'nowhere'", "a wait must be positive"]}}


def test_going_live_with_an_invalid_journey_answers_400_per_tile(marketer_client, journey_of):
    journey = journey_of("send", {"send": {"type": "send_email", "email": "missing", "next": EXIT}},
                         entry_trigger="form.submitted")
    response = post(marketer_client, f"{JOURNEYS}{journey.pk}/go-live/")
    assert response.status_code == 400
    assert response.json() == {"detail": "The journey does not validate; fix the tiles named in errors.",
                               "errors": {"send": ["email 'missing' does not exist or is not published"]}}
    journey.refresh_from_db()
    assert journey.status == "draft" and not journey.versions.exists()


def test_the_lifecycle_through_the_api(marketer_client, draft):
    url = f"{JOURNEYS}{draft['id']}/"
    response = post(marketer_client, f"{url}pause/")
    assert response.status_code == 409 and "cannot become paused" in response.json()["detail"]
    response = post(marketer_client, f"{url}go-live/")
    assert response.status_code == 201 and response.json()["number"] == 1, response.json()
    assert post(marketer_client, f"{url}go-live/").status_code == 409
    assert post(marketer_client, f"{url}pause/").json()["status"] == "paused"
    assert post(marketer_client, f"{url}resume/").json()["status"] == "live"
    assert post(marketer_client, f"{url}stop/").json() == {"exited": 0}
    assert Journey.objects.get(pk=draft["id"]).status == "stopped"


def test_a_live_journey_is_edited_only_through_a_new_version(marketer_client, draft, published_email, subscribed,
                                                             now):
    url = f"{JOURNEYS}{draft['id']}/"
    post(marketer_client, f"{url}go-live/")
    response = patch(marketer_client, url, {"tiles": one_email_tiles("other"), "entry_trigger": "purchase.completed"})
    assert response.status_code == 409 and "new-version" in response.json()["detail"]
    assert "entry_trigger, tiles cannot change" in response.json()["detail"]
    assert Journey.objects.get(pk=draft["id"]).entry_trigger == "form.submitted"
    response = patch(marketer_client, url, {"name": "Renamed", "priority": 7, "cap_per_day": 2})
    assert response.status_code == 200  # name and governance apply at once
    assert Journey.objects.filter(pk=draft["id"], name="Renamed", priority=7, cap_per_day=2).exists()
    journey = Journey.objects.get(pk=draft["id"])
    run = JourneyRun.objects.create(journey=journey, version=journey.versions.get(), contact=subscribed(),
                                    tile_key="send", entered_at=now, state="waiting", due_at=now)
    preview = marketer_client.get(f"{url}new-version/").json()
    assert preview == [{"tile": "send", "label": "Send email", "version": 1, "count": 1, "in_new_version": True}]
    broken = one_email_tiles("missing")
    response = post(marketer_client, f"{url}new-version/", {"tiles": broken, "move_runs": True})
    assert response.status_code == 400 and response.json()["errors"] == {
        "send": ["email 'missing' does not exist or is not published"]}
    assert Journey.objects.get(pk=draft["id"]).tiles == one_email_tiles()
    published_email("hello-again")
    response = post(marketer_client, f"{url}new-version/", {"tiles": one_email_tiles("hello-again"),
                                                            "move_runs": True})
    assert response.status_code == 201 and response.json()["number"] == 2
    run.refresh_from_db()
    assert run.version.number == 2
    assert Journey.objects.get(pk=draft["id"]).tiles["tiles"]["send"]["email"] == "hello-again"
    versions = marketer_client.get(f"{url}versions/").json()["results"]
    assert [v["number"] for v in versions] == [2, 1]


def test_only_a_journey_no_one_entered_can_be_deleted(marketer_client, draft, journey_of, subscribed, now):
    url = f"{JOURNEYS}{draft['id']}/"
    post(marketer_client, f"{url}go-live/")
    assert marketer_client.delete(url).status_code == 409
    post(marketer_client, f"{url}stop/")
    journey = Journey.objects.get(pk=draft["id"])
    JourneyRun.objects.create(journey=journey, version=journey.versions.get(), contact=subscribed(),
                              tile_key="send", entered_at=now, state="exited")
    response = marketer_client.delete(url)
    assert response.status_code == 409 and "People went through" in response.json()["detail"]
    assert JourneyRun.objects.count() == 1
    unused = journey_of("end", {"end": {"type": "exit"}})
    assert marketer_client.delete(f"{JOURNEYS}{unused.pk}/").status_code == 204


def test_the_journey_list_takes_a_fixed_number_of_queries(marketer_client, journey_of, segment,
                                                         django_assert_max_num_queries):
    staff = segment("Staff")
    for index in range(5):
        journey_of("end", {"end": {"type": "exit"}}, name=f"J{index}").exclusion_segments.set([staff])
    with django_assert_max_num_queries(8):
        response = marketer_client.get(JOURNEYS)
    assert len(response.json()["results"]) == 5


def test_clone_makes_a_draft_copy(marketer_client, draft, marketer):
    post(marketer_client, f"{JOURNEYS}{draft['id']}/go-live/")
    response = post(marketer_client, f"{JOURNEYS}{draft['id']}/clone/")
    assert response.status_code == 201
    copy = response.json()
    assert (copy["name"], copy["status"], copy["tiles"], copy["created_by"]) == (
        "Copy of Welcome", "draft", one_email_tiles(), marketer.pk)


def test_export_as_yaml_and_json_and_import_round_trip(marketer_client, brew_journey):
    url = f"{JOURNEYS}{brew_journey.pk}/export/"
    as_yaml = marketer_client.get(url)
    assert as_yaml.status_code == 200 and as_yaml["Content-Type"].startswith("application/yaml")
    assert as_yaml["Content-Disposition"] == 'attachment; filename="brew-better-at-home.yaml"'
    as_json = marketer_client.get(url, {"format": "json"})
    assert as_json["Content-Type"].startswith("application/json")
    assert yaml.safe_load(as_yaml.content) == as_json.json()
    response = marketer_client.post(f"{JOURNEYS}import/", as_yaml.content, content_type="application/yaml")
    assert response.status_code == 201, response.json()
    result = response.json()
    assert result["ok"] and result["created"] and result["errors"] == [] and result["validation"] == {}
    again = marketer_client.get(f"{JOURNEYS}{result['journey']}/export/")
    assert again.content == as_yaml.content


def test_a_dry_run_import_shows_the_diff_and_problems_and_saves_nothing(marketer_client, brew_journey):
    doc = marketer_client.get(f"{JOURNEYS}{brew_journey.pk}/export/", {"format": "json"}).json()
    doc["governance"]["priority"] = 9
    response = post(marketer_client, f"{JOURNEYS}{brew_journey.pk}/import/?dry_run=1", doc)
    assert response.status_code == 200
    assert response.json()["changes"] == ["~ governance.priority: 5 → 9"]
    doc["tiles"]["send_guide"]["email"] = "nope"
    response = post(marketer_client, f"{JOURNEYS}import/?dry_run=1", doc)
    assert response.status_code == 400
    assert response.json()["errors"] == ["tiles.send_guide.email: no email with key 'nope'"]
    assert Journey.objects.count() == 1 and Journey.objects.get().priority == 5


def test_importing_over_a_draft_updates_it_and_over_a_live_journey_is_refused(marketer_client, brew_journey):
    doc = marketer_client.get(f"{JOURNEYS}{brew_journey.pk}/export/", {"format": "json"}).json()
    doc["description"] = "Updated"
    response = post(marketer_client, f"{JOURNEYS}{brew_journey.pk}/import/", doc)
    assert response.status_code == 200 and not response.json()["created"]
    brew_journey.refresh_from_db()
    assert brew_journey.description == "Updated"
    Journey.objects.filter(pk=brew_journey.pk).update(status="live")
    response = post(marketer_client, f"{JOURNEYS}{brew_journey.pk}/import/", doc)
    assert response.status_code == 400
    assert "create a new version instead" in response.json()["errors"][0]


def test_a_document_that_is_not_yaml_is_a_parse_error(marketer_client):
    response = marketer_client.post(f"{JOURNEYS}import/", b"name: [unclosed", content_type="application/yaml")
    assert response.status_code == 400 and "neither JSON nor YAML" in response.json()["detail"]


def test_runs_list_filters_and_detail_explains_the_path(marketer_client, draft, subscribed, now):
    journey = Journey.objects.get(pk=draft["id"])
    post(marketer_client, f"{JOURNEYS}{journey.pk}/go-live/")
    person, other = subscribed(), subscribed()
    version = journey.versions.get()
    run = JourneyRun.objects.create(journey=journey, version=version, contact=person, tile_key="send",
                                    entered_at=now, state="done", finished_at=now, exit_reason={"code": "end"})
    JourneyRun.objects.create(journey=journey, version=version, contact=other, tile_key="send", entered_at=now)
    StepLog.objects.create(run=run, tile_key="$entry", attempt=1, at=now, outcome="entered",
                           reason={"code": "trigger", "key": "form.submitted"})
    StepLog.objects.create(run=run, tile_key="send", attempt=1, at=now, outcome="next",
                           reason={"code": "sent", "email": "hello", "delivery": 7})
    rows = marketer_client.get("/api/journey-runs/", {"journey": journey.pk, "contact": person.pk}).json()["results"]
    assert [r["id"] for r in rows] == [run.pk]
    assert [r["state"] for r in marketer_client.get("/api/journey-runs/", {"state": "active"}).json()["results"]] \
        == ["active"]
    detail = marketer_client.get(f"/api/journey-runs/{run.pk}/").json()
    assert [step["text"] for step in detail["path"]] == ["entered: form.submitted", "sent email hello (delivery 7)",
                                                          "finished"]
    steps = marketer_client.get("/api/journey-steps/", {"run": run.pk}).json()["results"]
    assert [s["tile_key"] for s in steps] == ["$entry", "send"]
    assert marketer_client.delete(f"/api/journey-steps/{steps[0]['id']}/").status_code == 405


def test_journey_settings_are_read_and_updated(marketer_client, segment):
    suppressed = segment("Do not contact")
    response = marketer_client.get("/api/journey-settings/current/")
    assert response.json() == {"suppression_segment": None, "cap_per_day": None, "cap_per_week": None}
    response = patch(marketer_client, "/api/journey-settings/current/",
                     {"suppression_segment": suppressed.pk, "cap_per_week": 4})
    assert response.status_code == 200, response.json()
    settings = JourneySettings.current()
    assert (settings.suppression_segment, settings.cap_per_week) == (suppressed, 4)
    assert JourneySettings.objects.count() == 1


def test_a_read_only_key_reads_but_cannot_write(marketer, draft):
    reader = key_client(marketer, APIKey.Scope.READ)
    url = f"{JOURNEYS}{draft['id']}/"
    assert reader.get(url).status_code == 200
    assert reader.get(f"{url}export/").status_code == 200
    assert reader.get(f"{url}validate/").json()["valid"] is True
    for action in ("go-live/", "pause/", "stop/", "clone/", "new-version/"):
        response = post(reader, f"{url}{action}")
        assert response.status_code == 403, action
        assert response.json()["detail"] == "This API key is read-only; use a key with write scope."
    assert reader.patch(url, {"name": "x"}, content_type="application/json").status_code == 403
    assert post(reader, f"{JOURNEYS}import/", {"name": "x"}).status_code == 403
    assert Journey.objects.get(pk=draft["id"]).status == "draft"


def test_a_write_key_goes_live(marketer, draft):
    writer = key_client(marketer, APIKey.Scope.WRITE)
    assert post(writer, f"{JOURNEYS}{draft['id']}/go-live/").status_code == 201


def test_sales_users_read_journeys_but_cannot_change_them(sales_client, draft):
    assert sales_client.get(f"{JOURNEYS}{draft['id']}/").status_code == 200
    assert post(sales_client, f"{JOURNEYS}{draft['id']}/go-live/").status_code == 403
    assert post(sales_client, f"{JOURNEYS}{draft['id']}/clone/").status_code == 403
    assert patch(sales_client, "/api/journey-settings/current/", {"cap_per_day": 1}).status_code == 403
    assert Journey.objects.count() == 1


def test_anonymous_requests_are_refused(draft):
    assert Client().get(JOURNEYS).status_code == 401


def test_a_test_run_shows_the_path_and_keeps_nothing(marketer, brew_journey, subscribed, now):
    reader = key_client(marketer, APIKey.Scope.READ)
    ann = subscribed()
    url = f"{JOURNEYS}{brew_journey.pk}/test-run/"
    # The virtual clock starts at a fixed daytime: from the wall clock, the journey's quiet hours
    # (21:00-08:00 Stockholm) would hold the first email some evenings and not others.
    script = [{"after": {"hours": 3}, "interaction": "clicked", "tile": "send_guide",
               "link": "https://contoso.test/grinders"}]
    response = post(reader, url, {"contact": ann.pk, "now": now.isoformat(), "entry_payload": {"form": "brew"},
                                  "script": script})
    assert response.status_code == 200, response.json()
    result = response.json()
    assert result["tiles"] == ["send_guide", "two_days", "clicked", "offer", "call"]
    assert result["state"] == "done"
    assert "branch Clicked grinders: yes" in [step["text"] for step in result["path"]]
    assert not JourneyRun.objects.exists() and not brew_journey.versions.exists()
    brew_journey.refresh_from_db()
    assert brew_journey.status == "draft"


def test_a_bad_test_run_script_is_pinned_to_its_item(marketer_client, brew_journey, subscribed):
    response = post(marketer_client, f"{JOURNEYS}{brew_journey.pk}/test-run/", {
        "contact": subscribed().pk, "entry_payload": {"form": "brew"},
        "script": [{"after": {"hours": 1}, "trigger": "nope.never"}]})
    assert response.status_code == 400
    assert response.json() == {"detail": "The test run cannot start; see errors.",
                               "errors": {"script[0]": ["unknown trigger 'nope.never'"]}}
    assert post(marketer_client, f"{JOURNEYS}{brew_journey.pk}/test-run/", {}).status_code == 400


def test_export_of_a_frozen_version(marketer_client, draft, published_email):
    url = f"{JOURNEYS}{draft['id']}/"
    post(marketer_client, f"{url}go-live/")
    published_email("hello-again")
    post(marketer_client, f"{url}new-version/", {"tiles": one_email_tiles("hello-again")})
    first = marketer_client.get(f"{url}export/", {"format": "json", "version": 1})
    assert first["Content-Disposition"] == 'attachment; filename="welcome-v1.json"'
    assert first.json()["tiles"]["send"]["email"] == "hello"
    assert marketer_client.get(f"{url}export/", {"format": "json"}).json()["tiles"]["send"]["email"] == "hello-again"
    assert marketer_client.get(f"{url}export/", {"format": "json", "version": 7}).status_code == 404
    assert marketer_client.get(f"{url}export/", {"format": "json", "version": "x"}).status_code == 400

"""The builder's pages and actions through the Django test client: who may do what, and that each
action changes the draft (or the journey) as the marketer meant."""

import datetime
import html
import re

import pytest
from django.urls import reverse

from channels.models import WebhookEndpoint
from journeys import catalog, services
from journeys.engine import dispatch_pending
from journeys.models import EXIT, Journey, JourneyRun, JourneyVersion
from journeys.views.canvas import render_canvas
from segments import services as segments
from segments.models import Segment
from tests.journeys_ui.conftest import GRINDERS

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def url(name, journey, *args):
    return reverse(f"journeys:{name}", args=[journey.pk, *args])


def draft_of(journey):
    journey.refresh_from_db()
    return journey.tiles


# --- List, create, clone, delete ------------------------------------------------------------------
def test_the_list_shows_run_counts_in_one_query_and_filters(marketer_client, brew_draft, now,
                                                            django_assert_max_num_queries, subscribed):
    services.go_live(brew_draft, now=now)
    Journey.objects.create(name="Winter draft", entry_trigger="form.submitted")
    version = brew_draft.versions.get()
    for index in range(3):
        JourneyRun.objects.create(contact=subscribed(email=f"p{index}@example.com"), journey=brew_draft,
                                  version=version, tile_key="wait", entered_at=now,
                                  state=JourneyRun.State.DONE if index == 0 else JourneyRun.State.WAITING)
    with django_assert_max_num_queries(12):
        page = marketer_client.get(reverse("journeys:list")).content.decode()
    row = re.search(r"Brew Better at Home</a>.*?</tr>", page, re.S).group(0)
    assert re.findall(r'class="right num[^"]*">(?:<strong>)?(\d+)', row) == ["3", "2", "1"]
    live = marketer_client.get(reverse("journeys:list"), {"status": "live"}).content.decode()
    assert "Brew Better at Home" in live and "Winter draft" not in live
    found = marketer_client.get(reverse("journeys:list"), {"q": "winter", "type": "trigger"}).content.decode()
    assert "Winter draft" in found and "Brew Better" not in found


def test_a_trigger_journey_is_created_and_opens_on_its_canvas(marketer_client):
    response = marketer_client.post(reverse("journeys:create"), {
        "name": "Welcome", "audience": "contact", "entry_type": "trigger", "entry_trigger": "form.submitted",
        "entry_mode": "one_time", "repeat_unit": "days"})
    journey = Journey.objects.get(name="Welcome")
    assert response.status_code == 302 and response["Location"] == journey.get_absolute_url()
    assert (journey.entry_trigger, journey.entry_segment, journey.status) == ("form.submitted", None, "draft")


def test_a_segment_journey_needs_its_segment_and_a_repeat_interval(marketer_client, now):
    base = {"name": "Lapsed", "audience": "contact", "entry_type": "segment", "repeat_unit": "days"}
    response = marketer_client.post(reverse("journeys:create"), {**base, "entry_mode": "one_time"})
    assert "Choose the segment whose members enter." in response.content.decode()
    segment = segments.save_segment(Segment(name="Lapsed buyers"), now=now)
    response = marketer_client.post(reverse("journeys:create"), {**base, "entry_mode": "repeating",
                                                                  "entry_segment": segment.pk})
    assert "Say how often members enter again." in response.content.decode()
    marketer_client.post(reverse("journeys:create"), {**base, "entry_mode": "repeating", "entry_segment": segment.pk,
                                                      "repeat_every": 7})
    journey = Journey.objects.get(name="Lapsed")
    assert (journey.entry_segment, journey.entry_mode, journey.repeat_every) == (segment, "repeating", 7)


def test_clone_makes_a_draft_copy(marketer_client, brew_draft, now):
    services.go_live(brew_draft, now=now)
    response = marketer_client.post(url("clone", brew_draft))
    copy = Journey.objects.get(name="Copy of Brew Better at Home")
    assert response["Location"] == copy.get_absolute_url()
    assert copy.status == "draft" and copy.tiles == brew_draft.tiles


def test_only_drafts_that_never_ran_can_be_deleted(marketer_client, brew_draft, now):
    other = Journey.objects.create(name="Scratch")
    assert marketer_client.post(url("delete", other))["Location"] == reverse("journeys:list")
    assert not Journey.objects.filter(pk=other.pk).exists()
    services.go_live(brew_draft, now=now)
    response = marketer_client.post(url("delete", brew_draft))
    assert "cannot be deleted" in response.content.decode()
    assert Journey.objects.filter(pk=brew_draft.pk).exists()


# --- Permissions ------------------------------------------------------------------------------------
def test_sales_can_look_but_not_change(sales_client, brew_draft):
    assert sales_client.get(reverse("journeys:list")).status_code == 200
    page = sales_client.get(url("detail", brew_draft)).content.decode()
    assert "Go live" not in page and "jc-add" not in page
    assert sales_client.get(reverse("journeys:create")).status_code == 403
    assert sales_client.post(url("tile_add", brew_draft), {"after": "", "where": "", "kind": "wait"}).status_code == 403
    assert sales_client.post(url("tile", brew_draft, "wait"), {"t-days": "9"}, headers=HTMX).status_code == 403
    assert sales_client.post(url("go_live", brew_draft)).status_code == 403
    assert sales_client.post(url("settings", brew_draft), {"time_zone": "UTC"}, headers=HTMX).status_code == 403
    assert sales_client.post(url("clone", brew_draft)).status_code == 403
    settings = sales_client.get(url("detail", brew_draft), {"panel": "settings"}).content.decode()
    assert '<fieldset class="jp-form" disabled>' in settings and "Save settings" not in settings
    assert draft_of(brew_draft)["tiles"]["wait"]["days"] == 2


def test_anonymous_people_are_sent_to_log_in(client, brew_draft):
    assert client.get(url("detail", brew_draft))["Location"].startswith("/login/")


def test_the_canvas_page_reads_the_draft_in_a_bounded_number_of_queries(marketer_client, brew_draft,
                                                                          django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        assert marketer_client.get(url("detail", brew_draft), {"tile": "clicked"}).status_code == 200


def test_without_javascript_an_edit_comes_back_to_the_page_with_its_panel_open(marketer_client, brew_draft):
    response = marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": "4"})
    assert response.status_code == 302 and response["Location"] == url("detail", brew_draft) + "?tile=wait"
    page = marketer_client.get(response["Location"]).content.decode()
    assert 'id="tile-form"' in page and "for 4 days" in page


# --- Editing the draft ------------------------------------------------------------------------------
def test_every_tile_kind_is_in_the_palette(marketer_client, brew_draft):
    page = marketer_client.get(url("palette", brew_draft), {"after": "guide", "where": "next"},
                               headers=HTMX).content.decode()
    assert set(re.findall(r'data-kind="([a-z_]+)"', page)) == set(catalog.KINDS)


def test_a_tile_inserted_on_a_connector_continues_to_the_rest_and_undo_takes_it_back(marketer_client, brew_draft):
    before = draft_of(brew_draft)
    response = marketer_client.post(url("tile_add", brew_draft), {"after": "guide", "where": "next", "kind": "wait"},
                                    headers=HTMX)
    assert response.status_code == 200 and "Wait tile added." in response.content.decode()
    tiles = draft_of(brew_draft)["tiles"]
    assert tiles["guide"]["next"] == "wait_2" and tiles["wait_2"]["next"] == "wait"
    marketer_client.post(url("undo", brew_draft), headers=HTMX)
    assert draft_of(brew_draft) == before
    assert "Nothing to undo." in marketer_client.post(url("undo", brew_draft), headers=HTMX).content.decode()


def test_typing_a_setting_saves_it_and_many_keystrokes_are_one_undo(marketer_client, brew_draft):
    for days in ("3", "30"):
        marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": days, "t-name": "Let it brew"}, headers=HTMX)
    assert draft_of(brew_draft)["tiles"]["wait"] == {"type": "wait", "days": 30, "name": "Let it brew",
                                                     "next": "clicked"}
    marketer_client.post(url("undo", brew_draft), headers=HTMX)
    assert draft_of(brew_draft)["tiles"]["wait"] == {"type": "wait", "days": 2, "next": "clicked"}


def test_a_setting_that_cannot_be_stored_is_refused_and_named(marketer_client, brew_draft):
    response = marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": "-4"}, headers=HTMX)
    assert "Days: Ensure this value is greater than or equal to 0." in response.content.decode()
    assert draft_of(brew_draft)["tiles"]["wait"]["days"] == 2


def test_validation_problems_show_on_their_tile_as_you_edit(marketer_client, brew_draft):
    response = marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": "0"}, headers=HTMX)
    body = response.content.decode()
    assert "a wait must be positive" in body
    assert re.search(r'class="jc-card[^"]*has-error[^"]*" id="tile-wait"', body)
    assert not re.search(r'class="jc-card[^"]*has-error[^"]*" id="tile-guide"', body)


def test_deleting_a_tile_reconnects_the_flow(marketer_client, brew_draft):
    response = marketer_client.post(url("tile_delete", brew_draft, "wait"), headers=HTMX)
    assert "the flow reconnected" in response.content.decode()
    assert draft_of(brew_draft)["tiles"]["guide"]["next"] == "clicked"


def test_a_way_out_can_go_to_another_tile_and_is_drawn_as_a_jump(marketer_client, brew_draft):
    marketer_client.post(url("tile", brew_draft, "clicked"), {"action": "goto", "goto-no": "wait"}, headers=HTMX)
    tiles = draft_of(brew_draft)["tiles"]
    assert tiles["clicked"]["no"] == "wait" and "tips" not in tiles
    page = marketer_client.get(url("detail", brew_draft)).content.decode()
    assert "Go to: Wait" in page


def test_branch_conditions_use_the_segment_condition_editor(marketer_client, brew_draft):
    marketer_client.post(url("tile_add", brew_draft), {"after": "offer", "where": "next", "kind": "attribute_branch"},
                         headers=HTMX)
    tile_url = url("tile", brew_draft, "attribute_branch")
    response = marketer_client.post(tile_url, {"branch": "0", "r-match": "all", "action": "add_condition:r",
                                               "path-0-name": "Texans"}, headers={**HTMX, "HX-Target": "conditions"})
    assert 'data-path="r.0"' in response.content.decode()
    marketer_client.post(tile_url, {"branch": "0", "r-match": "all", "r.0-type": "attribute", "r.0-field": "state",
                                    "r.0-op": "equals", "r.0-value": "Texas", "path-0-name": "Texans"},
                         headers={**HTMX, "HX-Target": "conditions"})
    branch = draft_of(brew_draft)["tiles"]["attribute_branch"]["branches"][0]
    assert branch["name"] == "Texans"
    assert branch["conditions"]["conditions"] == [{"type": "attribute", "field": "state", "op": "equals",
                                                   "value": "Texas"}]


def test_split_percentages_must_add_up(marketer_client, brew_draft):
    marketer_client.post(url("tile_add", brew_draft), {"after": "offer", "where": "next", "kind": "split"},
                         headers=HTMX)
    response = marketer_client.post(url("tile", brew_draft, "split"), {"path-0-percent": "70", "path-1-percent": "20"},
                                    headers=HTMX)
    assert "The percentages add up to 90%" in response.content.decode()
    assert [b["percent"] for b in draft_of(brew_draft)["tiles"]["split"]["branches"]] == [70, 20]


def test_reference_settings_offer_the_rows_they_refer_to(marketer_client, brew_draft, sales_user):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/hook")
    marketer_client.post(url("tile_add", brew_draft), {"after": "offer", "where": "next", "kind": "webhook"},
                         headers=HTMX)
    panel = marketer_client.get(url("tile", brew_draft, "webhook"), headers=HTMX).content.decode()
    assert f'<option value="{endpoint.pk}">CRM (https://crm.example.com/hook)</option>' in panel
    marketer_client.post(url("tile", brew_draft, "webhook"), {"t-endpoint": str(endpoint.pk)}, headers=HTMX)
    assert draft_of(brew_draft)["tiles"]["webhook"]["endpoint"] == endpoint.pk
    marketer_client.post(url("tile_add", brew_draft), {"after": "tips", "where": "next", "kind": "create_task"},
                         headers=HTMX)
    task = {"t-subject": "Call them", "t-user": str(sales_user.pk), "t-due_in_days": "1"}
    marketer_client.post(url("tile", brew_draft, "create_task"), task, headers=HTMX)
    assert draft_of(brew_draft)["tiles"]["create_task"] == {
        "type": "create_task", "subject": "Call them", "user": sales_user.pk, "due_in": {"days": 1}, "next": EXIT}


def test_entry_conditions_can_read_the_trigger_payload(marketer_client, brew_draft):
    entry = url("entry", brew_draft)
    base = {"name": brew_draft.name, "audience": "contact", "entry_type": "trigger", "entry_trigger": "form.submitted",
            "entry_mode": "one_time", "repeat_unit": "days", "r-match": "all"}
    added = marketer_client.post(entry, {**base, "action": "add_condition:r"},
                                 headers={**HTMX, "HX-Target": "conditions"}).content.decode()
    query = html.unescape(re.search(r'name="query" value="([^"]*)"', added).group(1))
    marketer_client.post(entry, {**base, "query": query, "r.0-type": "attribute", "r.0-field": "trigger.form",
                                 "r.0-op": "equals", "r.0-value": "brew-better", "action": "save"}, headers=HTMX)
    brew_draft.refresh_from_db()
    assert brew_draft.entry_conditions["conditions"] == [
        {"type": "attribute", "field": "trigger.form", "op": "equals", "value": "brew-better"}]


def test_settings_are_validated_and_saved(marketer_client, brew_draft):
    settings = url("settings", brew_draft)
    base = {"time_zone": "Europe/Stockholm", "re_entry": "after_days", "cap_action": "defer", "priority": "2",
            "exit_trigger": "purchase.completed", "honor_suppression": "on"}
    response = marketer_client.post(settings, base, headers=HTMX)
    assert "Say after how many days people may enter again." in response.content.decode()
    marketer_client.post(settings, {**base, "re_entry_days": "30", "quiet_hours_start": "21:00",
                                    "quiet_hours_end": "08:00", "cap_per_week": "3"}, headers=HTMX)
    brew_draft.refresh_from_db()
    assert (brew_draft.time_zone, brew_draft.re_entry_days, brew_draft.cap_per_week, brew_draft.priority) == (
        "Europe/Stockholm", 30, 3, 2)
    assert str(brew_draft.quiet_hours_start) == "21:00:00"


# --- Lifecycle --------------------------------------------------------------------------------------
def test_go_live_is_refused_while_problems_remain(marketer_client, brew_draft):
    marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": "0"}, headers=HTMX)
    response = marketer_client.post(url("go_live", brew_draft), headers=HTMX)
    assert "Not live: fix the 1 problem shown on the tiles first." in response.content.decode()
    assert Journey.objects.get(pk=brew_draft.pk).status == "draft"


def test_go_live_pause_resume_and_stop(marketer_client, brew_draft):
    assert "is live (version 1)" in marketer_client.post(url("go_live", brew_draft), headers=HTMX).content.decode()
    marketer_client.post(url("pause", brew_draft), headers=HTMX)
    assert Journey.objects.get(pk=brew_draft.pk).status == "paused"
    marketer_client.post(url("resume", brew_draft), headers=HTMX)
    assert Journey.objects.get(pk=brew_draft.pk).status == "live"
    response = marketer_client.post(url("stop", brew_draft), headers=HTMX)
    assert "Stopped; 0 people exited." in response.content.decode()


def test_a_new_version_shows_where_people_stand_and_can_move_them(marketer_client, brew_draft, subscribed, now):
    services.go_live(brew_draft, now=now)
    version = brew_draft.versions.get()
    run = JourneyRun.objects.create(contact=subscribed(email="ann@example.com"), journey=brew_draft, version=version,
                                    tile_key="wait", entered_at=now, state=JourneyRun.State.WAITING, due_at=now)
    marketer_client.post(url("tile_add", brew_draft), {"after": "guide", "where": "next", "kind": "wait"},
                         headers=HTMX)
    preview = marketer_client.get(url("new_version", brew_draft), headers=HTMX).content.decode()
    assert re.search(r"Wait.*?v1.*?>1<.*?Yes", preview, re.S)
    response = marketer_client.post(url("new_version", brew_draft), {"runs": "move"}, headers=HTMX)
    assert "Version 2 is live" in response.content.decode()
    run.refresh_from_db()
    assert run.version == JourneyVersion.objects.get(journey=brew_draft, number=2)


def test_a_live_journeys_draft_is_edited_on_the_edit_view(marketer_client, brew_draft, now):
    services.go_live(brew_draft, now=now)
    assert "Live view of version 1" in marketer_client.get(url("detail", brew_draft)).content.decode()
    edit = marketer_client.get(url("detail", brew_draft), {"view": "edit"}).content.decode()
    assert "Live view of version" not in edit and "jc-add" in edit
    assert "No changes since version 1" in edit and "Publish new version" not in edit  # nothing to publish yet
    palette = marketer_client.get(url("palette", brew_draft), {"after": "guide", "where": "next"},
                                  headers=HTMX).content.decode()
    assert "Live view of version" not in palette and "jc-add" in palette


# --- Live view, explain, test mode --------------------------------------------------------------------
def test_the_live_view_shows_figures_people_and_a_persons_path(marketer_client, brew_draft, subscribed, now):
    services.go_live(brew_draft, now=now)
    ann = subscribed(email="ann@example.com", first_name="Ann", last_name="Archer")
    services.publish("form.submitted", person=ann, payload={"form": "brew-better"}, source="test", now=now)
    dispatch_pending(now=now, older_than=datetime.timedelta(0), limit=10)
    page = marketer_client.get(url("detail", brew_draft)).content.decode()
    assert "Live view of version 1" in page
    wait_card = re.search(r'id="tile-wait".*?</dl>', page, re.S).group(0)
    assert re.findall(r"<dd>(\d+)</dd>", wait_card) == ["1", "1", "0"]
    assert "Entered" in page and 'id="journey-summary"' in page
    people = marketer_client.get(url("tile_people", brew_draft, "wait"), headers=HTMX).content.decode()
    assert "Ann Archer" in people
    run = JourneyRun.objects.get(journey=brew_draft)
    path = marketer_client.get(url("run", brew_draft, run.pk), headers=HTMX).content.decode()
    assert "entered: form.submitted" in path and "sent email brew-guide" in path


def test_the_live_view_shows_email_figures_on_send_tiles(marketer_client, brew_draft, subscribed, smtp_server,
                                                        now):
    from channels import services as channels

    services.go_live(brew_draft, now=now)
    for name in ("ann", "bob"):
        services.publish("form.submitted", person=subscribed(email=f"{name}@example.com"),
                         payload={"form": "brew-better"}, source="test", now=now)
    dispatch_pending(now=now, older_than=datetime.timedelta(0), limit=10)
    channels.send_queued(now=now)
    page = marketer_client.get(url("detail", brew_draft)).content.decode()
    guide_card = re.search(r'id="tile-guide".*?jc-email.*?</dl>', page, re.S).group(0)
    assert re.findall(r"<dt>(\w+)</dt><dd>(\d+)</dd>", guide_card)[-4:] == [
        ("Sent", "2"), ("Delivered", "0"), ("Opened", "0"), ("Clicked", "0")]


def test_test_mode_runs_the_draft_and_highlights_the_path(marketer_client, brew_draft, subscribed):
    subscribed(email="tess@example.com")
    response = marketer_client.post(url("test", brew_draft), {
        "action": "run", "person": "tess@example.com", "payload-form": "brew-better", "steps": "1",
        "step-0-hours": "5", "step-0-what": "clicked", "step-0-tile": "guide", "step-0-link": GRINDERS}, headers=HTMX)
    body = response.content.decode()
    assert "sent email grinder-offer" in body
    assert re.search(r'class="jc-card[^"]*on-path[^"]*" id="tile-offer"', body)
    assert not re.search(r'class="jc-card[^"]*on-path[^"]*" id="tile-tips"', body)
    assert not JourneyRun.objects.exists()


def test_test_mode_names_an_unknown_test_contact(marketer_client, brew_draft):
    response = marketer_client.post(url("test", brew_draft), {"action": "run", "person": "nobody@example.com",
                                                               "steps": "0"}, headers=HTMX)
    assert "No contact with the email" in response.content.decode()


def test_render_canvas_draws_a_sixty_tile_journey(brew_draft):
    tiles = {f"t{i}": {"type": "wait", "days": 1, "next": f"t{i + 1}"} for i in range(59)}
    tiles["t59"] = {"type": "exit"}
    journey = Journey.objects.create(name="Long", entry_trigger="form.submitted",
                                     tiles={"start": "t0", "tiles": tiles})
    html = render_canvas(journey)
    assert html.count('class="jc-card group-') == 60
    assert EXIT not in re.findall(r'id="tile-(\w+)"', html)

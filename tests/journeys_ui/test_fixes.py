"""QA findings on the builder: the entry panel writes nothing unless everything validates; a live
journey's entry is read-only while its settings apply at once; the toolbar says what is true for
each status; test mode ignores empty steps and names email tiles; no out-of-band swap without its
target."""

import re
from html import unescape

import pytest
from django.urls import reverse

from journeys import services
from journeys.models import Journey

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
CONDITIONS = {**HTMX, "HX-Target": "conditions"}


def url(name, journey, *args):
    return reverse(f"journeys:{name}", args=[journey.pk, *args])


def entry_post(journey, **extra):
    return {"name": journey.name, "audience": "contact", "entry_type": "trigger", "entry_trigger": "form.submitted",
            "entry_mode": "one_time", "repeat_unit": "days", "r-match": "all", **extra}


def sweden(**extra):
    return {"r.0-type": "attribute", "r.0-field": "country", "r.0-op": "equals", "r.0-value": "Sweden", **extra}


# --- 1. Nothing is written unless everything validates ---------------------------------------------
def query_in(body):
    return unescape(re.search(r'name="query" value="([^"]*)"', body).group(1))


def test_a_condition_is_not_saved_when_the_entry_form_is_wrong(marketer_client, brew_draft):
    entry = url("entry", brew_draft)
    # Editing the conditions writes nothing; the edit is carried on the page in the hidden query.
    added = marketer_client.post(entry, entry_post(brew_draft, action="add_condition:r"),
                                 headers=CONDITIONS).content.decode()
    assert 'name="r.0-field"' in added and "Save entry</b> to keep them" in added
    assert "{#" not in added and "#}" not in added
    changed = marketer_client.post(entry, entry_post(brew_draft, query=query_in(added), **sweden()),
                                   headers=CONDITIONS).content.decode()
    assert 'value="Sweden"' in changed
    brew_draft.refresh_from_db()
    assert brew_draft.entry_conditions is None

    # Save entry with the name cleared: "Not saved" is true of everything, the conditions too.
    query = query_in(changed)
    refused = marketer_client.post(entry, entry_post(brew_draft, name="", action="save", query=query, **sweden()),
                                   headers=HTMX).content.decode()
    assert "This field is required" in refused and "Not saved" in refused
    brew_draft.refresh_from_db()
    assert brew_draft.entry_conditions is None and brew_draft.name == "Brew Better at Home"
    assert 'value="Sweden"' in refused and "Save entry</b> to keep them" in refused  # still on the page

    saved = marketer_client.post(entry, entry_post(brew_draft, name="Brew, Sweden", action="save",
                                                   query=query_in(refused), **sweden()), headers=HTMX)
    assert "Entry saved." in saved.content.decode() and "to keep them" not in saved.content.decode()
    brew_draft.refresh_from_db()
    assert brew_draft.name == "Brew, Sweden"
    assert brew_draft.entry_conditions["conditions"] == [
        {"type": "attribute", "field": "country", "op": "equals", "value": "Sweden"}]


# --- 2. A live journey: entry read-only, settings at once, publish only changed tiles -----------------
def test_a_live_journeys_entry_is_read_only_but_its_name_can_change(marketer_client, brew_draft, now):
    services.go_live(brew_draft, now=now)
    entry = url("entry", brew_draft)
    panel = marketer_client.get(entry, headers=HTMX).content.decode()
    assert "Entry of a live journey cannot change; clone it to start people differently." in panel
    assert re.search(r'<select name="entry_trigger"[^>]*disabled', panel)
    assert 'name="r-match"' not in panel  # no condition editor

    refused = marketer_client.post(entry, entry_post(brew_draft, action="add_condition:r"), headers=CONDITIONS)
    assert refused.status_code == 409
    marketer_client.post(entry, entry_post(brew_draft, name="Brew 2", entry_trigger="purchase.completed",
                                           action="save", **sweden()), headers=HTMX)
    brew_draft.refresh_from_db()
    assert (brew_draft.name, brew_draft.entry_trigger, brew_draft.entry_conditions) == (
        "Brew 2", "form.submitted", None)


def test_a_live_journeys_settings_say_they_apply_at_once(marketer_client, brew_draft, now):
    draft = marketer_client.get(url("settings", brew_draft), headers=HTMX).content.decode()
    assert "Changes apply at once" not in draft
    services.go_live(brew_draft, now=now)
    live = marketer_client.get(url("settings", brew_draft), headers=HTMX).content.decode()
    assert "Changes apply at once to everyone in this journey." in live
    marketer_client.post(url("settings", brew_draft), {"time_zone": "Europe/Stockholm", "re_entry": "never",
                                                       "cap_action": "defer", "priority": "3"}, headers=HTMX)
    brew_draft.refresh_from_db()
    assert brew_draft.priority == 3


def test_draft_ready_to_publish_only_when_the_tiles_differ(marketer_client, brew_draft, now):
    services.go_live(brew_draft, now=now)
    edit = marketer_client.get(url("detail", brew_draft), {"view": "edit"}).content.decode()
    assert "Draft ready to publish" not in edit and "No changes since version 1" in edit
    marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": "3"}, headers=HTMX)
    edit = marketer_client.get(url("detail", brew_draft), {"view": "edit"}).content.decode()
    assert "Draft ready to publish" in edit and "Publish new version" in edit
    marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": "2"}, headers=HTMX)  # back as it was
    edit = marketer_client.get(url("detail", brew_draft), {"view": "edit"}).content.decode()
    assert "Draft ready to publish" not in edit


# --- 4. The toolbar for each status ------------------------------------------------------------------
def toolbar(client, journey, **query):
    page = client.get(url("detail", journey), query).content.decode()
    assert "{#" not in page and "#}" not in page  # no template comment shown as text
    return re.search(r'<div id="toolbar">.*?<div class="jb-notice"', page, re.S).group(0)


def test_the_toolbar_is_truthful_for_each_status(marketer_client, brew_draft, now):
    draft = toolbar(marketer_client, brew_draft)
    assert "Ready to go live" in draft and ">Go live<" in draft and "Edit draft" not in draft

    services.go_live(brew_draft, now=now)
    live = toolbar(marketer_client, brew_draft, view="edit")
    assert ">Pause<" in live and ">Stop<" in live and ">Go live" not in live

    services.pause(brew_draft)
    paused = toolbar(marketer_client, brew_draft, view="edit")
    assert ">Resume<" in paused and ">Pause<" not in paused

    services.stop(brew_draft, now=now)
    stopped = toolbar(marketer_client, brew_draft, view="edit")
    assert "Stopped — edit and go live again" in stopped and "Draft ready to publish" not in stopped
    assert ">Go live again<" in stopped and "Publish new version" not in stopped and ">Stop<" not in stopped
    assert ">Clone<" in stopped
    response = marketer_client.post(url("go_live", brew_draft), headers=HTMX)
    assert "is live (version 2)" in response.content.decode()

    Journey.objects.filter(pk=brew_draft.pk).update(status=Journey.Status.COMPLETED)
    completed = toolbar(marketer_client, brew_draft, view="edit")
    assert "read-only" in completed and ">Clone<" in completed
    assert ">Go live" not in completed and "Edit draft" not in completed and "Test<" not in completed


# --- 3. Test mode --------------------------------------------------------------------------------------
def test_test_mode_ignores_the_empty_default_step(marketer_client, brew_draft, subscribed):
    subscribed(email="tess@example.com")
    panel = marketer_client.get(url("test", brew_draft), headers=HTMX).content.decode()
    assert 'name="steps" value="1"' in panel
    response = marketer_client.post(url("test", brew_draft), {
        "action": "run", "person": "tess@example.com", "payload-form": "brew-guide", "steps": "1", "step-0-days": "",
        "step-0-hours": "",
        "step-0-minutes": "", "step-0-what": "opened", "step-0-tile": "", "step-0-link": ""}, headers=HTMX)
    body = response.content.decode()
    assert "is not a send-email tile" not in body, re.findall(r".{200}is not a send-email tile.{50}", body, re.S)
    assert "sent email brew-guide" in body, re.findall(r"problem-list.{0,400}|Result.{0,300}", body, re.S)


def test_test_mode_asks_for_the_email_tile_of_a_step_that_is_filled_in(marketer_client, brew_draft, subscribed):
    subscribed(email="tess@example.com")
    body = marketer_client.post(url("test", brew_draft), {
        "action": "run", "person": "tess@example.com", "steps": "1", "step-0-hours": "5", "step-0-what": "clicked",
        "step-0-tile": ""}, headers=HTMX).content.decode()
    assert "Step 1: choose the email tile that is clicked." in body and "sent email" not in body


def test_test_mode_names_each_email_tile_by_its_email(marketer_client, brew_draft):
    panel = marketer_client.get(url("test", brew_draft), headers=HTMX).content.decode()
    options = re.findall(r'<option value="(guide|offer|tips)">([^<]*)</option>', panel)
    assert len({label for _, label in options}) == 3
    assert all(label.startswith("Send email · ") for _, label in options)


# --- 5. No out-of-band swap without its target -----------------------------------------------------------
def test_entry_condition_edits_do_not_send_the_tile_problems_swap(marketer_client, brew_draft):
    body = marketer_client.post(url("entry", brew_draft), entry_post(brew_draft, action="add_condition:r"),
                                headers=CONDITIONS).content.decode()
    assert 'id="tile-problems"' not in body and 'name="r.0-field"' in body
    tile = marketer_client.post(url("tile", brew_draft, "wait"), {"t-days": "3"},
                                headers=HTMX).content.decode()
    assert 'id="tile-problems"' in tile or 'id="panel"' in tile

"""The journeys admin (lists, read-only facts, actions calling the services, import with a diff) and
the export_journey / import_journey commands."""

import io
import zipfile

import pytest
import yaml
from django.core.management import CommandError, call_command

from journeys import portable
from journeys.admin.journeys import JourneyAdminForm
from journeys.models import Journey, JourneyRun, JourneySettings, StepLog

pytestmark = pytest.mark.django_db
ADMIN = "/admin/journeys/"


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def act(client, action, *journeys):
    return client.post(f"{ADMIN}journey/", {"action": action, "_selected_action": [j.pk for j in journeys]},
                       follow=action != "export_yaml")


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def test_the_admin_pages_render(staff, brew_journey, subscribed, now):
    JourneyRun.objects.create(journey=brew_journey, version=brew_journey.versions.create(
        number=1, tiles=brew_journey.tiles, created_at=now), contact=subscribed(), tile_key="two_days", entered_at=now)
    for url in ("journey/", f"journey/{brew_journey.pk}/change/", "journeyrun/", "journeyversion/",
                "journey/?status=draft&entry=trigger", "journey/import/",
                f"journeysettings/{JourneySettings.current().pk}/change/"):
        response = staff.get(f"{ADMIN}{url}")
        assert response.status_code == 200, url
    page = staff.get(f"{ADMIN}journey/").content.decode()
    assert "Brew Better at Home" in page and "Trigger form.submitted" in page and "Import a journey" in page


def test_admin_actions_call_the_services(staff, brew_journey):
    response = act(staff, "validate_selected", brew_journey)
    assert messages_of(response) == ["Brew Better at Home: ready to go live."]
    act(staff, "go_live", brew_journey)
    brew_journey.refresh_from_db()
    assert brew_journey.status == "live" and brew_journey.versions.count() == 1
    act(staff, "pause", brew_journey)
    assert Journey.objects.get(pk=brew_journey.pk).status == "paused"
    response = act(staff, "pause", brew_journey)
    assert messages_of(response) == ["Brew Better at Home: A paused journey cannot become paused."]
    act(staff, "resume", brew_journey)
    act(staff, "stop", brew_journey)
    assert Journey.objects.get(pk=brew_journey.pk).status == "stopped"
    act(staff, "clone", brew_journey)
    assert Journey.objects.filter(name="Copy of Brew Better at Home", status="draft").exists()


def test_going_live_from_the_admin_reports_tile_errors(staff, journey_of):
    journey = journey_of("pause", {"pause": {"type": "wait", "days": 0, "next": "exit"}},
                         entry_trigger="form.submitted")
    response = act(staff, "go_live", journey)
    assert messages_of(response) == ["Test journey: pause: a wait must be positive"]
    assert Journey.objects.get(pk=journey.pk).status == "draft"


def test_export_downloads_yaml_and_several_as_a_zip(staff, brew_journey):
    response = act(staff, "export_yaml", brew_journey)
    assert response["Content-Disposition"] == f'attachment; filename="brew-better-at-home-{brew_journey.pk}.yaml"'
    assert yaml.safe_load(response.content) == portable.export_journey(brew_journey)
    other = Journey.objects.create(name="Other")
    response = act(staff, "export_yaml", brew_journey, other)
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == sorted([f"brew-better-at-home-{brew_journey.pk}.yaml", f"other-{other.pk}.yaml"])


def test_a_live_journey_is_read_only_in_the_admin(staff, brew_journey, now):
    url = f"{ADMIN}journey/{brew_journey.pk}/change/"
    assert 'name="name"' in staff.get(url).content.decode()
    Journey.objects.filter(pk=brew_journey.pk).update(status="live")
    page = staff.get(url).content.decode()
    assert 'name="name"' not in page and 'name="tiles"' not in page
    staff.post(url, {"name": "Renamed", "tiles": "{}", "entry_conditions": "null"})
    brew_journey_after = Journey.objects.get(pk=brew_journey.pk)
    assert brew_journey_after.name == "Brew Better at Home"
    assert brew_journey_after.tiles == brew_journey.tiles
    assert brew_journey_after.entry_conditions == brew_journey.entry_conditions


def test_a_run_page_shows_the_explained_path_and_steps(staff, brew_journey, subscribed, now):
    version = brew_journey.versions.create(number=1, tiles=brew_journey.tiles, created_at=now)
    run = JourneyRun.objects.create(journey=brew_journey, version=version, contact=subscribed(), tile_key="two_days",
                                    entered_at=now, state="waiting", due_at=now)
    StepLog.objects.create(run=run, tile_key="send_guide", attempt=1, at=now, outcome="next",
                           reason={"code": "sent", "email": "brew-guide", "delivery": 3})
    page = staff.get(f"{ADMIN}journeyrun/{run.pk}/change/").content.decode()
    assert "sent email brew-guide (delivery 3)" in page
    assert "waiting until 2026-11-02 09:00" in page


def test_journey_settings_is_one_row(staff):
    response = staff.get(f"{ADMIN}journeysettings/")
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN}journeysettings/{JourneySettings.current().pk}/change/"
    assert JourneySettings.objects.count() == 1


def test_the_admin_import_page_checks_then_saves(staff, brew_journey):
    text = portable.dumps(portable.export_journey(brew_journey)).replace("Brew Better at Home", "Brew Again")
    response = staff.post(f"{ADMIN}journey/import/", {"text": text, "check": "Check"})
    assert '+ new journey &quot;Brew Again&quot;' in response.content.decode()
    assert not Journey.objects.filter(name="Brew Again").exists()
    response = staff.post(f"{ADMIN}journey/import/", {"text": text, "save": "Import"})
    copy = Journey.objects.get(name="Brew Again")
    assert response.status_code == 302 and response["Location"] == f"{ADMIN}journey/{copy.pk}/change/"
    bad = text.replace("email: brew-tips", "email: nope")
    response = staff.post(f"{ADMIN}journey/import/", {"text": bad, "save": "Import"})
    assert "tiles.tips.email: no email with key &#x27;nope&#x27;" in response.content.decode()


def test_export_and_import_commands(brew_journey, tmp_path):
    out = tmp_path / "brew.yaml"
    call_command("export_journey", brew_journey.pk, "--output", str(out))
    assert yaml.safe_load(out.read_text()) == portable.export_journey(brew_journey)
    stdout = io.StringIO()
    call_command("export_journey", brew_journey.pk, "--format", "json", stdout=stdout)
    assert portable.loads(stdout.getvalue()) == portable.export_journey(brew_journey)
    stdout = io.StringIO()
    call_command("import_journey", str(out), "--dry-run", stdout=stdout)
    assert stdout.getvalue().splitlines()[0] == '+ new journey "Brew Better at Home"'
    assert "Dry run: nothing saved." in stdout.getvalue()
    assert Journey.objects.count() == 1
    stdout = io.StringIO()
    call_command("import_journey", str(out), "--user", "barista", stdout=stdout)
    assert Journey.objects.count() == 2 and "Created draft journey" in stdout.getvalue()
    assert Journey.objects.exclude(pk=brew_journey.pk).get().created_by.username == "barista"


def test_the_import_command_refuses_a_broken_document(brew_journey, tmp_path):
    doc = portable.export_journey(brew_journey)
    doc["tiles"]["offer"]["email"] = "gone"
    path = tmp_path / "broken.json"
    path.write_text(portable.dumps(doc, "json"))
    with pytest.raises(CommandError, match="tiles.offer.email: no email with key 'gone'"):
        call_command("import_journey", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_journey", str(tmp_path / "missing.yaml"))
    with pytest.raises(CommandError, match="No journey with id 999999"):
        call_command("export_journey", 999999)
    with pytest.raises(CommandError, match="has no version 3"):
        call_command("export_journey", brew_journey.pk, "--journey-version", "3")
    assert Journey.objects.count() == 1


def test_the_admin_form_refuses_tiles_of_unknown_types():
    form = JourneyAdminForm(data={"name": "x", "audience": "contact", "entry_mode": "one_time",
                                  "repeat_unit": "days", "re_entry": "never", "time_zone": "UTC",
                                  "cap_action": "defer", "priority": 0,
                                  "tiles": '{"start": "a", "tiles": {"a": {"type": "teleport"}}}'})
    assert not form.is_valid()
    assert form.errors["tiles"][0].startswith("tiles.a: unknown tile type 'teleport'")

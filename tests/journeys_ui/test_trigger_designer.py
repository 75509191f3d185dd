"""QA findings on the custom trigger designer and the trigger page: every attribute control is
labelled, "Record field" is grouped by table and checked against it, and the test-event payload
starts from realistic values that pass each trigger's schema."""

import json
import re
from html import unescape

import pytest

from journeys import triggers
from journeys.models import CustomTrigger
from journeys.views.triggers import example_payload

pytestmark = pytest.mark.django_db


def designer_post(**extra):
    return {"name": "Lead went cold", "key": "lead.cooled", "kind": "record", "identifies": "email",
            "when_unmatched": "reject", "condition": "changed", "attributes-TOTAL_FORMS": "1",
            "attributes-INITIAL_FORMS": "0", "attributes-0-name": "", "attributes-0-type": "text", **extra}


def test_every_control_of_the_designer_is_labelled(marketer_client):
    page = marketer_client.get("/triggers/custom/new/").content.decode()
    form = re.search(r'<form method="post" class="card".*?</form>', page, re.S).group(0)
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', form))
    for wrapping in re.findall(r"<label>(.*?)</label>", form, re.S):  # a label around its control
        labelled.update(re.findall(r'\bid="([^"]+)"', wrapping))
    controls = re.findall(r'<(?:input|select|textarea)\b([^>]*)>', form)
    unlabelled = []
    for attrs in controls:
        if 'type="hidden"' in attrs or "aria-label=" in attrs:
            continue
        found = re.search(r'\bid="([^"]+)"', attrs)
        if not found or found.group(1) not in labelled:
            unlabelled.append(attrs)
    assert not unlabelled
    assert ">Attribute 1<" in form and "Attribute 3: remove" in form


def test_record_fields_are_grouped_by_table_and_checked_against_it(marketer_client):
    page = marketer_client.get("/triggers/custom/new/").content.decode()
    select = re.search(r'<select name="record_field".*?</select>', page, re.S).group(0)
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    assert [label for label, _ in groups] == ["Contact", "Lead", "Opportunity", "Account"]
    values = re.findall(r'value="([^"]+)"', select)
    assert len(values) == len(set(values))  # "email" of contacts and of leads are told apart
    assert 'value="lead.email"' in dict(groups)["Lead"]

    wrong = marketer_client.post("/triggers/custom/new/", designer_post(record_table="opportunity",
                                                                        record_field="lead.email"))
    assert wrong.status_code == 200 and "Choose a field of the Opportunity table." in wrong.content.decode()
    assert not CustomTrigger.objects.exists()

    done = marketer_client.post("/triggers/custom/new/", designer_post(record_table="lead", record_field="lead.email"))
    assert done.status_code == 302, done.content.decode()[-1500:]
    trigger = CustomTrigger.objects.get()
    assert (trigger.record_table, trigger.record_field) == ("lead", "email")
    edit = marketer_client.get(f"/triggers/custom/{trigger.pk}/edit/").content.decode()
    assert re.search(r'<option value="lead.email" selected>', edit)
    assert not re.search(r'<option value="contact.email" selected>', edit)


def test_the_test_event_starts_from_a_realistic_payload(marketer_client):
    page = marketer_client.get("/triggers/form.submitted/").content.decode()
    payload = json.loads(unescape(re.search(r'<textarea name="payload"[^>]*>(.*?)</textarea>', page, re.S).group(1)))
    assert payload["form"] == "brew-guide" and "text" not in payload.values()


def test_every_triggers_example_payload_passes_its_schema():
    for trigger in triggers.catalog():
        payload = example_payload(trigger)
        assert not triggers.field_errors(trigger.schema, payload), (trigger.key, payload)
        assert "text" not in payload.values(), trigger.key

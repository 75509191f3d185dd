"""Test mode: run the draft for a test person with a scripted timeline (triggers, opens, clicks)
on a simulated clock (`journeys.testmode.test_run`, rolled back: nothing is sent or kept), then
show the path taken, highlighted on the canvas."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from contacts.views.shared import HtmxHttpRequest
from journeys import catalog, testmode
from journeys.forms import MAX_TEST_STEPS, TestRunForm
from journeys.models import JourneyRun
from journeys.views.shared import load_journey, respond


@login_required
@permission_required("journeys.view_journey", raise_exception=True)
@require_http_methods(["GET", "POST"])
def test_mode(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    journey = load_journey(request, pk)
    if request.method == "GET":
        return respond(request, journey, panel="test", live=False)
    action = request.POST.get("action", "run")
    data = request.POST.copy()
    steps = int(data.get("steps", "0")) if data.get("steps", "0").isdigit() else 0
    if action == "add_step":
        data["steps"] = str(min(steps + 1, MAX_TEST_STEPS))
    elif action.startswith("remove_step:"):
        data = _without_step(data, int(action.split(":")[1]), steps)
    if action != "run":  # the same values, one step more or less, and no error messages yet
        count = int(data["steps"]) if data.get("steps", "").isdigit() else 0
        form = TestRunForm(initial=data.dict(), journey=journey, steps=count)
        return respond(request, journey, panel="test", test_form=form, live=False)
    form = TestRunForm(data, journey=journey)
    if not form.is_valid():
        return respond(request, journey, panel="test", test_form=form, live=False)
    try:
        # A copy: the simulation marks the journey it is given live (then rolls the database back).
        result = testmode.test_run(load_journey(request, pk), person=form.cleaned_data["person"], script=form.script(),
                                   now=timezone.now(), entry_payload=form.payload())
    except ValidationError as exc:
        problems = [f"{'' if where in ('journey', '__all__') else where + ': '}{m}"
                    for where, messages in getattr(exc, "message_dict", {"": exc.messages}).items() for m in messages]
        return respond(request, journey, panel="test", test_form=form, test_problems=problems, live=False)
    result["state_label"] = JourneyRun.State(result["state"]).label
    tiles = (journey.tiles or {}).get("tiles") or {}
    for entry in result["path"]:
        entry["label"] = catalog.label(tiles[entry["tile"]]) if entry["tile"] in tiles else ""
    highlighted = [*result["tiles"], *[e["tile"] for e in result["path"]]]
    return respond(request, journey, panel="test", test_form=form, result=result, path=highlighted, live=False)


def _without_step(data, index: int, steps: int):
    """The posted steps with step `index` taken out (the later ones move up)."""
    data = data.copy()
    for i in range(index, steps - 1):
        for name in ("days", "hours", "minutes", "what", "tile", "link"):
            data[f"step-{i}-{name}"] = data.get(f"step-{i + 1}-{name}", "")
    data["steps"] = str(max(steps - 1, 0))
    return data

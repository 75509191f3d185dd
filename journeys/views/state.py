"""The builder's state: loading a journey, who may edit it, the undo history in the session,
saving the draft, and whether the canvas shows the draft or the live version."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from contacts.views.shared import HtmxHttpRequest
from journeys import drafts
from journeys.models import Journey


def load_journey(request: HtmxHttpRequest, pk: int) -> Journey:
    return get_object_or_404(Journey.objects.select_related("entry_segment", "exit_segment", "goal_segment"), pk=pk)


def can_edit(request: HtmxHttpRequest, journey: Journey) -> bool:
    """A completed journey is read-only (clone it); a stopped one may be edited and go live again
    (`services.go_live` accepts a stopped journey)."""
    return request.user.has_perm("journeys.change_journey") and journey.status != Journey.Status.COMPLETED


ENTRY_LOCKED = "Entry of a live journey cannot change; clone it to start people differently."


def entry_locked(journey: Journey) -> bool:
    """A live or paused journey's entry (trigger, conditions, segment, mode, schedule) is not part
    of its versions (they hold the tiles), so it cannot change while people may enter."""
    return journey.status in (Journey.Status.LIVE, Journey.Status.PAUSED)


def require_editable(request: HtmxHttpRequest, journey: Journey) -> None:
    if not can_edit(request, journey):
        raise PermissionDenied("A completed journey cannot be edited; clone it instead.")


class History:
    """The undo stack of one journey's draft, kept in the user's session (nothing to migrate)."""

    def __init__(self, request: HtmxHttpRequest, journey: Journey):
        self.session, self.key = request.session, f"journey-undo:{journey.pk}"

    def get(self) -> list[Any]:
        return list(self.session.get(self.key, {}).get("stack", []))

    def last_action(self) -> str:
        return self.session.get(self.key, {}).get("last", "")

    def set(self, stack: list[Any], last: str = "") -> None:
        self.session[self.key] = {"stack": stack, "last": last}


def session_history(request: HtmxHttpRequest, journey: Journey) -> History:
    return History(request, journey)


def save_draft(request: HtmxHttpRequest, journey: Journey, doc: dict[str, Any], *, action: str) -> None:
    """Write the new draft and remember the old one for undo. Consecutive edits of one tile's
    settings (typing) are one change: only the state before the first is remembered."""
    require_editable(request, journey)
    history = session_history(request, journey)
    stack = history.get()
    if not (action.startswith("edit:") and history.last_action() == action and stack):
        stack = drafts.remember(stack, journey.tiles)
    history.set(stack, last=action)
    journey.tiles = copy.deepcopy(doc)
    journey.save(update_fields=["tiles", "updated_at"])


def draft_changed(journey: Journey) -> tuple[bool, int | None]:
    """Whether the draft tiles differ from the latest version's (always true before the first
    version), and that version's number."""
    latest = journey.versions.order_by("-number").values_list("number", "tiles").first()
    if latest is None:
        return True, None
    return drafts.normalized(journey.tiles) != drafts.normalized(latest[1]), latest[0]


def is_live_view(request: HtmxHttpRequest, journey: Journey) -> bool:
    wanted = request.GET.get("view") or request.POST.get("view")
    if wanted in ("live", "edit"):
        return wanted == "live" and journey.versions.exists()
    return journey.status != Journey.Status.DRAFT and journey.versions.exists()

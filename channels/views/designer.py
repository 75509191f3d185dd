"""The block designer, for an email's draft and for reusable content blocks.

Server-owned state: every add, edit, move and removal is saved at once, then the block list, the
problems panel and the preview are re-rendered (HTMX swaps them; without JavaScript the page
reloads). A block that would not compile, an unknown token or an invalid condition is saved all
the same and shown next to the block, so nothing typed is lost; only input that cannot even be
stored (a height that is not a number, JSON that does not parse) is refused, with the typed text
kept in the form. Blocks are addressed by position, with their type as a check that the draft was
not changed meanwhile in another window.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from channels import compose, services
from channels.forms import BLOCK_FORMS, BlockForm, TestSendForm
from channels.models import ContentBlock
from channels.views.drafts import (
    DEFAULT_BLOCKS,
    LABELS,
    Draft,
    block_problems,
    preview_context,
    preview_person,
    summary,
)
from contacts.views.shared import HtmxHttpRequest, wants_fragment

CONFLICT = "This draft was changed in another window; the designer now shows the saved version."


def block_form(block: Any, index: int, data: Any = None) -> BlockForm | None:
    form_class = BLOCK_FORMS.get(block.get("type")) if isinstance(block, dict) else None
    return form_class(data, prefix=f"b{index}", block=block) if form_class else None


def designer_context(request: HtmxHttpRequest, draft: Draft, *, open_index: int | None = None,
                     bound: BlockForm | None = None, notice: str = "", notice_ok: bool = True) -> dict[str, Any]:
    blocks = draft.blocks
    problems, broken = block_problems(draft, blocks)
    content_names = dict(ContentBlock.objects.values_list("key", "name"))
    items = []
    for index, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        items.append({
            "index": index, "number": index + 1, "type": kind, "label": LABELS.get(kind, "Unknown"),
            "summary": summary(block, content_names), "problems": problems[index],
            "conditional": bool(isinstance(block, dict) and block.get("condition")),
            "form": bound if bound is not None and open_index == index else block_form(block, index),
            "open": open_index == index, "left_out": index in broken,
            "first": index == 0, "last": index == len(blocks) - 1,
            "update_url": draft.url("block_update", index), "move_url": draft.url("block_move", index),
            "remove_url": draft.url("block_remove", index),
        })
    return {
        "draft": draft, "object": draft.obj, "items": items, "issues": draft.check(),
        "palette": [(kind, LABELS[kind]) for kind in compose.BLOCK_TYPES],
        **preview_context(draft, preview_person(request), now=timezone.now(), broken=broken),
        "notice": notice, "notice_ok": notice_ok, "changed": draft.published_changes(),
        "versions": draft.obj.versions.select_related("published_by").defer("html", "text", "blocks")
                    .order_by("-number")[:5] if draft.is_email else [],
        "test_form": TestSendForm() if draft.is_email else None,
    }


def _respond(request: HtmxHttpRequest, draft: Draft, *, notice: str, ok: bool = True, **context: Any) -> HttpResponse:
    if wants_fragment(request):
        return render(request, "channels/partials/designer_update.html",
                      designer_context(request, draft, notice=notice, notice_ok=ok, **context))
    if ok:
        messages.success(request, notice)
        return redirect(draft.url("design"))
    return render(request, "channels/designer.html",
                  designer_context(request, draft, notice=notice, notice_ok=ok, **context))


@login_required
@require_GET
def designer(request: HtmxHttpRequest, pk: int, kind: str) -> HttpResponse:
    draft = Draft.load(request, kind, pk, action="change")
    return render(request, "channels/designer.html", designer_context(request, draft))


@login_required
@require_POST
def block_add(request: HtmxHttpRequest, pk: int, kind: str) -> HttpResponse:
    draft = Draft.load(request, kind, pk, action="change")
    block_type = request.POST.get("type", "")
    if block_type not in DEFAULT_BLOCKS:
        return HttpResponseBadRequest("Unknown block type")
    block = copy.deepcopy(DEFAULT_BLOCKS[block_type])
    if block_type == "content_block":
        choices = ContentBlock.objects.order_by("name")
        if not draft.is_email:
            choices = choices.exclude(pk=draft.obj.pk)  # a block cannot include itself
        block["key"] = choices.values_list("key", flat=True).first() or ""
    blocks = draft.blocks
    blocks.append(block)
    draft.save(blocks)
    return _respond(request, draft, open_index=len(blocks) - 1, notice=f"{LABELS[block_type]} block added.")


def _block_at(draft: Draft, index: int, expected_type: str | None) -> tuple[list[Any], Any] | None:
    """The draft's blocks and block `index`, or None when it is gone or no longer of the posted type."""
    blocks = draft.blocks
    if not 0 <= index < len(blocks):
        return None
    block = blocks[index]
    actual = (block.get("type") if isinstance(block, dict) else None) or ""
    if expected_type is not None and actual != expected_type:
        return None
    return blocks, block


@login_required
@require_POST
def block_update(request: HtmxHttpRequest, pk: int, kind: str, index: int) -> HttpResponse:
    draft = Draft.load(request, kind, pk, action="change")
    found = _block_at(draft, index, request.POST.get("type", ""))
    if found is None:
        return _respond(request, draft, notice=CONFLICT, ok=False)
    blocks, block = found
    form = block_form(block, index, request.POST)
    if form is None:
        return HttpResponseBadRequest("This block type cannot be edited here")
    if not form.is_valid():
        return _respond(request, draft, open_index=index, bound=form, ok=False,
                        notice=f"Block {index + 1} was not saved: correct the highlighted field.")
    blocks[index] = form.to_block()
    draft.save(blocks)
    return _respond(request, draft, open_index=index, notice=f"Block {index + 1} saved.")


@login_required
@require_POST
def block_move(request: HtmxHttpRequest, pk: int, kind: str, index: int) -> HttpResponse:
    draft = Draft.load(request, kind, pk, action="change")
    found = _block_at(draft, index, request.POST.get("type", ""))
    if found is None:
        return _respond(request, draft, notice=CONFLICT, ok=False)
    blocks, block = found
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    if not 0 <= target < len(blocks):
        return _respond(request, draft, notice=f"Block {index + 1} cannot move further.", ok=False)
    blocks[index], blocks[target] = blocks[target], blocks[index]
    draft.save(blocks)
    return _respond(request, draft, notice=f"{LABELS.get(block.get('type'), 'Block')} moved to position {target + 1}.")


@login_required
@require_POST
def block_remove(request: HtmxHttpRequest, pk: int, kind: str, index: int) -> HttpResponse:
    draft = Draft.load(request, kind, pk, action="change")
    found = _block_at(draft, index, request.POST.get("type", ""))
    if found is None:
        return _respond(request, draft, notice=CONFLICT, ok=False)
    blocks, block = found
    del blocks[index]
    draft.save(blocks)
    label = LABELS.get(block.get("type") if isinstance(block, dict) else None, "Block")
    return _respond(request, draft, notice=f"{label} block removed.")


def publish_now(draft: Draft, user: Any) -> tuple[Any, list[str]]:
    """Publish through `services.publish`: (the new version, []) or (None, the problems)."""
    try:
        return services.publish(draft.obj, now=timezone.now(), user=user), []
    except ValidationError as exc:
        return None, [draft.readable(message) for message in exc.messages]

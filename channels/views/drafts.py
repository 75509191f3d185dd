"""What the block designer edits: an email's draft or a reusable content block, behind one small
interface (blocks, save, check, preview), and the per-block problems and summaries it shows.

A content block is checked and previewed as a transactional email that includes only it, so both
go through `services.check_email` and `services.preview` — the same code that guards publishing.
"""

from __future__ import annotations

import copy
import datetime
import logging
import re
from functools import cached_property
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.text import Truncator

from channels import compose, rendering, services, templating
from channels.models import BrandProfile, ContentBlock, Email
from contacts.models import Contact, CustomAttribute
from segments import services as segments

logger = logging.getLogger(__name__)
EMAIL, CONTENT_BLOCK = "email", "content_block"
PREVIEW_SESSION_KEY = "channels.preview_contact"
LABELS = {"heading": "Heading", "text": "Text", "image": "Image", "button": "Button", "divider": "Divider",
          "spacer": "Spacer", "columns": "Columns", "social": "Social links", "html": "HTML",
          "content_block": "Content block"}
DEFAULT_BLOCKS: dict[str, dict[str, Any]] = {
    "heading": {"type": "heading", "text": "Your headline", "level": 1},
    "text": {"type": "text", "html": "<p>Write your message here.</p>"},
    "image": {"type": "image", "src": "", "alt": ""},
    "button": {"type": "button", "text": "Learn more", "href": ""},
    "divider": {"type": "divider"},
    "spacer": {"type": "spacer", "height": 20},
    "columns": {"type": "columns", "columns": [[{"type": "text", "html": "<p>Left column</p>"}],
                                               [{"type": "text", "html": "<p>Right column</p>"}]]},
    "social": {"type": "social", "links": []},
    "html": {"type": "html", "html": "<p>Custom HTML</p>"},
    "content_block": {"type": "content_block", "key": ""},
}
PATH = re.compile(r"^block ((?:\[\d+\]|\.columns\[\d+\]|<[^>]*>)+):\s*(.*)$", re.S)
STEP = re.compile(r"\.columns\[(\d+)\]|\[(\d+)\]|<([^>]*)>")
# A draft is unfinished by nature: these are the ways building or rendering it can fail.
PREVIEW_FAILURES = (ValueError, LookupError, TypeError, AttributeError, ObjectDoesNotExist)


class Draft:
    """An email or a content block, as the designer sees it."""

    def __init__(self, obj: Email | ContentBlock):
        self.obj = obj
        self.kind = EMAIL if isinstance(obj, Email) else CONTENT_BLOCK
        self._brand: BrandProfile | None = None

    @classmethod
    def load(cls, request: HttpRequest, kind: str, pk: int, *, action: str) -> Draft:
        """The draft `pk` of `kind`, if the user may `action` ("view" or "change") it."""
        model = Email if kind == EMAIL else ContentBlock
        if not request.user.has_perm(f"channels.{action}_{model._meta.model_name}"):
            raise PermissionDenied
        objects = Email.objects.select_related("brand", "sender", "topic") if kind == EMAIL else ContentBlock.objects
        return cls(get_object_or_404(objects, pk=pk))

    @property
    def is_email(self) -> bool:
        return self.kind == EMAIL

    @property
    def blocks(self) -> list[Any]:
        blocks = self.obj.blocks
        return copy.deepcopy(blocks) if isinstance(blocks, list) else []

    def save(self, blocks: list[Any]) -> None:
        self.obj.blocks = blocks
        self.obj.save(update_fields=["blocks", "updated_at"])

    def url(self, name: str, *args: Any) -> str:
        prefix = "email" if self.is_email else "content_block"
        return reverse(f"channels:{prefix}_{name}", args=[self.obj.pk, *args])

    @cached_property
    def urls(self) -> dict[str, str]:
        """The designer's addresses for templates (per-block ones are made per block)."""
        urls = {name: self.url(route) for name, route in (
            ("design", "design"), ("add", "block_add"), ("preview", "preview"), ("panel", "preview_panel"),
            ("people", "preview_people"))}
        if self.is_email:
            urls |= {name: self.url(route) for name, route in (
                ("detail", "detail"), ("settings", "settings"), ("publish", "publish"), ("test", "send_test"))}
        else:
            urls["settings"] = self.url("edit")
        return urls

    @property
    def brand(self) -> BrandProfile:
        if self.is_email:
            return self.obj.brand
        if self._brand is None:
            self._brand = BrandProfile.objects.first() or BrandProfile(name="Preview")
        return self._brand

    def as_email(self) -> Email:
        """The email to check and preview: the draft itself, or a transactional one holding the block."""
        if self.is_email:
            return self.obj
        return Email(name=self.obj.name, key="content-block-preview", subject=self.obj.name, brand=self.brand,
                     purpose=Email.Purpose.TRANSACTIONAL, blocks=[{"type": "content_block", "key": self.obj.key}])

    def check(self) -> list[str]:
        """Everything that would stop publishing, in words a marketer reads."""
        return [self.readable(message) for message in services.check_email(self.as_email())]

    def readable(self, message: str) -> str:
        if not self.is_email:  # drop the wrapper's "block [0]<key>" from the path
            message = message.replace(f"block [0]<{self.obj.key}>", "block ", 1).replace("block  ", "block ")
        return readable(message)

    def preview(self, person: Contact | None, *, now: datetime.datetime,
                broken: set[int]) -> tuple[rendering.Rendered | None, str]:
        """The draft rendered for `person` without its `broken` blocks (those that cannot be built on
        their own), or None and why it cannot be shown at all."""
        kept = [block for index, block in enumerate(self.blocks) if index not in broken]
        if self.is_email:
            email = copy.copy(self.obj)
            email.blocks = kept
        else:  # the block's own blocks, inline, so the broken ones can be left out
            email = self.as_email()
            email.blocks = kept
        try:
            return services.preview(email, person=person, now=now), ""
        except PREVIEW_FAILURES as exc:
            logger.info("no preview of %s %s: %s", self.kind, self.obj.pk, exc)
            return None, self.readable(str(exc))

    def published_changes(self) -> bool | None:
        """Whether the draft differs from its latest published version (None: never published)."""
        if not self.is_email:
            return None
        latest = services.latest_version(self.obj)
        if latest is None:
            return None
        email = self.obj
        return (latest.subject, latest.preheader, latest.blocks) != (email.subject, email.preheader, email.blocks)


def readable(message: str) -> str:
    """'block [0].columns[1][0]: x' → 'Block 1, column 2, block 1: x'."""
    match = PATH.match(message)
    if not match:
        return message[:1].upper() + message[1:]
    words = []
    for column, index, key in STEP.findall(match.group(1)):
        if column:
            words.append(f"column {int(column) + 1}")
        elif index:
            words.append(f"block {int(index) + 1}")
        else:
            words.append(f"content block “{key}”")
    where = ", ".join(words)
    return f"{where[:1].upper()}{where[1:]}: {match.group(2)}"


def preview_person(request: HttpRequest) -> Contact | None:
    contact_id = request.session.get(PREVIEW_SESSION_KEY)
    if not contact_id:
        return None
    return Contact.objects.select_related("account").filter(pk=contact_id).first()


def preview_context(draft: Draft, person: Contact | None, *, now: datetime.datetime,
                    broken: set[int] | None = None) -> dict[str, Any]:
    if broken is None:
        broken = block_problems(draft, draft.blocks)[1]
    rendered, error = draft.preview(person, now=now, broken=broken)
    return {"rendered": rendered, "preview_error": error, "person": person,
            "left_out": sorted(index + 1 for index in broken)}


def block_problems(draft: Draft, blocks: list[Any]) -> tuple[list[list[str]], set[int]]:
    """What is wrong with each block on its own (compiling it, its tokens, its condition), and the
    positions of blocks that cannot be rendered at all, which the preview leaves out."""
    content_blocks = services.content_blocks()
    keys = set(CustomAttribute.objects.filter(entity="contact").values_list("key", flat=True))
    problems: list[list[str]] = []
    broken: set[int] = set()
    for index, block in enumerate(blocks):
        found: list[str] = []
        try:
            compose.to_mjml([block], brand=draft.brand, preheader="", commercial=False, content_blocks=content_blocks)
        except compose.ComposeError as exc:
            found.append(_within_block(str(exc)))
            broken.add(index)
        for text in services.block_strings(block):
            try:
                unknown = templating.unknown_tokens(templating.parse(text), attribute_keys=keys)
            except templating.TemplateError as exc:
                found.append(str(exc)[:1].upper() + str(exc)[1:])
                broken.add(index)
                continue
            found += [f"Unknown token {{{{ {path} }}}}" for path in unknown]
        condition = block.get("condition") if isinstance(block, dict) else None
        if condition:
            errors = segments.check_query(condition, audience="contact", allow_trigger=True)
            found += [f"Condition: {error}" for error in errors]
            broken |= {index} if errors else set()
        problems.append(found)
    return problems, broken


def _within_block(message: str) -> str:
    """A compile message about a block compiled alone, without the path to it."""
    message = re.sub(r"^block \[0\]:\s*", "", message)
    message = re.sub(r"^block \[0\]", "block", message)
    return readable(message) if message.startswith("block ") else message[:1].upper() + message[1:]


def summary(block: Any, content_names: dict[str, str]) -> str:
    """One line telling blocks apart in the list."""
    if not isinstance(block, dict):
        return "Not a block"
    kind = block.get("type")
    if kind in ("heading",):
        return str(block.get("text") or "Empty heading")
    if kind in ("text", "html"):
        return Truncator(strip_tags(str(block.get("html", ""))).strip()).chars(90) or "Empty"
    if kind == "image":
        return str(block.get("alt") or block.get("src") or "No image chosen")
    if kind == "button":
        return f"{block.get('text') or 'Button'} → {block.get('href') or 'no link yet'}"
    if kind == "divider":
        return "A thin horizontal line"
    if kind == "spacer":
        return f"{block.get('height', 20)} px of space"
    if kind == "columns":
        count = len(block.get("columns") or [])
        return f"{count} column{'s' if count != 1 else ''}"
    if kind == "social":
        names = [str(link.get("name", "")).title() for link in block.get("links") or [] if isinstance(link, dict)]
        return ", ".join(names) or "No links yet"
    if kind == "content_block":
        key = block.get("key") or ""
        return content_names.get(key, f"Missing content block “{key}”" if key else "No content block chosen")
    return f"Unknown block type {kind!r}"

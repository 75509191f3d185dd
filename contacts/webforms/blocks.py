"""Landing page blocks: what each kind holds, how it is checked, and its safe HTML.

A page is a list of blocks, each a dict with a `type`: heading, text, image, button or form.
Text is sanitized with nh3 when rendered, so a stored block can never inject script.
"""

from __future__ import annotations

from typing import Any

import nh3
from django.apps import apps

BLOCK_TYPES = {
    "heading": "Heading",
    "text": "Text",
    "image": "Image",
    "button": "Button",
    "form": "Form",
}
ALLOWED_TAGS = {"a", "b", "strong", "i", "em", "u", "p", "br", "ul", "ol", "li", "span", "h2", "h3", "h4",
                "blockquote", "hr", "sup", "sub"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "target"}, "*": {"class"}}
MAX_TEXT = 20_000


def sanitize(fragment: str) -> str:
    return nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"https", "http", "mailto", "tel"})


def _is_link(value: str, *, anchors: bool = False) -> bool:
    return value.startswith(("https://", "http://", "mailto:", "tel:", "/")) or (anchors and value.startswith("#"))


def block_errors(blocks: Any) -> list[str]:
    """Every problem of a page's blocks, as "block N: problem" lines."""
    if not isinstance(blocks, list):
        return ["blocks must be a list"]
    errors: list[str] = []
    slugs = set(apps.get_model("contacts", "WebForm").objects.values_list("slug", flat=True))
    for number, block in enumerate(blocks, start=1):
        where = f"block {number}"
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            errors.append(f"{where}: unknown block type {kind!r}; use one of {', '.join(BLOCK_TYPES)}")
            continue
        kind = block["type"]
        if kind == "heading":
            if not str(block.get("text", "")).strip():
                errors.append(f"{where}: a heading needs text")
            elif len(str(block["text"])) > 200:
                errors.append(f"{where}: a heading has at most 200 characters")
            if block.get("level", 1) not in (1, 2, 3):
                errors.append(f"{where}: heading level must be 1, 2 or 3")
        elif kind == "text":
            if not str(block.get("html", "")).strip():
                errors.append(f"{where}: a text block needs text")
            elif len(str(block["html"])) > MAX_TEXT:
                errors.append(f"{where}: a text block has at most {MAX_TEXT:,} characters")
        elif kind == "image":
            if not str(block.get("src", "")).startswith(("https://", "http://", "/")):
                errors.append(f"{where}: an image needs an http(s) address")
            if block.get("href") and not _is_link(str(block["href"]), anchors=True):
                errors.append(f"{where}: the image link must be a web address")
        elif kind == "button":
            if not str(block.get("text", "")).strip():
                errors.append(f"{where}: a button needs a label")
            if not _is_link(str(block.get("href", "")), anchors=True):
                errors.append(f"{where}: a button needs a link (https://…, /path or #form)")
        elif kind == "form" and block.get("form") not in slugs:
            errors.append(f"{where}: no form {block.get('form')!r}")
    return errors


def form_slugs(blocks: list[dict]) -> list[str]:
    return [b["form"] for b in blocks if isinstance(b, dict) and b.get("type") == "form" and b.get("form")]

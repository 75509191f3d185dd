"""Personalization tokens: `{{ contact.first_name | default: "there" }}`.

A template is split once into literal text and tokens; each recipient's copy is a join of the
parts with their values (HTML-escaped in HTML), which is what makes per-recipient rendering cheap.
Unknown tokens and malformed templates are reported when an email is saved, not when it is sent.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

TOKEN = re.compile(
    r"\{\{\s*(?P<path>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*"
    r"(?:\|\s*default\s*:\s*\"(?P<default>(?:[^\"\\]|\\.)*)\"\s*)?\}\}"
)
ANY_BRACES = re.compile(r"\{\{.*?\}\}|\{\{|\}\}", re.S)

CONTACT_FIELDS = {"first_name", "last_name", "full_name", "email", "phone", "job_title", "city", "state",
                  "country", "language", "company"}
ACCOUNT_FIELDS = {"name", "industry", "city", "country", "region", "website"}
SPECIAL = {"unsubscribe_url", "preferences_url", "view_in_browser_url"}
# Namespaces whose fields are free-form: the event payload and (later) event details.
OPEN_NAMESPACES = {"trigger", "event"}
INTERNAL_PREFIX = "__"  # link and open-pixel markers written by the compiler


@dataclass(frozen=True)
class Token:
    path: str
    default: str = ""


Part = str | Token


class TemplateError(ValueError):
    pass


def parse(text: str) -> list[Part]:
    """Split `text` into literal strings and tokens. TemplateError on stray or malformed braces."""
    parts: list[Part] = []
    position = 0
    for match in ANY_BRACES.finditer(text):
        token = TOKEN.fullmatch(match.group(0))
        if token is None:
            snippet = match.group(0)[:60]
            if snippet == "{{":  # unclosed: show what follows, up to the end of the line or tag
                snippet = re.split(r"[<\n]", text[match.start():match.start() + 60], maxsplit=1)[0].rstrip()
            raise TemplateError(f"malformed personalization token {snippet!r}: write {{{{ contact.first_name | "
                                f'default: "there" }}}}')
        parts.append(text[position:match.start()])
        default = token.group("default") or ""
        parts.append(Token(token.group("path"), default.replace('\\"', '"')))
        position = match.end()
    parts.append(text[position:])
    return [p for p in parts if p != ""]


def unknown_tokens(parts: Iterable[Part], *, attribute_keys: set[str]) -> list[str]:
    """Tokens that do not name a known value."""
    unknown = []
    for part in parts:
        if not isinstance(part, Token) or part.path.startswith(INTERNAL_PREFIX):
            continue
        namespace, _, rest = part.path.partition(".")
        if namespace in SPECIAL and not rest:
            continue
        if namespace in OPEN_NAMESPACES and rest:
            continue
        if namespace == "contact" and (rest in CONTACT_FIELDS or rest in attribute_keys):
            continue
        if namespace == "account" and rest in ACCOUNT_FIELDS:
            continue
        unknown.append(part.path)
    return unknown


def render(parts: Iterable[Part], values: Callable[[Token], Any], *, escape: bool) -> str:
    """Join the parts, each token replaced by its value (or default when empty)."""
    return "".join(render_pieces(parts, values, escape=escape))


def render_pieces(parts: Iterable[Part], values: Callable[[Token], Any], *, escape: bool) -> list[str]:
    """What `render` joins: the literal parts themselves (the same str objects) and each token's value."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values(part)
        if value is None or value == "":
            value = part.default
        # A list from a trigger payload (a cart's items) reads as "Kit, Beans", not as Python.
        text = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        if escape and not part.path.startswith(INTERNAL_PREFIX) and part.path not in SPECIAL:
            text = html.escape(text)
        out.append(text)
    return out


def person_values(person: Any, context: dict[str, Any]) -> Callable[[Token], Any]:
    """The value of a token for one recipient: profile, custom attributes, account, payload."""
    account = getattr(person, "account", None)
    attributes = getattr(person, "attributes", None) or {}

    def value(token: Token) -> Any:
        namespace, _, rest = token.path.partition(".")
        if namespace == "contact":
            if rest == "full_name":
                return person.full_name
            if rest in attributes:
                return attributes[rest]
            return getattr(person, rest, "") if rest in CONTACT_FIELDS else ""
        if namespace == "account":
            return getattr(account, rest, "") if account is not None else ""
        if namespace in OPEN_NAMESPACES:
            current: Any = context.get(namespace, {})
            for step in rest.split("."):
                current = current.get(step) if isinstance(current, dict) else None
            return current
        return context.get(token.path, "")

    return value

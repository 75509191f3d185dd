"""Per-recipient rendering of a published version: splice values into the pre-split parts.

MJML was compiled once at publish; here each recipient costs a join of strings, plus one
`segments.services.matches` per conditional block.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from channels import templating, tracking
from channels.models import Delivery, EmailVersion
from segments import services as segments

CONDITIONAL = re.compile(r"(?:<!--|\[\[)wm:if:(\d+)(?:-->|\]\])(.*?)(?:<!--|\[\[)wm:endif:\1(?:-->|\]\])", re.S)


@dataclass(frozen=True)
class Prepared:
    subject: list[templating.Part]
    preheader: list[templating.Part]
    html: list[templating.Part]
    text: list[templating.Part]
    links: tuple[str, ...]
    conditions: tuple[dict, ...]


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    # What `html` joins, literal parts being the version's own str objects, so a sender can cache
    # their encoding per version; empty when conditional blocks rewrote the joined HTML.
    html_pieces: tuple[str, ...] = ()


@lru_cache(maxsize=256)
def _prepare(version_id: int, _published_at: datetime.datetime) -> Prepared:
    version = EmailVersion.objects.get(pk=version_id)
    return prepare_version(version)


def prepare_version(version: EmailVersion) -> Prepared:
    return Prepared(
        subject=templating.parse(version.subject), preheader=templating.parse(version.preheader),
        html=templating.parse(version.html), text=templating.parse(version.text),
        links=tuple(version.links), conditions=tuple(version.conditions),
    )


def prepared(version: EmailVersion) -> Prepared:
    """The version split into parts, cached per process (versions never change once published)."""
    return _prepare(version.pk, version.published_at)


def _drop_false_conditions(text: str, keep: dict[int, bool]) -> str:
    def replace(match: re.Match) -> str:
        return match.group(2) if keep.get(int(match.group(1)), False) else ""

    return CONDITIONAL.sub(replace, text)


def render(prep: Prepared, *, person: Any, context: dict[str, Any], delivery_id: int | None,
           now: datetime.datetime, links: dict[str, str] | None = None) -> Rendered:
    """One recipient's subject, HTML and text. `delivery_id` None renders a preview (no tracking)."""
    person_value = templating.person_values(person, context)
    special = _special_values(prep, person, delivery_id) if links is None else links

    def value(token: templating.Token) -> Any:
        if token.path in special:
            return special[token.path]
        return person_value(token)

    html_pieces = tuple(templating.render_pieces(prep.html, value, escape=True))
    html = "".join(html_pieces)
    text = templating.render(prep.text, value, escape=False)
    if prep.conditions:
        keep = {i: segments.matches(query, person=person, payload=context.get("trigger"), now=now)
                for i, query in enumerate(prep.conditions)}
        html, text = _drop_false_conditions(html, keep), _drop_false_conditions(text, keep)
        html_pieces = ()
    subject = templating.render(prep.subject, value, escape=False)
    return Rendered(subject=subject.replace("\r", " ").replace("\n", " "), html=html, text=text,
                    html_pieces=html_pieces)


def _special_values(prep: Prepared, person: Any, delivery_id: int | None,
                    links: tracking.Links | None = None) -> dict[str, str]:
    links = links or tracking.Links()
    key = "contact_id" if person.__class__.__name__ == "Contact" else "lead_id"
    values = {"preferences_url": links.preferences_url(**{key: person.pk})}
    if delivery_id is None:
        values.update({f"__link.{i}": url for i, url in enumerate(prep.links)})
        values.update({"__open": "", "unsubscribe_url": values["preferences_url"], "view_in_browser_url": ""})
        return values
    values.update({f"__link.{i}": links.click_url(delivery_id, i) for i in range(len(prep.links))})
    values["__open"] = links.open_url(delivery_id)
    values["unsubscribe_url"] = links.unsubscribe_url(delivery_id)
    values["view_in_browser_url"] = ""
    return values


def render_delivery(delivery: Delivery, *, now: datetime.datetime, links: tracking.Links | None = None) -> Rendered:
    """One delivery's message; a batch passes one `links` for all its messages (see tracking.Links)."""
    prep = prepared(delivery.version)
    person = delivery.person
    return render(prep, person=person, context=delivery.context, delivery_id=delivery.pk, now=now,
                  links=_special_values(prep, person, delivery.pk, links))

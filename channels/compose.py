"""From blocks (stored as data) to MJML, then to inlined HTML with tracked links and a plain-text part.

MJML is generated from our own block model, never accepted raw (MRML compiles unknown tags
silently); raw HTML and text blocks are sanitized with nh3. Conditional blocks are wrapped in
markers that the per-recipient renderer keeps or drops.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import css_inline
import mjml
import nh3

BLOCK_TYPES = ["heading", "text", "image", "button", "divider", "spacer", "columns", "social", "html",
               "content_block"]
ALLOWED_TAGS = {"a", "b", "strong", "i", "em", "u", "p", "br", "ul", "ol", "li", "span", "h1", "h2", "h3",
                "h4", "blockquote", "table", "tr", "td", "th", "tbody", "thead", "img", "div", "hr", "sup", "sub"}
ALLOWED_ATTRIBUTES = {"*": {"style", "class", "align"}, "a": {"href", "title", "target"},
                      "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}}
SOCIAL_NETWORKS = {"facebook", "instagram", "linkedin", "twitter", "x", "youtube", "pinterest", "github"}
IF_MARK = "<!--wm:if:{n}-->"
END_MARK = "<!--wm:endif:{n}-->"
LINK = re.compile(r'(<a\b[^>]*?\bhref=")(https?://[^"]+)(")', re.I)
_inliner = css_inline.CSSInliner(load_remote_stylesheets=False)


class ComposeError(ValueError):
    """A block list that cannot become an email; the message says which block and why."""


def sanitize(fragment: str) -> str:
    return nh3.clean(fragment, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"https", "http", "mailto", "tel", "cid"})


def _wrap(content: str) -> str:
    """One full-width MJML section holding `content`."""
    return f"<mj-section><mj-column>{content}</mj-column></mj-section>"


def _attr(value: Any) -> str:
    return html.escape(str(value), quote=True)


@dataclass
class Composition:
    mjml: str
    conditions: list[dict] = field(default_factory=list)


class _Composer:
    def __init__(self, brand: Any, content_blocks: dict[str, list[dict]]):
        self.brand = brand
        self.content_blocks = content_blocks
        self.conditions: list[dict] = []
        self.expanding: set[str] = set()

    def blocks(self, blocks: Any, path: str) -> str:
        if not isinstance(blocks, list):
            raise ComposeError(f"{path or 'blocks'}: must be a list of blocks")
        return "".join(self.block(b, f"{path}[{i}]") for i, b in enumerate(blocks))

    def block(self, block: Any, path: str) -> str:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            raise ComposeError(f"block {path}: unknown block type {kind!r}")
        body = getattr(self, "_" + block["type"])(block, path)
        if block.get("condition"):
            index = len(self.conditions)
            self.conditions.append(block["condition"])
            body = (f"<mj-raw>{IF_MARK.format(n=index)}</mj-raw>{body}"
                    f"<mj-raw>{END_MARK.format(n=index)}</mj-raw>")
        return body

    def _section(self, content: str, padding: str = "10px 25px") -> str:
        return f'<mj-section><mj-column><mj-text padding="{padding}">{content}</mj-text></mj-column></mj-section>'

    def _heading(self, block: dict, path: str) -> str:
        level = block.get("level", 1)
        if level not in (1, 2, 3):
            raise ComposeError(f"block {path}: heading level must be 1, 2 or 3")
        size = {1: 28, 2: 22, 3: 18}[level]
        text = html.escape(str(block.get("text", "")), quote=False)
        heading = f'<h{level} style="margin:0;font-size:inherit;line-height:1.25">{text}</h{level}>'
        return _wrap(f'<mj-text font-size="{size}px" font-weight="700" padding="10px 25px">{heading}</mj-text>')

    def _text(self, block: dict, path: str) -> str:
        return self._section(sanitize(str(block.get("html", ""))))

    def _html(self, block: dict, path: str) -> str:
        return _wrap(f"<mj-raw>{sanitize(str(block.get('html', '')))}</mj-raw>")

    def _image(self, block: dict, path: str) -> str:
        src = str(block.get("src", ""))
        if not src.startswith(("https://", "http://")):
            raise ComposeError(f"block {path}: an image needs an http(s) address")
        href = f' href="{_attr(block["href"])}"' if block.get("href") else ""
        return (f'<mj-section><mj-column><mj-image src="{_attr(src)}" alt="{_attr(block.get("alt", ""))}"{href} />'
                "</mj-column></mj-section>")

    def _button(self, block: dict, path: str) -> str:
        href = str(block.get("href", ""))
        if not (href.startswith(("https://", "http://", "mailto:")) or href.startswith("{{")):
            raise ComposeError(f"block {path}: a button needs a link (https://…)")
        color = _attr(block.get("color") or getattr(self.brand, "primary_color", "#4f46e5"))
        return (f'<mj-section><mj-column><mj-button href="{_attr(href)}" background-color="{color}">'
                f'{html.escape(str(block.get("text", "Open")), quote=False)}</mj-button></mj-column></mj-section>')

    def _divider(self, block: dict, path: str) -> str:
        return _wrap('<mj-divider border-width="1px" border-color="#e5e7eb" />')

    def _spacer(self, block: dict, path: str) -> str:
        height = block.get("height", 20)
        if not isinstance(height, int) or not 0 < height <= 200:
            raise ComposeError(f"block {path}: spacer height must be 1–200 pixels")
        return _wrap(f'<mj-spacer height="{height}px" />')

    def _columns(self, block: dict, path: str) -> str:
        columns = block.get("columns")
        if not isinstance(columns, list) or not 1 <= len(columns) <= 4:
            raise ComposeError(f"block {path}: columns need 1 to 4 columns")
        inner = []
        for i, column in enumerate(columns):
            body = self.blocks(column, f"{path}.columns[{i}]")
            # Nested blocks are sections; inside a column keep only their columns' content.
            body = re.sub(r"</?mj-section>|</?mj-column>", "", body)
            inner.append(f"<mj-column>{body}</mj-column>")
        return f"<mj-section>{''.join(inner)}</mj-section>"

    def _social(self, block: dict, path: str) -> str:
        links = block.get("links") or []
        items = []
        for link in links:
            if not isinstance(link, dict) or link.get("name") not in SOCIAL_NETWORKS:
                raise ComposeError(f"block {path}: social links are one of {', '.join(sorted(SOCIAL_NETWORKS))}")
            items.append(f'<mj-social-element name="{_attr(link["name"])}" href="{_attr(link.get("href", ""))}">'
                         f"{html.escape(link['name'].title())}</mj-social-element>")
        return _wrap(f'<mj-social mode="horizontal">{"".join(items)}</mj-social>')

    def _content_block(self, block: dict, path: str) -> str:
        key = block.get("key")
        if key not in self.content_blocks:
            raise ComposeError(f"block {path}: no content block {key!r}")
        if key in self.expanding:
            raise ComposeError(f"block {path}: content block {key!r} includes itself")
        self.expanding.add(key)
        try:
            return self.blocks(self.content_blocks[key], f"{path}<{key}>")
        finally:
            self.expanding.discard(key)


def footer(brand: Any, *, commercial: bool) -> str:
    lines = [html.escape(brand.footer_text)] if brand.footer_text else []
    lines.append(html.escape(brand.postal_address))
    if commercial:
        lines.append('<a href="{{ preferences_url }}">Email preferences</a> · '
                     '<a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    return ('<mj-section><mj-column><mj-text font-size="12px" color="#6b7280" align="center">'
            + "<br>".join(lines) + "</mj-text></mj-column></mj-section>")


def to_mjml(blocks: list[dict], *, brand: Any, preheader: str, commercial: bool,
            content_blocks: dict[str, list[dict]]) -> Composition:
    composer = _Composer(brand, content_blocks)
    body = composer.blocks(blocks, "")
    logo = (f'<mj-section><mj-column><mj-image src="{_attr(brand.logo_url)}" width="140px" alt="{_attr(brand.name)}" />'
            "</mj-column></mj-section>") if brand.logo_url else ""
    document = (
        "<mjml><mj-head>"
        f"<mj-attributes><mj-all font-family=\"{_attr(brand.font_family)}\" color=\"{_attr(brand.text_color)}\" />"
        "</mj-attributes>"
        + (f"<mj-preview>{html.escape(preheader)}</mj-preview>" if preheader else "")
        + f'</mj-head><mj-body background-color="{_attr(brand.background_color)}">'
        + logo + body + footer(brand, commercial=commercial) + "</mj-body></mjml>"
    )
    return Composition(document, composer.conditions)


def to_html(document: str) -> str:
    """Compile MJML (no web fonts fetched), inline the CSS, add the open pixel."""
    try:
        compiled = mjml.mjml2html(document, fonts={})
    except ValueError as exc:
        raise ComposeError(f"the email could not be compiled: {exc}") from None
    inlined = _inliner.inline(compiled)
    pixel = '<img src="{{ __open }}" width="1" height="1" alt="" style="display:block;border:0" />'
    return inlined.replace("</body>", pixel + "</body>", 1) if "</body>" in inlined else inlined + pixel


def track_links(document: str) -> tuple[str, list[str]]:
    """Replace each http(s) link with a numbered marker; return the HTML and the links by number."""
    links: list[str] = []

    def replace(match: re.Match) -> str:
        url = html.unescape(match.group(2))
        if "{{" in url:  # a personalized link (unsubscribe, preferences) is not tracked
            return match.group(0)
        links.append(url)
        return f"{match.group(1)}{{{{ __link.{len(links) - 1} }}}}{match.group(3)}"

    return LINK.sub(replace, document), links


def to_text(document: str) -> str:
    """A readable plain-text alternative from the compiled HTML."""
    body = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", document)
    body = re.sub(r"<!--(wm:(?:if|endif):\d+)-->", r"[[\1]]", body)  # conditional markers survive
    body = re.sub(r'(?is)<a\b[^>]*href="([^"]+)"[^>]*>(.*?)</a>', lambda m: f"{m.group(2)} ({m.group(1)})", body)
    body = re.sub(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|table)>", "\n", body)
    body = re.sub(r"(?s)<[^>]+>", "", body)
    body = html.unescape(body)
    lines = [line.strip() for line in body.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"

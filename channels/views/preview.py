"""The designer's preview: as a chosen contact (or a sample person), HTML at desktop and phone width
and the plain-text alternative, as a standalone document, and "send a test".

A test send renders the current draft through `channels.rendering` and hands it to Django's mail
connection: no consent check, no Delivery row, no tracking, and the unsubscribe and preference
links made inert (a colleague must not get the previewed contact's preference centre).
"""

from __future__ import annotations

import datetime
import smtplib
from email.utils import formataddr, make_msgid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from channels import mail, queries, rendering, services
from channels.forms import TestSendForm
from channels.models import Email, EmailVersion
from channels.views.drafts import EMAIL, PREVIEW_FAILURES, PREVIEW_SESSION_KEY, Draft, preview_context, preview_person
from contacts.models import Contact
from contacts.views.shared import HtmxHttpRequest

INERT_LINK = "#link-disabled-in-test"
# The standalone preview is the marketer's own content, but shown on our origin: no scripts, ever.
PREVIEW_CSP = "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src http: https: data:; " \
              "style-src 'unsafe-inline'"


def _choose_person(request: HtmxHttpRequest) -> Contact | None:
    """`?contact=<id>` picks who the preview is for (kept in the session); `?contact=` resets it."""
    if "contact" in request.GET:
        contact = Contact.objects.filter(pk=request.GET["contact"]).first() \
            if request.GET["contact"].isdigit() else None
        request.session[PREVIEW_SESSION_KEY] = contact.pk if contact else None
    return preview_person(request)


@login_required
@require_GET
def preview_panel(request: HtmxHttpRequest, pk: int, kind: str) -> HttpResponse:
    draft = Draft.load(request, kind, pk, action="view")
    context = preview_context(draft, _choose_person(request), now=timezone.now())
    return render(request, "channels/partials/preview_pick.html", {"draft": draft, **context})


@login_required
@require_GET
def preview_document(request: HtmxHttpRequest, pk: int, kind: str) -> HttpResponse:
    """The preview as its own page (`?format=text` for the plain-text part)."""
    draft = Draft.load(request, kind, pk, action="view")
    context = preview_context(draft, _choose_person(request), now=timezone.now())
    rendered = context["rendered"]
    if rendered is None:
        return HttpResponse(f"No preview yet: {context['preview_error']}", status=422,
                            content_type="text/plain; charset=utf-8")
    if request.GET.get("format") == "text":
        response = HttpResponse(f"Subject: {rendered.subject}\n\n{rendered.text}",
                                content_type="text/plain; charset=utf-8")
    else:
        response = HttpResponse(rendered.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = PREVIEW_CSP
    return response


@login_required
@require_GET
def preview_people(request: HtmxHttpRequest, pk: int, kind: str) -> HttpResponse:
    draft = Draft.load(request, kind, pk, action="view")
    query = request.GET.get("q", "")
    return render(request, "channels/partials/preview_people.html",
                  {"draft": draft, "people": queries.search_contacts(query), "query": query.strip()})


def render_test(email: Email, person: Contact | None, *, now: datetime.datetime) -> rendering.Rendered:
    """The draft as `person` sees it, with real link targets and inert unsubscribe links."""
    composition, html, text, links = services.build(email)
    version = EmailVersion(subject=email.subject, preheader=email.preheader, html=html, text=text, links=links,
                           conditions=composition.conditions)
    values = {f"__link.{i}": url for i, url in enumerate(links)}
    values |= {"__open": "", "unsubscribe_url": INERT_LINK, "preferences_url": INERT_LINK, "view_in_browser_url": ""}
    sample = person or Contact(first_name="", last_name="", email="preview@example.com")
    return rendering.render(rendering.prepare_version(version), person=sample, context={}, delivery_id=None,
                            now=now, links=values)


def send_test_message(email: Email, rendered: rendering.Rendered, *, to: str) -> None:
    sender = email.sender
    message = EmailMultiAlternatives(
        subject=f"[Test] {rendered.subject}", body=rendered.text, to=[to],
        from_email=formataddr((sender.from_name, sender.from_email)),
        reply_to=[sender.reply_to] if sender.reply_to else None,
        headers={"Message-ID": make_msgid(domain=sender.domain), "X-Waymark-Test": email.key},
    )
    message.attach_alternative(rendered.html, "text/html")
    connection = get_connection(fail_silently=False)
    if not (isinstance(connection, SMTPBackend) and sender.dkim_selector and sender.dkim_private_key):
        connection.send_messages([message])
        return
    raw = mail.dkim_sign(message.message().as_bytes(linesep="\r\n"), selector=sender.dkim_selector,
                         domain=sender.domain, private_key=sender.dkim_private_key)
    connection.open()
    try:
        connection.connection.sendmail(sender.from_email, [to], raw)
    finally:
        connection.close()


@login_required
@require_POST
def send_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    draft = Draft.load(request, EMAIL, pk, action="change")
    form = TestSendForm(request.POST)
    result, ok = "", False
    if form.is_valid():
        to = form.cleaned_data["to"]
        person = preview_person(request)
        try:
            send_test_message(draft.obj, render_test(draft.obj, person, now=timezone.now()), to=to)
            result, ok = f"Test sent to {to}" + (f", personalized for {person}." if person else "."), True
        except PREVIEW_FAILURES as exc:
            result = f"Not sent: the email cannot be built yet ({draft.readable(str(exc))})."
        except (OSError, smtplib.SMTPException) as exc:
            result = f"Not sent: the mail server did not accept it ({exc})."
    if not request.htmx:
        (messages.success if ok else messages.error)(request, result or "Enter a valid email address.")
        return redirect(draft.url("design"))
    return render(request, "channels/partials/test_send.html",
                  {"draft": draft, "test_form": form, "test_result": result, "test_ok": ok})

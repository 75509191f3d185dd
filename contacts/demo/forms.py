"""Demo forms and a landing page: the French Press Brew Guide (guide download with newsletter
consent and double opt-in) and Request a catering quote (a lead form), on a Contoso Coffee page.

Idempotent: everything is found by its slug or key and created only when missing, so running the
seeder again (or on a database seeded before forms existed) adds what is new and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from channels import services as channels
from channels.models import BrandProfile, Email, SenderProfile
from contacts.demo import catalog
from contacts.models import Channel, FormConsent, FormField, LandingPage, Topic, WebForm
from contacts.webforms import services

BREW_GUIDE = "french-press-brew-guide"
CATERING = "catering-quote"
PAGE = "french-press-guide"
CONFIRMATION_EMAIL = "brew-guide-confirmation"
NEWSLETTER_WORDING = ("Yes, send me the Contoso Coffee newsletter by email: recipes, new blends and offers, "
                      "about once a month. I can unsubscribe at any time.")
K = FormField.Kind


def ensure_brand() -> tuple[SenderProfile, BrandProfile]:
    sender, _ = SenderProfile.objects.get_or_create(
        name="Contoso Coffee", defaults={"from_name": "Contoso Coffee", "from_email": "hello@contoso-coffee.example",
                                         "reply_to": "care@contoso-coffee.example"})
    brand, _ = BrandProfile.objects.get_or_create(
        name="Contoso Coffee", defaults={"primary_color": "#8a4b2a", "text_color": "#2b1d16",
                                         "background_color": "#f7f1ea", "font_family": "Georgia, serif",
                                         "footer_text": "Contoso Coffee Roasters · Roasted in Seattle since 1998",
                                         "postal_address": "1 Bean Street, Seattle, WA 98101"})
    return sender, brand


def ensure_confirmation_email(sender: SenderProfile, brand: BrandProfile, *, now: datetime) -> Email:
    email, created = Email.objects.get_or_create(key=CONFIRMATION_EMAIL, defaults={
        "name": "Brew guide: confirm your subscription", "subject": "Please confirm your subscription",
        "sender": sender, "brand": brand, "purpose": Email.Purpose.TRANSACTIONAL,
        "blocks": [
            {"type": "heading", "text": "One click to confirm"},
            {"type": "text", "html": '<p>Hi {{ contact.first_name | default: "there" }}, thanks for downloading the '
                                     "French Press Brew Guide. Please confirm that you would like our newsletter."
                                     "</p>"},
            {"type": "button", "text": "Confirm my subscription", "href": "{{ trigger.confirm_url }}"},
            {"type": "text", "html": "<p>If you did not ask for this, ignore this email: we will not write again."
                                     "</p>"},
        ],
    })
    if created or not email.versions.exists():
        channels.publish(email, now=now)
    return email


def _fields(form: WebForm, specs: list[dict]) -> None:
    for position, spec in enumerate(specs):
        FormField.objects.get_or_create(form=form, key=spec["key"], defaults={**spec, "position": position})


def ensure_forms(*, now: datetime) -> dict[str, object]:
    """The two demo forms and the landing page, created if missing."""
    sender, brand = ensure_brand()
    confirmation = ensure_confirmation_email(sender, brand, now=now)
    newsletter, _ = Topic.objects.get_or_create(
        key="newsletter", defaults={"name": "Newsletter", "description": "Recipes, blends and stories, monthly"})
    guide, _ = WebForm.objects.get_or_create(slug=BREW_GUIDE, defaults={
        "name": "French Press Brew Guide", "status": WebForm.Status.LIVE, "title": "Get the French Press Brew Guide",
        "intro": "Twelve pages on grind, ratio and timing for a better cup, free by email.",
        "submit_label": "Send me the guide", "matching": WebForm.Matching.CONTACT_THEN_LEAD,
        "creates": WebForm.Creates.LEAD, "double_opt_in": True, "confirmation_email": confirmation, "brand": brand,
        "success_message": f"Thank you! Download your guide here: {catalog.SITE}/guides/french-press.pdf",
    })
    _fields(guide, [
        {"key": "email", "label": "Email", "kind": K.EMAIL, "maps_to": "email", "required": True,
         "placeholder": "you@example.com"},
        {"key": "first_name", "label": "First name", "kind": K.TEXT, "maps_to": "first_name", "max_length": 100},
    ])
    if not guide.consents.exists():
        FormConsent.objects.create(form=guide, channel=Channel.EMAIL, topic=newsletter, wording=NEWSLETTER_WORDING)
    catering, _ = WebForm.objects.get_or_create(slug=CATERING, defaults={
        "name": "Request a catering quote", "status": WebForm.Status.LIVE, "title": "Request a catering quote",
        "intro": "Coffee bar, baristas and pastries for your event. We answer within one working day.",
        "submit_label": "Request my quote", "matching": WebForm.Matching.LEAD, "creates": WebForm.Creates.LEAD,
        "brand": brand, "success_message": "Thank you! Our catering team will send your quote within one working day.",
    })
    _fields(catering, [
        {"key": "company", "label": "Company", "kind": K.TEXT, "maps_to": "company", "required": True,
         "max_length": 200},
        {"key": "first_name", "label": "First name", "kind": K.TEXT, "maps_to": "first_name", "required": True,
         "max_length": 100},
        {"key": "last_name", "label": "Last name", "kind": K.TEXT, "maps_to": "last_name", "required": True,
         "max_length": 100},
        {"key": "email", "label": "Work email", "kind": K.EMAIL, "maps_to": "email", "required": True},
        {"key": "phone", "label": "Phone", "kind": K.PHONE, "maps_to": "phone"},
        {"key": "guests", "label": "Number of guests", "kind": K.NUMBER, "required": True, "min_value": 10,
         "max_value": 2000, "help_text": "From 10 to 2,000"},
        {"key": "event_date", "label": "Date of the event", "kind": K.DATE, "required": True},
        {"key": "message", "label": "Anything we should know?", "kind": K.TEXTAREA, "max_length": 2000},
        {"key": "campaign", "label": "Campaign", "kind": K.HIDDEN, "default_value": "catering-2026"},
    ])
    page, created = LandingPage.objects.get_or_create(slug=PAGE, defaults={
        "name": "French press guide", "title": "The French Press Brew Guide · Contoso Coffee", "brand": brand,
        "description": "A free guide to brewing better coffee with a French press.",
        "blocks": [
            {"type": "heading", "text": "Brew a better French press", "level": 1},
            {"type": "text", "html": "<p>Our roasters wrote down everything they know about the French press: "
                                     "<strong>grind size, ratio, water temperature and timing</strong>, with a "
                                     "printable cheat sheet.</p>"},
            {"type": "image", "src": f"{catalog.SITE}/img/french-press.jpg", "alt": "A French press on a table"},
            {"type": "form", "form": BREW_GUIDE},
            {"type": "button", "text": "Shop French press coffee", "href": f"{catalog.SITE}/shop/french-press"},
        ],
    })
    if created:
        services.publish_page(page, now=now)
    return {"brew_guide": guide, "catering": catering, "page": page, "confirmation_email": confirmation}

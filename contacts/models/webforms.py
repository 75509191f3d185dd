"""Marketing forms, their fields and consent checkboxes, every accepted submission, and landing pages.

A form is designed in the marketer UI and hosted at /f/<slug>/; a submission becomes a person
(matched by email or created), their consent and a "form submitted" interaction. Landing pages at
/p/<slug>/ are blocks (heading, text, image, button, form) in a brand profile's look.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from contacts.models.consent import Channel, DoubleOptIn, Topic
from contacts.models.people import CustomAttribute
from contacts.models.person_ref import PersonRef
from contacts.webforms import blocks

# Person fields a form field may fill, with the record types that have them.
PERSON_FIELDS = {
    "email": ("contact", "lead"), "first_name": ("contact", "lead"), "last_name": ("contact", "lead"),
    "phone": ("contact", "lead"), "job_title": ("contact", "lead"), "country": ("contact", "lead"),
    "state": ("contact", "lead"), "city": ("contact", "lead"), "language": ("contact", "lead"),
    "company": ("lead",), "topic": ("lead",), "birthday": ("contact",),
}
ATTRIBUTE_PREFIX = "attributes."


class WebForm(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        CLOSED = "closed", "Closed"

    class Matching(models.TextChoices):
        CONTACT_THEN_LEAD = "contact_then_lead", "A contact with that email, else a lead with it"
        CONTACT = "contact", "Contacts only"
        LEAD = "lead", "Leads only"
        NONE = "none", "Never match: every submission creates a new record"

    class Creates(models.TextChoices):
        LEAD = "lead", "A lead"
        CONTACT = "contact", "A contact"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True, help_text="The form's address: /f/<slug>/")
    description = models.CharField(max_length=300, blank=True, help_text="Internal note for marketers")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    title = models.CharField(max_length=200, blank=True, help_text="Heading shown above the fields")
    intro = models.TextField(blank=True, help_text="Text shown under the heading")
    submit_label = models.CharField(max_length=60, default="Submit")
    matching = models.CharField(
        max_length=20, choices=Matching.choices, default=Matching.CONTACT_THEN_LEAD,
        help_text="How a submission finds an existing person by email",
    )
    creates = models.CharField(max_length=10, choices=Creates.choices, default=Creates.LEAD,
                               help_text="What a submission creates when no one matches")
    success_message = models.TextField(default="Thank you! We have received your details.")
    redirect_url = models.URLField(blank=True, help_text="Instead of the thank-you message, go to this page")
    double_opt_in = models.BooleanField(
        default=False, help_text="Consent given on this form counts only after the person clicks the link "
        "in a confirmation email",
    )
    confirmation_email = models.ForeignKey(
        "channels.Email", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="A published transactional email whose button links to {{ trigger.confirm_url }}",
    )
    brand = models.ForeignKey("channels.BrandProfile", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="Colours and logo of the hosted form")
    embed_origins = models.TextField(
        blank=True, help_text="Sites that may embed and post this form, one origin a line "
        "(https://www.example.com). Empty: any site.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "form"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("webforms:form_detail", args=[self.pk])

    def clean(self) -> None:
        errors = {}
        if self.double_opt_in and not self.confirmation_email_id:
            errors["confirmation_email"] = "Double opt-in needs a confirmation email."
        elif self.confirmation_email_id and self.confirmation_email.commercial:
            errors["confirmation_email"] = ("The confirmation email must be transactional: the person has "
                                            "not confirmed consent when it is sent.")
        elif self.confirmation_email_id and not self.confirmation_email.versions.exists():
            errors["confirmation_email"] = "Publish the confirmation email first."
        bad = [o for o in self.origins() if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d+)?", o)]
        if bad:
            errors["embed_origins"] = f"Not an origin (scheme://host[:port]): {', '.join(bad)}"
        if errors:
            raise ValidationError(errors)

    def public_url(self) -> str:
        return reverse("webforms:public_form", args=[self.slug])

    def origins(self) -> list[str]:
        return [line.strip().rstrip("/") for line in self.embed_origins.splitlines() if line.strip()]

    @property
    def accepts_submissions(self) -> bool:
        return self.status == self.Status.LIVE


class FormField(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        MULTI_CHOICE = "multi_choice", "Multiple choice"
        CHECKBOX = "checkbox", "Checkbox"
        HIDDEN = "hidden", "Hidden"
        TEXTAREA = "textarea", "Long text"

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(max_length=60, help_text="Name in the submission and the trigger payload")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=15, choices=Kind.choices, default=Kind.TEXT)
    maps_to = models.CharField(
        max_length=80, blank=True,
        help_text="Person field or custom attribute (attributes.<key>) it fills; empty: kept on the submission only",
    )
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=300, blank=True)
    placeholder = models.CharField(max_length=200, blank=True)
    choices = models.JSONField(default=list, blank=True, help_text="For choice fields: the options")
    default_value = models.CharField(max_length=500, blank=True, help_text="Initial value; hidden fields send it")
    max_length = models.PositiveIntegerField(null=True, blank=True, help_text="Most characters accepted")
    min_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    max_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    pattern = models.CharField(max_length=200, blank=True, help_text="Regular expression the value must match")
    pattern_message = models.CharField(max_length=200, blank=True, help_text="Shown when the pattern fails")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "key"], name="form_field_key_unique")]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind in (self.Kind.CHOICE, self.Kind.MULTI_CHOICE):
            if not isinstance(self.choices, list) or not self.choices or not all(
                isinstance(c, str) and c.strip() for c in self.choices
            ):
                errors["choices"] = "A choice field needs at least one option."
        elif self.choices:
            errors["choices"] = "Only choice fields have options."
        if self.maps_to and self.maps_to not in PERSON_FIELDS and not self.maps_to.startswith(ATTRIBUTE_PREFIX):
            errors["maps_to"] = f"Unknown person field {self.maps_to!r}."
        if self.maps_to == "email" and self.kind not in (self.Kind.EMAIL, self.Kind.HIDDEN):
            errors["kind"] = "The field mapped to email must be an email field."
        if self.maps_to == "birthday" and self.kind not in (self.Kind.DATE, self.Kind.HIDDEN):
            errors["kind"] = "The field mapped to birthday must be a date field."
        if self.maps_to.startswith(ATTRIBUTE_PREFIX) and "maps_to" not in errors:
            problem = self._attribute_problem()
            if problem:
                errors["maps_to"] = problem
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                errors["pattern"] = f"Not a valid regular expression: {exc}"
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            errors["max_value"] = "The largest value is below the smallest."
        if errors:
            raise ValidationError(errors)


    def _attribute_problem(self) -> str:
        """Why this field cannot fill the custom attribute it names, or ""."""
        key = self.maps_to.removeprefix(ATTRIBUTE_PREFIX)
        attributes = list(CustomAttribute.objects.filter(key=key))
        if not attributes:
            return f"No custom attribute {key!r}."
        K = self.Kind
        fits = {"text": {K.TEXT, K.TEXTAREA, K.EMAIL, K.PHONE, K.CHOICE, K.HIDDEN}, "number": {K.NUMBER, K.HIDDEN},
                "boolean": {K.CHECKBOX, K.HIDDEN}, "date": {K.DATE, K.HIDDEN}, "choice": {K.CHOICE, K.HIDDEN}}
        for attribute in attributes:
            if self.kind not in fits.get(attribute.type, set()):
                return (f"A {self.get_kind_display().lower()} field cannot fill “{attribute.label}” "
                        f"({attribute.get_type_display().lower()}).")
            if attribute.type == "choice" and self.kind == K.CHOICE:
                unknown = [c for c in self.choices if c not in attribute.choices]
                if unknown:
                    return f"“{attribute.label}” does not allow {', '.join(unknown)}."
        return ""


class FormConsent(models.Model):
    """A consent checkbox: ticking it opts the person in on the channel (and topic) with this wording."""

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    wording = models.TextField(help_text="The exact text beside the checkbox; stored with every submission")
    required = models.BooleanField(default=False, help_text="The form cannot be sent without ticking it")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "consent checkbox"

    def __str__(self) -> str:
        scope = f"{self.get_channel_display()} / {self.topic}" if self.topic_id else self.get_channel_display()
        return f"{scope}: {self.wording[:60]}"


class FormSubmission(PersonRef):
    """One accepted submission: the values as sent, the consent wording shown, and who it became."""

    form = models.ForeignKey(WebForm, on_delete=models.PROTECT, related_name="submissions")
    email = models.CharField(max_length=254, blank=True, db_index=True)
    values = models.JSONField(default=dict, blank=True)
    consents = models.JSONField(default=list, blank=True,
                                help_text="Each checkbox: channel, topic, the wording shown and whether ticked")
    created_person = models.BooleanField(default=False, help_text="No one matched; the submission created them")
    double_opt_in = models.CharField(max_length=14, choices=DoubleOptIn.choices, default=DoubleOptIn.NOT_REQUIRED,
                                     help_text="Whether the consent given still awaits the confirmation link")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    page_url = models.CharField(max_length=2000, blank=True, help_text="Where the form was filled in")
    client_key = models.CharField(max_length=64, null=True, blank=True, unique=True,
                                  help_text="The rendered form's nonce: a double click stores one submission")
    submitted_at = models.DateTimeField(db_index=True)

    class Meta(PersonRef.Meta):
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["form", "submitted_at"], name="submission_form_time")]

    def __str__(self) -> str:
        return f"{self.form} · {self.email or 'no email'} · {self.submitted_at:%Y-%m-%d %H:%M}"

    @property
    def trigger_key(self) -> str:
        return f"form-submission:{self.pk}"


class LandingPage(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True, help_text="The page's address: /p/<slug>/")
    title = models.CharField(max_length=200, help_text="Browser tab and search result title")
    description = models.CharField(max_length=300, blank=True, help_text="Search result description")
    brand = models.ForeignKey("channels.BrandProfile", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    blocks = models.JSONField(default=list, blank=True, help_text="The draft: heading, text, image, button, form")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    published_blocks = models.JSONField(default=list, blank=True, help_text="What visitors see")
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("webforms:page_detail", args=[self.pk])

    def clean(self) -> None:
        errors = blocks.block_errors(self.blocks)
        if errors:
            raise ValidationError({"blocks": errors})

    def public_url(self) -> str:
        return reverse("webforms:public_page", args=[self.slug])

    @property
    def has_unpublished_changes(self) -> bool:
        return self.status == self.Status.DRAFT or self.blocks != self.published_blocks

"""The people tables: accounts, contacts, leads, opportunities and custom attribute definitions."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from contacts.validation import is_valid_time_zone, validate_attributes


class LowercaseEmailField(models.EmailField):
    """An email stored lower-cased on every write path, bulk_create and update() included."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value.strip().lower() if isinstance(value, str) else value

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().lower() if isinstance(value, str) else value


class TrackedFieldsMixin(models.Model):
    """Remembers the values loaded from the database so a save can say which fields changed."""

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_values = dict(zip(field_names, values, strict=False))
        return instance

    def changed_fields(self) -> set[str]:
        """Names of concrete fields whose value differs from what was loaded (all, if new)."""
        loaded = getattr(self, "_loaded_values", None)
        if loaded is None:
            return {f.name for f in self._meta.concrete_fields if not f.primary_key}
        changed = set()
        for field in self._meta.concrete_fields:
            if field.attname in loaded and loaded[field.attname] != getattr(self, field.attname):
                changed.add(field.name)
        return changed

    def remember_loaded_values(self) -> None:
        self._loaded_values = {f.attname: getattr(self, f.attname) for f in self._meta.concrete_fields}


class Account(models.Model):
    class Size(models.TextChoices):
        SMALL = "small", "1–49"
        MEDIUM = "medium", "50–999"
        LARGE = "large", "1,000–9,999"
        ENTERPRISE = "enterprise", "10,000+"

    name = models.CharField(max_length=200)
    industry = models.CharField(max_length=100, blank=True, db_index=True)
    country = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    website = models.URLField(blank=True)
    size = models.CharField(max_length=20, choices=Size.choices, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PersonFields(TrackedFieldsMixin):
    """What contacts and leads share, so segments and forms can treat them alike."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    country = models.CharField(max_length=100, blank=True, db_index=True)
    state = models.CharField("state / region", max_length=100, blank=True, db_index=True)
    city = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA name, e.g. Europe/Stockholm")
    language = models.CharField(max_length=16, blank=True, help_text="e.g. en, sv, fr-CA")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
    )
    attributes = models.JSONField(default=dict, blank=True, help_text="Custom attribute values by key")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    # A person is someone: at least one of these is filled in (forms, admin, API and import alike).
    IDENTITY_FIELDS = ("email", "first_name", "last_name", "phone")
    IDENTITY_REQUIRED = "Give at least an email, a first name, a last name or a phone number."

    def check_identity(self) -> None:
        """Refuse a person with nothing to know them by."""
        if not any(str(getattr(self, name, None) or "").strip() for name in self.IDENTITY_FIELDS):
            raise ValidationError(self.IDENTITY_REQUIRED, code="empty_person")

    @property
    def initials(self) -> str:
        """The avatar's letters: first and last name initials, else the email's first letter, else "?"."""
        letters = (self.first_name or "")[:1] + (self.last_name or "")[:1]
        return (letters or (getattr(self, "email", None) or "")[:1] or "?").upper()

    def clean(self) -> None:
        super().clean()
        self.check_identity()
        if self.time_zone and not is_valid_time_zone(self.time_zone):
            raise ValidationError({"time_zone": f"Unknown time zone {self.time_zone!r}."})
        self.attributes = validate_attributes(type(self)._meta.model_name, self.attributes)


class Contact(PersonFields):
    email = LowercaseEmailField(max_length=254, null=True, blank=True)
    birthday = models.DateField(null=True, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="contact_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("contacts:detail", args=[self.pk])


class Lead(PersonFields):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        DISQUALIFIED = "disqualified", "Disqualified"

    email = LowercaseEmailField(max_length=254, blank=True, db_index=True)
    company = models.CharField(max_length=200, blank=True)
    topic = models.CharField(max_length=200, blank=True, help_text="What the lead is interested in")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW, db_index=True)
    source = models.CharField(max_length=100, blank=True, help_text="e.g. web form, event, import")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads",
        help_text="Parent contact",
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads",
        help_text="Parent account",
    )
    qualified_at = models.DateTimeField(null=True, blank=True)

    IDENTITY_FIELDS = (*PersonFields.IDENTITY_FIELDS, "company")
    IDENTITY_REQUIRED = "Give at least an email, a first name, a last name, a phone number or a company."

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Lead {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("contacts:lead_detail", args=[self.pk])


class Opportunity(TrackedFieldsMixin):
    class Stage(models.TextChoices):
        QUALIFY = "qualify", "Qualify"
        DEVELOP = "develop", "Develop"
        PROPOSE = "propose", "Propose"
        CLOSE = "close", "Close"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="opportunities"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.QUALIFY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    estimated_revenue = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name_plural = "opportunities"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(account__isnull=False) | models.Q(contact__isnull=False),
                name="opportunity_has_account_or_contact",
                violation_error_message="An opportunity needs an account or a contact.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CustomAttribute(models.Model):
    """An admin-declared field on contacts or leads, stored in their `attributes` JSON."""

    class Entity(models.TextChoices):
        CONTACT = "contact", "Contact"
        LEAD = "lead", "Lead"

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Yes / no"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"

    entity = models.CharField(max_length=10, choices=Entity.choices, default=Entity.CONTACT)
    key = models.SlugField(
        max_length=60, help_text="Stable name used in segments, imports and the API (letters, digits, _)"
    )
    label = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    choices = models.JSONField(default=list, blank=True, help_text='For "choice": the allowed values')
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["entity", "label"]
        constraints = [models.UniqueConstraint(fields=["entity", "key"], name="custom_attribute_key_unique")]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_entity_display()})"

    def clean(self) -> None:
        if self.type == self.Type.CHOICE:
            if not isinstance(self.choices, list) or not self.choices or not all(
                isinstance(c, str) and c for c in self.choices
            ):
                raise ValidationError({"choices": "A choice attribute needs a list of non-empty values."})
        elif self.choices:
            raise ValidationError({"choices": "Only choice attributes have choices."})
        if self.key and self.key.replace("_", "").isalnum() is False:
            raise ValidationError({"key": "Use letters, digits and underscores only."})

"""API keys for integrations: shown once, stored hashed, scoped, acting as their owner."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models

KEY_PREFIX = "wm"


class APIKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=100, help_text="What uses this key, e.g. 'Shop integration'")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys",
        help_text="The key acts with this user's permissions",
    )
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(raw_key: str) -> str:
        # The key carries 256 random bits, so a fast hash is enough (no password stretching).
        return hashlib.sha256(raw_key.encode()).hexdigest()

    def generate(self) -> str:
        """Give this key new secret material and return the raw key (shown to the user once)."""
        self.prefix = secrets.token_hex(4)
        raw_key = f"{KEY_PREFIX}_{self.prefix}_{secrets.token_urlsafe(32)}"
        self.hashed_key = self.hash(raw_key)
        return raw_key

    def matches(self, raw_key: str) -> bool:
        return secrets.compare_digest(self.hashed_key, self.hash(raw_key))

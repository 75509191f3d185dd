"""API authentication by key, and the permission rule every API view uses.

A key is sent as `Authorization: Api-Key wm_<prefix>_<secret>` (or `Bearer wm_…`). It is looked
up by its prefix and compared by hash; the request then acts as the key's owner, limited by the
key's scope: a "read" key may only make safe requests.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from drf_spectacular.drainage import set_override
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions
from rest_framework.request import Request

from contacts.models import APIKey
from contacts.models.apikeys import KEY_PREFIX

KEYWORD = "Api-Key"
# Recording every use would turn each read into a write; once a minute is enough to see activity.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# How long one process may keep a key found valid, for the event intake (RecentAPIKeyAuthentication):
# the longest a revocation made in another process waits to take effect there.
RECENT_KEY_SECONDS = 2.0
VIEW_PERMISSION = ["%(app_label)s.view_%(model_name)s"]
CHANGE_PERMISSION = ["%(app_label)s.change_%(model_name)s"]


def raw_key_from_header(request: Request) -> str | None:
    """The raw key of an `Api-Key` (or `Bearer wm_…`) Authorization header; None if there is none."""
    parts = get_authorization_header(request).split()
    if not parts:
        return None
    scheme = parts[0].decode("latin-1").lower()
    if scheme not in (KEYWORD.lower(), "bearer"):
        return None
    if len(parts) != 2:
        if scheme == "bearer":
            return None  # some other kind of bearer token: not ours to judge
        raise AuthenticationFailed("Invalid Api-Key header: give the key after 'Api-Key ', without spaces.")
    try:
        raw_key = parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise AuthenticationFailed("Invalid API key.") from None
    if scheme == "bearer" and not raw_key.startswith(f"{KEY_PREFIX}_"):
        return None
    return raw_key


class APIKeyAuthentication(BaseAuthentication):
    """Authenticate as the owner of a Waymark API key; `request.auth` is the APIKey."""

    def authenticate(self, request: Request) -> tuple[object, APIKey] | None:
        raw_key = raw_key_from_header(request)
        if raw_key is None:
            return None
        key = self.find_key(raw_key)
        now = timezone.now()
        if key.revoked:
            raise AuthenticationFailed("This API key has been revoked.")
        if key.expires_at is not None and key.expires_at <= now:
            raise AuthenticationFailed("This API key has expired.")
        if not key.user.is_active:
            raise AuthenticationFailed("The owner of this API key is inactive.")
        self.record_use(key, now=now)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'

    @staticmethod
    def find_key(raw_key: str) -> APIKey:
        marker, _, rest = raw_key.partition("_")
        prefix, _, secret = rest.partition("_")
        key = None
        if marker == KEY_PREFIX and prefix and secret:
            key = APIKey.objects.select_related("user").filter(prefix=prefix).first()
        if key is None or not key.matches(raw_key):
            raise AuthenticationFailed("Invalid API key.")
        return key

    @staticmethod
    def record_use(key: APIKey, *, now: datetime) -> None:
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            APIKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now


class RecentAPIKeyAuthentication(APIKeyAuthentication):
    """APIKeyAuthentication for the event intake, which takes one request per event, hundreds a
    second: a key found valid is kept in this process for RECENT_KEY_SECONDS (the setting
    WAYMARK_API_KEY_CACHE_SECONDS overrides it) with its owner, whose permissions Django caches on
    the user object, so most requests make no query. Revocation, expiry and the owner's
    deactivation are still checked on every request against the kept row; a change saved in this
    process (a key, a user, group or permission membership) drops every kept key at once, one
    saved elsewhere (or by a bulk update) is seen within RECENT_KEY_SECONDS."""

    def find_key(self, raw_key: str) -> APIKey:
        prefix = raw_key.split("_", 2)[1] if raw_key.count("_") >= 2 else ""
        seconds = getattr(settings, "WAYMARK_API_KEY_CACHE_SECONDS", RECENT_KEY_SECONDS)
        now = time.monotonic()
        kept = _recent_keys.get(prefix)
        if kept is not None and now - kept[0] < seconds and kept[1].matches(raw_key):
            return kept[1]
        key = APIKeyAuthentication.find_key(raw_key)
        if seconds > 0:
            if len(_recent_keys) >= 1000:
                _recent_keys.clear()
            _recent_keys[key.prefix] = (now, key)
        return key


# The same security scheme ("apiKey") as APIKeyAuthentication in the OpenAPI schema.
set_override(RecentAPIKeyAuthentication, "suppress_collision_warning", True)
_recent_keys: dict[str, tuple[float, APIKey]] = {}


def forget_recent_keys(**kwargs: Any) -> None:
    """Drop every key RecentAPIKeyAuthentication keeps (a key, a user or a permission changed)."""
    _recent_keys.clear()


def _on_membership_changed(instance: object, **kwargs: Any) -> None:
    if kwargs.get("action", "").startswith("post_") and isinstance(
            instance, APIKey.user.field.related_model | Group | Permission):
        forget_recent_keys()


for _model in (APIKey, settings.AUTH_USER_MODEL):
    post_save.connect(forget_recent_keys, sender=_model, dispatch_uid=f"auth.forget_keys.save.{_model}")
    post_delete.connect(forget_recent_keys, sender=_model, dispatch_uid=f"auth.forget_keys.delete.{_model}")
m2m_changed.connect(_on_membership_changed, dispatch_uid="auth.forget_keys.m2m")


class ScopedModelPermissions(DjangoModelPermissions):
    """The user's model permissions (reads need `view_`), and read-only for "read" API keys."""

    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": VIEW_PERMISSION,
        "HEAD": VIEW_PERMISSION,
        "OPTIONS": VIEW_PERMISSION,
    }

    def has_permission(self, request: Request, view) -> bool:
        key = request.auth
        if (
            isinstance(key, APIKey)
            and key.scope != APIKey.Scope.WRITE
            and request.method not in SAFE_METHODS
        ):
            raise PermissionDenied("This API key is read-only; use a key with write scope.")
        return super().has_permission(request, view)


class ChangeActionPermissions(ScopedModelPermissions):
    """For POST actions on one object that change it (e.g. completing a task): needs `change_`."""

    perms_map = {**ScopedModelPermissions.perms_map, "POST": CHANGE_PERMISSION}


class ReadableByAnyUserPermissions(ScopedModelPermissions):
    """Reference data every signed-in user may read (e.g. custom attribute definitions)."""

    perms_map = {**ScopedModelPermissions.perms_map, "GET": [], "HEAD": [], "OPTIONS": []}


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = APIKeyAuthentication
    match_subclasses = True  # RecentAPIKeyAuthentication takes the same header
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key wm_<prefix>_<secret>` (or `Bearer wm_<prefix>_<secret>`).",
        }

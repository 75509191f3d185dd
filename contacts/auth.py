"""API authentication by key, and the permission rule every API view uses.

A key is sent as `Authorization: Api-Key wm_<prefix>_<secret>` (or `Bearer wm_…`). It is looked
up by its prefix and compared by hash; the request then acts as the key's owner, limited by the
key's scope: a "read" key may only make safe requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
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
    name = "apiKey"

    def get_security_definition(self, auto_schema) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key wm_<prefix>_<secret>` (or `Bearer wm_<prefix>_<secret>`).",
        }

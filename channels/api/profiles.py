"""API views of what emails are made with: sender profiles, brand profiles and content blocks."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from channels import serializers
from channels.api.base import IN_USE, ProtectedDeleteMixin
from channels.models import BrandProfile, ContentBlock, SenderProfile
from contacts.api.base import ModelViewSet


@extend_schema_view(
    list=extend_schema(summary="List sender profiles"),
    create=extend_schema(
        summary="Create a sender profile",
        description="From name and address, reply-to, and the DKIM selector and private key of the sending "
        "domain. The key is write-only: answers say only whether one is set (`dkim_key_set`).",
    ),
    destroy=extend_schema(summary="Delete a sender profile", responses={204: None, 409: IN_USE}),
)
class SenderProfileViewSet(ProtectedDeleteMixin, ModelViewSet):
    queryset = SenderProfile.objects.all()
    serializer_class = serializers.SenderProfileSerializer
    search_fields = ["name", "from_name", "from_email"]
    ordering_fields = ["name", "from_email"]
    ordering = ["name", "id"]


@extend_schema_view(
    list=extend_schema(summary="List brand profiles"),
    create=extend_schema(summary="Create a brand profile",
                         description="Logo, colours, font and the footer (with the postal address) of emails."),
    destroy=extend_schema(summary="Delete a brand profile", responses={204: None, 409: IN_USE}),
)
class BrandProfileViewSet(ProtectedDeleteMixin, ModelViewSet):
    queryset = BrandProfile.objects.all()
    serializer_class = serializers.BrandProfileSerializer
    search_fields = ["name"]
    ordering_fields = ["name"]
    ordering = ["name", "id"]


@extend_schema_view(
    list=extend_schema(summary="List content blocks"),
    create=extend_schema(
        summary="Create a content block",
        description="Reusable blocks (a footer, a promo) that emails include with "
        '`{"type": "content_block", "key": …}`; emails pick up changes at their next publish.',
    ),
)
class ContentBlockViewSet(ModelViewSet):
    queryset = ContentBlock.objects.all()
    serializer_class = serializers.ContentBlockSerializer
    search_fields = ["key", "name"]
    ordering_fields = ["key", "name", "updated_at"]
    ordering = ["name", "id"]

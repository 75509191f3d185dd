from django.urls import path

from channels.views import designer, emails, preview, profiles, public, webhooks
from channels.views.drafts import CONTENT_BLOCK, EMAIL


def draft_paths(prefix: str, kind: str) -> list:
    """The designer's routes for one kind of draft (an email, a content block)."""
    k = {"kind": kind}
    return [
        path(f"{prefix}/<int:pk>/design/", designer.designer, k, name=f"{kind}_design"),
        path(f"{prefix}/<int:pk>/design/blocks/", designer.block_add, k, name=f"{kind}_block_add"),
        path(f"{prefix}/<int:pk>/design/blocks/<int:index>/", designer.block_update, k, name=f"{kind}_block_update"),
        path(f"{prefix}/<int:pk>/design/blocks/<int:index>/move/", designer.block_move, k, name=f"{kind}_block_move"),
        path(f"{prefix}/<int:pk>/design/blocks/<int:index>/remove/", designer.block_remove, k,
             name=f"{kind}_block_remove"),
        path(f"{prefix}/<int:pk>/preview/", preview.preview_document, k, name=f"{kind}_preview"),
        path(f"{prefix}/<int:pk>/preview/panel/", preview.preview_panel, k, name=f"{kind}_preview_panel"),
        path(f"{prefix}/<int:pk>/preview/people/", preview.preview_people, k, name=f"{kind}_preview_people"),
    ]


app_name = "channels"
urlpatterns = [
    # Recipients' pages (no login).
    path("t/o/<str:token>/", public.open_pixel, name="open"),
    path("t/c/<str:token>/", public.click, name="click"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", public.preferences, name="preferences"),
    # The marketer's email pages.
    path("email/", emails.email_list, name="email_list"),
    path("email/new/", emails.email_create, name="email_create"),
    path("email/<int:pk>/", emails.email_detail, name="email_detail"),
    path("email/<int:pk>/settings/", emails.email_settings, name="email_settings"),
    path("email/<int:pk>/publish/", emails.email_publish, name="email_publish"),
    path("email/<int:pk>/test/", preview.send_test, name="email_send_test"),
    *draft_paths("email", EMAIL),
    path("email/senders/", profiles.sender_list, name="sender_list"),
    path("email/senders/new/", profiles.sender_create, name="sender_create"),
    path("email/senders/<int:pk>/", profiles.sender_edit, name="sender_edit"),
    path("email/brands/", profiles.brand_list, name="brand_list"),
    path("email/brands/new/", profiles.brand_create, name="brand_create"),
    path("email/brands/<int:pk>/", profiles.brand_edit, name="brand_edit"),
    path("email/content-blocks/", profiles.content_block_list, name="content_block_list"),
    path("email/content-blocks/new/", profiles.content_block_create, name="content_block_create"),
    path("email/content-blocks/<int:pk>/", profiles.content_block_edit, name="content_block_edit"),
    *draft_paths("email/content-blocks", CONTENT_BLOCK),
    path("email/contacts/<int:pk>/deliveries/", emails.contact_deliveries, name="contact_deliveries"),
    # Outgoing webhooks.
    path("webhooks/", webhooks.webhook_list, name="webhook_list"),
    path("webhooks/new/", webhooks.webhook_create, name="webhook_create"),
    path("webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/edit/", webhooks.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/rotate-secret/", webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/test/", webhooks.webhook_test, name="webhook_test"),
    path("webhooks/deliveries/<int:pk>/retry/", webhooks.webhook_retry, name="webhook_retry"),
]

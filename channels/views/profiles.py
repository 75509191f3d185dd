"""Sender profiles, brand profiles and reusable content blocks: lists and forms.

Content blocks are designed with the block designer (see `designer`); here they get their name
and key. A sender's DKIM private key is write-only: pages show only whether one is set.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Count
from django.forms import ModelForm
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from channels.forms import BrandProfileForm, ContentBlockForm, SenderProfileForm
from channels.models import BrandProfile, ContentBlock, SenderProfile
from contacts.views.shared import HtmxHttpRequest

KINDS = {
    "sender": {"model": SenderProfile, "form": SenderProfileForm, "noun": "sender profile",
               "list": "channels:sender_list"},
    "brand": {"model": BrandProfile, "form": BrandProfileForm, "noun": "brand profile", "list": "channels:brand_list"},
    "content_block": {"model": ContentBlock, "form": ContentBlockForm, "noun": "content block",
                      "list": "channels:content_block_list"},
}


def _form_page(request: HtmxHttpRequest, kind: str, instance=None) -> HttpResponse:
    spec = KINDS[kind]
    form: ModelForm = spec["form"](request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"{spec['noun'].capitalize()} “{saved}” {'saved' if instance else 'created'}.")
        if kind == "content_block":
            return redirect("channels:content_block_design", pk=saved.pk)
        return redirect(spec["list"])
    return render(request, "channels/profile_form.html", {
        "form": form, "object": instance, "kind": kind, "noun": spec["noun"], "cancel_url": reverse(spec["list"]),
        "list_url": reverse(spec["list"]),
    })


# --- Sender profiles -------------------------------------------------------------------------------
@login_required
@permission_required("channels.view_senderprofile", raise_exception=True)
@require_GET
def sender_list(request: HtmxHttpRequest) -> HttpResponse:
    senders = SenderProfile.objects.annotate(email_count=Count("emails")).order_by("name", "pk")
    return render(request, "channels/sender_list.html", {"senders": senders})


@login_required
@permission_required("channels.add_senderprofile", raise_exception=True)
@require_http_methods(["GET", "POST"])
def sender_create(request: HtmxHttpRequest) -> HttpResponse:
    return _form_page(request, "sender")


@login_required
@permission_required("channels.change_senderprofile", raise_exception=True)
@require_http_methods(["GET", "POST"])
def sender_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, "sender", get_object_or_404(SenderProfile, pk=pk))


# --- Brand profiles --------------------------------------------------------------------------------
@login_required
@permission_required("channels.view_brandprofile", raise_exception=True)
@require_GET
def brand_list(request: HtmxHttpRequest) -> HttpResponse:
    brands = BrandProfile.objects.annotate(email_count=Count("emails")).order_by("name", "pk")
    return render(request, "channels/brand_list.html", {"brands": brands})


@login_required
@permission_required("channels.add_brandprofile", raise_exception=True)
@require_http_methods(["GET", "POST"])
def brand_create(request: HtmxHttpRequest) -> HttpResponse:
    return _form_page(request, "brand")


@login_required
@permission_required("channels.change_brandprofile", raise_exception=True)
@require_http_methods(["GET", "POST"])
def brand_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, "brand", get_object_or_404(BrandProfile, pk=pk))


# --- Content blocks --------------------------------------------------------------------------------
@login_required
@permission_required("channels.view_contentblock", raise_exception=True)
@require_GET
def content_block_list(request: HtmxHttpRequest) -> HttpResponse:
    blocks = ContentBlock.objects.order_by("name", "pk")
    return render(request, "channels/content_block_list.html", {"content_blocks": blocks})


@login_required
@permission_required("channels.add_contentblock", raise_exception=True)
@require_http_methods(["GET", "POST"])
def content_block_create(request: HtmxHttpRequest) -> HttpResponse:
    return _form_page(request, "content_block")


@login_required
@permission_required("channels.change_contentblock", raise_exception=True)
@require_http_methods(["GET", "POST"])
def content_block_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, "content_block", get_object_or_404(ContentBlock, pk=pk))

"""Webhook pages: the endpoint list, create and edit forms (URLs pass the SSRF guard), an endpoint's
page with its delivery log, a signed test event, secret rotation and "retry now".

The signing secret is shown once: right after the endpoint is created or its secret rotated, the
view keeps it in the session for the next page load only.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from channels import services
from channels.forms import WebhookEndpointForm, WebhookLogFilterForm, WebhookTestForm
from channels.models import WebhookDelivery, WebhookEndpoint
from contacts.views.shared import HtmxHttpRequest, wants_fragment

LOG_PER_PAGE = 50
PENDING = [WebhookDelivery.Status.QUEUED, WebhookDelivery.Status.SENDING, WebhookDelivery.Status.RETRYING]
SECRET_KEY = "webhook_secret"  # the session key of a secret waiting to be shown once


def _show_secret_once(request: HtmxHttpRequest, endpoint: WebhookEndpoint) -> None:
    request.session[SECRET_KEY] = {"endpoint": endpoint.pk, "secret": endpoint.secret}


def _pop_secret(request: HtmxHttpRequest, endpoint: WebhookEndpoint) -> str:
    shown = request.session.get(SECRET_KEY)
    if not shown or shown.get("endpoint") != endpoint.pk:
        return ""
    del request.session[SECRET_KEY]
    return shown["secret"]


@login_required
@permission_required("channels.view_webhookendpoint", raise_exception=True)
@require_GET
def webhook_list(request: HtmxHttpRequest) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.DELIVERED)),
        failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
        pending=Count("deliveries", filter=Q(deliveries__status__in=PENDING)),
        last_queued_at=Max("deliveries__queued_at"),
    ).order_by("name", "pk")
    return render(request, "channels/webhooks/list.html", {"endpoints": endpoints})


@login_required
@permission_required("channels.add_webhookendpoint", raise_exception=True)
@require_http_methods(["GET", "POST"])
def webhook_create(request: HtmxHttpRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = form.save()
        _show_secret_once(request, endpoint)
        messages.success(request, f"Endpoint “{endpoint.name}” created. Copy its signing secret now.")
        return redirect(endpoint)
    return render(request, "channels/webhooks/form.html",
                  {"form": form, "cancel_url": reverse("channels:webhook_list")})


@login_required
@permission_required("channels.change_webhookendpoint", raise_exception=True)
@require_http_methods(["GET", "POST"])
def webhook_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = WebhookEndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Endpoint “{endpoint.name}” saved.")
        return redirect(endpoint)
    return render(request, "channels/webhooks/form.html",
                  {"form": form, "object": endpoint, "cancel_url": endpoint.get_absolute_url()})


@login_required
@permission_required("channels.view_webhookendpoint", raise_exception=True)
@require_GET
@vary_on_headers("HX-Request")
def webhook_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    log_filter = WebhookLogFilterForm(request.GET)
    deliveries = endpoint.deliveries.select_related("contact", "lead").order_by("-queued_at", "-id")
    if status := log_filter.status_value():
        deliveries = deliveries.filter(status=status)
    log = Paginator(deliveries, LOG_PER_PAGE).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "log": log, "log_filter": log_filter,
               "polling": any(d.status in PENDING for d in log.object_list)}
    if wants_fragment(request):
        return render(request, "channels/webhooks/detail.html#log", context)
    totals = dict(endpoint.deliveries.values_list("status").annotate(n=Count("id")).order_by())
    totals["pending"] = sum(totals.get(status, 0) for status in PENDING)
    return render(request, "channels/webhooks/detail.html", {
        **context, "totals": totals, "secret": _pop_secret(request, endpoint), "test_form": WebhookTestForm(),
        "signing_secrets": len(endpoint.signing_secrets(now=timezone.now())),
    })


@login_required
@permission_required("channels.change_webhookendpoint", raise_exception=True)
@require_POST
def webhook_rotate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.rotate_webhook_secret(endpoint, now=timezone.now())
    _show_secret_once(request, endpoint)
    messages.success(request, "New signing secret made. The previous one keeps signing for a grace period.")
    return redirect(endpoint)


@login_required
@permission_required("channels.add_webhookdelivery", raise_exception=True)
@require_POST
def webhook_test(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = WebhookTestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not sent: " + " ".join(form.errors.get("person", ["enter an email address."])))
        return redirect(endpoint)
    try:
        services.send_test_webhook(endpoint, person=form.cleaned_data["person"], now=timezone.now(),
                                   user=request.user)
    except ValidationError as exc:
        messages.error(request, "Not sent: " + " ".join(exc.messages))
    else:
        messages.success(request, "Test event queued: it appears in the log below with the receiver's answer.")
    return redirect(endpoint)


@login_required
@permission_required("channels.change_webhookdelivery", raise_exception=True)
@require_POST
def webhook_retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    if services.retry_webhooks_now(WebhookDelivery.objects.filter(pk=pk), now=timezone.now()):
        messages.success(request, f"Message {delivery.message_id} queued to be sent again.")
    else:
        messages.error(request, "Only failed or retrying messages can be retried.")
    return redirect(delivery.endpoint)

"""The visitor's side: hosted forms (/f/<slug>/), their embed script, thank-you and double opt-in
confirmation pages, and landing pages (/p/<slug>/).

Cross-site embedding: the hosted form and its fragment may be framed by (and posted from) the
form's embed origins, so these views alone relax X-Frame-Options and answer CORS. Django's CSRF
cookie cannot travel in a third-party iframe or a cross-origin fetch, so the submit endpoint
checks a signed render token instead (issued with the form, bound to it, time-limited) plus the
Origin header against the embed origins.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts.models import DoubleOptIn, LandingPage, WebForm
from contacts.webforms import blocks, services, throttle, tokens
from contacts.webforms.public_forms import PAGE, PREFILL, TOKEN, PublicForm, prefill_initial

MAX_BODY = 64 * 1024
COLOR = re.compile(r"#[0-9A-Fa-f]{3}(?:[0-9A-Fa-f]{3})?")
FONT = re.compile(r"[A-Za-z0-9 ,'\"-]{1,200}")


def brand_css(brand: Any) -> str:
    """The brand's look as CSS custom properties; values that are not plain colours or font names are
    left out (the stylesheet's defaults apply), so a brand profile can never inject CSS."""
    if brand is None:
        return ""
    values = {"--wm-primary": brand.primary_color, "--wm-text": brand.text_color,
              "--wm-bg": brand.background_color}
    css = [f"{name}:{value}" for name, value in values.items() if COLOR.fullmatch(value or "")]
    if FONT.fullmatch(brand.font_family or ""):
        css.append(f"--wm-font:{brand.font_family}")
    return ";".join(css)


def _render(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    return render(request, template, {**context, "brand_css": brand_css(context.get("brand"))}, status=status)


# --- Helpers ---------------------------------------------------------------------------------------
def _can_preview(request: HttpRequest) -> bool:
    return request.user.is_authenticated and request.user.has_perm("contacts.view_webform")


def _origin_allowed(request: HttpRequest, form: WebForm) -> bool:
    origin = request.headers.get("Origin")
    if not origin or not form.origins():
        return True
    own = {settings.SITE_URL.rstrip("/"), f"{request.scheme}://{request.get_host()}"}
    return origin in own or origin.rstrip("/") in form.origins()


def _embeddable(response: HttpResponse, request: HttpRequest, form: WebForm) -> HttpResponse:
    """Let the form's embed origins frame it and read it cross-origin; nothing else is relaxed."""
    origins = form.origins()
    response["Content-Security-Policy"] = "frame-ancestors " + (" ".join(["'self'", *origins]) if origins else "*")
    origin = request.headers.get("Origin")
    if origin and _origin_allowed(request, form):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response["Access-Control-Max-Age"] = "600"
    patch_vary_headers(response, ["Origin"])
    return response


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _live_form(request: HttpRequest, slug: str) -> tuple[WebForm, bool]:
    """The form and whether this is a marketer's preview of a form that is not live."""
    form = get_object_or_404(WebForm.objects.select_related("brand"), slug=slug)
    if form.accepts_submissions:
        return form, False
    if _can_preview(request):
        return form, True
    if form.status == WebForm.Status.CLOSED:
        raise FormClosed(form)
    raise Http404("No such form")


class FormClosed(Exception):
    def __init__(self, form: WebForm):
        self.form = form


def _context(request: HttpRequest, form: WebForm, public_form: PublicForm, *, embed: bool, preview: bool,
             **extra: Any) -> dict[str, Any]:
    return {
        "webform": form, "form": public_form, "brand": form.brand, "embed": embed, "preview": preview,
        "action": request.build_absolute_uri(form.public_url()) + ("?embed=1" if embed else ""),
        "stylesheet": request.build_absolute_uri(static("webforms/form.css")),
        "captcha_template": getattr(settings, "WAYMARK_FORM_CAPTCHA_TEMPLATE", ""),
        "brand_css": brand_css(form.brand), "include_stylesheet": bool(request.GET.get("fragment")), **extra,
    }


def _new_form(form: WebForm, *, now: datetime.datetime, initial: dict | None = None, data: Any = None,
              page: str = "") -> PublicForm:
    initial = {**(initial or {}), TOKEN: tokens.render_token(form, now=now), PAGE: page}
    return PublicForm(form, data=data, initial=initial)


def _form_response(request: HttpRequest, form: WebForm, public_form: PublicForm, *, embed: bool, preview: bool,
                   status: int = 200) -> HttpResponse:
    context = _context(request, form, public_form, embed=embed, preview=preview)
    if _wants_json(request) or request.GET.get("fragment"):
        html = render_to_string("webforms/public/fragment.html", context, request=request)
        if request.GET.get("fragment") and not _wants_json(request):
            return _embeddable(HttpResponse(html, status=status), request, form)
        errors = {name: [str(e) for e in errs] for name, errs in public_form.errors.items()}
        return _embeddable(JsonResponse({"ok": False, "errors": errors, "html": html}, status=status), request, form)
    template = "webforms/public/form_embed.html" if embed else "webforms/public/form_page.html"
    return _embeddable(_render(request, template, context, status=status), request, form)


# --- The hosted form ----------------------------------------------------------------------------------
@csrf_exempt  # see the module docstring: a signed render token and the Origin check stand in for it
@never_cache  # every rendering carries its own token: a shared cached copy would share the nonce
@xframe_options_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def form_view(request: HttpRequest, slug: str) -> HttpResponse:
    now = timezone.now()
    try:
        form, preview = _live_form(request, slug)
    except FormClosed as closed:
        return _refuse(request, closed.form, 410, "It no longer accepts answers. Thank you for your interest.",
                       title="This form is closed")
    embed = bool(request.GET.get("embed"))
    if request.method == "OPTIONS":
        return _embeddable(HttpResponse(status=204), request, form)
    if request.method == "GET":
        person = tokens.read_prefill_token(request.GET["p"]) if request.GET.get("p") else None
        initial = prefill_initial(form, person) if person else {}
        if person:
            initial[PREFILL] = request.GET["p"]
        public_form = _new_form(form, now=now, initial=initial, page=request.GET.get("page", "")[:2000])
        return _form_response(request, form, public_form, embed=embed, preview=preview)
    return _submit(request, form, embed=embed, preview=preview, now=now)


def _refuse(request: HttpRequest, form: WebForm, status: int, message: str, *, title: str = "Please try again",
            **headers: str) -> HttpResponse:
    if _wants_json(request):
        response = JsonResponse({"ok": False, "message": message}, status=status)
    else:
        response = _render(request, "webforms/public/message.html",
                           {"webform": form, "brand": form.brand, "title": title, "message": message},
                           status=status)
    for name, value in headers.items():
        response[name] = value
    return _embeddable(response, request, form)


def _submit(request: HttpRequest, form: WebForm, *, embed: bool, preview: bool, now: datetime.datetime):
    max_body = getattr(settings, "WAYMARK_FORM_MAX_BODY_BYTES", MAX_BODY)
    if int(request.META.get("CONTENT_LENGTH") or 0) > max_body:
        return _refuse(request, form, 413, "That was more than this form accepts. Please shorten your answers.")
    if not _origin_allowed(request, form):
        return _refuse(request, form, 403, "This form cannot be sent from this site.")
    if preview:
        return _refuse(request, form, 409, "This form is not live yet; the preview does not accept submissions.")
    refusal = throttle.check(request, form.slug, now=now)
    if refusal is not None:
        return _refuse(request, form, 429, "Too many submissions right now. Please wait a minute and try again.",
                       **{"Retry-After": str(refusal.retry_after)})
    public_form = PublicForm(form, data=request.POST)
    if public_form.is_spam():
        return _success(request, form, embed=embed, page="")  # tell bots nothing
    valid = public_form.is_valid()
    token = None
    try:
        token = tokens.read_render_token(request.POST.get(TOKEN, ""), form, now=now)
    except tokens.TokenError as exc:
        public_form.add_error(None, str(exc))
    min_fill = getattr(settings, "WAYMARK_FORM_MIN_FILL_SECONDS", 2)
    if token and (now - token.issued_at).total_seconds() < min_fill:
        public_form.add_error(None, "That was quick! Please check your answers and submit again.")
    verifier = getattr(settings, "WAYMARK_FORM_CAPTCHA_VERIFIER", "")
    if verifier and not import_string(verifier)(request):
        public_form.add_error(None, "Please complete the challenge to show you are not a robot.")
    if not (valid and public_form.is_valid()):
        return _invalid(request, form, public_form, embed=embed, now=now)
    prefill = public_form.cleaned_data.get(PREFILL)
    page = public_form.cleaned_data.get(PAGE) or request.headers.get("Referer", "")
    visit = services.Visit(ip_address=_ip_or_none(throttle.client_ip(request)),
                           user_agent=request.headers.get("User-Agent", ""), page_url=page[:2000])
    try:
        services.submit(form, values=public_form.field_values(), consents_given=public_form.consents_given(),
                        now=now, visit=visit, client_key=_client_key(token, public_form),
                        known_person=tokens.read_prefill_token(prefill) if prefill else None)
    except ValidationError as exc:
        for message in exc.messages:
            public_form.add_error(None, message)
        return _invalid(request, form, public_form, embed=embed, now=now)
    return _success(request, form, embed=embed, page=page)


def _client_key(token: tokens.RenderToken | None, public_form: PublicForm) -> str | None:
    """The rendered form's nonce and the address given: a double click is one submission, while two
    people can never be merged, even if a cache once served them the same rendered form."""
    if token is None:
        return None
    email = next((str(v) for f, v in zip(public_form.designed, public_form.field_values().values(), strict=True)
                  if f.maps_to == "email" and v), "")
    return f"{token.nonce}:{hashlib.sha256(email.lower().encode()).hexdigest()[:16]}"


def _ip_or_none(value: str) -> str | None:
    try:
        validate_ipv46_address(value)
    except ValidationError:
        return None
    return value


def _invalid(request: HttpRequest, form: WebForm, public_form: PublicForm, *, embed: bool,
             now: datetime.datetime) -> HttpResponse:
    """The same form with every value kept, each error beside its field, and a fresh render token."""
    data = request.POST.copy()
    data[TOKEN] = tokens.render_token(form, now=now)
    refreshed = PublicForm(form, data=data)
    refreshed.is_valid()
    for error in public_form.non_field_errors():
        refreshed.add_error(None, error)
    landing = _landing_page_of(request, data.get(PAGE, ""))
    if landing is not None and not _wants_json(request):
        return _landing_response(request, landing, preview=False, bound=refreshed, status=400)
    return _form_response(request, form, refreshed, embed=embed, preview=False, status=400)


def _landing_page_of(request: HttpRequest, page_url: str) -> LandingPage | None:
    """The published landing page of ours a form was sent from, if any."""
    parts = urlsplit(page_url)
    if parts.netloc not in ("", request.get_host()) or not parts.path.startswith("/p/"):
        return None
    slug = parts.path.removeprefix("/p/").strip("/")
    return LandingPage.objects.select_related("brand").filter(slug=slug, status=LandingPage.Status.PUBLISHED).first()


def _success(request: HttpRequest, form: WebForm, *, embed: bool, page: str) -> HttpResponse:
    thanks = reverse("webforms:public_thanks", args=[form.slug]) + ("?embed=1" if embed else "")
    local_page = urlsplit(page).path if page and urlsplit(page).netloc in ("", request.get_host()) else ""
    if form.redirect_url:
        target = form.redirect_url
    elif local_page.startswith("/p/"):
        target = f"{local_page}?thanks={form.slug}#form-{form.slug}-section"
    else:
        target = thanks
    if _wants_json(request):
        html = render_to_string("webforms/public/thanks_fragment.html",
                                {"webform": form, "brand_css": brand_css(form.brand)})
        body = {"ok": True, "message": form.success_message, "redirect": form.redirect_url or None, "html": html}
        return _embeddable(JsonResponse(body, status=200), request, form)
    return _embeddable(redirect(target), request, form)


@xframe_options_exempt
@require_http_methods(["GET"])
def thanks_view(request: HttpRequest, slug: str) -> HttpResponse:
    form = get_object_or_404(WebForm.objects.select_related("brand"), slug=slug)
    template = "webforms/public/thanks_embed.html" if request.GET.get("embed") else "webforms/public/thanks.html"
    return _embeddable(_render(request, template, {"webform": form, "brand": form.brand}), request, form)


@require_http_methods(["GET"])
def embed_script(request: HttpRequest, slug: str) -> HttpResponse:
    """The script embed: renders the form into the host page and posts it cross-origin."""
    try:
        form, _preview = _live_form(request, slug)
    except FormClosed:
        return HttpResponse("/* This form is closed. */", content_type="text/javascript", status=410)
    config = {"fragment": request.build_absolute_uri(form.public_url()) + "?fragment=1&embed=1",
              "stylesheet": request.build_absolute_uri(static("webforms/form.css")), "slug": form.slug}
    script = render_to_string("webforms/public/embed.js", {"config": json.dumps(config)})
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response


# --- Double opt-in -------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def confirm_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button; only the POST confirms, so link scanners that open mail links confirm nothing."""
    submission = tokens.read_confirmation_token(token)
    if submission is None:
        return _render(request, "webforms/public/message.html", {
            "title": "This link has expired", "message": "Submit the form again and we will send a new link.",
        }, status=404)
    form = submission.form
    confirmed = submission.double_opt_in == DoubleOptIn.CONFIRMED
    just_now = False
    if request.method == "POST" and not confirmed:
        just_now = services.confirm(submission, now=timezone.now())
        confirmed = True
    return _render(request, "webforms/public/confirm.html", {
        "webform": form, "brand": form.brand, "submission": submission, "confirmed": confirmed,
        "just_now": just_now,
    })


# --- Landing pages ----------------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET"])
def page_view(request: HttpRequest, slug: str) -> HttpResponse:
    page = get_object_or_404(LandingPage.objects.select_related("brand"), slug=slug)
    preview = bool(request.GET.get("preview")) and _can_preview(request)
    if page.status != LandingPage.Status.PUBLISHED and not preview:
        raise Http404("No such page")
    return _landing_response(request, page, preview=preview)


def _landing_response(request: HttpRequest, page: LandingPage, *, preview: bool, bound: PublicForm | None = None,
                      status: int = 200) -> HttpResponse:
    """The page's blocks; `bound` is a form sent from this page with errors, shown in its place."""
    now = timezone.now()
    page_blocks = page.blocks if preview else page.published_blocks
    forms = {f.slug: f for f in WebForm.objects.filter(slug__in=blocks.form_slugs(page_blocks))}
    rendered = []
    for block in page_blocks:
        item = dict(block)
        if block["type"] == "text":
            item["safe_html"] = blocks.sanitize(str(block.get("html", "")))
        elif block["type"] == "form":
            form = forms.get(block["form"])
            if form is None or not (form.accepts_submissions or preview):
                continue
            item["webform"] = form
            item["thanks"] = request.GET.get("thanks") == form.slug
            if bound is not None and bound.webform.pk == form.pk:
                item["form"] = bound
            else:
                item["form"] = _new_form(form, now=now, page=request.build_absolute_uri(page.public_url()))
            item["action"] = form.public_url()
        rendered.append(item)
    return _render(request, "webforms/public/landing_page.html", {
        "page": page, "brand": page.brand, "blocks": rendered, "preview": preview,
        "stylesheet": static("webforms/form.css"),
    }, status=status)

"""The REST API under /api/: one router that each app registers its viewsets on, and the docs.

The docs pages load Swagger UI and Redoc from our own static files (drf-spectacular-sidecar), so
they work offline and call no CDN."""

from django.template import engines
from django.template.backends.django import Template
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from channels import api as channels_api
from contacts import api as contacts_api
from journeys import api as journeys_api
from segments import api as segments_api

router = DefaultRouter()
journeys_api.register(router)  # first: firing triggers is the API's hottest path (patterns are tried in order)
contacts_api.register(router)
segments_api.register(router)
channels_api.register(router)


DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)

# drf-spectacular's Redoc page, less the Google Fonts stylesheet in its head (Redoc then uses the
# system fonts): no request leaves for a third party, and the page works offline. Redoc 2.x always
# renders its vendor's logo (https://cdn.redoc.ly/redoc/logo-mini.svg) beside "API docs by Redocly",
# with no option to leave it out: the script in the head drops an image source on another host
# before the browser asks for it, and the empty image is hidden (the attribution text stays).
NO_FOREIGN_IMAGES = (
    "<script>(function () {"
    " function foreign(img, value) { if (new URL(value, location.href).origin === location.origin) return false;"
    " img.dataset.blockedSrc = value; return true; }"
    " var setAttribute = Element.prototype.setAttribute;"
    " Element.prototype.setAttribute = function (name, value) {"
    " if (this.tagName === 'IMG' && String(name).toLowerCase() === 'src' && foreign(this, value)) return;"
    " return setAttribute.call(this, name, value); };"
    " var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');"
    " Object.defineProperty(HTMLImageElement.prototype, 'src', {configurable: true, enumerable: src.enumerable,"
    " get: src.get, set: function (value) { if (!foreign(this, value)) src.set.call(this, value); }});"
    " })();</script>"
    "<style>img[data-blocked-src] { display: none; }</style>"
)
SELF_HOSTED_REDOC = engines["django"].from_string(
    '{% extends "drf_spectacular/redoc.html" %}{% block head %}<title>{{ title|default:"Redoc" }}</title>'
    '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
    "<style>body { margin: 0; padding: 0; }</style>" + NO_FOREIGN_IMAGES + "{% endblock head %}"
)


class SelfHostedRedocRenderer(TemplateHTMLRenderer):
    def resolve_template(self, template_names: list[str]) -> Template:
        return SELF_HOSTED_REDOC


class SelfHostedDocsMixin:
    """The browser may load nothing from elsewhere: Redoc's bundle asks for its vendor's logo from a
    CDN, and this policy keeps that request from ever being made."""

    def finalize_response(self, request: Request, response: Response, *args, **kwargs) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SelfHostedSwaggerView(SelfHostedDocsMixin, SpectacularSwaggerView):
    pass


class SelfHostedRedocView(SelfHostedDocsMixin, SpectacularRedocView):
    renderer_classes = [SelfHostedRedocRenderer]


urlpatterns = [
    # The schema describes the API, not its data: anyone may read it.
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny]), name="api-schema"),
    path(
        "docs/",
        SelfHostedSwaggerView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-docs",
    ),
    path(
        "redoc/",
        SelfHostedRedocView.as_view(url_name="api-schema", permission_classes=[AllowAny]),
        name="api-redoc",
    ),
    *router.urls,
]

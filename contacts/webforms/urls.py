"""Forms and landing pages: the marketer's pages and the public hosted ones."""

from django.urls import path

from contacts.webforms.views import public

app_name = "webforms"
urlpatterns = [
    # Visitors' pages (no login).
    path("f/confirm/<str:token>/", public.confirm_view, name="confirm"),
    path("f/<slug:slug>/", public.form_view, name="public_form"),
    path("f/<slug:slug>/thanks/", public.thanks_view, name="public_thanks"),
    path("f/<slug:slug>/embed.js", public.embed_script, name="embed_script"),
    path("p/<slug:slug>/", public.page_view, name="public_page"),
]

"""Forms and landing pages: the marketer's pages and the public hosted ones."""

from django.urls import path

from contacts.webforms.views import forms, pages, public

app_name = "webforms"
urlpatterns = [
    # Visitors' pages (no login).
    path("f/confirm/<str:token>/", public.confirm_view, name="confirm"),
    path("f/<slug:slug>/", public.form_view, name="public_form"),
    path("f/<slug:slug>/thanks/", public.thanks_view, name="public_thanks"),
    path("f/<slug:slug>/embed.js", public.embed_script, name="embed_script"),
    path("p/<slug:slug>/", public.page_view, name="public_page"),
    # The marketer's form pages.
    path("forms/", forms.form_list, name="form_list"),
    path("forms/new/", forms.form_create, name="form_create"),
    path("forms/<int:pk>/", forms.form_detail, name="form_detail"),
    path("forms/<int:pk>/design/", forms.form_design, name="form_design"),
    path("forms/<int:pk>/delete/", forms.form_delete, name="form_delete"),
    path("forms/<int:pk>/prefill-link/", forms.prefill_link, name="form_prefill_link"),
    path("forms/<int:pk>/submissions/", forms.submission_list, name="submission_list"),
    path("forms/<int:pk>/submissions/<int:submission_id>/", forms.submission_detail, name="submission_detail"),
    path("forms/<int:pk>/submissions.csv", forms.submission_export, name="submission_export"),
    # Landing pages.
    path("pages/", pages.page_list, name="page_list"),
    path("pages/new/", pages.page_create, name="page_create"),
    path("pages/<int:pk>/", pages.page_detail, name="page_detail"),
    path("pages/<int:pk>/publish/", pages.page_publish, name="page_publish"),
    path("pages/<int:pk>/unpublish/", pages.page_unpublish, name="page_unpublish"),
    path("pages/<int:pk>/delete/", pages.page_delete, name="page_delete"),
]

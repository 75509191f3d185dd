"""The marketer's trigger pages: catalog, custom trigger designer, recent events."""

from django.urls import path

from journeys.views import triggers as views

app_name = "triggers"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("events/", views.events, name="events"),
    path("fire/", views.fire_test, name="fire_test"),
    path("custom/new/", views.custom_new, name="custom_new"),
    path("custom/<int:pk>/edit/", views.custom_edit, name="custom_edit"),
    path("custom/<int:pk>/delete/", views.custom_delete, name="custom_delete"),
    path("<str:key>/", views.detail, name="detail"),
]

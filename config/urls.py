from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # The API first: integrations call it at high rates, and every pattern tried before it costs.
    path("api/", include("config.api")),
    path("section/<slug:section>/", views.section_not_built, name="section"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("contacts/", include("contacts.urls")),
    path("segments/", include("segments.urls")),
    path("journeys/", include("journeys.urls")),
    path("triggers/", include("journeys.trigger_urls")),
    # Forms and landing pages: the marketer's pages and the public /f/<slug>/ and /p/<slug>/.
    path("", include("contacts.webforms.urls")),
    path("", include("channels.urls")),
    path("admin/", admin.site.urls),
    # Hosted email providers post delivery, bounce and complaint webhooks here (django-anymail).
    path("anymail/", include("anymail.urls")),
]

from django.urls import path

from channels.views import public

app_name = "channels"
urlpatterns = [
    path("t/o/<str:token>/", public.open_pixel, name="open"),
    path("t/c/<str:token>/", public.click, name="click"),
    path("u/<str:token>/", public.unsubscribe, name="unsubscribe"),
    path("preferences/<str:token>/", public.preferences, name="preferences"),
]

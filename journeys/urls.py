"""The marketer's journey pages."""

app_name = "journeys"
urlpatterns: list = []

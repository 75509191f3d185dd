"""Forms and landing pages: the marketer's pages and the public hosted ones."""

app_name = "webforms"
urlpatterns: list = []

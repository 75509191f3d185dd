"""The marketer's trigger pages: catalog, custom trigger designer, recent events."""

app_name = "triggers"
urlpatterns: list = []

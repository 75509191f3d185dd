"""The marketer's journey pages: the list, a new journey, and the builder (canvas, side panel,
lifecycle, live view, test mode)."""

from django.urls import path

from journeys.views import canvas, lifecycle, lists, testmode, tiles

app_name = "journeys"
urlpatterns = [
    path("", lists.journey_list, name="list"),
    path("new/", lists.journey_create, name="create"),
    path("<int:pk>/", canvas.journey_detail, name="detail"),
    path("<int:pk>/clone/", lists.journey_clone, name="clone"),
    path("<int:pk>/delete/", lists.journey_delete, name="delete"),
    path("<int:pk>/palette/", canvas.palette, name="palette"),
    path("<int:pk>/tiles/add/", canvas.tile_add, name="tile_add"),
    path("<int:pk>/tiles/<str:key>/", tiles.tile, name="tile"),
    path("<int:pk>/tiles/<str:key>/delete/", canvas.tile_delete, name="tile_delete"),
    path("<int:pk>/tiles/<str:key>/people/", tiles.tile_people, name="tile_people"),
    path("<int:pk>/runs/<int:run_id>/", tiles.run_path, name="run"),
    path("<int:pk>/undo/", canvas.undo, name="undo"),
    path("<int:pk>/entry/", lifecycle.entry, name="entry"),
    path("<int:pk>/settings/", lifecycle.settings, name="settings"),
    path("<int:pk>/go-live/", lifecycle.go_live, name="go_live"),
    path("<int:pk>/pause/", lifecycle.pause, name="pause"),
    path("<int:pk>/resume/", lifecycle.resume, name="resume"),
    path("<int:pk>/stop/", lifecycle.stop, name="stop"),
    path("<int:pk>/new-version/", lifecycle.new_version, name="new_version"),
    path("<int:pk>/test/", testmode.test_mode, name="test"),
]

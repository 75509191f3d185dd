from django.urls import path

from segments.views import builder, detail, lists, members

app_name = "segments"
urlpatterns = [
    path("", lists.segment_list, name="list"),
    path("new/", builder.segment_create, name="create"),
    path("<int:pk>/", detail.segment_detail, name="detail"),
    path("<int:pk>/edit/", builder.segment_edit, name="edit"),
    path("<int:pk>/export/", detail.segment_export, name="export"),
    path("<int:pk>/refresh/", detail.segment_refresh, name="refresh"),
    path("<int:pk>/refresh-mode/", detail.segment_refresh_mode, name="refresh_mode"),
    path("<int:pk>/delete/", detail.segment_delete, name="delete"),
    path("<int:pk>/members/add/", members.add_members, name="add_members"),
    path("<int:pk>/members/freeze/", members.freeze_members, name="freeze"),
    path("<int:pk>/members/<int:person_id>/remove/", members.remove_member, name="remove_member"),
]

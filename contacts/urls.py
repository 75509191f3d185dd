from django.urls import path

from contacts.views import accounts, imports, leads, people, work

app_name = "contacts"
urlpatterns = [
    path("", people.contact_list, name="list"),
    path("new/", people.contact_create, name="create"),
    path("export/", people.contact_export, name="export"),
    path("<int:pk>/", people.contact_detail, name="detail"),
    path("<int:pk>/edit/", people.contact_edit, name="edit"),
    path("<int:pk>/consent/", people.contact_consent, name="consent"),
    path("leads/", leads.lead_list, name="lead_list"),
    path("leads/new/", leads.lead_create, name="lead_create"),
    path("leads/<int:pk>/", leads.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", leads.lead_edit, name="lead_edit"),
    path("leads/<int:pk>/consent/", leads.lead_consent, name="lead_consent"),
    path("accounts/", accounts.account_list, name="account_list"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account_detail"),
    path("tasks/", work.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/done/", work.task_done, name="task_done"),
    path("import/", imports.import_start, name="import"),
    path("import/preview/", imports.import_preview, name="import_preview"),
    path("import/<int:pk>/", imports.import_detail, name="import_detail"),
]

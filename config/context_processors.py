from django.http import HttpRequest
from django.urls import reverse

# The marketer UI's sections, in navigation order: (label, url name or None while not built).
SECTIONS = [
    ("Contacts", "contacts:list"),
    ("Segments", "segments:list"),
    ("Journeys", "journeys:list"),
    ("Email", "channels:email_list"),
    ("Forms", "webforms:form_list"),
    ("Events", None),
    ("Scoring", None),
    ("Analytics", None),
]

# Pages of a built section, shown beneath it in the navigation: (label, url name, permission).
SUBSECTIONS = {
    "Contacts": [
        ("All contacts", "contacts:list", "contacts.view_contact"),
        ("Leads", "contacts:lead_list", "contacts.view_lead"),
        ("Accounts", "contacts:account_list", "contacts.view_account"),
        ("Import", "contacts:import", "contacts.add_importjob"),
    ],
    "Journeys": [
        ("All journeys", "journeys:list", "journeys.view_journey"),
        ("Triggers", "triggers:catalog", "journeys.view_triggerevent"),
        ("Trigger events", "triggers:events", "journeys.view_triggerevent"),
    ],
    "Email": [
        ("Emails", "channels:email_list", "channels.view_email"),
        ("Content blocks", "channels:content_block_list", "channels.view_contentblock"),
        ("Senders", "channels:sender_list", "channels.view_senderprofile"),
        ("Brands", "channels:brand_list", "channels.view_brandprofile"),
        ("Webhooks", "channels:webhook_list", "channels.view_webhookendpoint"),
    ],
    "Forms": [
        ("Forms", "webforms:form_list", "contacts.view_webform"),
        ("Landing pages", "webforms:page_list", "contacts.view_landingpage"),
    ],
}
ICONS = {"Forms": "form"}  # sections whose icon is not their label in lower case


def _nav_item(request: HttpRequest, label: str, url_name: str | None, *, elsewhere: bool) -> dict:
    url = reverse(url_name) if url_name else reverse("section", args=[label.lower()])
    here = not elsewhere and request.path.startswith(url)
    children = [
        {"label": sub, "url": reverse(name)}
        for sub, name, permission in SUBSECTIONS.get(label, [])
        if request.user.has_perm(permission)
    ]
    for child in children:
        child["active"] = request.path == child["url"] or (
            child["url"] != url and request.path.startswith(child["url"])
        )
    if children and not any(c["active"] for c in children) and here:
        children[0]["active"] = True  # a contact's own page belongs to "All contacts"
    return {
        "label": label, "url": url, "icon": ICONS.get(label, label.lower()), "built": url_name is not None,
        "active": here, "children": children,
    }


def navigation(request: HttpRequest) -> dict:
    """The sidebar: each section with its URL, icon name, whether it is built, and the current one."""
    tasks_url = reverse("contacts:my_tasks")
    on_tasks = request.path.startswith(tasks_url)
    return {
        "nav_sections": SECTIONS,
        "nav_items": [_nav_item(request, label, name, elsewhere=on_tasks) for label, name in SECTIONS],
        "nav_tasks": {"url": tasks_url, "active": on_tasks},
    }

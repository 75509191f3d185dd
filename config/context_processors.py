from django.http import HttpRequest

# The marketer UI's sections, in navigation order: (label, url name or None while not built).
SECTIONS = [
    ("Contacts", "contacts:list"),
    ("Segments", None),
    ("Journeys", None),
    ("Email", None),
    ("Events", None),
    ("Scoring", None),
    ("Analytics", None),
]


def navigation(request: HttpRequest) -> dict:
    return {"nav_sections": SECTIONS}

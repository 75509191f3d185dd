"""The contacts app's REST API: `register(router)` adds its viewsets to the project's router."""

from rest_framework.routers import BaseRouter

from contacts.api.activity import (
    ConsentHistoryViewSet,
    ConsentViewSet,
    InteractionViewSet,
    SalesQueueViewSet,
    TaskViewSet,
    TopicViewSet,
)
from contacts.api.import_jobs import ImportJobViewSet
from contacts.api.people import (
    AccountViewSet,
    ContactViewSet,
    CustomAttributeViewSet,
    LeadViewSet,
    OpportunityViewSet,
)
from contacts.api.webforms import (
    FormConsentViewSet,
    FormFieldViewSet,
    FormSubmissionViewSet,
    LandingPageViewSet,
    WebFormViewSet,
)

VIEWSETS = [
    ("contacts", ContactViewSet, "contact"),
    ("leads", LeadViewSet, "lead"),
    ("accounts", AccountViewSet, "account"),
    ("opportunities", OpportunityViewSet, "opportunity"),
    ("interactions", InteractionViewSet, "interaction"),
    ("consent", ConsentViewSet, "consent"),
    ("consent-history", ConsentHistoryViewSet, "consent-history"),
    ("tasks", TaskViewSet, "task"),
    ("topics", TopicViewSet, "topic"),
    ("sales-queues", SalesQueueViewSet, "sales-queue"),
    ("custom-attributes", CustomAttributeViewSet, "custom-attribute"),
    ("imports", ImportJobViewSet, "import"),
    ("forms", WebFormViewSet, "form"),
    ("form-fields", FormFieldViewSet, "form-field"),
    ("form-consents", FormConsentViewSet, "form-consent"),
    ("form-submissions", FormSubmissionViewSet, "form-submission"),
    ("landing-pages", LandingPageViewSet, "landing-page"),
]


def register(router: BaseRouter) -> None:
    for prefix, viewset, basename in VIEWSETS:
        router.register(prefix, viewset, basename=basename)

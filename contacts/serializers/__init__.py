"""The API's serializers: they check the shape of requests; viewsets then call the services."""

from contacts.serializers.activity import (
    ConsentChangeSerializer,
    ConsentSerializer,
    InteractionSerializer,
    SalesQueueSerializer,
    TaskSerializer,
    TopicSerializer,
)
from contacts.serializers.base import PersonRefSerializer, as_drf_error, django_errors_as_drf, person_of
from contacts.serializers.imports import ImportJobSerializer, ImportUploadSerializer
from contacts.serializers.people import (
    AccountSerializer,
    ContactSerializer,
    CustomAttributeSerializer,
    LeadSerializer,
    OpportunitySerializer,
)

__all__ = [
    "AccountSerializer", "ConsentChangeSerializer", "ConsentSerializer", "ContactSerializer",
    "CustomAttributeSerializer", "ImportJobSerializer", "ImportUploadSerializer", "InteractionSerializer",
    "LeadSerializer", "OpportunitySerializer", "PersonRefSerializer", "SalesQueueSerializer", "TaskSerializer",
    "TopicSerializer",
    "as_drf_error", "django_errors_as_drf", "person_of",
]

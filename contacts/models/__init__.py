from contacts.models.apikeys import APIKey
from contacts.models.consent import Channel, Consent, ConsentChange, ConsentStatus, DoubleOptIn, Topic
from contacts.models.imports import ImportJob
from contacts.models.people import Account, Contact, CustomAttribute, Lead, Opportunity
from contacts.models.person_ref import Audience, PersonRef, person_keys
from contacts.models.timeline import Interaction, InteractionType
from contacts.models.webforms import FormConsent, FormField, FormSubmission, LandingPage, WebForm
from contacts.models.work import SalesQueue, Task

__all__ = [
    "APIKey", "Account", "Audience", "Channel", "Consent", "ConsentChange", "ConsentStatus", "Contact",
    "CustomAttribute", "DoubleOptIn", "ImportJob", "Interaction", "InteractionType", "Lead",
    "Opportunity", "PersonRef", "SalesQueue", "Task", "Topic", "person_keys",
    "FormConsent", "FormField", "FormSubmission", "LandingPage", "WebForm",
]

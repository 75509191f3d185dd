"""factory_boy factories for the people data. Use them; don't build rows by hand in tests."""

import datetime

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from contacts.models import Account, Contact, Interaction, Lead, Opportunity, SalesQueue, Task, Topic


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*extracted)
            self.save()


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    industry = "Retail"
    country = "United States"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    country = "United States"
    state = "Texas"


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    company = "Fabrikam"


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    name = factory.Sequence(lambda n: f"Opportunity {n}")
    account = factory.SubFactory(AccountFactory)


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("key",)

    key = "newsletter"
    name = "Newsletter"


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    contact = factory.SubFactory(ContactFactory)
    type = "purchase"
    occurred_at = factory.LazyFunction(timezone.now)


class SalesQueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesQueue

    name = factory.Sequence(lambda n: f"Queue {n}")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    contact = factory.SubFactory(ContactFactory)
    subject = factory.Sequence(lambda n: f"Follow up {n}")
    assigned_to = factory.SubFactory(UserFactory)
    due_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=1))

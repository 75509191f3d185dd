"""CSV import: good rows land, bad rows are reported with their row numbers, nothing half-written."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from contacts import hooks, imports
from contacts.models import Account, Contact, CustomAttribute, ImportJob
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def csv_file(text: str, name: str = "people.csv") -> ContentFile:
    return ContentFile(text.encode(), name=name)


def run(text: str, now, **kwargs) -> ImportJob:
    kwargs.setdefault("mapping", None)
    kwargs.setdefault("on_duplicate", "update")
    job = imports.create_import(csv_file(text), user=None, now=now, **kwargs)
    imports.run_import(job.pk, now=now)
    job.refresh_from_db()
    return job


@pytest.fixture
def loyalty(db):
    return CustomAttribute.objects.create(key="loyalty_member", label="Loyalty member", type="boolean")


def test_good_rows_are_imported_and_bad_rows_reported_with_row_numbers(now, loyalty):
    job = run(
        "Email,First name,Last name,Loyalty member,Birthday\n"
        "ann@example.com,Ann,Lee,yes,1990-04-01\n"
        "not-an-email,Bob,Ray,no,\n"
        "cy@example.com,Cy,Oh,maybe,\n"
        "dee@example.com,Dee,Ng,no,1990-13-01\n"
        "eve@example.com,Eve,Ko,,\n",
        now,
    )
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.error_count) == (2, 3)
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["ann@example.com", "eve@example.com"]
    assert [e["row"] for e in job.errors] == [3, 4, 5]
    assert "email" in job.errors[0]["errors"]
    assert "attributes.loyalty_member" in job.errors[1]["errors"]
    assert "birthday" in job.errors[2]["errors"]
    assert Contact.objects.get(email="ann@example.com").attributes == {"loyalty_member": True}


def test_duplicates_update_existing_contacts_matched_case_insensitively(now):
    existing = ContactFactory(email="ann@example.com", first_name="Old", city="Austin")
    job = run("email,first_name\nANN@Example.com,New\n", now)
    existing.refresh_from_db()
    assert (job.created_count, job.updated_count) == (0, 1)
    assert existing.first_name == "New"
    assert existing.city == "Austin"  # unmapped fields are left alone
    assert Contact.objects.count() == 1


def test_skip_mode_leaves_existing_contacts_untouched(now):
    existing = ContactFactory(email="ann@example.com", first_name="Old")
    job = run("email,first_name\nann@example.com,New\nbo@example.com,Bo\n", now, on_duplicate="skip")
    existing.refresh_from_db()
    assert (job.created_count, job.skipped_count) == (1, 1)
    assert existing.first_name == "Old"


def test_the_same_email_twice_in_a_file_makes_one_contact(now):
    job = run("email,first_name\nann@example.com,Ann\nann@example.com,Annie\n", now)
    assert job.created_count == 1
    assert Contact.objects.get().first_name == "Annie"


def test_accounts_are_matched_by_name_or_created(now):
    Account.objects.create(name="Contoso")
    run("email,company\na@example.com,Contoso\nb@example.com,Fabrikam\n", now)
    assert Account.objects.count() == 2
    assert Contact.objects.get(email="a@example.com").account.name == "Contoso"


def test_a_row_with_the_wrong_number_of_columns_is_reported(now):
    job = run('email,first_name\n"a@example.com",Ann,extra\nb@example.com,Bo\n', now)
    assert job.created_count == 1
    assert job.errors == [{"row": 2, "errors": {"row": "has 3 columns, the header has 2"}}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00bad", "UTF-8"),
        (b"first_name,last_name\nAnn,Lee\n", "Map a column to Email"),
    ],
)
def test_a_broken_file_is_refused_before_anything_is_stored(now, content, message):
    with pytest.raises(ValidationError) as error:
        imports.create_import(ContentFile(content, name="x.csv"), mapping=None, on_duplicate="update",
                              user=None, now=now)
    assert message in str(error.value)
    assert ImportJob.objects.count() == 0


def test_an_unknown_mapping_target_is_refused(now):
    with pytest.raises(ValidationError, match="unknown field"):
        imports.create_import(csv_file("email,x\na@example.com,1\n"), mapping={"email": "email", "x": "salary"},
                              on_duplicate="update", user=None, now=now)


def test_suggested_mapping_recognizes_common_column_names(loyalty):
    mapping = imports.suggest_mapping(["E-mail", "First Name", "Surname", "Loyalty member", "Notes"])
    assert mapping == {"E-mail": "email", "First Name": "first_name", "Surname": "last_name",
                       "Loyalty member": "attributes.loyalty_member", "Notes": ""}


def test_import_runs_chunk_by_chunk_and_a_second_run_does_nothing(now, settings):
    settings.WAYMARK_IMPORT_CHUNK_SIZE = 2
    rows = "".join(f"p{i}@example.com,P{i}\n" for i in range(5))
    job = run("email,first_name\n" + rows, now)
    assert (job.rows_done, job.created_count) == (5, 5)
    assert imports.run_import(job.pk, now=now) == 0  # already done: claiming fails
    assert Contact.objects.count() == 5


def test_a_stalled_job_resumes_after_its_last_committed_chunk(now, settings):
    settings.WAYMARK_IMPORT_CHUNK_SIZE = 2
    rows = "".join(f"p{i}@example.com,P{i}\n" for i in range(5))
    job = imports.create_import(csv_file("email,first_name\n" + rows), mapping=None, on_duplicate="skip",
                                user=None, now=now)
    # A worker imported the first chunk and died.
    Contact.objects.create(email="p0@example.com")
    Contact.objects.create(email="p1@example.com")
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_done=2, created_count=2,
                                               heartbeat_at=now - imports.STALLED_AFTER * 2)
    imports.run_import(job.pk, now=now)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.skipped_count) == ("done", 5, 0)


def test_a_running_job_with_a_fresh_heartbeat_is_not_claimed_twice(now):
    job = imports.create_import(csv_file("email\na@example.com\n"), mapping=None, on_duplicate="update",
                                user=None, now=now)
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=now)
    assert imports.run_import(job.pk, now=now) == 0
    assert Contact.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_each_chunk_reports_once_to_the_people_change_hook(now, settings):
    settings.WAYMARK_IMPORT_CHUNK_SIZE = 3
    ContactFactory(email="old@example.com")
    seen = []
    hooks.subscribe(seen.append)
    try:
        run("email,city\nold@example.com,Oslo\n" + "".join(f"n{i}@example.com,Rome\n" for i in range(4)), now)
    finally:
        hooks.unsubscribe(seen.append)
    created = [change for change in seen if change.created]
    updated = [change for change in seen if not change.created]
    assert sum(len(c.contact_ids) for c in created) == 4
    assert len(created) == 2  # two chunks with new contacts, one call each
    assert updated[0].fields == {"city"}


def test_export_of_read_rows_keeps_the_header():
    job = ImportJob()
    job.file.save("x.csv", ContentFile(b"email\na@example.com\n"), save=False)
    assert list(imports.iter_rows(job)) == [["email"], ["a@example.com"]]


def test_text_stream_reads_a_byte_order_mark_as_utf8(now):
    job = run("\ufeffemail,first_name\nasa@example.com,Åsa\n", now)
    assert job.error_count == 0 and Contact.objects.get().first_name == "Åsa"


def test_a_row_of_empty_cells_is_a_row_error_not_a_blank_contact(now):
    job = run("email,first_name\n , \n\nb@example.com,Bo\n", now)
    assert (job.created_count, job.skipped_count) == (1, 1)  # the blank line is skipped
    assert job.errors == [{"row": 2, "errors": {"email": "is required (contacts are matched by email)"}}]
    assert Contact.objects.count() == 1

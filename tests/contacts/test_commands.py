"""Management commands: seed_demo, seed_scale and import_contacts."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from contacts import demo
from contacts.models import Account, Contact, CustomAttribute
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

CSV = (
    "Email,First name,Last name,Country,Loyalty\n"
    "ada@example.com,Ada,Lovelace,United Kingdom,yes\n"
    "not-an-email,Bad,Row,Sweden,no\n"
    "grace@example.com,Grace,Hopper,United States,\n"
)


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def csv_file(tmp_path, media):
    CustomAttribute.objects.create(key="loyalty_member", label="Loyalty member", type="boolean")
    path = tmp_path / "contacts.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_seed_demo_seeds_and_prints_the_logins_and_url(settings):
    settings.SITE_URL = "https://waymark.example"
    out = run("seed_demo")
    assert "Seeded Contoso Coffee: 25 accounts, 500 contacts" in out
    assert "marketer / waymark-demo" in out and "admin / waymark-admin" in out and "sales / waymark-demo" in out
    assert "https://waymark.example/login/" in out


def test_seed_demo_on_a_seeded_database_adds_nothing():
    AccountFactory(name="Contoso Coffee")
    out = run("seed_demo")
    assert "already seeded" in out and "marketer / waymark-demo" in out
    assert Account.objects.count() == 1 and not Contact.objects.exists()


def test_demo_users_are_created_only_if_missing(marketer):
    _, created = demo.ensure_demo_users()
    assert created == ["admin", "sales"]
    marketer.refresh_from_db()
    assert marketer.check_password("pw-for-tests-1")


def test_seed_scale_prints_timings():
    out = run("seed_scale", "--contacts", "20", "--interactions", "50")
    assert "contacts:" in out and "Seeded 20 contacts and 50 interactions" in out


def test_seed_scale_rejects_interactions_without_contacts():
    with pytest.raises(CommandError, match="need contacts"):
        run("seed_scale", "--contacts", "0", "--interactions", "10")


def test_import_reports_the_bad_row_and_imports_the_rest(csv_file):
    out = run("import_contacts", str(csv_file), "--map", "Loyalty=attributes.loyalty_member")
    assert "2 created" in out and "1 rejected" in out
    assert "row 3: email:" in out
    assert set(Contact.objects.values_list("email", flat=True)) == {"ada@example.com", "grace@example.com"}
    assert Contact.objects.get(email="ada@example.com").attributes == {"loyalty_member": True}


def test_import_maps_columns_by_name_without_map(csv_file):
    run("import_contacts", str(csv_file))
    assert Contact.objects.get(email="grace@example.com").last_name == "Hopper"


def test_import_skips_known_emails_when_asked(csv_file):
    Contact.objects.create(email="ada@example.com", first_name="Augusta")
    out = run("import_contacts", str(csv_file), "--on-duplicate", "skip")
    assert "1 created" in out and "1 skipped" in out
    assert Contact.objects.get(email="ada@example.com").first_name == "Augusta"


def test_import_with_an_unknown_column_in_the_mapping_fails(csv_file):
    with pytest.raises(CommandError, match="not in the file"):
        run("import_contacts", str(csv_file), "--map", "Nickname=first_name")
    assert not Contact.objects.exists()


def test_import_with_an_unknown_target_fails(csv_file):
    with pytest.raises(CommandError, match="unknown field"):
        run("import_contacts", str(csv_file), "--map", "Country=planet")


def test_import_with_a_malformed_map_fails(csv_file):
    with pytest.raises(CommandError, match="column=target"):
        run("import_contacts", str(csv_file), "--map", "Country")


def test_import_without_an_email_column_fails(tmp_path, media):
    path = tmp_path / "no-email.csv"
    path.write_text("Name\nAda\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Map a column to Email"):
        run("import_contacts", str(path))


def test_import_of_a_missing_file_fails(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run("import_contacts", str(tmp_path / "nope.csv"))

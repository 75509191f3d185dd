"""The segment pages: the builder driven as a browser drives it (HTMX posts of the whole form), the
seven marketer sentences built and saved through it, the segment page, static lists, permissions
and query counts."""

import csv
import datetime
import html
import io
import json
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, CustomAttribute
from segments import services
from segments.models import Segment
from tests.factories import AccountFactory, ContactFactory, InteractionFactory, LeadFactory, OpportunityFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
DAY = datetime.timedelta(days=1)
NEW_CONTACT_SEGMENT = "/segments/new/?kind=dynamic&audience=contact"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- A browser's view of the builder form ---------------------------------------------------------
class FormValues(HTMLParser):
    """The values a browser would submit from the HTML (inside `form_id`, when given): inputs,
    selected options (or the first), textareas. Buttons are sent only when clicked."""

    def __init__(self, form_id=None):
        super().__init__()
        self.form_id, self.inside, self.values = form_id, form_id is None, {}
        self.select = self.first = self.textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and self.form_id:
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button", "checkbox"):
            self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select, self.first = a.get("name"), None
        elif tag == "option" and self.select:
            self.first = a.get("value") if self.first is None else self.first
            if "selected" in a:
                self.values[self.select] = a.get("value")
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.values[self.textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select" and self.select:
            self.values.setdefault(self.select, self.first)
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form" and self.form_id:
            self.inside = False

    def handle_data(self, data):
        if self.textarea and self.inside:
            self.values[self.textarea] += data.lstrip("\n")


def form_values(page, form_id=None):
    parser = FormValues(form_id)
    parser.feed(page)
    return parser.values


def is_builder_control(name):
    return name == "query" or re.match(r"^r[.-]", name) is not None


class Builder:
    """Posts the builder the way the page does: every change sends the whole form, and the answer
    replaces the conditions (and the preview) while the rest of the form stays as typed."""

    def __init__(self, client, url):
        self.client, self.url = client, url.split("?")[0]
        page = client.get(url)
        assert page.status_code == 200
        self.html = page.content.decode()
        self.fields = form_values(self.html, "segment-form")

    def post(self, action=None):
        data = {**self.fields, **({"action": action} if action else {})}
        response = self.client.post(self.url, data, **HTMX)
        assert response.status_code == 200
        self.html = response.content.decode()
        self.fields = {k: v for k, v in self.fields.items() if not is_builder_control(k)} | form_values(self.html)
        return self

    def click(self, action):
        return self.post(action)

    def change(self, name, value):
        assert name in self.fields, f"no control {name} in {sorted(self.fields)}"
        self.fields[name] = value
        return self.post()

    def add(self, kind="attribute", group="r", **controls):
        """Add a condition to `group`, choose its type, then set its controls in order."""
        before = {k for k in self.fields if k.endswith("-type")}
        self.click(f"add_condition:{group}")
        path = ({k for k in self.fields if k.endswith("-type")} - before).pop().removesuffix("-type")
        if kind != "attribute":
            self.change(f"{path}-type", kind)
        for name, value in controls.items():
            if name.startswith("add_where"):
                self.click(f"add_where:{path}")
            else:
                self.change(f"{path}-{name.replace('__', '-')}", value)
        return path

    @property
    def query(self):
        return json.loads(self.fields["query"])

    @property
    def text(self):
        return html.unescape(self.html)

    @property
    def count(self):
        found = re.search(r'data-count="(\d+)"', self.html)
        return int(found.group(1)) if found else None

    def save(self, action="save", **fields):
        return self.client.post(self.url, {**self.fields, **fields, "action": action})


def contact(name, **fields):
    fields.setdefault("state", "")
    fields.setdefault("country", "United States")
    return ContactFactory(first_name=name, email=f"{name}@example.com", **fields)


def did(person, kind, days_ago, **columns):
    return InteractionFactory(contact=person, type=kind, occurred_at=timezone.now() - days_ago * DAY, **columns)


def saved(builder, name):
    response = builder.save(name=name)
    assert response.status_code == 302, response.content.decode()[:3000]
    segment = Segment.objects.get(name=name)
    assert response["Location"] == segment.get_absolute_url()
    assert segment.status == Segment.Status.READY and segment.query == builder.query
    return set(services.members(segment).values_list("first_name", flat=True))


# --- The seven sentences, built by clicking -------------------------------------------------------
def test_sweden_customers_with_a_recent_purchase_and_an_open_opportunity(marketer_client):
    for name, country, days, status in [("inside", "Sweden", 10, "open"), ("old", "Sweden", 95, "open"),
                                        ("won", "Sweden", 10, "won"), ("norway", "Norway", 10, "open")]:
        person = contact(name, country=country)
        did(person, "purchase", days)
        OpportunityFactory(contact=person, account=None, status=status)
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(value="Sweden")  # a new condition is "Country is …"
    b.add("behavior", window="last", last_days="90")
    b.add("related")  # has at least one opportunity where Status is open
    assert b.count == 1
    assert "Contacts whose Country is \"Sweden\" and who made a purchase at least once in the last 90 days and " \
           "who have an opportunity where Status is \"open\"" in b.text
    assert saved(b, "Sweden buyers") == {"inside"}


def test_texas_loyalty_members_who_bought_cold_brew_but_never_the_concentrate(marketer_client):
    CustomAttribute.objects.create(key="loyalty_member", label="Loyalty member", type="boolean")
    texan = {"state": "Texas", "attributes": {"loyalty_member": True}}
    did(contact("yes", **texan), "purchase", 5, product="cold brew")
    both = contact("both", **texan)
    did(both, "purchase", 5, product="cold brew")
    did(both, "purchase", 300, product="cold brew concentrate")
    did(contact("old", **texan), "purchase", 100, product="cold brew")
    did(contact("not_member", state="Texas", attributes={"loyalty_member": False}), "purchase", 5, product="cold brew")
    did(contact("ohio", state="Ohio", attributes={"loyalty_member": True}), "purchase", 5, product="cold brew")
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(field="attributes.loyalty_member")  # a yes/no field: "is yes", no value
    b.add(field="state", value="Texas")
    b.add("behavior", add_where=True, w0__value="cold brew", window="last", last_days="90")
    b.add("behavior", add_where=True, w0__value="cold brew concentrate", count_op="exactly", count_value="0")
    assert b.query["conditions"][0] == {"type": "attribute", "field": "attributes.loyalty_member", "op": "is_true"}
    assert b.query["conditions"][3]["count"] == {"op": "exactly", "value": 0}
    assert b.count == 1
    assert saved(b, "Cold brew, not concentrate") == {"yes"}


def test_account_industry_is_manufacturing_and_its_negation_keeps_missing_values(marketer_client):
    contact("maker", account=AccountFactory(industry="Manufacturing"))
    contact("shop", account=AccountFactory(industry="Retail"))
    contact("loner", account=None)
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(field="account.industry", value="Manufacturing")
    assert saved(b, "Manufacturing") == {"maker"}
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(field="account.industry", op="not_equals", value="Manufacturing")
    assert saved(b, "Not manufacturing") == {"shop", "loner"}


def test_north_dakota_contacts_who_opened_an_email_and_clicked_its_link_within_90_days(marketer_client):
    for name, state, opened_days, link in [("both", "North Dakota", 10, "https://x.test/offer"),
                                           ("other_link", "North Dakota", 10, "https://x.test/other"),
                                           ("stale", "North Dakota", 91, "https://x.test/offer"),
                                           ("texan", "Texas", 10, "https://x.test/offer")]:
        person = contact(name, state=state)
        did(person, "email_opened", opened_days, email_key="spring")
        did(person, "email_clicked", 10, email_key="spring", link=link)
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(field="state", value="North Dakota")
    b.add("behavior", interaction="email_opened", add_where=True, w0__field="email_key", w0__value="spring",
          window="last", last_days="90")
    b.add("behavior", interaction="email_clicked", add_where=True, w0__field="email_key", w0__value="spring",
          add_where_2=True, w1__field="link", w1__value="https://x.test/offer", window="last", last_days="90")
    assert b.query["conditions"][2]["where"] == [{"field": "email_key", "op": "equals", "value": "spring"},
                                                 {"field": "link", "op": "equals", "value": "https://x.test/offer"}]
    assert saved(b, "ND engaged") == {"both"}


def test_customers_who_have_not_purchased_in_the_last_60_days(marketer_client):
    did(contact("lapsed"), "purchase", 61)
    did(contact("recent"), "purchase", 59)
    contact("never")
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add("behavior")
    b.add("behavior", count_op="exactly", count_value="0", window="last", last_days="60")
    assert "who did not make a purchase in the last 60 days" in b.text
    assert saved(b, "Lapsed") == {"lapsed"}


def test_segment_a_without_the_board_and_members_of_both_a_and_b(marketer_client):
    now = timezone.now()
    for name, country, state in [("ann", "Sweden", "Skane"), ("bo", "Sweden", "Texas"), ("cy", "USA", "Texas")]:
        contact(name, country=country, state=state)
    swedes = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    swedes.add(value="Sweden")
    assert saved(swedes, "Swedes") == {"ann", "bo"}
    texans = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    texans.add(field="state", value="Texas")
    assert saved(texans, "Texans") == {"bo", "cy"}
    board = services.save_segment(Segment(name="Board", kind="static"), now=now)
    services.add_members(board, [Contact.objects.get(first_name="ann").pk], now=now)
    a, b_ = Segment.objects.get(name="Swedes"), Segment.objects.get(name="Texans")

    minus = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    minus.add("segment", segment=str(a.pk))
    minus.add("segment", op="not_in", segment=str(board.pk))
    assert 'who are in the segment "Swedes" and who are not in the segment "Board"' in minus.text
    assert saved(minus, "Swedes, not the board") == {"bo"}
    both = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    both.add("segment", segment=str(a.pk))
    both.add("segment", segment=str(b_.pk))
    assert saved(both, "Swedes in Texas") == {"bo"}


# --- The builder: errors, drafts, editing -----------------------------------------------------------
def test_builder_shows_problems_beside_their_condition_and_refuses_to_save_them_as_ready(marketer_client):
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(field="created_at")  # a date field starts as "is in the last … days"
    b.add("behavior", window="last", last_days="zero")
    assert 'data-path="r.0"' in b.html and "Enter a number of days." in b.text
    assert "Days: must be a whole number of days, at least 1." in b.text
    assert "Fix 2 problems" in b.text and "data-count" not in b.html
    response = b.save(name="Broken")
    assert response.status_code == 200
    assert "Not saved: the query has problems" in html.unescape(response.content.decode())
    assert "Enter a number of days." in html.unescape(response.content.decode())  # still beside the condition
    assert not Segment.objects.exists()


def test_a_broken_query_can_be_kept_as_a_draft(marketer_client):
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(field="state")  # no value yet
    response = b.save("save_draft", name="Half-built")
    segment = Segment.objects.get(name="Half-built")
    assert response.status_code == 302 and segment.status == Segment.Status.DRAFT
    assert segment.query["conditions"] == [{"type": "attribute", "field": "state", "op": "equals", "value": ""}]
    assert segment.member_count == 0 and not segment.refreshes.exists()  # drafts are never refreshed
    page = html.unescape(marketer_client.get(segment.get_absolute_url()).content.decode())
    assert "This segment is a draft" in page and "Condition 1: Enter a value." in page


def test_the_builder_converts_typed_strings_to_the_query_types(marketer_client):
    CustomAttribute.objects.create(key="lifetime_value", label="Lifetime value", type="number")
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.add(field="attributes.lifetime_value", op="between", value="10", value2="20.5")
    b.add(field="state", op="in", value="Texas, Ohio ,, Utah")
    b.add(field="created_at", value="30")
    b.add(field="birthday", op="equals", value="1990-05-17")
    assert [c.get("value") for c in b.query["conditions"]] == [[10, 20.5], ["Texas", "Ohio", "Utah"], 30,
                                                                "1990-05-17"]
    b.change("r.0-value", "ten")
    assert "Value: 'ten' is not a number." in b.text


def test_the_builder_nests_groups_removes_and_matches_any(marketer_client):
    b = Builder(marketer_client, NEW_CONTACT_SEGMENT)
    b.click("add_group:r")  # a group starts with one condition
    b.change("r.0-match", "any")
    b.change("r.0.0-field", "state")
    b.change("r.0.0-value", "Texas")
    b.add(group="r.0", field="state", value="Ohio")
    b.change("r-match", "none")
    assert b.query == {"version": 1, "match": "none", "conditions": [{"type": "group", "match": "any", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"},
        {"type": "attribute", "field": "state", "op": "equals", "value": "Ohio"}]}]}
    assert 'All contacts except those (whose State / region is "Texas" or whose State / region is "Ohio")' in b.text
    b.click("remove:r.0.0")
    b.click("remove:r.0")
    assert b.query["conditions"] == []


def test_an_unreadable_builder_state_starts_again_and_says_so(marketer_client):
    response = marketer_client.post("/segments/new/", {"kind": "dynamic", "audience": "contact", "query": "{nope"},
                                    **HTMX)
    assert "could not be read" in response.content.decode()


def test_lead_segments_offer_lead_fields_and_no_opportunities(marketer_client):
    CustomAttribute.objects.create(entity="lead", key="budget", label="Budget", type="number")
    b = Builder(marketer_client, "/segments/new/?kind=dynamic&audience=lead")
    b.click("add_condition:r")
    assert 'value="attributes.budget"' in b.html and 'value="company"' in b.html
    assert 'value="related"' not in b.html and 'value="birthday"' not in b.html


def test_editing_a_segment_changes_its_query_and_refreshes_it(marketer_client, now):
    contact("tex", state="Texas")
    contact("ohio", state="Ohio")
    segment = services.save_segment(Segment(name="Texans", query={"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}), now=now)
    b = Builder(marketer_client, reverse("segments:edit", args=[segment.pk]))
    assert b.fields["r.0-value"] == "Texas"
    b.change("r.0-value", "Ohio")
    assert saved(b, "Ohioans") == {"ohio"}


# --- The list and the segment page --------------------------------------------------------------------
def texans(now, name="Texans", **fields):
    segment = services.save_segment(Segment(name=name, query={"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": "Texas"}]}, **fields), now=now)
    services.refresh(segment, now=now)
    return segment


def test_navigation_marks_segments_as_built(marketer_client):
    page = marketer_client.get("/").content.decode()
    assert 'href="/segments/"' in page and 'href="/section/segments/"' not in page


def test_segment_list_shows_status_members_and_last_refresh_and_searches(marketer_client, now):
    ContactFactory.create_batch(3, state="Texas")
    texans(now, description="Lone star state")
    services.save_segment(Segment(name="Half-built", query={"version": 1, "match": "all", "conditions": [
        {"type": "attribute", "field": "state", "op": "equals", "value": ""}]}), now=now, make_ready=False)
    page = html.unescape(marketer_client.get("/segments/").content.decode())
    assert "Texans" in page and "Lone star state" in page and "Half-built" in page and "Draft" in page
    assert re.search(r"<strong>3</strong>", page) and "took" in page and "Daily" in page
    rows = marketer_client.get("/segments/?q=lone", **HTMX).content.decode()
    assert "Texans" in rows and "Half-built" not in rows and "<html" not in rows
    assert "Half-built" in marketer_client.get("/segments/?status=draft").content.decode()


def test_segment_list_has_an_empty_state_with_ways_to_start(marketer_client):
    page = marketer_client.get("/segments/").content.decode()
    assert "No segments yet" in page and "/segments/new/?kind=dynamic&amp;audience=contact" in page


def test_segment_page_shows_the_sentence_members_trend_and_refreshes(marketer_client, now):
    ContactFactory(first_name="Ada", last_name="Lovelace", state="Texas", email="ada@example.com")
    ContactFactory(first_name="Grace", last_name="Hopper", state="Texas")
    ContactFactory(first_name="Olive", state="Ohio")
    segment = texans(now)
    page = marketer_client.get(segment.get_absolute_url())
    text = html.unescape(page.content.decode())
    assert 'Contacts whose State / region is "Texas"' in text
    assert "Ada Lovelace" in text and "Grace Hopper" in text and "Olive" not in text
    trend = json.loads(re.search(r'<script id="segment-trend" type="application/json">(.*?)</script>', text,
                                 re.S).group(1))
    assert len(trend) == 30 and trend[-1]["members"] == 2
    assert "vendor/chart.umd.min.js" in text
    assert "No journeys yet — journeys arrive in a later version" in text
    assert "Full" in text and "+2" in text  # the recent refresh: kind, entered
    rows = marketer_client.get(segment.get_absolute_url() + "?q=lovelace", **HTMX).content.decode()
    assert "Ada Lovelace" in rows and "Grace Hopper" not in rows and "<html" not in rows


def test_export_streams_every_member_as_csv(marketer_client, now):
    ContactFactory(first_name="Ada", state="Texas", email="ada@example.com")
    ContactFactory(first_name="Olive", state="Ohio", email="olive@example.com")
    segment = texans(now)
    response = marketer_client.get(reverse("segments:export", args=[segment.pk]))
    assert response.streaming and response["Content-Disposition"].startswith('attachment; filename="segment-texans-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [r["email"] for r in rows] == ["ada@example.com"]


def test_lead_segments_export_lead_columns(marketer_client, now):
    LeadFactory(first_name="Quinn", email="quinn@example.com", company="Fabrikam", state="Texas")
    segment = texans(now, audience="lead")
    response = marketer_client.get(reverse("segments:export", args=[segment.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["email"], r["company"]) for r in rows] == [("quinn@example.com", "Fabrikam")]


def test_refresh_now_recomputes_the_members(marketer_client, now):
    segment = texans(now)
    ContactFactory(state="Texas")
    response = marketer_client.post(reverse("segments:refresh", args=[segment.pk]), follow=True)
    segment.refresh_from_db()
    assert segment.member_count == 1 and "1 entered" in response.content.decode()


def test_refresh_mode_changes_in_place(marketer_client, now):
    segment = texans(now)
    response = marketer_client.post(reverse("segments:refresh_mode", args=[segment.pk]),
                                    {"refresh_mode": "continuous"}, **HTMX)
    segment.refresh_from_db()
    assert segment.refresh_mode == "continuous" and segment.status == "ready"
    assert "Saved." in response.content.decode() and "within seconds" in response.content.decode()


def test_deleting_asks_first_and_refuses_while_another_segment_uses_it(marketer_client, now):
    segment = texans(now)
    user = texans(now, name="Uses Texans")
    user.query = {"version": 1, "match": "all", "conditions": [{"type": "segment", "segment": segment.pk}]}
    services.save_segment(user, now=now)
    assert "cannot be deleted" in marketer_client.get(reverse("segments:delete", args=[segment.pk])).content.decode()
    marketer_client.post(reverse("segments:delete", args=[segment.pk]))
    assert Segment.objects.filter(pk=segment.pk).exists()
    marketer_client.post(reverse("segments:delete", args=[user.pk]))
    response = marketer_client.post(reverse("segments:delete", args=[segment.pk]))
    assert response["Location"] == "/segments/" and not Segment.objects.exists()


# --- Static lists ------------------------------------------------------------------------------------
@pytest.fixture
def vip(marketer_client):
    response = marketer_client.post("/segments/new/", {"kind": "static", "audience": "contact", "name": "VIP",
                                                       "description": "", "action": "save"})
    segment = Segment.objects.get(name="VIP")
    assert response["Location"] == segment.get_absolute_url() and segment.status == "ready"
    return segment


def test_static_list_adds_pasted_emails_and_reports_unknown_ones(marketer_client, vip):
    ContactFactory(first_name="Ada", email="ada@example.com")
    ContactFactory(first_name="Grace", email="grace@example.com")
    response = marketer_client.post(reverse("segments:add_members", args=[vip.pk]),
                                    {"emails": "ADA@example.com, grace@example.com\nnobody@example.com"}, follow=True)
    page = html.unescape(response.content.decode())
    assert "Added 2 contacts." in page and "1 email matched no contact: nobody@example.com." in page
    assert set(services.members(vip).values_list("first_name", flat=True)) == {"Ada", "Grace"}


def test_static_list_removes_a_member_and_copies_another_segment(marketer_client, vip, now):
    ada = ContactFactory(first_name="Ada", state="Ohio")
    ContactFactory(first_name="Tex", state="Texas")
    services.add_members(vip, [ada.pk], now=now)
    marketer_client.post(reverse("segments:remove_member", args=[vip.pk, ada.pk]))
    assert not services.members(vip).exists()
    source = texans(now)
    response = marketer_client.post(reverse("segments:freeze", args=[vip.pk]), {"source": source.pk}, follow=True)
    assert "Added 1 of the members of “Texans”." in html.unescape(response.content.decode())
    assert list(services.members(vip).values_list("first_name", flat=True)) == ["Tex"]


# --- Permissions and query counts ----------------------------------------------------------------------
def test_pages_require_login(client, db):
    assert client.get("/segments/")["Location"] == "/login/?next=/segments/"


def test_sales_can_read_segments_but_not_change_them(sales_client, now):
    segment = texans(now)
    assert sales_client.get("/segments/").status_code == 200
    page = sales_client.get(segment.get_absolute_url())
    assert page.status_code == 200 and "Edit query" not in page.content.decode()
    assert sales_client.get(reverse("segments:export", args=[segment.pk])).status_code == 200
    for url in ["/segments/new/", reverse("segments:edit", args=[segment.pk])]:
        assert sales_client.get(url).status_code == 403
    for name in ["refresh", "refresh_mode", "delete", "add_members", "freeze"]:
        assert sales_client.post(reverse(f"segments:{name}", args=[segment.pk])).status_code == 403
    assert sales_client.post("/segments/new/", {"name": "x", "action": "save"}).status_code == 403
    assert Segment.objects.count() == 1


def test_segment_list_queries_do_not_grow_with_segments(marketer_client, now, django_assert_max_num_queries):
    for i in range(30):
        texans(now, name=f"Segment {i}")
    with django_assert_max_num_queries(6):
        assert marketer_client.get("/segments/").status_code == 200


def test_segment_page_queries_do_not_grow_with_members(marketer_client, now, django_assert_max_num_queries):
    ContactFactory.create_batch(40, state="Texas", account=AccountFactory())
    segment = texans(now)
    with django_assert_max_num_queries(13):
        assert marketer_client.get(segment.get_absolute_url()).status_code == 200
    static = services.save_segment(Segment(name="Static", kind="static"), now=now)
    services.add_members(static, Contact.objects.values_list("pk", flat=True), now=now)
    with django_assert_max_num_queries(13):
        assert marketer_client.get(static.get_absolute_url()).status_code == 200


# --- Segments journeys use -------------------------------------------------------------------
def _tiles(**tile):
    return {"start": "t", "tiles": {"t": {**tile, "next": "end"}, "end": {"type": "exit"}}}


def test_a_segment_a_journey_uses_is_listed_and_never_deleted(marketer_client, now):
    from journeys.models import Journey, JourneySettings, JourneyVersion

    entry, excluded, tiled, versioned, suppressed, free = (
        texans(now, name=name) for name in ("Entry", "Excluded", "Tiled", "Versioned", "Suppressed", "Free"))
    Journey.objects.create(name="Win back lapsed customers", entry_segment=entry)
    Journey.objects.create(name="Spring sale").exclusion_segments.add(excluded)
    Journey.objects.create(name="Tagging", tiles=_tiles(type="add_to_segment", segment=tiled.pk, name="Tag VIP"))
    live = Journey.objects.create(name="Live one", status="live")
    JourneyVersion.objects.create(journey=live, number=1, created_at=now,
                                  tiles=_tiles(type="remove_from_segment", segment=versioned.pk))
    JourneySettings.objects.create(suppression_segment=suppressed)
    expected = {entry: "journey “Win back lapsed customers” (entry segment)",
                excluded: "journey “Spring sale” (exclusion segment)",
                tiled: "journey “Tagging” (tile “Tag VIP” in the draft)",
                versioned: "journey “Live one” (tile “t” in version 1)",
                suppressed: "journey settings (global suppression segment)"}
    for segment, use in expected.items():
        url = reverse("segments:delete", args=[segment.pk])
        assert html.escape(use) in marketer_client.get(url).content.decode()
        response = marketer_client.post(url)
        assert response.status_code == 200 and "cannot be deleted" in response.content.decode()
        assert Segment.objects.filter(pk=segment.pk).exists()
        with pytest.raises(services.SegmentInUse) as refused:
            services.delete_segment(segment)
        assert refused.value.uses == [use]
    assert marketer_client.post(reverse("segments:delete", args=[free.pk]))["Location"] == "/segments/"
    assert not Segment.objects.filter(pk=free.pk).exists()


def test_the_admin_refuses_to_delete_a_segment_a_journey_uses(client, admin_user, now):
    from journeys.models import Journey

    segment = texans(now)
    Journey.objects.create(name="Spring sale").exclusion_segments.add(segment)
    client.force_login(admin_user)
    url = reverse("admin:segments_segment_delete", args=[segment.pk])
    page = client.get(url).content.decode()
    assert "journey “Spring sale” (exclusion segment)" in html.unescape(page)
    assert client.post(url, {"post": "yes"}).status_code == 200
    changelist = reverse("admin:segments_segment_changelist")
    response = client.post(changelist, {"action": "delete_selected", "_selected_action": [segment.pk], "post": "yes"})
    assert response.status_code == 200
    assert Segment.objects.filter(pk=segment.pk).exists()

"""The public form faces the internet: honeypot, tokens, size limits, rate limits, captcha, CORS, framing."""

import concurrent.futures
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from django.utils import timezone

from contacts.models import Contact, FormSubmission, Lead
from contacts.webforms import tokens
from journeys.models import TriggerEvent
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db
GUIDE = {"first_name": "Nia"}


def guide_data(n):
    return {**GUIDE, "email": f"reader{n}@example.com"}


@pytest.fixture
def redis_cache(settings):
    """The production cache: Redis, shared by every worker (a unique prefix keeps runs apart)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/0", "KEY_PREFIX": f"wmtest-{uuid.uuid4().hex}"}}


def burst(post_form, form, count, ip):
    return [post_form(form, guide_data(n), ip=ip).status_code for n in range(count)]


@pytest.mark.django_db(transaction=True)  # the trigger is published after commit
@pytest.mark.parametrize("backend", ["locmem", "redis"])
def test_a_burst_of_200_from_one_address_is_throttled_and_nothing_accepted_is_lost(
        backend, request, brew_guide, post_form, settings):
    if backend == "redis":
        request.getfixturevalue("redis_cache")
    settings.WAYMARK_FORM_RATE_PER_IP = "10/m"

    statuses = burst(post_form, brew_guide, 200, ip="203.0.113.66")

    accepted = statuses.count(302)
    assert statuses.count(429) >= 180 and accepted + statuses.count(429) == 200
    assert FormSubmission.objects.count() == accepted
    assert TriggerEvent.objects.filter(key="form.submitted").count() == accepted
    other = post_form(brew_guide, guide_data("legit"), ip="198.51.100.20")
    assert other.status_code == 302  # someone else's submission still goes through


def test_a_refusal_says_when_to_come_back(brew_guide, post_form, settings):
    settings.WAYMARK_FORM_RATE_PER_IP = "1/m"
    post_form(brew_guide, guide_data(1))
    refused = post_form(brew_guide, guide_data(2), HTTP_ACCEPT="application/json")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["ok"] is False


def test_the_form_wide_limit_caps_a_distributed_flood(brew_guide, post_form, settings):
    settings.WAYMARK_FORM_RATE_PER_FORM = "5/m"
    statuses = [post_form(brew_guide, guide_data(n), ip=f"203.0.113.{n}").status_code for n in range(8)]
    assert statuses == [302] * 5 + [429] * 3
    assert FormSubmission.objects.count() == 5


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_burst_against_a_live_server_loses_nothing_accepted(brew_guide, live_server, redis_cache,
                                                                       settings):
    """Eight clients at once, through a real HTTP server: accepted responses == stored submissions."""
    settings.WAYMARK_FORM_RATE_PER_IP = "25/m"
    url = live_server.url + brew_guide.public_url()

    opener = urllib.request.build_opener(NoRedirects)

    def post(n):
        body = {"wm_token": tokens.render_token(brew_guide, now=timezone.now()), **guide_data(n)}
        try:
            with opener.open(url, data=urllib.parse.urlencode(body).encode(), timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as answer:
            return answer.code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(post, range(200)))

    assert set(statuses) <= {302, 429}, statuses
    assert statuses.count(302) == 25
    assert FormSubmission.objects.count() == statuses.count(302) == Lead.objects.count()


def test_the_honeypot_pretends_success_and_stores_nothing(brew_guide, post_form):
    response = post_form(brew_guide, {**guide_data(1), "homepage_url": "http://spam.example"})
    assert response.status_code == 302
    assert not FormSubmission.objects.exists() and not Lead.objects.exists()


def test_a_post_without_a_render_token_is_refused_with_the_values_kept(brew_guide, client):
    response = client.post(brew_guide.public_url(), guide_data(1))
    html = response.content.decode()
    assert response.status_code == 400
    assert "could not be verified" in html and 'value="reader1@example.com"' in html
    assert not FormSubmission.objects.exists()


def test_a_form_submitted_too_fast_asks_again(brew_guide, post_form, settings):
    settings.WAYMARK_FORM_MIN_FILL_SECONDS = 30
    response = post_form(brew_guide, guide_data(1))
    assert response.status_code == 400 and "That was quick" in response.content.decode()
    assert not FormSubmission.objects.exists()


def test_invalid_input_shows_each_error_next_to_its_field_and_writes_nothing(catering, post_form):
    response = post_form(catering, {"company": "", "first_name": "Ola", "last_name": "Berg", "email": "not-an-email",
                                    "phone": "call me", "guests": "3", "event_date": "someday"})
    html = response.content.decode()
    assert response.status_code == 400
    for field, message in [("company", "This field is required."), ("email", "Enter a valid email address."),
                           ("phone", "Enter a phone number"), ("guests", "greater than or equal to 10"),
                           ("event_date", "Enter a valid date.")]:
        block = html.split(f'id="wm-catering-quote-{field}"', 1)[1].split('class="wm-field', 1)[0]
        assert message in block, field
    assert 'value="Ola"' in html and 'value="call me"' in html
    assert not (Lead.objects.exists() or Contact.objects.exists() or FormSubmission.objects.exists())


def test_every_field_and_the_whole_body_have_size_limits(catering, post_form, settings):
    too_long = post_form(catering, {"company": "x" * 201, "first_name": "A", "last_name": "B", "email": "a@b.example",
                                    "guests": "40", "event_date": "2026-12-01"})
    assert too_long.status_code == 400
    assert "Ensure this value has at most 200 characters" in too_long.content.decode()
    settings.WAYMARK_FORM_MAX_BODY_BYTES = 1000
    huge = post_form(catering, {"message": "x" * 2000})
    assert huge.status_code == 413
    assert not FormSubmission.objects.exists()


def test_the_same_rendered_form_sent_twice_is_stored_once(brew_guide, client):
    body = {"wm_token": tokens.render_token(brew_guide, now=timezone.now()), **guide_data(1)}
    first = client.post(brew_guide.public_url(), body)
    second = client.post(brew_guide.public_url(), body)
    assert first.status_code == second.status_code == 302
    assert FormSubmission.objects.count() == 1


def reject_all(request):
    return request.POST.get("captcha") == "solved"


def test_a_configured_captcha_verifier_is_asked(brew_guide, post_form, settings):
    settings.WAYMARK_FORM_CAPTCHA_VERIFIER = "tests.webforms.test_abuse.reject_all"
    refused = post_form(brew_guide, guide_data(1))
    assert refused.status_code == 400 and "not a robot" in refused.content.decode()
    accepted = post_form(brew_guide, {**guide_data(2), "captcha": "solved"})
    assert accepted.status_code == 302


def test_only_the_hosted_form_may_be_framed(brew_guide, client, marketer_client):
    hosted = client.get(brew_guide.public_url() + "?embed=1")
    assert "X-Frame-Options" not in hosted
    assert hosted["Content-Security-Policy"] == "frame-ancestors *"
    assert marketer_client.get("/forms/")["X-Frame-Options"] == "DENY"


def test_embed_origins_limit_framing_and_cross_origin_posts(brew_guide, post_form, client):
    brew_guide.embed_origins = "https://www.contoso-coffee.example"
    brew_guide.save()
    framed = client.get(brew_guide.public_url() + "?embed=1", HTTP_ORIGIN="https://www.contoso-coffee.example")
    assert framed["Content-Security-Policy"] == "frame-ancestors 'self' https://www.contoso-coffee.example"
    assert framed["Access-Control-Allow-Origin"] == "https://www.contoso-coffee.example"

    allowed = post_form(brew_guide, guide_data(1), HTTP_ORIGIN="https://www.contoso-coffee.example",
                        HTTP_ACCEPT="application/json")
    assert allowed.status_code == 200 and allowed.json()["ok"] is True
    assert allowed["Access-Control-Allow-Origin"] == "https://www.contoso-coffee.example"
    stranger = post_form(brew_guide, guide_data(2), HTTP_ORIGIN="https://evil.example")
    assert stranger.status_code == 403
    assert "Access-Control-Allow-Origin" not in stranger
    assert FormSubmission.objects.count() == 1


def test_a_draft_form_is_not_found_by_visitors(brew_guide, client, post_form):
    brew_guide.status = "draft"
    brew_guide.save()
    assert client.get(brew_guide.public_url()).status_code == 404
    assert post_form(brew_guide, guide_data(1)).status_code == 404


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_submissions_from_one_new_person_create_one_lead(brew_guide, live_server):
    url = live_server.url + brew_guide.public_url()
    opener = urllib.request.build_opener(NoRedirects)

    def post(n):
        body = {"wm_token": tokens.render_token(brew_guide, now=timezone.now()), "email": "twin@example.com",
                "first_name": f"Twin {n}"}
        try:
            with opener.open(url, data=urllib.parse.urlencode(body).encode(), timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as answer:
            return answer.code

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(post, range(6)))

    assert statuses == [302] * 6
    assert Lead.objects.filter(email="twin@example.com").count() == 1
    assert FormSubmission.objects.count() == 6


def test_a_closed_form_says_so(brew_guide, client, post_form):
    brew_guide.status = "closed"
    brew_guide.save()
    response = client.get(brew_guide.public_url())
    assert response.status_code == 410 and "This form is closed" in response.content.decode()
    assert post_form(brew_guide, guide_data(1)).status_code == 410
    assert not FormSubmission.objects.exists()


def test_rendered_forms_are_never_cached(brew_guide, demo, client):
    for url in (brew_guide.public_url(), "/p/french-press-guide/"):
        assert "no-store" in client.get(url)["Cache-Control"]


def test_two_people_sent_the_same_rendered_form_are_both_kept(brew_guide, client):
    token = tokens.render_token(brew_guide, now=timezone.now())
    for n in (1, 2):
        assert client.post(brew_guide.public_url(), {"wm_token": token, **guide_data(n)}).status_code == 302
    assert FormSubmission.objects.count() == 2

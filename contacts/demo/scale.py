"""Benchmark-scale people: a million contacts and ten million interactions, fast.

On PostgreSQL the rows are generated in the database, set-based (`INSERT … SELECT … FROM
generate_series`); on SQLite, for small numbers, in Python batches. Both draw from the same
weighted vocabularies: about 2% of contacts live in Texas, 40% are loyalty members, interactions
spread over 120 days, a tenth of them purchases (cold brew, the concentrate, beans, presses).

Generated people are recognised by their address (`scale<n>@scale.example.com`), so seeding
works on a database that holds the demo or real data, and `reset=True` removes a previous run.
They skip the people change hook: benchmarks refresh what they measure explicitly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction

from contacts.demo import catalog
from contacts.demo.bulk import bulk_load
from contacts.demo.cleanup import delete_contacts
from contacts.models import Account, Contact, Interaction, InteractionType

SCALE_DOMAIN = "scale.example.com"
ACCOUNT_PREFIX = "Scale account "
CONTACTS_PER_ACCOUNT = 50
ACCOUNT_SHARE = 0.7  # of contacts who work at one of the accounts
LOYALTY_SHARE = 0.4
DAYS = 120
CHUNK_ROWS = 1_000_000  # interactions per INSERT on PostgreSQL

# (country, state, city, time zone, language, weight): Texas is about 2% of all contacts.
PLACES = [
    ("United States", "Texas", "Austin", "America/Chicago", "en", 2.0),
    ("United States", "North Dakota", "Fargo", "America/Chicago", "en", 0.5),
    ("United States", "California", "Los Angeles", "America/Los_Angeles", "en", 8.0),
    ("United States", "New York", "New York", "America/New_York", "en", 7.0),
    ("United States", "Florida", "Miami", "America/New_York", "en", 6.0),
    ("United States", "Illinois", "Chicago", "America/Chicago", "en", 4.0),
    ("United States", "Washington", "Seattle", "America/Los_Angeles", "en", 4.0),
    ("United States", "Pennsylvania", "Philadelphia", "America/New_York", "en", 4.0),
    ("United States", "Ohio", "Columbus", "America/New_York", "en", 4.5),
    ("United States", "Georgia", "Atlanta", "America/New_York", "en", 3.0),
    ("United States", "Colorado", "Denver", "America/Denver", "en", 3.0),
    ("Sweden", "Stockholm", "Stockholm", "Europe/Stockholm", "sv", 5.0),
    ("Sweden", "Skåne", "Malmö", "Europe/Stockholm", "sv", 3.0),
    ("Germany", "Berlin", "Berlin", "Europe/Berlin", "de", 5.0),
    ("Germany", "Bavaria", "Munich", "Europe/Berlin", "de", 5.0),
    ("United Kingdom", "England", "London", "Europe/London", "en", 9.0),
    ("United Kingdom", "Scotland", "Edinburgh", "Europe/London", "en", 2.0),
    ("France", "Île-de-France", "Paris", "Europe/Paris", "fr", 6.0),
    ("France", "Auvergne-Rhône-Alpes", "Lyon", "Europe/Paris", "fr", 3.0),
    ("Canada", "Ontario", "Toronto", "America/Toronto", "en", 5.0),
    ("Canada", "Quebec", "Montreal", "America/Toronto", "fr", 3.0),
    ("Netherlands", "North Holland", "Amsterdam", "Europe/Amsterdam", "nl", 3.0),
    ("Japan", "Tokyo", "Tokyo", "Asia/Tokyo", "ja", 3.0),
]
TIERS = [("bronze", 55), ("silver", 30), ("gold", 15)]
PRODUCTS = [("cold brew", 45), ("cold brew concentrate", 20), ("espresso beans", 25), ("french press", 10)]
T = InteractionType
# Relative weights of everything but purchases (which get `purchases_share` of all rows).
OTHER_TYPES = [(T.EMAIL_DELIVERED, 40), (T.EMAIL_OPENED, 20), (T.EMAIL_CLICKED, 8), (T.PAGE_VISITED, 17),
               (T.FORM_SUBMITTED, 3), (T.EVENT_REGISTERED, 1.5), (T.EVENT_ATTENDED, 0.5)]
EMAIL_KEYS = list(catalog.EMAILS)
EMAIL_LINKS = [catalog.EMAILS[key][1] for key in EMAIL_KEYS]  # two links per email
PAGES = [catalog.SITE + page for page in catalog.PAGES]
FIRST_NAMES = sorted({name for names in catalog.FIRST_NAMES.values() for name in names})
LAST_NAMES = sorted({name for names in catalog.LAST_NAMES.values() for name in names})
INDUSTRIES = catalog.INDUSTRIES

Log = Callable[[str], None]


def scale_email(n: int) -> str:
    return f"scale{n}@{SCALE_DOMAIN}"


def scale_contacts():
    return Contact.objects.filter(email__endswith="@" + SCALE_DOMAIN)


def interaction_types(purchases_share: float) -> list[tuple[str, float]]:
    others = sum(weight for _, weight in OTHER_TYPES)
    return [*OTHER_TYPES, (T.PURCHASE, others * purchases_share / (1 - purchases_share))]


def reset_scale(*, log: Log = print) -> None:
    started = time.perf_counter()
    deleted = delete_contacts(scale_contacts())
    Account.objects.filter(name__startswith=ACCOUNT_PREFIX).delete()
    log(f"removed {deleted:,} scale contacts and their rows in {time.perf_counter() - started:.1f} s")


def seed_scale(*, contacts: int, interactions: int, now: datetime, purchases_share: float = 0.1,
               reset: bool = False, log: Log = print) -> dict[str, float]:
    """Add `contacts` generated contacts and `interactions` interactions among them; timings by step."""
    if not 0 <= purchases_share < 1:
        raise ValueError("purchases_share must be at least 0 and below 1")
    timings: dict[str, float] = {}

    def step(name: str, work: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = work()
        timings[f"{name}_s"] = round(time.perf_counter() - started, 3)
        log(f"{name}: {timings[f'{name}_s']:.2f} s")
        return result

    if reset:
        step("reset", lambda: reset_scale(log=log))
    offset = scale_contacts().count()
    account_offset = Account.objects.filter(name__startswith=ACCOUNT_PREFIX).count()
    accounts = max(1, contacts // CONTACTS_PER_ACCOUNT) if contacts else 0
    seeder = PostgresSeeder(now) if connection.vendor == "postgresql" else PythonSeeder(now)
    account_ids = step("accounts", lambda: seeder.accounts(account_offset + 1, accounts))
    people = step("contacts", lambda: seeder.contacts(offset + 1, contacts, account_ids))
    if people and interactions:
        step("interactions", lambda: seeder.interactions(people, interactions, interaction_types(purchases_share),
                                                          log=log))
    step("analyze", seeder.analyze)
    seeder.close()
    return timings


def _thresholds(weights: list[float]) -> list[float]:
    total, running, bounds = sum(weights), 0.0, []
    for weight in weights[:-1]:
        running += weight
        bounds.append(running / total)
    return bounds


def _case_index(expression: str, weights: list[float]) -> str:
    """SQL picking a 1-based index by weight from `expression`, a uniform number in [0, 1)."""
    whens = " ".join(f"WHEN {expression} < {bound!r} THEN {i}" for i, bound in enumerate(_thresholds(weights), 1))
    return f"CASE {whens} ELSE {len(weights)} END"


class PostgresSeeder:
    """Rows generated inside PostgreSQL; random() seeded once, so a fresh run repeats itself."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(0.42)")

    def accounts(self, first: int, count: int) -> list[int]:
        if not count:
            return []
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {Account._meta.db_table}
                    (name, industry, country, region, city, website, size, annual_revenue, created_at, updated_at)
                    SELECT %(prefix)s || g, (%(industries)s::text[])[1 + mod(g, %(n_industries)s)],
                           'United States', '', '', '', 'medium', NULL, %(now)s, %(now)s
                    FROM generate_series(%(first)s, %(last)s) AS g RETURNING id""",
                {"prefix": ACCOUNT_PREFIX, "industries": INDUSTRIES, "n_industries": len(INDUSTRIES),
                 "now": self.now, "first": first, "last": first + count - 1},
            )
            return [row[0] for row in cursor.fetchall()]

    def contacts(self, first: int, count: int, account_ids: list[int]) -> int:
        """Insert the contacts and number them 1..count in a temporary table for interactions."""
        if not count:
            return 0
        columns = list(zip(*PLACES, strict=True))
        params = {
            "first": first, "last": first + count - 1, "domain": "@" + SCALE_DOMAIN, "now": self.now,
            "first_names": FIRST_NAMES, "last_names": LAST_NAMES, "accounts": account_ids or [None],
            "countries": list(columns[0]), "states": list(columns[1]), "cities": list(columns[2]),
            "zones": list(columns[3]), "languages": list(columns[4]), "tiers": [t for t, _ in TIERS],
        }
        place = _case_index("r_place", [w for *_, w in PLACES])
        tier = _case_index("r_tier", [w for _, w in TIERS])
        with bulk_load(Contact, rows=count), connection.cursor() as cursor:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {Contact._meta.db_table}")
            (before,) = cursor.fetchone()
            cursor.execute(
                f"""INSERT INTO {Contact._meta.db_table}
                    (first_name, last_name, email, phone, job_title, country, state, city, time_zone, language,
                     attributes, account_id, created_at, updated_at)
                    SELECT (%(first_names)s::text[])[1 + mod(g, {len(FIRST_NAMES)})],
                           (%(last_names)s::text[])[1 + mod(g / {len(FIRST_NAMES)}, {len(LAST_NAMES)})],
                           'scale' || g || %(domain)s, '+1 555 ' || lpad(mod(g, 10000000)::text, 7, '0'), '',
                           (%(countries)s::text[])[place], (%(states)s::text[])[place],
                           (%(cities)s::text[])[place], (%(zones)s::text[])[place], (%(languages)s::text[])[place],
                           CASE WHEN r_loyal < {LOYALTY_SHARE} THEN jsonb_build_object(
                                    'loyalty_member', true, 'loyalty_tier', (%(tiers)s::text[])[tier])
                                ELSE '{{"loyalty_member": false}}'::jsonb END,
                           CASE WHEN r_account < {ACCOUNT_SHARE} THEN (%(accounts)s::bigint[])
                                [1 + floor(r_account / {ACCOUNT_SHARE} * {max(len(account_ids), 1)})::int] END,
                           %(now)s - r_created * interval '900 days', %(now)s
                    FROM (SELECT g, {place} AS place, {tier} AS tier, r_loyal, r_account, r_created
                          FROM (SELECT g, random() AS r_place, random() AS r_tier, random() AS r_loyal,
                                       random() AS r_account, random() AS r_created
                                FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
                                OFFSET 0) AS draws) AS s""",
                params,
            )
        with connection.cursor() as cursor:  # numbered 1..count so interactions can pick people uniformly
            cursor.execute("DROP TABLE IF EXISTS scale_people")
            cursor.execute("CREATE TEMPORARY TABLE scale_people (n bigint PRIMARY KEY, id bigint NOT NULL)")
            cursor.execute(
                f"""INSERT INTO scale_people SELECT row_number() OVER (ORDER BY id), id
                    FROM {Contact._meta.db_table} WHERE id > %s AND email LIKE %s""",
                [before, "scale%@" + SCALE_DOMAIN],
            )
            numbered = cursor.rowcount
            cursor.execute("ANALYZE scale_people")
        return numbered

    def interactions(self, people: int, count: int, types: list[tuple[str, float]], *, log: Log) -> None:
        type_names = [name for name, _ in types]
        email_types = [type_names.index(t) + 1 for t in (T.EMAIL_DELIVERED, T.EMAIL_OPENED, T.EMAIL_CLICKED)]
        clicked, page, form, purchase = (type_names.index(t) + 1 for t in (T.EMAIL_CLICKED, T.PAGE_VISITED,
                                                                            T.FORM_SUBMITTED, T.PURCHASE))
        params = {
            "types": [str(name) for name in type_names], "keys": EMAIL_KEYS, "pages": PAGES,
            "links": [link for links in EMAIL_LINKS for link in links], "form_link": catalog.SITE + "/newsletter",
            "products": [p for p, _ in PRODUCTS], "now": self.now, "people": people,
            "low": [catalog.PRODUCTS[p][1][0] for p, _ in PRODUCTS],
            "high": [catalog.PRODUCTS[p][1][1] for p, _ in PRODUCTS],
        }
        kind = _case_index("r_type", [w for _, w in types])
        product = _case_index("r_product", [w for _, w in PRODUCTS])
        sql = f"""
            INSERT INTO {Interaction._meta.db_table}
                (contact_id, type, occurred_at, email_key, link, product, amount, tile_key, source, name,
                 properties, recorded_at)
            SELECT p.id, (%(types)s::text[])[t], %(now)s - r_time * interval '{DAYS} days',
                   CASE WHEN t IN ({", ".join(map(str, email_types))}) THEN (%(keys)s::text[])[k] ELSE '' END,
                   CASE t WHEN {clicked} THEN (%(links)s::text[])[2 * k - (r_link < 0.5)::int]
                          WHEN {page} THEN (%(pages)s::text[])[1 + floor(r_link * {len(PAGES)})::int]
                          WHEN {form} THEN %(form_link)s ELSE '' END,
                   CASE WHEN t = {purchase} THEN (%(products)s::text[])[pr] ELSE '' END,
                   CASE WHEN t = {purchase} THEN round((%(low)s::numeric[])[pr] + ((%(high)s::numeric[])[pr]
                        - (%(low)s::numeric[])[pr]) * r_link::numeric, 2) END,
                   '', 'scale', '', '{{}}'::jsonb, %(now)s
            FROM (SELECT n, {kind} AS t, {product} AS pr, 1 + floor(r_key * {len(EMAIL_KEYS)})::int AS k,
                         r_time, r_link
                  FROM (SELECT 1 + floor(random() * %(people)s)::bigint AS n, random() AS r_type,
                               random() AS r_product, random() AS r_key, random() AS r_time, random() AS r_link
                        FROM generate_series(1, %(rows)s) OFFSET 0) AS draws) AS s
            JOIN scale_people AS p ON p.n = s.n"""
        done, started = 0, time.perf_counter()
        with bulk_load(Interaction, rows=count), connection.cursor() as cursor:
            while done < count:
                rows = min(CHUNK_ROWS, count - done)
                cursor.execute(sql, {**params, "rows": rows})
                done += rows
                log(f"  interactions: {done:,} of {count:,} ({done / (time.perf_counter() - started):,.0f} rows/s)")
            log("  interactions: rebuilding indexes and foreign keys")

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            for model in (Account, Contact, Interaction):
                cursor.execute(f"ANALYZE {model._meta.db_table}")

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS scale_people")


class PythonSeeder:
    """The same rows built in Python and bulk-inserted: for SQLite and small numbers."""

    BATCH = 2000

    def __init__(self, now: datetime) -> None:
        self.now, self.rng = now, random.Random(42)
        self.people: list[int] = []

    def accounts(self, first: int, count: int) -> list[int]:
        rows = [Account(name=f"{ACCOUNT_PREFIX}{n}", industry=INDUSTRIES[n % len(INDUSTRIES)],
                        country="United States", size="medium") for n in range(first, first + count)]
        return [a.pk for a in Account.objects.bulk_create(rows, batch_size=self.BATCH)]

    def contacts(self, first: int, count: int, account_ids: list[int]) -> int:
        rng, places = self.rng, [p[:5] for p in PLACES]
        rows = []
        for n in range(first, first + count):
            country, state, city, zone, language = rng.choices(places, weights=[p[5] for p in PLACES])[0]
            attributes: dict[str, object] = {"loyalty_member": rng.random() < LOYALTY_SHARE}
            if attributes["loyalty_member"]:
                attributes["loyalty_tier"] = rng.choices([t for t, _ in TIERS], weights=[w for _, w in TIERS])[0]
            account = rng.choice(account_ids) if account_ids and rng.random() < ACCOUNT_SHARE else None
            rows.append(Contact(
                first_name=FIRST_NAMES[n % len(FIRST_NAMES)], last_name=LAST_NAMES[n // len(FIRST_NAMES) % len(
                    LAST_NAMES)], email=scale_email(n), phone=f"+1 555 {n % 10_000_000:07d}", country=country,
                state=state, city=city, time_zone=zone, language=language, attributes=attributes,
                account_id=account,
            ))
        with transaction.atomic():
            self.people = [c.pk for c in Contact.objects.bulk_create(rows, batch_size=self.BATCH)]
        return len(self.people)

    def interactions(self, people: int, count: int, types: list[tuple[str, float]], *, log: Log) -> None:
        rng = self.rng
        names, weights = [t for t, _ in types], [w for _, w in types]
        rows = []
        for _ in range(count):
            kind = rng.choices(names, weights=weights)[0]
            key = rng.randrange(len(EMAIL_KEYS))
            row = Interaction(contact_id=rng.choice(self.people), type=kind, source="scale",
                              occurred_at=self.now - timedelta(days=rng.random() * DAYS))
            if kind in (T.EMAIL_DELIVERED, T.EMAIL_OPENED, T.EMAIL_CLICKED):
                row.email_key = EMAIL_KEYS[key]
            if kind == T.EMAIL_CLICKED:
                row.link = rng.choice(EMAIL_LINKS[key])
            elif kind == T.PAGE_VISITED:
                row.link = rng.choice(PAGES)
            elif kind == T.FORM_SUBMITTED:
                row.link = catalog.SITE + "/newsletter"
            elif kind == T.PURCHASE:
                row.product = rng.choices([p for p, _ in PRODUCTS], weights=[w for _, w in PRODUCTS])[0]
                low, high = catalog.PRODUCTS[row.product][1]
                row.amount = (low + (high - low) * Decimal(rng.random())).quantize(Decimal("0.01"))
            rows.append(row)
        with transaction.atomic():
            Interaction.objects.bulk_create(rows, batch_size=self.BATCH)
        log(f"  interactions: {count:,}")

    def analyze(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    def close(self) -> None:
        pass

"""The verbs of segments: validate, save, refresh (set-based, diff only), membership and matching.

Other apps call `is_member`, `members`, `matches` and `refresh_mode` through here, never the
tables. A refresh computes the new member set in the database, writes only who entered and who
exited, and records both in MembershipChange (the facts journeys listen to).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, ProtectedError, QuerySet

from contacts.models import Contact, Lead, person_keys
from segments import compiler, evaluator, hooks
from segments.models import MembershipChange, Segment, SegmentMembership, SegmentRefresh
from segments.query import QueryError, referenced_segments, validate_query

Person = Contact | Lead
SAMPLE_SIZE = 10


# --- Interfaces other apps use -------------------------------------------------------------------
def is_member(segment: Segment, person: Person) -> bool:
    return SegmentMembership.objects.filter(segment=segment, **person_keys(person)).exists()


def members(segment: Segment) -> QuerySet:
    """The segment's current (materialized) members, as a Contact or Lead queryset."""
    model = compiler.audience_model(segment.audience)
    key = "contact" if segment.audience == "contact" else "lead"
    return model.objects.filter(pk__in=SegmentMembership.objects.filter(segment=segment).values(f"{key}_id"))


def matches(query: dict[str, Any], *, person: Person, payload: dict[str, Any] | None = None,
            now: datetime.datetime) -> bool:
    """Does `person` satisfy `query` now? `trigger.<field>` conditions read `payload`."""
    return evaluator.evaluate(query, person=person, payload=payload, now=now)


def refresh_mode(segment: Segment) -> str:
    return segment.refresh_mode


def require_continuous(segment: Segment) -> None:
    """Journeys call this on the segments they use, so membership stays fresh within seconds."""
    if segment.refresh_mode != Segment.RefreshMode.CONTINUOUS:
        Segment.objects.filter(pk=segment.pk).update(refresh_mode=Segment.RefreshMode.CONTINUOUS)
        segment.refresh_mode = Segment.RefreshMode.CONTINUOUS


# --- Validation and saving --------------------------------------------------------------------
def _segment_audiences() -> dict[int, str]:
    return dict(Segment.objects.values_list("pk", "audience"))


def check_query(query: Any, *, audience: str, segment: Segment | None = None,
                allow_trigger: bool = False) -> list[QueryError]:
    """Every problem with `query` for a segment of `audience`, cycles included."""
    errors = validate_query(query, audience=audience, segment_audiences=_segment_audiences(),
                            allow_trigger=allow_trigger)
    if not errors and segment is not None and segment.pk is not None:
        cycle = _cycle_through(segment.pk, referenced_segments(query))
        if cycle:
            names = dict(Segment.objects.filter(pk__in=cycle).values_list("pk", "name"))
            errors.append(QueryError("", "segments cannot refer to themselves: "
                                     + " → ".join(names.get(pk, str(pk)) for pk in cycle)))
    return errors


def _cycle_through(segment_id: int, references: set[int]) -> list[int] | None:
    """A path from `segment_id` back to itself through `references`, if there is one."""
    edges: dict[int, set[int]] = {}
    for source, target in Segment.depends_on.through.objects.values_list("from_segment_id", "to_segment_id"):
        edges.setdefault(source, set()).add(target)
    edges[segment_id] = set(references)
    stack = [(segment_id, [segment_id])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        for target in edges.get(node, ()):
            if target == segment_id:
                return [*path, segment_id]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def save_segment(segment: Segment, *, now: datetime.datetime, make_ready: bool = True) -> Segment:
    """Validate and save. A valid dynamic query makes the segment ready; a broken one is refused
    (a new segment may be kept as a draft with `make_ready=False`, errors and all)."""
    if segment.kind == Segment.Kind.STATIC:
        segment.query = segment.query or {"version": 1, "match": "all", "conditions": []}
        errors = []
    else:
        errors = check_query(segment.query, audience=segment.audience, segment=segment)
    if errors and make_ready:
        raise ValidationError({"query": [str(e) for e in errors]})
    if segment.pk and segment.memberships.exists():
        old = Segment.objects.filter(pk=segment.pk).values_list("audience", flat=True).first()
        if old and old != segment.audience:
            raise ValidationError({"audience": "The audience of a segment with members cannot change."})
    segment.status = Segment.Status.DRAFT if errors else Segment.Status.READY
    with transaction.atomic():
        segment.save()
        segment.depends_on.set([] if errors or not segment.is_dynamic else referenced_segments(segment.query))
    return segment


# --- Preview ------------------------------------------------------------------------------------
class SegmentInUse(ValidationError):
    """A segment something still uses; `uses` names each use."""

    def __init__(self, segment: Segment, uses: list[str]) -> None:
        super().__init__(f"“{segment}” is in use and cannot be deleted: {'; '.join(uses)}. Change those first.",
                         code="in_use")
        self.uses = uses


def delete_segment(segment: Segment) -> None:
    """Delete `segment` with its memberships, refreshes and history; refuse, naming every use
    (other segments, journeys, journey settings), while anything uses it."""
    uses = hooks.usage(segment)
    if uses:
        raise SegmentInUse(segment, uses)
    try:
        with transaction.atomic():
            segment.delete()
    except ProtectedError:  # something started using it since the check
        raise SegmentInUse(segment, hooks.usage(segment) or ["a journey"]) from None


def preview(query: dict[str, Any], *, audience: str, now: datetime.datetime,
            sample: int = SAMPLE_SIZE) -> tuple[int, list[Person]]:
    """How many people match a (valid) query right now, and a few of them. Saves nothing."""
    matching = compiler.audience_queryset(audience).filter(compiler.compile_query(query, audience=audience, now=now))
    return matching.count(), list(matching.order_by("pk")[:sample])


def candidates(segment: Segment, *, now: datetime.datetime) -> QuerySet:
    """The people a dynamic segment's query selects at `now`: one SQL query."""
    return compiler.audience_queryset(segment.audience).filter(
        compiler.compile_query(segment.query, audience=segment.audience, now=now)
    )


# --- Refresh ------------------------------------------------------------------------------------
def _sql(queryset: QuerySet) -> tuple[str, tuple]:
    """The SQL selecting the people's ids as one column named person_id."""
    return queryset.order_by().values(person_id=F("pk")).query.sql_with_params()


def _tables(segment: Segment) -> dict[str, str]:
    return {
        "membership": SegmentMembership._meta.db_table,
        "change": MembershipChange._meta.db_table,
        "person": f"{segment.audience}_id",
    }


def _write_diff(segment: Segment, refresh: SegmentRefresh, *, new_set: QuerySet | None = None,
                scope_ids: list[int] | None = None, complement: bool = False,
                removed_ids: list[int] | None = None, now: datetime.datetime) -> tuple[int, int]:
    """Record who entered (in `new_set`, not yet a member) and who exited (with `complement`, a
    member in scope — everyone, or `scope_ids` — not in `new_set`; or a member in `removed_ids`),
    then apply both to the membership table. Returns (entered, exited)."""
    t = _tables(segment)
    entered = exited = 0
    with connection.cursor() as cursor:
        if new_set is not None:
            new_sql, new_params = _sql(new_set)
            cursor.execute(
                f"INSERT INTO {t['change']} ({t['person']}, segment_id, refresh_id, change, changed_at) "
                f"SELECT n.person_id, %s, %s, 'entered', %s FROM ({new_sql}) n WHERE NOT EXISTS ("
                f"SELECT 1 FROM {t['membership']} m WHERE m.segment_id = %s AND m.{t['person']} = n.person_id)",
                [segment.pk, refresh.pk, now, *new_params, segment.pk],
            )
            entered = cursor.rowcount
        if removed_ids or (complement and new_set is not None):
            if removed_ids:
                condition, params = f"m.{t['person']} IN ({', '.join(['%s'] * len(removed_ids))})", removed_ids
            else:
                new_sql, new_params = _sql(new_set)
                condition, params = f"m.{t['person']} NOT IN ({new_sql})", list(new_params)
                if scope_ids is not None:
                    condition += f" AND m.{t['person']} IN ({', '.join(['%s'] * len(scope_ids))})"
                    params += scope_ids
            cursor.execute(
                f"INSERT INTO {t['change']} ({t['person']}, segment_id, refresh_id, change, changed_at) "
                f"SELECT m.{t['person']}, %s, %s, 'exited', %s FROM {t['membership']} m "
                f"WHERE m.segment_id = %s AND {condition}",
                [segment.pk, refresh.pk, now, segment.pk, *params],
            )
            exited = cursor.rowcount
        if exited:
            cursor.execute(
                f"DELETE FROM {t['membership']} WHERE segment_id = %s AND {t['person']} IN ("
                f"SELECT c.{t['person']} FROM {t['change']} c WHERE c.refresh_id = %s AND c.change = 'exited')",
                [segment.pk, refresh.pk],
            )
        if entered:
            cursor.execute(
                f"INSERT INTO {t['membership']} ({t['person']}, segment_id, entered_at) "
                f"SELECT c.{t['person']}, c.segment_id, c.changed_at FROM {t['change']} c "
                f"WHERE c.refresh_id = %s AND c.change = 'entered'",
                [refresh.pk],
            )
    return entered, exited


def _run(segment: Segment, kind: str, *, now: datetime.datetime, **diff: Any) -> SegmentRefresh:
    started = time.monotonic()
    with transaction.atomic():
        # One refresh of a segment at a time: the lock serializes concurrent workers.
        locked = Segment.objects.select_for_update().get(pk=segment.pk)
        refresh = SegmentRefresh.objects.create(segment=locked, kind=kind, started_at=now)
        entered, exited = _write_diff(locked, refresh, now=now, **diff)
        _publish_changes(locked, refresh, entered=entered, exited=exited, now=now)
        refresh.entered, refresh.exited = entered, exited
        refresh.member_count = locked.member_count + entered - exited
        refresh.duration_ms = int((time.monotonic() - started) * 1000)
        refresh.save(update_fields=["entered", "exited", "member_count", "duration_ms"])
        fields = {"member_count": refresh.member_count}
        if kind == SegmentRefresh.Kind.FULL:
            fields.update(last_refreshed_at=now, last_refresh_ms=refresh.duration_ms)
        Segment.objects.filter(pk=segment.pk).update(**fields)
    for name, value in fields.items():
        setattr(segment, name, value)
    return refresh


def _publish_changes(segment: Segment, refresh: SegmentRefresh, *, entered: int, exited: int,
                     now: datetime.datetime) -> None:
    """segment.entered / segment.exited for everyone who moved, in one INSERT … SELECT each, in the
    refresh's transaction — only while something listens for them (see journeys.ingest.has_listeners)."""
    from journeys import ingest  # journeys imports segments: import at call time

    people = (f"SELECT c.contact_id, c.lead_id FROM {MembershipChange._meta.db_table} c "
              "WHERE c.refresh_id = %s AND c.change = %s")
    for change, count in (("entered", entered), ("exited", exited)):
        key = f"segment.{change}"
        if count and ingest.has_listeners(key):
            ingest.publish_selected(
                key, people_sql=people,
                params=[refresh.pk, change], payload={"segment": segment.pk, "name": segment.name},
                source="segments", now=now)


def refresh(segment: Segment, *, now: datetime.datetime) -> SegmentRefresh:
    """Full refresh of a ready dynamic segment: compute the whole set, write the difference."""
    if not segment.is_dynamic:
        raise ValidationError("Static segments change only when members are added or removed.")
    if segment.status != Segment.Status.READY:
        raise ValidationError("This segment is a draft: fix its query before refreshing it.")
    return _run(segment, SegmentRefresh.Kind.FULL, now=now, new_set=candidates(segment, now=now), complement=True)


def recheck(segment: Segment, person_ids: Iterable[int], *, now: datetime.datetime) -> SegmentRefresh | None:
    """Re-decide membership of just these people (after they changed): no full refresh."""
    ids = sorted(set(person_ids))
    if not ids:
        return None
    new_set = candidates(segment, now=now).filter(pk__in=ids)
    return _run(segment, SegmentRefresh.Kind.PARTIAL, now=now, new_set=new_set, scope_ids=ids, complement=True)


def _in_dependency_order(segments: list[Segment]) -> list[Segment]:
    """Segments before the segments that refer to them."""
    by_id = {s.pk: s for s in segments}
    deps = {s.pk: set(referenced_segments(s.query)) & set(by_id) for s in segments}
    ordered: list[Segment] = []
    done: set[int] = set()

    def visit(pk: int, trail: frozenset[int] = frozenset()) -> None:
        if pk in done or pk in trail:
            return
        for dep in sorted(deps[pk]):
            visit(dep, trail | {pk})
        done.add(pk)
        ordered.append(by_id[pk])

    for pk in sorted(by_id):
        visit(pk)
    return ordered


def live_dynamic_segments(**filters: Any) -> list[Segment]:
    return list(Segment.objects.filter(kind=Segment.Kind.DYNAMIC, status=Segment.Status.READY, **filters))


def recheck_people(*, contact_ids: Iterable[int] = (), lead_ids: Iterable[int] = (),
                   now: datetime.datetime) -> int:
    """Re-check changed people against every continuous segment; return how many entered or exited."""
    changed = 0
    ids_by_audience = {"contact": list(contact_ids), "lead": list(lead_ids)}
    segments = live_dynamic_segments(refresh_mode=Segment.RefreshMode.CONTINUOUS)
    for segment in _in_dependency_order(segments):
        result = recheck(segment, ids_by_audience[segment.audience], now=now)
        if result:
            changed += result.entered + result.exited
    return changed


def refresh_due(*, now: datetime.datetime, continuous_every: datetime.timedelta,
                daily_every: datetime.timedelta = datetime.timedelta(days=1)) -> int:
    """Full refreshes on schedule (continuous ones catch what re-checks cannot, such as moving
    time windows; daily ones once a day), in dependency order. Returns how many ran."""
    due = []
    for segment in live_dynamic_segments(refresh_mode__in=[Segment.RefreshMode.CONTINUOUS, Segment.RefreshMode.DAILY]):
        every = continuous_every if segment.refresh_mode == Segment.RefreshMode.CONTINUOUS else daily_every
        if segment.last_refreshed_at is None or segment.last_refreshed_at <= now - every:
            due.append(segment)
    for segment in _in_dependency_order(due):
        refresh(segment, now=now)
    return len(due)


# --- Static segments ---------------------------------------------------------------------------
def _static(segment: Segment) -> None:
    if segment.is_dynamic:
        raise ValidationError("Members are added by hand only to static segments.")


def add_members(segment: Segment, person_ids: Iterable[int], *, now: datetime.datetime) -> SegmentRefresh:
    _static(segment)
    ids = sorted(set(person_ids))
    new_set = compiler.audience_queryset(segment.audience).filter(pk__in=ids)
    return _run(segment, SegmentRefresh.Kind.EDIT, now=now, new_set=new_set if ids else None)


def remove_members(segment: Segment, person_ids: Iterable[int], *, now: datetime.datetime) -> SegmentRefresh:
    _static(segment)
    return _run(segment, SegmentRefresh.Kind.EDIT, now=now, removed_ids=sorted(set(person_ids)))


def freeze(segment: Segment, query: dict[str, Any], *, now: datetime.datetime) -> SegmentRefresh:
    """Add to a static segment everyone a query selects now, once (the query is not kept live)."""
    _static(segment)
    errors = check_query(query, audience=segment.audience)
    if errors:
        raise ValidationError({"query": [str(e) for e in errors]})
    new_set = compiler.audience_queryset(segment.audience).filter(
        compiler.compile_query(query, audience=segment.audience, now=now)
    )
    return _run(segment, SegmentRefresh.Kind.EDIT, now=now, new_set=new_set)


def add_members_by_email(segment: Segment, emails: Iterable[str], *, now: datetime.datetime) -> tuple[int, list[str]]:
    """Add people by email (a CSV column, a pasted list). Returns (entered, unknown emails)."""
    wanted = {e.strip().lower() for e in emails if e and e.strip()}
    model = compiler.audience_model(segment.audience)
    found = dict(model.objects.filter(email__in=wanted).values_list("email", "pk"))
    result = add_members(segment, found.values(), now=now)
    return result.entered, sorted(wanted - set(found))

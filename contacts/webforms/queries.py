"""Reads shared by the form pages, the API, the admin and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import Count, Max, Q, QuerySet

from contacts.models import FormSubmission, WebForm


def form_list(*, q: str = "", status: str = "") -> QuerySet[WebForm]:
    forms = WebForm.objects.annotate(submission_count=Count("submissions"),
                                     last_submitted_at=Max("submissions__submitted_at"))
    if q:
        forms = forms.filter(Q(name__icontains=q) | Q(slug__icontains=q))
    if status:
        forms = forms.filter(status=status)
    return forms.order_by("name", "id")


def submissions(form: WebForm | None = None, *, q: str = "") -> QuerySet[FormSubmission]:
    """Newest first; `q` matches the email or any answer."""
    rows = FormSubmission.objects.select_related("form", "contact", "lead")
    if form is not None:
        rows = rows.filter(form=form)
    if q:
        rows = rows.filter(Q(email__icontains=q) | Q(values__icontains=q))
    return rows.order_by("-submitted_at", "-id")


def _cell(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if value is None:
        return ""
    text = str(value)
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(form: WebForm, rows: QuerySet[FormSubmission]) -> Iterator[str]:
    """The submissions as CSV text, a line at a time (streamed: any number of rows)."""
    fields = list(form.fields.values_list("key", "label"))
    boxes = list(form.consents.values_list("pk", "wording"))
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(["submitted_at", "email", "person_type", "person_id", *[label for _key, label in fields],
                *[f"consent: {wording[:80]}" for _pk, wording in boxes], "double_opt_in", "page_url", "ip_address",
                "created_person"])
    columns = ("submitted_at", "email", "contact_id", "lead_id", "values", "consents", "double_opt_in", "page_url",
               "ip_address", "created_person")
    for submission in rows.select_related(None).only(*columns).iterator(chunk_size=2000):
        given = {c.get("id"): c.get("given") for c in submission.consents}
        yield line([
            submission.submitted_at.isoformat(), _cell(submission.email),
            "contact" if submission.contact_id else "lead", submission.contact_id or submission.lead_id,
            *[_cell(submission.values.get(key)) for key, _label in fields],
            *["yes" if given.get(pk) else "no" for pk, _wording in boxes],
            submission.double_opt_in, _cell(submission.page_url), submission.ip_address or "",
            "yes" if submission.created_person else "no",
        ])

"""CSV import pages: upload and map columns, then watch the job until it is done."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import imports, queries
from contacts.forms import ImportForm
from contacts.models import ImportJob
from contacts.views.shared import HtmxHttpRequest

FORM_FIELDS = {"file", "on_duplicate"}


def _mapping_rows(header: list[str], chosen: dict[str, str]) -> list[tuple[str, str]]:
    return [(column, chosen.get(column, "")) for column in header]


@login_required
@permission_required("contacts.add_importjob", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_start(request: HtmxHttpRequest) -> HttpResponse:
    targets = imports.import_targets()
    form = ImportForm(request.POST or None, request.FILES or None, targets=targets)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = imports.create_import(data["file"], mapping=data["mapping"], on_duplicate=data["on_duplicate"],
                                        user=request.user, now=timezone.now())
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in FORM_FIELDS else None, errors)
        else:
            imports.start_import(job)
            return redirect(job)
    # After an error the browser forgets the file, but the columns and choices are shown again.
    posted = dict(zip(request.POST.getlist("column"), request.POST.getlist("target"), strict=False))
    context = {"form": form, "targets": targets, "recent": queries.recent_imports(),
               "mapping_rows": _mapping_rows(list(posted), posted)}
    return render(request, "contacts/import.html", context)


@login_required
@permission_required("contacts.add_importjob", raise_exception=True)
@require_POST
def import_preview(request: HtmxHttpRequest) -> HttpResponse:
    """The mapping step for a chosen file: its columns, each with a suggested target."""
    targets = imports.import_targets()
    context = {"targets": targets, "mapping_rows": [], "preview_error": ""}
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError("Choose a CSV file first.")
        header = imports.read_header(upload)
    except ValidationError as exc:
        context["preview_error"] = " ".join(exc.messages)
    else:
        # Choices already made for the same column names survive choosing the file again.
        chosen = {**imports.suggest_mapping(header),
                  **dict(zip(request.POST.getlist("column"), request.POST.getlist("target"), strict=False))}
        context["mapping_rows"] = _mapping_rows(header, chosen)
        context["file_name"] = upload.name
    return render(request, "contacts/import.html#mapping", context)


@login_required
@permission_required("contacts.add_importjob", raise_exception=True)
@require_GET
def import_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    error_rows = queries.import_error_rows(job, imports.import_targets()) if job.finished else []
    template = "contacts/import_detail.html#status" if request.htmx else "contacts/import_detail.html"
    return render(request, template, {"job": job, "error_rows": error_rows})

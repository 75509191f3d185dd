"""Sales follow-ups: the "My tasks" page and marking a task done."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from contacts import queries, services
from contacts.models import Task
from contacts.views.shared import HtmxHttpRequest, safe_next


@login_required
@permission_required("contacts.view_task", raise_exception=True)
@require_GET
def my_tasks(request: HtmxHttpRequest) -> HttpResponse:
    tasks = list(queries.my_open_tasks(request.user))
    now = timezone.now()
    return render(request, "contacts/my_tasks.html", {
        "tasks": tasks, "now": now, "overdue_count": sum(1 for t in tasks if t.due_at and t.due_at < now),
    })


@login_required
@permission_required("contacts.change_task", raise_exception=True)
@require_POST
def task_done(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(
        Task.objects.select_related("contact", "lead", "queue", "assigned_to", "opportunity"), pk=pk
    )
    completed = services.complete_task(task, now=timezone.now())
    if request.htmx:
        return render(request, "contacts/partials/task.html", {"task": task, "just_completed": completed})
    if completed:
        messages.success(request, f"Task “{task}” marked done.")
    else:
        messages.info(request, f"Task “{task}” was already closed.")
    return redirect(safe_next(request, reverse("contacts:my_tasks")))

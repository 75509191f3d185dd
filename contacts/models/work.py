"""Sales follow-ups: tasks assigned to a user or a sales queue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.models.people import Opportunity
from contacts.models.person_ref import PersonRef


class SalesQueue(models.Model):
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="sales_queues")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaskQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=Task.Status.OPEN)

    def for_user(self, user):
        """Tasks assigned to `user` or to a queue they belong to."""
        return self.filter(models.Q(assigned_to=user) | models.Q(queue__members=user)).distinct()

    def overdue(self, now):
        return self.open().filter(due_at__lt=now)


class Task(PersonRef):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"

    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    queue = models.ForeignKey(SalesQueue, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    source = models.CharField(max_length=100, blank=True, help_text="manual, journey, scoring…")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta(PersonRef.Meta):
        ordering = ["status", "due_at", "id"]
        constraints = [
            *PersonRef.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(assigned_to__isnull=False) | models.Q(queue__isnull=False),
                name="task_assigned_to_user_or_queue",
                violation_error_message="Assign the task to a user or a sales queue.",
            ),
        ]

    def __str__(self) -> str:
        return self.subject

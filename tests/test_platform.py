"""The platform: settings from the environment, the health check, and the embedded broker."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from config.celery import app as celery_app
from contacts import imports
from contacts.models import Contact, ImportJob

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", DEBUG="0", SECRET_KEY="x" * 64 + "-Zq9",
                        ALLOWED_HOSTS="waymark.example.com", SITE_URL="https://waymark.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_database_defaults_to_sqlite_under_var():
    result = run_manage("shell", "-c", "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
                        DATABASE_URL="")
    assert result.stdout.strip().endswith("var/waymark.sqlite3")


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_says_which_part_is_down():
    probe = "from django.test import Client; r = Client().get('/healthz'); print(r.status_code, r.content.decode())"
    result = run_manage("shell", "-c", probe, CELERY_BROKER_URL="redis://127.0.0.1:1/0", DATABASE_URL="")
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert '"database": "ok"' in body and '"broker": "error' in body


def _import_through_a_worker(broker_url: str, transport_options: dict, tmp_path) -> ImportJob:
    """Queue a real import task and let a real worker thread on `broker_url` run it."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options, conf.task_always_eager)
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = broker_url, transport_options, False
    try:
        rows = "email\n" + "".join(f"w{i}@example.com\n" for i in range(3))
        job = imports.create_import(ContentFile(rows.encode(), name="w.csv"), mapping=None,
                                    on_duplicate="update", user=None, now=timezone.now())
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            # An explicit connection: the app's cached producer pool may point at another broker.
            with celery_app.connection_for_write() as connection:
                imports.tasks.run_import.apply_async((job.pk,), connection=connection)
            done = threading.Event()
            for _ in range(100):
                job.refresh_from_db()
                if job.finished:
                    break
                done.wait(0.1)
        return job
    finally:
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved


@pytest.mark.django_db(transaction=True)
def test_the_embedded_filesystem_broker_delivers_tasks_to_a_worker(tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    options = {"data_folder_in": str(folders["queue"]), "data_folder_out": str(folders["queue"]),
               "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
               "polling_interval": 0.05}
    job = _import_through_a_worker("filesystem://", options, tmp_path)
    assert job.status == "done" and Contact.objects.count() == 3


@pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis"),
                    reason="needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/15")
@pytest.mark.django_db(transaction=True)
def test_the_redis_broker_delivers_tasks_to_a_worker(tmp_path):
    job = _import_through_a_worker(settings.CELERY_BROKER_URL, {"visibility_timeout": 3600}, tmp_path)
    assert job.status == "done" and Contact.objects.count() == 3

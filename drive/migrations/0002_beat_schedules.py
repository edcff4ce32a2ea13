"""The poll scheduler, created once; staff edit it in the admin.

Beat only runs `polls_enqueue_due`; each connection's own `next_poll_at`
decides when it is polled (faster after activity, slower when idle, backed
off after errors), so one short interval serves Drive and the inbox.
"""

from django.db import migrations

SCHEDULES = [
    ("Poll watched folders that are due", "drive.tasks.polls_enqueue_due", 3),
]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in SCHEDULES:
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("drive", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]

"""SourceConnection.state gets REVOKED; the never-set ERROR goes.

Until now a revoked grant was a DISCONNECTED Drive connection whose
`state_message` was anything but the user's own "You disconnected this
source." (the dashboard banner picked them out that way): those rows become
REVOKED. Backwards they turn DISCONNECTED again, message kept, which the old
code reads as revoked.
"""

from django.db import migrations, models

USER_DISCONNECTED = ["", "You disconnected this source."]


def forwards(apps, schema_editor):
    SourceConnection = apps.get_model("drive", "SourceConnection")
    SourceConnection.objects.filter(kind="drive", state="disconnected").exclude(
        state_message__in=USER_DISCONNECTED
    ).update(state="revoked")
    # No code ever set ERROR; should a row carry it, it is simply not watched.
    SourceConnection.objects.filter(state="error").update(state="disconnected")


def backwards(apps, schema_editor):
    SourceConnection = apps.get_model("drive", "SourceConnection")
    SourceConnection.objects.filter(state="revoked").update(state="disconnected")


class Migration(migrations.Migration):
    dependencies = [
        ("drive", "0002_beat_schedules"),
    ]

    operations = [
        migrations.AlterField(
            model_name="sourceconnection",
            name="state",
            field=models.CharField(
                choices=[
                    ("connected", "Connected"),
                    ("disconnected", "Disconnected"),
                    ("revoked", "Access revoked"),
                ],
                default="connected",
                max_length=15,
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]

"""A local inbox folder is one account's (a unique constraint).

Until now every account that picked "Use the local inbox" watched the same
folder, so one drop made a job for each. Before the constraint, each folder
watched by several accounts is kept by one — the demo user if it is among
them, else the first to connect — and the others move to a folder of their
own inside it, `<folder>/<email-slug>/` (what `inbox_connect` gives them
now), created here when possible and else at their next connect. Their
history stays. Backwards only the constraint goes; nobody moves back.
"""

import re
from pathlib import Path

from django.db import migrations, models

DEMO_EMAIL = "demo@creator.local"


def _slug(email: str, pk) -> str:
    # As drive.services.inbox_subfolder_name, frozen here.
    slug = re.sub(r"[^a-z0-9]+", "-", email.lower()).strip("-")
    return slug if "-" in slug else f"account-{pk}"


def forwards(apps, schema_editor):
    SourceConnection = apps.get_model("drive", "SourceConnection")
    inbox = SourceConnection.objects.filter(kind="inbox").exclude(inbox_path="")
    shared = (
        inbox.values("inbox_path")
        .annotate(n=models.Count("id"))
        .filter(n__gt=1)
        .values_list("inbox_path", flat=True)
    )
    used = set(inbox.values_list("inbox_path", flat=True))
    for path in list(shared):
        rows = list(
            inbox.filter(inbox_path=path).select_related("user").order_by("created_at", "id")
        )
        keeper = next((r for r in rows if r.user.email == DEMO_EMAIL), rows[0])
        for row in rows:
            if row.id == keeper.id:
                continue
            own = Path(path) / _slug(row.user.email, row.user_id)
            if str(own) in used:
                own = own.with_name(f"{own.name}-{row.user_id}")
            used.add(str(own))
            try:
                (own / "processed").mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # made by the account's next connect
            row.inbox_path = str(own)
            row.folder_name = str(own)
            row.output_folder_link = str(own / "processed")
            row.cursor = ""
            row.save(update_fields=["inbox_path", "folder_name", "output_folder_link", "cursor"])


class Migration(migrations.Migration):
    dependencies = [
        ("drive", "0003_connection_revoked_state"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="sourceconnection",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "inbox"), models.Q(("inbox_path", ""), _negated=True)),
                fields=("inbox_path",),
                name="drive_inbox_folder_one_account",
            ),
        ),
    ]

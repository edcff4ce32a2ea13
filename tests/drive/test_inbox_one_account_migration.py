"""Accounts that shared an inbox folder before it became one account's:
one keeps it (the demo user if it is among them), the others move to their
own subfolder, history kept."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("drive", "0003_connection_revoked_state")]
AFTER = [("drive", "0004_inbox_folder_one_account")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_a_shared_inbox_stays_the_demo_users_and_the_others_get_their_own(tmp_path):
    apps = _migrate(BEFORE)
    User = apps.get_model("accounts", "User")
    SourceConnection = apps.get_model("drive", "SourceConnection")
    SourceFile = apps.get_model("drive", "SourceFile")
    shared, studio = str(tmp_path / "inbox"), str(tmp_path / "studio")
    start = timezone.now() - timedelta(days=1)
    rows = {}
    # Alice connected first, the demo user later: the demo user keeps it.
    for n, (email, path) in enumerate(
        [
            ("alice@example.com", shared),
            ("demo@creator.local", shared),
            ("bob@example.com", shared),
            ("charlie@example.com", studio),
        ]
    ):
        user = User.objects.create(email=email)
        rows[email] = SourceConnection.objects.create(
            user=user,
            kind="inbox",
            inbox_path=path,
            folder_id=".",
            folder_name=path,
            cursor='{"a.png": "taken:1-2"}',
            created_at=start + timedelta(minutes=n),
        ).id
    SourceFile.objects.create(
        connection_id=rows["bob@example.com"], file_id="a.png", version_key="1-2", name="a.png"
    )

    try:
        apps = _migrate(AFTER)
        SourceConnection = apps.get_model("drive", "SourceConnection")
        paths = {
            email: SourceConnection.objects.get(id=row_id).inbox_path
            for email, row_id in rows.items()
        }
        assert paths == {
            "demo@creator.local": shared,
            "alice@example.com": str(Path(shared) / "alice-example-com"),
            "bob@example.com": str(Path(shared) / "bob-example-com"),
            "charlie@example.com": studio,
        }
        bob = SourceConnection.objects.get(id=rows["bob@example.com"])
        assert bob.cursor == "" and bob.folder_name == paths["bob@example.com"]
        assert bob.files.count() == 1  # history stays
        assert (Path(paths["bob@example.com"]) / "processed").is_dir()
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

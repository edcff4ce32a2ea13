"""Connections revoked before REVOKED existed become REVOKED on migrating."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("drive", "0002_beat_schedules")]
AFTER = [("drive", "0003_connection_revoked_state")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_revoked_drive_connections_are_found_the_way_the_banner_found_them():
    apps = _migrate(BEFORE)
    User = apps.get_model("accounts", "User")
    SourceConnection = apps.get_model("drive", "SourceConnection")
    rows = {}
    for name, kind, state, message in [
        ("revoked", "drive", "disconnected", "Google says access was revoked. Reconnect."),
        ("unticked", "drive", "disconnected", "Google Drive access was not granted, so …"),
        ("by_user", "drive", "disconnected", "You disconnected this source."),
        ("inbox", "inbox", "disconnected", "You disconnected this source."),
        ("watching", "drive", "connected", ""),
    ]:
        user = User.objects.create(email=f"{name}@example.com")
        rows[name] = SourceConnection.objects.create(
            user=user, kind=kind, state=state, state_message=message
        ).id

    try:
        apps = _migrate(AFTER)
        SourceConnection = apps.get_model("drive", "SourceConnection")
        states = {
            name: SourceConnection.objects.get(id=row_id).state for name, row_id in rows.items()
        }
        assert states == {
            "revoked": "revoked",
            "unticked": "revoked",
            "by_user": "disconnected",
            "inbox": "disconnected",
            "watching": "connected",
        }

        _migrate(BEFORE)  # and back: the message still tells the old code
        assert SourceConnection.objects.get(id=rows["revoked"]).state == "disconnected"
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

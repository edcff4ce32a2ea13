import json
from pathlib import Path

import pytest

RECORDED = Path(__file__).resolve().parents[1] / "standins" / "comfyui" / "recorded"


@pytest.fixture(scope="session")
def object_info() -> dict:
    """The object_info recorded from a real ComfyUI server (see PROTOCOL.md)."""
    return json.loads((RECORDED / "object_info.json").read_text())


@pytest.fixture(autouse=True)
def _presets(request):
    """Make sure the system presets exist for database tests.

    The data migration loads them, but a transactional test anywhere in the
    suite flushes every table, and a reused test database keeps that state."""
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        request.getfixturevalue("db")
        from workflows.models import Workflow
        from workflows.preset_sync import presets_sync

        if Workflow.objects.filter(owner__isnull=True).count() < 3:
            presets_sync()

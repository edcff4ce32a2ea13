"""Stored files are reached only through signed, expiring links, in every
mode: DEBUG does not open a /media/ path that serves anyone's files by
name (issue #17, item 10)."""

import importlib

import pytest
from django.urls import clear_url_caches

import creator_site.urls
from generations.files import asset_url
from generations.models import Asset
from generations.services import generation_create
from tests.generations.conftest import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings, tmp_path):
    """The URLconf as `runserver` with DEBUG=1 builds it (it reads DEBUG at import)."""
    settings.DEBUG = True
    settings.MEDIA_ROOT = str(tmp_path / "media")
    importlib.reload(creator_site.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(creator_site.urls)
    clear_url_caches()


@pytest.fixture
def alice_input(alice, django_capture_on_commit_callbacks, debug_urls) -> Asset:
    from workflows.models import Workflow
    from workflows.preset_sync import presets_sync

    presets_sync()
    preset = Workflow.objects.get(owner__isnull=True, slug="portrait_pro")
    with django_capture_on_commit_callbacks(execute=False):  # no broker message needed
        job = generation_create(user=alice, workflow=preset, image=png_bytes((64, 64)))
    return job.assets.get(kind=Asset.Kind.INPUT)


def test_a_stored_file_is_not_served_by_its_media_path_in_debug(client, charlie, alice_input):
    client.force_login(charlie)

    response = client.get(f"/media/{alice_input.file.name}")

    assert response.status_code == 404


def test_the_signed_link_serves_the_same_file_in_debug(client, alice_input):
    response = client.get(asset_url(alice_input))

    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"

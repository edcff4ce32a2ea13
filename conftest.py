"""Root fixtures: media in a temp dir, a clean cache, and the three users
every test can ask about (alice the owner, bob a teammate, charlie an outsider)."""

import uuid

import pytest
from django.core.cache import cache


def pytest_configure(config):
    # A queue of this test session's own: workers it starts listen to it, and
    # no worker of another run (or one left behind) can take its messages.
    from creator_site.celery import app

    app.conf.task_default_queue = f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate limits and throttles live in the cache (Redis in tests).
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    from tests.factories import UserFactory

    return UserFactory(email="alice@example.com", full_name="Alice Owner")


@pytest.fixture
def bob(db):
    from tests.factories import UserFactory

    return UserFactory(email="bob@example.com", full_name="Bob Teammate")


@pytest.fixture
def charlie(db):
    from tests.factories import UserFactory

    return UserFactory(email="charlie@example.com", full_name="Charlie Outsider")

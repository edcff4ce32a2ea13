"""The data export: a zip of the user's profile, key metadata and files (SPEC §3)."""

import io
import json
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tests.factories import ApiKeyFactory

EXPORT = "/settings/danger/export/"


def download_export(client) -> zipfile.ZipFile:
    response = client.post(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="creator-export-')
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


@pytest.mark.django_db
def test_it_exports_the_profile_and_the_users_files(client, alice, bob):
    default_storage.save(f"uploads/{alice.id}/photo.png", ContentFile(b"alice upload"))
    default_storage.save(f"outputs/{alice.id}/job-1/result.png", ContentFile(b"alice output"))
    default_storage.save(f"uploads/{bob.id}/bob.png", ContentFile(b"bob upload"))
    client.force_login(alice)

    archive = download_export(client)

    names = set(archive.namelist())
    assert names == {
        "profile.json",
        "api_keys.json",
        f"uploads/{alice.id}/photo.png",
        f"outputs/{alice.id}/job-1/result.png",
    }
    assert archive.read(f"outputs/{alice.id}/job-1/result.png") == b"alice output"
    profile = json.loads(archive.read("profile.json"))
    assert profile["email"] == "alice@example.com"
    assert profile["full_name"] == "Alice Owner"
    assert profile["id"] == str(alice.id)


@pytest.mark.django_db
def test_it_leaves_out_secrets(client, alice):
    api_key = ApiKeyFactory(user=alice, name="CI")
    client.force_login(alice)

    archive = download_export(client)

    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert api_key.key_hash not in everything
    assert api_key.full_key not in everything
    assert alice.password not in everything
    assert alice.webhook_secret not in everything
    keys = json.loads(archive.read("api_keys.json"))
    assert keys == [
        {
            "id": str(api_key.id),
            "name": "CI",
            "prefix": api_key.prefix,
            "scopes": api_key.scopes,
            "created_at": keys[0]["created_at"],
            "last_used_at": None,
            "expires_at": None,
            "revoked_at": None,
        }
    ]


@pytest.mark.django_db
def test_it_exports_an_account_without_files(client, charlie):
    client.force_login(charlie)

    archive = download_export(client)

    assert set(archive.namelist()) == {"profile.json", "api_keys.json"}


@pytest.mark.django_db
def test_it_requires_login_and_post(client, alice):
    assert client.post(EXPORT)["Location"].startswith("/accounts/login/")
    client.force_login(alice)
    assert client.get(EXPORT).status_code == 405

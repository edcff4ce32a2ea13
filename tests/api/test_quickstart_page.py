"""The dashboard's API quick start shows the user's own key prefix and a real workflow."""

import pytest
from django.test import Client

from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_it_fills_in_the_users_key_prefix_and_a_workflow(alice, preset_workflows):
    api_key = ApiKeyFactory(user=alice)
    client = Client()
    client.force_login(alice)

    response = client.get("/settings/api-keys/quickstart/")

    assert response.status_code == 200
    html = response.content.decode()
    assert api_key.prefix in html
    assert api_key.full_key not in html
    assert "-F workflow=portrait_pro" in html
    assert "http://testserver/api/v1/generate" in html
    assert "from creator_sdk import CreatorClient" in html


def test_it_is_linked_from_the_api_keys_page(alice):
    client = Client()
    client.force_login(alice)

    assert (
        'href="/settings/api-keys/quickstart/"'
        in client.get("/settings/api-keys/").content.decode()
    )


def test_without_a_key_it_says_how_to_get_one(alice, preset_workflows):
    client = Client()
    client.force_login(alice)

    html = client.get("/settings/api-keys/quickstart/").content.decode()

    assert "You have no active API key yet" in html


def test_it_needs_a_login(db):
    response = Client().get("/settings/api-keys/quickstart/")

    assert response.status_code == 302

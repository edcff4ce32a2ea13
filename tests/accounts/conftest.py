"""Helpers shared by the accounts tests."""

import re

import pytest
from django.core import mail

from tests.factories import TEST_PASSWORD


def link_in_last_email(path_fragment: str) -> str:
    """The path of the first link in the newest email that contains `path_fragment`."""
    body = mail.outbox[-1].body
    paths = [p for p in re.findall(r"https?://[^/\s]+(/\S*)", body) if path_fragment in p]
    assert paths, f"no link containing {path_fragment!r} in:\n{body}"
    return paths[0]


def log_in(client, email: str, password: str = TEST_PASSWORD):
    """Log in through allauth's own form, as a browser would."""
    return client.post("/accounts/login/", {"login": email, "password": password})


@pytest.fixture
def logged_in_alice(client, alice):
    client.force_login(alice)
    return client

import re

import pytest


def input_names(html: str) -> set[str]:
    """The names of the visible form controls (inputs, selects, textareas)."""
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
    return {
        re.search(r'name="([^"]+)"', c).group(1)
        for c in controls
        if 'type="hidden"' not in c and 'name="' in c
    }


def labelled_ids(html: str) -> set[str]:
    return set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))


def control_ids(html: str) -> set[str]:
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
    return {
        re.search(r'id="([^"]+)"', c).group(1)
        for c in controls
        if 'type="hidden"' not in c and 'id="' in c
    }


@pytest.fixture
def html():
    """Fetch a page with a client and return (response, decoded body)."""

    def fetch(client, path, status=200):
        response = client.get(path)
        assert response.status_code == status, (path, response.status_code)
        return response, response.content.decode()

    return fetch

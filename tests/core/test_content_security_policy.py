"""Every page is sent with a Content-Security-Policy that runs only our own
scripts, and the pages (API docs included) need nothing it forbids: no
inline script without the page's nonce, no inline event handlers, nothing
loaded from another origin (issue #17, item 10)."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.workflows.factories import WorkflowFactory

pytestmark = pytest.mark.django_db


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class PageParts(HTMLParser):
    """What a policy cares about in a page: its scripts, event handler
    attributes and the origins it loads from."""

    def __init__(self):
        super().__init__()
        self.inline_scripts: list[str | None] = []  # the nonce of each
        self.script_sources: list[str] = []
        self.handlers: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.handlers += [f"<{tag} {name}=…>" for name in attributes if name.startswith("on")]
        if tag == "script":
            if attributes.get("src"):
                self.script_sources.append(attributes["src"])
            else:
                self.inline_scripts.append(attributes.get("nonce"))
        if tag == "link" and attributes.get("href"):
            self.loads.append(attributes["href"])
        for name in ("src", "href"):
            value = attributes.get(name) or ""
            if value.startswith("javascript:"):
                self.handlers.append(f"<{tag} {name}=javascript:…>")


def parts_of(response) -> PageParts:
    parts = PageParts()
    parts.feed(response.content.decode())
    return parts


def assert_page_works_under_its_policy(response) -> None:
    assert response.status_code == 200, response.request["PATH_INFO"]
    policy = policy_of(response)
    parts = parts_of(response)
    assert parts.handlers == []
    nonces = [v.removeprefix("'nonce-").removesuffix("'") for v in policy["script-src"]]
    for nonce in parts.inline_scripts:
        assert nonce is not None and nonce in nonces, "an inline script the policy blocks"
    for source in parts.script_sources + parts.loads:
        assert source.startswith("/"), f"{source} is from another origin"


def test_the_policy_runs_only_our_own_scripts(client):
    policy = policy_of(client.get("/"))

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no page script needs a nonce here
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["worker-src"] == ["'self'", "blob:"]  # ReDoc's search worker
    for directive in ("script-src", "default-src", "connect-src"):
        assert "'unsafe-inline'" not in policy[directive]
        assert "'unsafe-eval'" not in policy[directive]


@pytest.mark.parametrize(
    "path", ["/", "/pricing/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_public_pages_work_under_the_policy(client, path):
    assert_page_works_under_its_policy(client.get(path))


@pytest.mark.parametrize(
    "name",
    [
        "dashboard",
        "settings",
        "settings_notifications",
        "settings_api_keys",
        "settings_danger",
        "workflows:list",
        "generations:list",
    ],
)
def test_signed_in_pages_work_under_the_policy(client, alice, name):
    client.force_login(alice)
    assert_page_works_under_its_policy(client.get(reverse(name)))


def test_the_new_api_key_box_selects_without_an_inline_handler(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("settings_api_keys"), {"name": "build server", "scopes": ["jobs:read"]}, follow=True
    )

    assert_page_works_under_its_policy(response)
    assert re.search(r'id="new-key-value"[^>]*data-select-on-focus', response.content.decode())


def test_deleting_a_workflow_asks_without_an_inline_handler(client, alice):
    workflow = WorkflowFactory(owner=alice)
    client.force_login(alice)
    response = client.get(reverse("workflows:detail", kwargs={"workflow_id": workflow.id}))

    assert_page_works_under_its_policy(response)
    assert 'data-confirm="Delete this workflow and all its versions?"' in response.content.decode()


def test_the_swagger_docs_run_their_inline_script_with_the_pages_nonce(client):
    response = client.get("/api/v1/docs/")

    assert_page_works_under_its_policy(response)
    (nonce,) = parts_of(response).inline_scripts
    assert f"'nonce-{nonce}'" in policy_of(response)["script-src"]
    assert "SwaggerUIBundle(" in response.content.decode()


def test_the_redoc_docs_load_nothing_from_other_origins(client):
    response = client.get("/api/v1/redoc/")

    assert_page_works_under_its_policy(response)
    assert "fonts.googleapis.com" not in response.content.decode()


def test_each_response_gets_its_own_nonce(client):
    first = parts_of(client.get("/api/v1/docs/")).inline_scripts
    second = parts_of(client.get("/api/v1/docs/")).inline_scripts
    assert first != second

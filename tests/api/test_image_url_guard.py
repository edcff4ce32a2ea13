"""Image URLs are fetched server-side through the outbound guard: loopback,
private, link-local and metadata addresses are refused before any
connection, also after DNS and on every redirect hop (SPEC §8, SSRF)."""

import socket

import pytest

from tests.api.conftest import ImageServer, assert_error, job_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def connections(monkeypatch):
    """Every address a TCP connection is opened to (the real call still runs)."""
    seen = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        seen.append(address[0])
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return seen


def post_url(client, url, field="image_url"):
    body = {"workflow": "portrait_pro", field: url}
    if field != "image_url":
        body["image_url"] = "https://images.example/photo.png"
    return client.post("/api/v1/jobs", body, format="json")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/photo.png",
        "http://localhost/photo.png",
        "http://[::1]/photo.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/photo.png",
        "http://192.168.1.1/photo.png",
        "http://[::ffff:127.0.0.1]/photo.png",
        "http://0.0.0.0/photo.png",
    ],
)
def test_private_addresses_are_refused_without_connecting(
    alice_api, preset_workflows, connections, url
):
    error = assert_error(post_url(alice_api, url), 400, "unsafe_url")

    assert "image_url" in error["details"]
    assert connections == []
    assert job_count() == 0


def test_a_loopback_server_is_not_reached_unless_allowed(alice_api, preset_workflows):
    server = ImageServer()  # running, but not in OUTBOUND_ALLOWED_HOSTS
    try:
        response = post_url(alice_api, f"{server.url}/photo.png")
    finally:
        server.stop()

    assert_error(response, 400, "unsafe_url")
    assert server.requests == []


def test_a_host_name_resolving_to_a_private_address_is_refused(
    alice_api, preset_workflows, connections, monkeypatch
):
    def resolve(host, port, *args, **kwargs):
        assert host == "images.attacker.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    response = post_url(alice_api, "http://images.attacker.example/photo.png")

    error = assert_error(response, 400, "unsafe_url")
    assert "10.20.30.40" in error["details"]["image_url"][0]
    assert connections == []


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    alice_api, preset_workflows, connections, monkeypatch
):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
        ],
    )

    assert_error(post_url(alice_api, "http://mixed.example/a.png"), 400, "unsafe_url")
    assert connections == []


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:8000/"]
)
def test_a_redirect_to_a_private_address_is_refused(
    alice_api, preset_workflows, image_server, connections, target
):
    image_server.redirect_to = target

    response = post_url(alice_api, f"{image_server.url}/redirect")

    error = assert_error(response, 400, "unsafe_url")
    assert "redirect" in error["details"]["image_url"][0]
    assert image_server.requests == ["/redirect"]
    assert connections == ["127.0.0.1"]  # the allowed server only
    assert job_count() == 0


def test_a_redirect_to_an_allowed_address_is_followed(alice_api, preset_workflows, image_server):
    image_server.redirect_to = f"{image_server.url}/photo.png"

    response = post_url(alice_api, f"{image_server.url}/redirect")

    assert response.status_code == 201, response.content
    assert image_server.requests == ["/redirect", "/photo.png"]


def test_an_image_larger_than_the_upload_limit_is_refused(
    alice_api, preset_workflows, image_server, settings
):
    settings.UPLOAD_MAX_BYTES = 100

    response = post_url(alice_api, f"{image_server.url}/photo.png")

    assert_error(response, 400, "file_too_large")
    assert job_count() == 0


def test_a_missing_image_is_a_400(alice_api, preset_workflows, image_server):
    error = assert_error(
        post_url(alice_api, f"{image_server.url}/gone.png"), 400, "unreachable_url"
    )

    assert "404" in error["details"]["image_url"][0]


def test_a_private_webhook_url_is_refused_at_request_time(alice_api, preset_workflows, connections):
    response = post_url(alice_api, "http://169.254.169.254/hook", field="webhook_url")

    assert "webhook_url" in assert_error(response, 400, "unsafe_url")["details"]
    assert connections == []
    assert job_count() == 0

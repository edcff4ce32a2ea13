"""The account's webhook URL is checked by the outbound guard when it is
saved: an address Creator would refuse to call is refused on the form, with
a sentence, instead of being saved to fail at every delivery (issue #17,
item 10)."""

import socket

import pytest

PAGE = "/settings/notifications/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def connections(monkeypatch):
    """Every TCP connection opened (the real call still runs): saving opens none."""
    seen = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return seen


@pytest.fixture
def resolves_to(monkeypatch):
    """Answer DNS for one name with the given address."""

    def answer(host, address):
        real = socket.getaddrinfo

        def getaddrinfo(name, port, *args, **kwargs):
            if name == host:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
            return real(name, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    return answer


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://10.0.0.5/hook", "private network"),
        ("https://192.168.1.20/hook", "private network"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ],
)
def test_an_address_the_guard_refuses_is_not_saved(client, alice, connections, url, reason):
    client.force_login(alice)

    response = client.post(PAGE, {"email_notifications": "on", "webhook_url": url})

    assert response.status_code == 200
    page = response.content.decode()
    assert reason in page
    assert "Creator only connects to public internet addresses" in page
    alice.refresh_from_db()
    assert alice.webhook_url == ""
    assert connections == []


def test_a_name_that_resolves_to_a_private_address_is_not_saved(client, alice, resolves_to):
    resolves_to("hooks.internal.example", "10.1.2.3")
    client.force_login(alice)

    response = client.post(PAGE, {"webhook_url": "https://hooks.internal.example/in"})

    assert response.status_code == 200
    assert "10.1.2.3" in response.content.decode()
    alice.refresh_from_db()
    assert alice.webhook_url == ""


def test_a_name_that_resolves_to_a_public_address_is_saved(client, alice, resolves_to):
    resolves_to("hooks.example.org", "93.184.216.34")
    client.force_login(alice)

    response = client.post(PAGE, {"webhook_url": "https://hooks.example.org/in"})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.webhook_url == "https://hooks.example.org/in"


def test_an_operator_allowed_loopback_receiver_is_saved(client, alice, settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1:8123"]
    client.force_login(alice)

    response = client.post(PAGE, {"webhook_url": "http://127.0.0.1:8123/hook"})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.webhook_url == "http://127.0.0.1:8123/hook"


def test_clearing_the_url_still_works(client, alice):
    alice.webhook_url = "https://hooks.example.org/in"
    alice.save()
    client.force_login(alice)

    response = client.post(PAGE, {"webhook_url": ""})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.webhook_url == ""

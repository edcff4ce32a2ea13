"""The outbound guard: what it refuses, that it refuses before connecting,
and that it connects only to the address it checked."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from creator_site import netguard
from creator_site.netguard import OutboundError, ResponseTooLarge, UnsafeURL


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://172.16.5.4/",
        "http://192.168.1.1:8080/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://127.0.0.1/",
        "http://127.1/",  # short form of 127.0.0.1
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]:1/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    ],
)
def test_it_refuses_non_public_addresses_without_connecting(url, connections):
    with pytest.raises(UnsafeURL, match="only connects to public internet addresses"):
        netguard.safe_request("POST", url, body=b"{}")
    assert connections == []


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/x", "Only http and https"),
        ("file:///etc/passwd", "Only http and https"),
        ("gopher://example.com/", "Only http and https"),
        ("http://user:pass@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
        ("http:///nohost", "no host name"),
        ("http://example.com:99999/", "invalid port"),
        ("http://exa mple.com/", "spaces"),
        ("", "empty"),
    ],
)
def test_it_refuses_malformed_urls(url, message, connections):
    with pytest.raises(UnsafeURL, match=message):
        netguard.check_url(url)
    assert connections == []


def test_it_refuses_a_host_name_that_resolves_to_a_private_address(fake_dns, connections):
    fake_dns.answer("hooks.example.com", "10.1.2.3")
    with pytest.raises(UnsafeURL, match=r"hooks\.example\.com \(10\.1\.2\.3\) is a private"):
        netguard.safe_request("POST", "https://hooks.example.com/in", body=b"{}")
    assert connections == []


def test_it_refuses_a_host_name_with_any_private_address(fake_dns, monkeypatch):
    # One public and one private answer: which one a client would pick is
    # luck, so the whole name is refused.
    real = socket.getaddrinfo

    def two_answers(host, port, *args, **kwargs):
        if host == "mixed.example.com":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    with pytest.raises(UnsafeURL, match="loopback"):
        netguard.resolve_public("http://mixed.example.com/")


def test_it_lists_the_checked_addresses_of_a_public_name(fake_dns):
    fake_dns.answer("public.example.com", "93.184.216.34")
    assert netguard.resolve_public("https://public.example.com/x") == ["93.184.216.34"]


def test_it_reports_a_name_that_does_not_resolve_as_an_outbound_error_not_a_refusal():
    with pytest.raises(OutboundError) as caught:
        netguard.check_url("http://does-not-exist.invalid/")
    assert not isinstance(caught.value, UnsafeURL)


def test_the_allowed_hosts_setting_lets_one_loopback_port_through(settings, receiver, connections):
    other_port = "http://127.0.0.1:1/"
    settings.OUTBOUND_ALLOWED_HOSTS = [receiver.host_port]
    response = netguard.safe_request("GET", receiver.url("/ping"))
    assert response.status == 200
    assert connections == [("127.0.0.1", receiver.server.server_address[1])]
    with pytest.raises(UnsafeURL):
        netguard.check_url(other_port)  # same address, another port: still refused


def test_an_ip_in_the_allowed_hosts_setting_allows_every_port(settings):
    settings.OUTBOUND_ALLOWED_HOSTS = ["10.0.0.0/8", "[::1]:8123"]
    assert netguard.resolve_public("http://10.2.3.4:5000/") == ["10.2.3.4"]
    assert netguard.resolve_public("http://[::1]:8123/") == ["::1"]
    with pytest.raises(UnsafeURL):
        netguard.check_url("http://[::1]:8124/")


def test_it_connects_to_the_address_it_checked_not_a_second_lookup(
    settings, receiver, fake_dns, connections
):
    # A rebinding DNS server: the first answer passes the check, the second
    # would point somewhere private. Only one lookup may happen.
    port = receiver.server.server_address[1]
    settings.OUTBOUND_ALLOWED_HOSTS = [receiver.host_port]
    fake_dns.answer("rebind.example.com", "127.0.0.1", "10.0.0.1")
    response = netguard.safe_request("GET", f"http://rebind.example.com:{port}/x")
    assert response.status == 200
    assert response.address == "127.0.0.1"
    assert fake_dns.lookups == ["rebind.example.com"]
    assert connections == [("127.0.0.1", port)]
    # The receiver is told the name from the URL, not the address.
    assert receiver.requests[0].headers["host"] == f"rebind.example.com:{port}"


def test_it_refuses_a_redirect_to_a_private_address_before_following_it(
    allow_receiver, connections
):
    allow_receiver.answer(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    with pytest.raises(UnsafeURL, match=r"Refused the redirect to http://169\.254\.169\.254/"):
        netguard.safe_request("GET", allow_receiver.url("/start"), allow_redirects=True)
    assert [r.path for r in allow_receiver.requests] == ["/start"]
    assert len(connections) == 1  # the receiver only


def test_it_follows_a_redirect_to_an_allowed_address(allow_receiver):
    allow_receiver.answer(307, headers={"Location": "/final"})
    response = netguard.safe_request(
        "POST", allow_receiver.url("/start"), body=b"{}", allow_redirects=True
    )
    assert response.status == 200
    assert response.redirects == [allow_receiver.url("/final")]
    assert [(r.method, r.path, r.body) for r in allow_receiver.requests] == [
        ("POST", "/start", b"{}"),
        ("POST", "/final", b"{}"),
    ]


def test_it_does_not_follow_redirects_unless_asked(allow_receiver):
    allow_receiver.answer(302, headers={"Location": "http://10.0.0.1/"})
    response = netguard.safe_request("GET", allow_receiver.url("/start"))
    assert response.status == 302
    assert len(allow_receiver.requests) == 1


def test_it_stops_after_too_many_redirects(allow_receiver):
    for _ in range(5):
        allow_receiver.answer(302, headers={"Location": "/again"})
    with pytest.raises(OutboundError, match="More than 3 redirects"):
        netguard.safe_request("GET", allow_receiver.url("/"), allow_redirects=True)


def test_it_caps_the_response_size(allow_receiver):
    allow_receiver.answer(200, body=b"x" * 5000)
    with pytest.raises(ResponseTooLarge):
        netguard.safe_request("GET", allow_receiver.url(), max_bytes=1000)


def test_it_can_cut_the_response_at_the_cap_instead(allow_receiver):
    allow_receiver.answer(200, body=b"x" * 5000)
    response = netguard.safe_request("GET", allow_receiver.url(), max_bytes=1000, truncate=True)
    assert response.body == b"x" * 1000
    assert response.truncated


@pytest.fixture
def dripping_server(settings):
    """Sends a response one byte every 0.2 s: each read is quick, the whole
    answer never ends."""

    class Drip(BaseHTTPRequestHandler):
        def do_GET(self):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{server.server_address[1]}"]
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_it_bounds_the_total_time_not_just_each_read(dripping_server):
    started = time.monotonic()
    with pytest.raises(OutboundError, match="did not answer in time"):
        netguard.safe_request("GET", dripping_server, timeout=1)
    assert time.monotonic() - started < 3

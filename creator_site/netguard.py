"""Outbound HTTP to addresses users choose (webhooks, image URLs), without SSRF.

A URL is allowed when its scheme is http or https, it carries no user name
or password, and *every* address its host resolves to is on the public
internet. `safe_request` then connects to one of exactly those addresses
(the name is never looked up a second time, so DNS rebinding cannot swap
in 127.0.0.1 between the check and the connection), sends the Host header
and TLS server name of the original host, re-checks every redirect hop
before following it, and bounds both the response size and the total time.

Operators (and tests) may let specific private destinations through with
the OUTBOUND_ALLOWED_HOSTS setting: entries are an IP ("10.0.0.5"), a
network ("10.0.0.0/24"), or a host with a port ("127.0.0.1:8123",
"[::1]:8123", "hooks.internal:443"). Production leaves it empty.

Plain Python apart from reading that one setting, so the API's image
fetching can reuse it as is.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that must not follow a redirect to another origin.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})

# Ranges Python's `is_global` lets through that still are not somewhere a
# server should call: multicast, IETF protocol assignments (192.0.0.0/24),
# "this network" (0.0.0.0/8).
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n) for n in ("0.0.0.0/8", "192.0.0.0/24", "224.0.0.0/4", "ff00::/8")
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(Exception):
    """An outbound request could not be made or completed (DNS failure,
    connection refused, TLS error, timeout, oversized response)."""


class UnsafeURL(OutboundError):
    """The URL, or an address its host resolves to, is not allowed. Raised
    before any connection is attempted to that address."""


class ResponseTooLarge(OutboundError):
    """The response body is bigger than the caller's limit."""


class OutboundTimeout(OutboundError):
    """The exchange (connect, headers and body, redirects included) did not
    finish within the caller's timeout."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect, and what to tell the server."""

    url: str
    scheme: str
    host: str  # as in the URL (lower-cased, IDNA-encoded, no brackets)
    port: int
    path: str  # path and query, as sent on the request line
    addresses: tuple[str, ...]  # every one of them passed the check

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@dataclass
class SafeResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    url: str  # the URL that answered, after redirects
    address: str  # the IP address actually connected to
    truncated: bool = False  # the body was cut at max_bytes (truncate=True)
    redirects: list[str] = field(default_factory=list)

    def text(self, limit: int | None = None) -> str:
        return self.body[:limit].decode("utf-8", errors="replace")


# --- checking ---------------------------------------------------------------------


def _allowed_entries() -> list[str]:
    try:
        from django.conf import settings

        return list(getattr(settings, "OUTBOUND_ALLOWED_HOSTS", []) or [])
    except ImportError:  # pragma: no cover - used outside Django
        return []


def _is_operator_allowed(host: str, port: int, address: IPAddress) -> bool:
    for raw in _allowed_entries():
        entry = raw.strip().lower()
        if not entry:
            continue
        entry_host, entry_port = entry, None
        if entry.startswith("["):  # [::1]:8123
            entry_host, _, rest = entry[1:].partition("]")
            entry_port = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:  # 127.0.0.1:8123 or name:443
            entry_host, entry_port = entry.split(":")
        if entry_port is not None and entry_port != str(port):
            continue
        try:
            if address in ipaddress.ip_network(entry_host, strict=False):
                return True
        except ValueError:
            # A host name: it vouches for whatever it resolves to, by the
            # operator's choice.
            if entry_host == host:
                return True
    return False


def address_refusal(address: IPAddress) -> str | None:
    """Why a server must not connect to `address`, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that IPv4 address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refusal(embedded)
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address (this includes cloud metadata services)"
    if address.is_multicast or any(address in net for net in _EXTRA_BLOCKED):
        return "a multicast or reserved address"
    if address in _CGNAT:
        return "a carrier-grade NAT address"
    if address.is_private:
        return "a private network address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


def check_url(url: str) -> Target:
    """Parse `url`, resolve its host once and check every address.

    Raises UnsafeURL when the URL or any address is not allowed, and
    OutboundError when the host does not resolve.
    """
    if not isinstance(url, str) or not url:
        raise UnsafeURL("The URL is empty.")
    if any(ord(c) <= 32 or ord(c) == 127 for c in url) or "\\" in url:
        raise UnsafeURL("The URL contains spaces, control characters or backslashes.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL(f"Only http and https URLs are allowed, not {scheme or 'this'!r}.")
    if "@" in parts.netloc:
        raise UnsafeURL("The URL must not contain a user name or password.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL("The URL has an invalid port.") from exc
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("The URL has no host name.")
    if not _is_ip_literal(host):
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise UnsafeURL("The URL's host name is not valid.") from exc
    addresses = _resolve(host, port)
    for text in addresses:
        address = ipaddress.ip_address(text)
        reason = address_refusal(address)
        if reason and not _is_operator_allowed(host, port, address):
            shown = host if host == text else f"{host} ({text})"
            raise UnsafeURL(
                f"{shown} is {reason}; Creator only connects to public internet addresses."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        url=url,
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        addresses=tuple(addresses),
    )


def resolve_public(url: str) -> list[str]:
    """The addresses `url`'s host resolves to, all checked. Raises UnsafeURL."""
    return list(check_url(url).addresses)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(f"The host name {host} could not be resolved.") from exc
    addresses: list[str] = []
    for family, _, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Scope ids ("fe80::1%eth0") are dropped: link-local is refused anyway.
        text = str(sockaddr[0]).split("%", 1)[0]
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise OutboundError(f"The host name {host} has no IPv4 or IPv6 address.")
    return addresses


# --- requesting -------------------------------------------------------------------


class _Deadline:
    """Ends every connection of one request when its time is up.

    Socket timeouts bound each read, not the sum of them: a server dripping
    one byte a second never trips them. So a timer shuts the sockets down
    when the deadline passes, which makes any blocked or later read, write
    or TLS handshake on them fail at once.

    It holds its own duplicate of each socket rather than reading
    `connection.sock` when the timer fires: http.client drops that
    reference as soon as a `Connection: close` response's headers are read
    (the response object then owns the socket), and TLS wrapping replaces
    the socket object. A duplicate is the same kernel socket, so shutting
    it down ends the connection whoever holds it.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._handles: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        handle = sock.dup()
        with self._lock:
            self._handles.append(handle)
            if self.expired:  # the timer fired while this one was connecting
                _shutdown(handle)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for handle in self._handles:
                _shutdown(handle)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Speaks HTTP to `host` (Host header) over a socket to `address`."""

    def __init__(self, target: Target, address: str, deadline: _Deadline):
        super().__init__(target.host, target.port, timeout=max(deadline.remaining(), 0.001))
        self.address = address
        self.deadline = deadline

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.deadline.watch(self.sock)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def __init__(self, target: Target, address: str, deadline: _Deadline):
        super().__init__(target, address, deadline)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        # The certificate is checked against the URL's host, not the address.
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def safe_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10,
    max_bytes: int = 1024 * 1024,
    truncate: bool = False,
    allow_redirects: bool = False,
    max_redirects: int = 3,
) -> SafeResponse:
    """Make one HTTP request to a checked URL (see the module docstring).

    `timeout` bounds the whole exchange, redirects included. A body longer
    than `max_bytes` raises ResponseTooLarge, or is cut there and flagged
    when `truncate` is true. Redirects are followed only when
    `allow_redirects` is true, each hop checked like the first URL; 303
    (and 301/302 after a POST) continue as GET without a body, and
    credentials headers are dropped when the origin changes.

    Raises UnsafeURL (nothing was sent to a refused address), OutboundTimeout
    or another OutboundError; HTTP error statuses are returned, not raised.
    """
    deadline = _Deadline(timeout)
    try:
        headers = dict(headers or {})
        redirects: list[str] = []
        target = check_url(url)
        while True:
            response = _send_once(target, method, body, headers, deadline, max_bytes, truncate)
            location = response.headers.get("location")
            if not (allow_redirects and response.status in REDIRECT_STATUSES and location):
                response.redirects = redirects
                return response
            if len(redirects) >= max_redirects:
                raise OutboundError(f"More than {max_redirects} redirects, starting at {url}.")
            next_url = urljoin(target.url, location)
            redirects.append(next_url)
            try:
                next_target = check_url(next_url)
            except UnsafeURL as exc:
                raise UnsafeURL(f"Refused the redirect to {next_url}: {exc}") from exc
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None
                headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
            if next_target.origin != target.origin:
                headers = {k: v for k, v in headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
            target = next_target
    finally:
        deadline.close()


def _timed_out(target: Target, deadline: _Deadline) -> OutboundTimeout:
    return OutboundTimeout(
        f"{target.host} did not answer in time (the limit is {deadline.seconds:g} seconds)."
    )


def _send_once(
    target: Target,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    deadline: _Deadline,
    max_bytes: int,
    truncate: bool,
) -> SafeResponse:
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: Exception | None = None
    for address in target.addresses:
        if deadline.expired or deadline.remaining() <= 0:
            break
        connection = connection_class(target, address, deadline)
        response: http.client.HTTPResponse | None = None
        try:
            try:
                connection.connect()
            except OSError as exc:
                if deadline.expired:
                    raise
                last_error = exc
                continue  # try the host's next (already checked) address
            request_headers = {"Host": target.host_header, "Connection": "close", **headers}
            connection.request(
                method,
                target.path,
                body=body,
                headers=request_headers,
            )
            response = connection.getresponse()
            # Content-Length as http.client understood it: 0 for HEAD, 204
            # and 304, None when the body runs until the connection closes.
            length = response.length
            if not truncate and length is not None and length > max_bytes:
                raise ResponseTooLarge(
                    f"The response from {target.host} is larger than {max_bytes} bytes."
                )
            data = response.read(max_bytes + 1)
            # A socket shut down at the deadline reads as a short (or, with
            # no length, complete-looking) body, not an error.
            if deadline.expired:
                raise _timed_out(target, deadline)
            if length is not None and len(data) < min(length, max_bytes + 1):
                raise OutboundError(f"The response from {target.host} was cut short.")
            too_big = len(data) > max_bytes
            if too_big and not truncate:
                raise ResponseTooLarge(
                    f"The response from {target.host} is larger than {max_bytes} bytes."
                )
            return SafeResponse(
                status=response.status,
                headers=response.headers,
                body=data[:max_bytes],
                url=target.url,
                address=address,
                truncated=too_big,
            )
        except OutboundError:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if deadline.expired or deadline.remaining() <= 0:
                raise _timed_out(target, deadline) from exc
            raise OutboundError(f"The request to {target.host} failed: {exc}") from exc
        finally:
            if response is not None:
                response.close()  # after `Connection: close` it owns the socket
            connection.close()
    if last_error is None:
        raise _timed_out(target, deadline)
    raise OutboundError(f"Could not connect to {target.host}: {last_error}") from last_error

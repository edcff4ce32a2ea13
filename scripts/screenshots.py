"""Screenshot pages of a running Creator with headless Chromium, at desktop
(1366×900) and phone (390×844) widths, into screenshots/ (gitignored).

    .venv/bin/python scripts/screenshots.py / /accounts/login/
    .venv/bin/python scripts/screenshots.py --login-as demo@creator.local /dashboard/ /settings/
    .venv/bin/python scripts/screenshots.py --click .navbar-toggler /   # the phone menu, open
    .venv/bin/python scripts/screenshots.py --eval "document.forms[1].submit()" /accounts/login/

--login-as creates a session for that user directly in the database the
server uses (run it with the same environment as the server: VAR_DIR,
DATABASE_URL...), then hands the cookie to the browser. --session takes an
existing sessionid instead. Chromium is driven over the DevTools protocol
(websockets), because headless Chromium has no command-line flag for cookies.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parent.parent
WIDTHS = {"desktop": (1366, 900, False), "phone": (390, 844, True)}


def session_for(email: str) -> str:
    """Log `email` in without a password and return the session key."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creator_site.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.get(email__iexact=email)
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chromium(port: int, profile: str) -> subprocess.Popen:
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"
    return subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [
            binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def page_websocket_url(port: int, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:  # noqa: S310
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("Chromium did not open its DevTools port")
        time.sleep(0.2)


class DevTools:
    """The few DevTools protocol calls we need, over one page websocket."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    async def call(self, method: str, **params) -> dict:
        self.next_id += 1
        call_id = self.next_id
        await self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            async with asyncio.timeout(60):
                message = json.loads(await self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    async def wait_for(self, event: str, timeout: float = 30) -> None:
        if any(e.get("method") == event for e in self.events):
            self.events.clear()
            return
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if message.get("method") == event:
                    self.events.clear()
                    return


def file_name(path: str, width_name: str, clicked: bool) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
    return f"{slug}-{width_name}{'-clicked' if clicked else ''}.png"


async def capture(
    ws_url: str,
    base: str,
    paths: list[str],
    session: str | None,
    out: Path,
    full: bool,
    click: str | None,
    script: str | None = None,
) -> None:
    async with websockets.connect(ws_url, max_size=64 * 1024 * 1024) as ws:
        cdp = DevTools(ws)
        await cdp.call("Page.enable")
        await cdp.call("Network.enable")
        # A headless page never has window focus, so :focus styles would not
        # show in --eval/--click captures without this.
        await cdp.call("Emulation.setFocusEmulationEnabled", enabled=True)
        if session:
            await cdp.call(
                "Network.setCookie", name="sessionid", value=session, url=base, httpOnly=True
            )
        for width_name, (width, height, mobile) in WIDTHS.items():
            await cdp.call(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=mobile,
            )
            for path in paths:
                cdp.events.clear()
                await cdp.call("Page.navigate", url=base.rstrip("/") + path)
                await cdp.wait_for("Page.loadEventFired")
                await asyncio.sleep(0.3)  # let fonts and layout settle
                if click:
                    # Only a visible element is clicked (the phone menu button
                    # is hidden on desktop).
                    await cdp.call(
                        "Runtime.evaluate",
                        expression=(
                            f"(e => e && e.offsetParent !== null && e.click())"
                            f"(document.querySelector({json.dumps(click)}))"
                        ),
                    )
                    await asyncio.sleep(0.6)  # Bootstrap's transitions
                if script:
                    # E.g. fill a form and submit it, to see its error state.
                    await cdp.call("Runtime.evaluate", expression=script)
                    await asyncio.sleep(1.5)
                overflow = await cdp.call(
                    "Runtime.evaluate",
                    expression="document.documentElement.scrollWidth - window.innerWidth",
                    returnByValue=True,
                )
                if overflow.get("result", {}).get("value", 0) > 0:
                    print(
                        f"warning: {path} is {overflow['result']['value']}px wider than "
                        f"the {width_name} viewport",
                        file=sys.stderr,
                    )
                params: dict = {"format": "png"}
                if full:
                    metrics = await cdp.call("Page.getLayoutMetrics")
                    size = metrics["cssContentSize"]
                    params["captureBeyondViewport"] = True
                    params["clip"] = {
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": max(height, size["height"]),
                        "scale": 1,
                    }
                shot = await cdp.call("Page.captureScreenshot", **params)
                target = out / file_name(path, width_name, bool(click or script))
                target.write_bytes(base64.b64decode(shot["data"]))
                print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="paths to capture, e.g. / /accounts/login/")
    parser.add_argument("--base", default="http://127.0.0.1:8002", help="server address")
    parser.add_argument("--login-as", metavar="EMAIL", help="create a session for this user")
    parser.add_argument("--session", metavar="KEY", help="use this sessionid cookie")
    parser.add_argument("--out", default=str(ROOT / "screenshots"), help="output folder")
    parser.add_argument("--click", metavar="SELECTOR", help="click this element before capturing")
    parser.add_argument("--eval", metavar="JS", help="run this script before capturing")
    parser.add_argument(
        "--viewport-only", action="store_true", help="capture the first screen, not the full page"
    )
    args = parser.parse_args()

    session = args.session or (session_for(args.login_as) if args.login_as else None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory(
        prefix="creator-chromium-", ignore_cleanup_errors=True
    ) as profile:
        browser = start_chromium(port, profile)
        try:
            ws_url = page_websocket_url(port)
            asyncio.run(
                capture(
                    ws_url,
                    args.base,
                    args.paths,
                    session,
                    out,
                    not args.viewport_only,
                    args.click,
                    args.eval,
                )
            )
        finally:
            browser.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                browser.wait(timeout=10)


if __name__ == "__main__":
    main()

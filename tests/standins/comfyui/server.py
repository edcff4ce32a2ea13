"""Development ComfyUI server: the recorded protocol over real HTTP and websockets.

Speaks what `recorded/PROTOCOL.md` describes (routes, JSON shapes, message order,
per-client delivery, validation bodies, caching, output counters) and executes the
model-free image nodes with Pillow, so outputs are real PNGs. The core sampling
nodes are deterministic stand-ins (`sampling.py`): a text-to-image graph returns a
real picture of the asked size, made from its seed and prompt. `/object_info` is the
recorded one of all 365 core nodes, with the model lists filled from the models the
server is told it has (`models=`, `--models`); nodes it cannot run fail at run time
with an `execution_error`. Knobs let tests slow nodes down, make a node fail, drop
websockets, or take the server down.

It is a stand-in, for tests and `make run`: it never replaces a real ComfyUI.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import hashlib
import heapq
import io
import json
import mimetypes
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web
from PIL import Image

from .model_files import MODEL_FOLDERS, models_normalise, object_info_with_models
from .nodes import IMAGE_NODES, NodeResult, RunContext, annotated_filepath
from .sampling import SAMPLING_NODES
from .validation import IMAGE_LOADERS, PromptValidator

MAX_UPLOAD_SIZE = 100 * 1024 * 1024
MAX_HISTORY = 10_000
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
NODES = {**IMAGE_NODES, **SAMPLING_NODES}


@dataclass
class Knobs:
    """Test controls. Change them on `server.knobs` or with POST /__standin__/knobs."""

    node_delay: float = 0.0  # seconds slept before each executed node
    node_delays: dict[str, float] = field(default_factory=dict)  # by node id or class_type
    step_delay: float = 0.0  # seconds slept per progress step (sampler steps, upscale tiles)
    fail_node: str | None = None  # node id or class_type that raises when it runs
    fail_exception_type: str = "RuntimeError"
    fail_message: str = "Injected failure"
    drop_ws_after: int | None = None  # server closes each socket after sending N messages
    drop_ws_repeat: bool = False  # False: only the first socket that reaches N is dropped
    down: str | None = None  # None, "503" (answer 503, refuse websockets) or "refuse"


class InjectedFailure(Exception):
    pass


class InterruptProcessing(Exception):
    """Raised at a progress step of an interrupted prompt (ComfyUI's own name for it)."""


def run_node(class_type: str, ctx: RunContext, inputs: dict[str, Any]) -> NodeResult:
    node = NODES.get(class_type)
    if node is None:
        raise NotImplementedError(
            f"The development ComfyUI server (a stand-in) does not run {class_type} nodes."
        )
    return node(ctx, **inputs)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _empty(status: int = 200) -> web.Response:
    return web.Response(status=status)


@dataclass
class QueueItem:
    number: float
    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]

    def as_list(self) -> list[Any]:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]

    def __lt__(self, other: QueueItem) -> bool:
        return (self.number, self.prompt_id) < (other.number, other.prompt_id)


class DevComfyServer:
    """A ComfyUI stand-in on loopback.

    `DevComfyServer(port=0, data_dir=tmp).start()` runs it in a background thread
    with its own event loop; `.url` is where it listens, `.stop()` shuts it down.
    `python -m tests.standins.comfyui` runs it in the foreground.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        node_delay: float = 0.0,
        max_upload_size: int = MAX_UPLOAD_SIZE,
        knobs: Knobs | None = None,
        models: Mapping[str, Iterable[str]] | None = None,
    ):
        """`models` names the installed model files by folder, e.g.
        `{"checkpoints": ["sd_xl_base_1.0.safetensors"], "upscale_models": ["4x.pth"]}`
        (ValueError for a folder ComfyUI does not have)."""
        self.host = host
        self.port = port
        self._own_data_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="devcomfy-")).resolve()
        self.input_dir = self.data_dir / "input"
        self.output_dir = self.data_dir / "output"
        self.temp_dir = self.data_dir / "temp"
        if not self.input_dir.exists():
            # A fresh ComfyUI checkout ships one input file, so LoadImage lists it.
            self.input_dir.mkdir(parents=True)
            Image.new("RGB", (64, 64), (0, 0, 0)).save(self.input_dir / "example.png")
        for folder in (self.input_dir, self.output_dir, self.temp_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.max_upload_size = max_upload_size
        self.knobs = knobs or Knobs()
        if node_delay:
            self.knobs.node_delay = node_delay
        self.models = models_normalise(models)
        self.object_info = object_info_with_models(self.models)
        self.validator = PromptValidator(self.object_info, self._input_file_exists)

        self.number = 0
        self.pending: list[QueueItem] = []
        self.running: QueueItem | None = None
        self.running_client_id: str | None = None
        self.last_node_id: str | None = None
        self.interrupt_requested = False
        self.history: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.cache: dict[str, tuple[tuple[Any, ...], dict[str, Any] | None]] = {}
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self._sent: dict[int, int] = {}

        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._stopped: asyncio.Event | None = None
        self.stopping = False  # a node still running in a thread then stops at its next step

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    def start(self) -> DevComfyServer:
        """Start in a background thread; returns once the port accepts connections."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._startup())
            except BaseException as exc:  # noqa: BLE001 - surfaced to the caller of start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_until_complete(self._stopped.wait())
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=main, name="dev-comfyui", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop and self._stopped and self._thread:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(30)
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    async def serve_forever(self) -> None:
        await self._startup()
        print(f"Development ComfyUI server on {self.url} (data in {self.data_dir})", flush=True)
        installed = "; ".join(
            f"{folder}: {', '.join(names)}" for folder, names in self.models.items()
        )
        print(f"Installed models: {installed or 'none'}", flush=True)
        try:
            await self._stopped.wait()
        finally:
            await self._shutdown()

    async def _startup(self) -> None:
        self._wakeup = asyncio.Event()
        self._stopped = asyncio.Event()
        app = web.Application(
            middlewares=[
                self._down_middleware,
                self._origin_middleware,
                self._not_found_middleware,
            ],
            client_max_size=self.max_upload_size + 1024 * 1024,
        )
        self._add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await self._listen()
        self._worker = asyncio.create_task(self._work())

    async def _listen(self) -> None:
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        if self.port == 0:
            self.port = self._site._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        self.stopping = True
        if self._worker:
            self._worker.cancel()
        await self._close_sockets()
        if self._runner:
            await self._runner.cleanup()

    async def _close_sockets(self) -> None:
        for ws in list(self.sockets.values()):
            await ws.close()
        self.sockets.clear()

    def _call(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop from another thread."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def set_knobs(self, **values: Any) -> None:
        for name, value in values.items():
            if name == "down":
                self.go_down(value) if value else self.come_up()
            else:
                setattr(self.knobs, name, value)

    def go_down(self, mode: str = "refuse") -> None:
        """ "refuse": stop listening (connection refused); "503": answer 503 to everything."""
        self._call(self._go_down(mode))

    def come_up(self) -> None:
        self._call(self._come_up())

    async def _go_down(self, mode: str) -> None:
        self.knobs.down = mode
        await self._close_sockets()
        if mode == "refuse" and self._site is not None:
            await self._site.stop()
            self._site = None

    async def _come_up(self) -> None:
        self.knobs.down = None
        if self._site is None:
            await self._listen()

    # ---------------------------------------------------------------- messaging

    async def send(self, event: str, data: dict[str, Any], sid: str | None = None) -> None:
        """To one client id, or to every socket when sid is None. Nothing is buffered."""
        message = json.dumps({"type": event, "data": data})
        targets = [self.sockets[sid]] if sid in self.sockets else []
        if sid is None:
            targets = list(self.sockets.values())
        for ws in targets:
            await self._send_to(ws, message)

    async def _send_to(self, ws: web.WebSocketResponse, message: str) -> None:
        if ws.closed:
            return
        try:
            await ws.send_str(message)
        except (ConnectionError, RuntimeError):
            return
        count = self._sent.get(id(ws), 0) + 1
        self._sent[id(ws)] = count
        limit = self.knobs.drop_ws_after
        if limit is not None and count >= limit:
            if not self.knobs.drop_ws_repeat:
                self.knobs.drop_ws_after = None
            for sid, socket in list(self.sockets.items()):
                if socket is ws:
                    del self.sockets[sid]
            # Closed in the background: the worker must not wait for the close handshake.
            asyncio.ensure_future(ws.close())

    def queue_remaining(self) -> int:
        return len(self.pending) + (1 if self.running else 0)

    async def queue_updated(self) -> None:
        await self.send(
            "status", {"status": {"exec_info": {"queue_remaining": self.queue_remaining()}}}
        )

    # ---------------------------------------------------------------- middlewares

    @web.middleware
    async def _down_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if self.knobs.down and not request.path.startswith("/__standin__"):
            return web.Response(status=503, text="503: Service Unavailable")
        return await handler(request)

    @web.middleware
    async def _not_found_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return _empty(404)  # upstream's unknown routes answer with an empty body

    @web.middleware
    async def _origin_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # ComfyUI refuses cross-origin requests to a loopback server (CSRF guard).
        origin = request.headers.get("Origin")
        host = request.headers.get("Host", "")
        loopback = host.rsplit(":", 1)[0] in LOOPBACK_HOSTS
        if origin and loopback and urlsplit(origin).netloc != host:
            return _empty(403)
        return await handler(request)

    # ---------------------------------------------------------------- routes

    def _add_routes(self, app: web.Application) -> None:
        routes = [
            ("GET", "/ws", self.ws_handler),
            ("POST", "/upload/image", self.upload_image),
            ("GET", "/view", self.view),
            ("GET", "/prompt", self.get_prompt),
            ("POST", "/prompt", self.post_prompt),
            ("GET", "/queue", self.get_queue),
            ("POST", "/queue", self.post_queue),
            ("POST", "/interrupt", self.post_interrupt),
            ("GET", "/history", self.get_history),
            ("GET", "/history/{prompt_id}", self.get_history_item),
            ("POST", "/history", self.post_history),
            ("GET", "/system_stats", self.system_stats),
            ("GET", "/features", self.features),
            ("GET", "/object_info", self.get_object_info),
            ("GET", "/object_info/{node_class}", self.get_object_info_node),
            ("GET", "/models", self.model_folders),
            ("GET", "/models/{folder}", self.models_folder),
            ("GET", "/embeddings", self.embeddings),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, "/api" + path, handler)
        app.router.add_get("/", self.index)
        app.router.add_get("/__standin__/knobs", self.get_knobs)
        app.router.add_post("/__standin__/knobs", self.post_knobs)

    async def index(self, request: web.Request) -> web.Response:
        html = "<!doctype html><title>ComfyUI (development stand-in)</title>"
        return web.Response(
            text=html,
            content_type="text/html",
            headers={"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "0"},
        )

    async def ws_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        sid = request.rel_url.query.get("clientId") or uuid.uuid4().hex
        self.sockets[sid] = ws
        try:
            await self._send_to(
                ws,
                json.dumps(
                    {
                        "type": "status",
                        "data": {
                            "status": {"exec_info": {"queue_remaining": self.queue_remaining()}},
                            "sid": sid,
                        },
                    }
                ),
            )
            # A client reconnecting mid-run learns where its prompt is (no prompt_id).
            if self.running_client_id == sid and self.last_node_id is not None:
                await self._send_to(
                    ws, json.dumps({"type": "executing", "data": {"node": self.last_node_id}})
                )
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                if isinstance(data, dict) and data.get("type") == "feature_flags":
                    await self._send_to(
                        ws,
                        json.dumps(
                            {
                                "type": "feature_flags",
                                "data": {
                                    "supports_preview_metadata": True,
                                    "max_upload_size": self.max_upload_size,
                                },
                            }
                        ),
                    )
        finally:
            if self.sockets.get(sid) is ws:
                del self.sockets[sid]
            self._sent.pop(id(ws), None)
        return ws

    def _dir_by_type(self, kind: str | None) -> Path | None:
        return {"input": self.input_dir, "output": self.output_dir, "temp": self.temp_dir}.get(
            kind or "input"
        )

    async def upload_image(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > self.max_upload_size:
            return web.Response(
                status=413, text=f"Maximum request body size {self.max_upload_size} exceeded."
            )
        post = await request.post()
        image = post.get("image")
        if not isinstance(image, web.FileField) or not image.filename:
            return _empty(400)
        kind = str(post.get("type") or "input")
        root = self._dir_by_type(kind)
        if root is None:
            return _empty(400)
        subfolder = str(post.get("subfolder", ""))
        folder = (root / os.path.normpath(subfolder)).resolve() if subfolder else root
        if os.path.commonpath((str(root), str(folder))) != str(root):
            return _empty(400)
        folder.mkdir(parents=True, exist_ok=True)
        with image.file:
            data = image.file.read()
        overwrite = str(post.get("overwrite", "")).lower() in ("true", "1")
        filename = os.path.basename(image.filename)
        path = folder / filename
        duplicate = False
        if not overwrite:
            stem, ext = os.path.splitext(filename)
            i = 1
            while path.exists():
                if hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest():
                    duplicate = True
                    break
                filename = f"{stem} ({i}){ext}"
                path = folder / filename
                i += 1
        if not duplicate:
            path.write_bytes(data)
        return web.json_response({"name": filename, "subfolder": subfolder, "type": kind})

    async def view(self, request: web.Request) -> web.StreamResponse:
        query = request.rel_url.query
        if "filename" not in query:
            return _empty(404)
        ctx = RunContext(self.input_dir, self.output_dir, self.temp_dir, {}, None)
        filename, folder = annotated_filepath(query["filename"], ctx)
        if not filename:
            return _empty(400)
        if filename[0] == "/" or ".." in filename:
            return _empty(400)
        if folder is None:
            folder = self._dir_by_type(query.get("type", "output"))
        if folder is None:
            return _empty(400)
        if "subfolder" in query:
            full = (folder / query["subfolder"]).resolve()
            if os.path.commonpath((str(full), str(folder))) != str(folder):
                return _empty(403)
            folder = full
        filename = os.path.basename(filename)
        path = folder / filename
        if not path.is_file():
            return _empty(404)
        disposition = {"Content-Disposition": f'filename="{filename}"'}
        if "preview" in query:
            fmt, _, quality = query["preview"].partition(";")
            fmt = fmt if fmt in ("webp", "jpeg") else "webp"
            with Image.open(path) as img:
                buf = io.BytesIO()
                img.convert("RGB").save(buf, format=fmt.upper(), quality=int(quality or 90))
            return web.Response(
                body=buf.getvalue(), content_type=f"image/{fmt}", headers=disposition
            )
        channel = query.get("channel", "rgba")
        if channel in ("rgb", "a"):
            with Image.open(path) as img:
                if channel == "rgb":
                    out = img.convert("RGB")
                else:
                    alpha = (
                        img.getchannel("A")
                        if "A" in img.getbands()
                        else Image.new("L", img.size, 255)
                    )
                    out = Image.new("RGBA", img.size, (0, 0, 0, 0))
                    out.putalpha(alpha)
                buf = io.BytesIO()
                out.save(buf, format="PNG")
            return web.Response(body=buf.getvalue(), content_type="image/png", headers=disposition)
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return web.FileResponse(path, headers={**disposition, "Content-Type": content_type})

    async def get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": self.queue_remaining()}})

    async def post_prompt(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            # Upstream lets the exception escape: aiohttp's plain-text 500.
            return web.Response(
                status=500, text="500 Internal Server Error\n\nServer got itself in trouble"
            )
        if "number" in body:
            number: float = float(body["number"])
        else:
            number = self.number
            if body.get("front"):
                number = -number
            self.number += 1
        if "prompt" not in body:
            error = {
                "type": "no_prompt",
                "message": "No prompt provided",
                "details": "No prompt provided",
                "extra_info": {},
            }
            return web.json_response({"error": error, "node_errors": {}}, status=400)
        prompt = body["prompt"]
        prompt_id = str(body.get("prompt_id") or uuid.uuid4())
        ok, error, outputs, node_errors = self.validator.validate(
            prompt, body.get("partial_execution_targets")
        )
        extra_data = dict(body.get("extra_data") or {})
        if "client_id" in body:
            extra_data["client_id"] = body["client_id"]
        if not ok:
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        heapq.heappush(self.pending, QueueItem(number, prompt_id, prompt, extra_data, outputs))
        await self.queue_updated()
        self._wakeup.set()
        return web.json_response(
            {"prompt_id": prompt_id, "number": number, "node_errors": node_errors}
        )

    async def get_queue(self, request: web.Request) -> web.Response:
        running = [self.running.as_list()] if self.running else []
        # Heap order, not run order, like upstream.
        return web.json_response(
            {"queue_running": running, "queue_pending": [item.as_list() for item in self.pending]}
        )

    async def _json_body(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw.strip():
            return {}
        data = json.loads(raw)
        return data if isinstance(data, dict) else {}

    async def post_queue(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if body.get("clear"):
            self.pending.clear()
            await self.queue_updated()
        if "delete" in body:
            doomed = set(body["delete"])
            before = len(self.pending)
            self.pending = [item for item in self.pending if item.prompt_id not in doomed]
            heapq.heapify(self.pending)
            if len(self.pending) != before:
                await self.queue_updated()
        return _empty()

    async def post_interrupt(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        target = body.get("prompt_id")
        if self.running and (target is None or target == self.running.prompt_id):
            self.interrupt_requested = True
        return _empty()

    async def get_history(self, request: web.Request) -> web.Response:
        items = list(self.history.items())
        max_items = request.rel_url.query.get("max_items")
        offset = int(request.rel_url.query.get("offset", -1))
        if max_items is not None:
            count = int(max_items)
            start = offset if offset >= 0 else max(0, len(items) - count)
            items = items[start : start + count]
        elif offset >= 0:
            items = items[offset:]
        return web.json_response(dict(items))

    async def get_history_item(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        entry = self.history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry else {})

    async def post_history(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        if body.get("clear"):
            self.history.clear()
        for prompt_id in body.get("delete", []):
            self.history.pop(prompt_id, None)
        return _empty()

    async def system_stats(self, request: web.Request) -> web.Response:
        total, free = _memory()
        return web.json_response(
            {
                "system": {
                    "os": os.name,
                    "ram_total": total,
                    "ram_free": free,
                    "comfyui_version": "0.3.64",
                    "required_frontend_version": "1.27.10",
                    "installed_templates_version": "0.1.95",
                    "required_templates_version": "0.1.95",
                    "python_version": sys.version,
                    "pytorch_version": "2.13.0+cpu",
                    "embedded_python": False,
                    "argv": sys.argv,
                },
                "devices": [
                    {
                        "name": "cpu",
                        "type": "cpu",
                        "index": None,
                        "vram_total": total,
                        "vram_free": free,
                        "torch_vram_total": total,
                        "torch_vram_free": free,
                    }
                ],
            }
        )

    async def features(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"supports_preview_metadata": True, "max_upload_size": self.max_upload_size}
        )

    def _live_object_info(self, node_class: str) -> dict[str, Any]:
        info = self.object_info[node_class]
        if node_class in IMAGE_LOADERS:
            # The live list of files in the input dir (it grows with every upload).
            info = copy.deepcopy(info)
            files = sorted(p.name for p in self.input_dir.iterdir() if p.is_file())
            info["input"]["required"]["image"][0] = files
        return info

    async def get_object_info(self, request: web.Request) -> web.Response:
        return web.json_response({name: self._live_object_info(name) for name in self.object_info})

    async def get_object_info_node(self, request: web.Request) -> web.Response:
        name = request.match_info["node_class"]
        if name not in self.object_info:
            return web.json_response({})
        return web.json_response({name: self._live_object_info(name)})

    async def model_folders(self, request: web.Request) -> web.Response:
        return web.json_response(MODEL_FOLDERS)

    async def models_folder(self, request: web.Request) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in MODEL_FOLDERS:
            return web.Response(status=404, text=f"folder {folder} not found")
        return web.json_response(self.models.get(folder, []))

    async def embeddings(self, request: web.Request) -> web.Response:
        names = self.models.get("embeddings", [])
        return web.json_response([os.path.splitext(name)[0] for name in names])

    async def get_knobs(self, request: web.Request) -> web.Response:
        return web.json_response(asdict(self.knobs))

    async def post_knobs(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        known = {f.name for f in fields(Knobs)}
        for name, value in body.items():
            if name not in known:
                return web.json_response({"error": f"unknown knob {name}"}, status=400)
            if name == "down":
                if value:
                    # Answer first: after "refuse" nobody is listening any more.
                    asyncio.get_running_loop().call_later(
                        0.05, asyncio.ensure_future, self._go_down(value)
                    )
                else:
                    await self._come_up()
            else:
                setattr(self.knobs, name, value)
        return web.json_response(asdict(self.knobs))

    # ---------------------------------------------------------------- execution

    def _input_file_exists(self, name: str) -> bool:
        ctx = RunContext(self.input_dir, self.output_dir, self.temp_dir, {}, None)
        filename, folder = annotated_filepath(name, ctx)
        return ((folder or self.input_dir) / filename).is_file()

    async def _work(self) -> None:
        while True:
            if not self.pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            item = heapq.heappop(self.pending)
            self.running = item
            await self.queue_updated()
            run = PromptRun(self, item)
            try:
                await run.execute()
            except Exception:  # noqa: BLE001 - a stand-in bug must not kill the worker
                traceback.print_exc()
            self.running = None
            self.running_client_id = None
            self.last_node_id = None
            # History is written after the terminal message and before executing null.
            self.history[item.prompt_id] = run.history_entry()
            while len(self.history) > MAX_HISTORY:
                self.history.popitem(last=False)
            await self.queue_updated()
            if run.client_id is not None:
                await self.send(
                    "executing", {"node": None, "prompt_id": item.prompt_id}, run.client_id
                )


class PromptRun:
    """One prompt's execution: ComfyUI's order, messages, cache and failure handling."""

    def __init__(self, server: DevComfyServer, item: QueueItem):
        self.server = server
        self.item = item
        self.prompt = item.prompt
        self.prompt_id = item.prompt_id
        self.client_id = item.extra_data.get("client_id")
        self.messages: list[list[Any]] = []
        self.status_str = "success"
        self.completed = True
        self.ui_outputs: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, dict[str, Any]] = {}
        self.results: dict[str, tuple[Any, ...]] = {}
        self.progress: dict[str, dict[str, Any]] = {}
        self.executed: list[str] = []

    async def message(self, event: str, data: dict[str, Any], *, broadcast: bool = False) -> None:
        """Per-prompt message; prompts without client_id only get broadcast ones out."""
        if event in ("execution_start", "execution_cached", "execution_error",
                     "execution_interrupted", "execution_success"):  # fmt: skip
            self.messages.append([event, data])
        if self.client_id is not None:
            await self.server.send(event, data, self.client_id)
        elif broadcast:
            await self.server.send(event, data)

    async def progress_state(self) -> None:
        nodes = copy.deepcopy(self.progress)
        await self.message(
            "progress_state", {"prompt_id": self.prompt_id, "nodes": nodes}, broadcast=True
        )

    def _progress_entry(self, node_id: str, value: Any, maximum: Any, state: str) -> dict[str, Any]:
        return {
            "value": value,
            "max": maximum,
            "state": state,
            "node_id": node_id,
            "prompt_id": self.prompt_id,
            "display_node_id": node_id,
            "parent_node_id": None,
            "real_node_id": node_id,
        }

    def signature(self, node_id: str, memo: dict[str, str]) -> str:
        if node_id in memo:
            return memo[node_id]
        memo[node_id] = "cycle:" + node_id
        node = self.prompt[node_id]
        parts: dict[str, Any] = {}
        for name, value in sorted(node.get("inputs", {}).items()):
            if isinstance(value, list) and len(value) == 2 and str(value[0]) in self.prompt:
                parts[name] = ["link", self.signature(str(value[0]), memo), value[1]]
            else:
                parts[name] = value
        if node["class_type"] in IMAGE_LOADERS:
            # Like ComfyUI's IS_CHANGED: new bytes under the same name re-run everything.
            path = self.server.input_dir / str(node.get("inputs", {}).get("image", ""))
            parts["__file_sha256__"] = (
                hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            )
        raw = json.dumps([node["class_type"], parts], sort_keys=True, default=str)
        memo[node_id] = hashlib.sha256(raw.encode()).hexdigest()
        return memo[node_id]

    def _is_output(self, node_id: str) -> bool:
        return bool(self.server.object_info[self.prompt[node_id]["class_type"]].get("output_node"))

    def _execution_order_state(self, cached: set[str]) -> tuple[dict, dict, dict]:
        """ComfyUI's ExecutionList: pending nodes in discovery order plus blockers."""
        pending: dict[str, bool] = {}
        block_count: dict[str, int] = {}
        blocking: dict[str, dict[str, bool]] = {}
        for output_id in self.item.outputs:
            stack = [output_id]
            links = []
            while stack:
                node_id = stack.pop()
                if node_id in pending:
                    continue
                pending[node_id] = True
                block_count[node_id] = 0
                blocking[node_id] = {}
                for value in self.prompt[node_id].get("inputs", {}).values():
                    if isinstance(value, list) and len(value) == 2:
                        source = str(value[0])
                        if source not in cached:
                            stack.append(source)
                            links.append((source, node_id))
            for source, target in links:
                if source in pending and target not in blocking[source]:
                    blocking[source][target] = True
                    block_count[target] += 1
        return pending, block_count, blocking

    def _pick(self, ready: list[str], blocking: dict[str, dict[str, bool]]) -> str:
        for node_id in ready:
            if self._is_output(node_id):
                return node_id
        for node_id in ready:
            if any(self._is_output(b) for b in blocking[node_id]):
                return node_id
        for node_id in ready:
            if any(self._is_output(b2) for b in blocking[node_id] for b2 in blocking[b]):
                return node_id
        return ready[0]

    async def execute(self) -> None:
        server = self.server
        server.interrupt_requested = False  # a late interrupt does not hit the next prompt
        server.running_client_id = self.client_id
        await self.message("execution_start", {"prompt_id": self.prompt_id, "timestamp": _now_ms()})
        memo: dict[str, str] = {}
        signatures = {node_id: self.signature(node_id, memo) for node_id in self.prompt}
        # Classic cache: only the previous prompt's node results survive.
        wanted = set(signatures.values())
        server.cache = {sig: value for sig, value in server.cache.items() if sig in wanted}
        cached = [node_id for node_id in self.prompt if signatures[node_id] in server.cache]
        for node_id in cached:
            self.results[node_id] = server.cache[signatures[node_id]][0]
        await self.message(
            "execution_cached",
            {"nodes": cached, "prompt_id": self.prompt_id, "timestamp": _now_ms()},
        )
        pending, block_count, blocking = self._execution_order_state(set(cached))
        while pending:
            ready = [node_id for node_id in pending if block_count[node_id] == 0]
            node_id = self._pick(ready, blocking)
            ok = await self._execute_node(node_id, signatures[node_id], node_id in cached)
            if not ok:
                return
            del pending[node_id]
            for target in blocking[node_id]:
                block_count[target] -= 1
        await self.message(
            "execution_success", {"prompt_id": self.prompt_id, "timestamp": _now_ms()}
        )

    def _inputs_for(self, node_id: str) -> dict[str, Any]:
        node = self.prompt[node_id]
        spec = self.server.object_info[node["class_type"]].get("input", {})
        # Inputs the node does not declare are ignored, as upstream does.
        declared = set(spec.get("required") or {}) | set(spec.get("optional") or {})
        inputs = {}
        for name, value in node.get("inputs", {}).items():
            if name not in declared:
                continue
            if isinstance(value, list) and len(value) == 2:
                inputs[name] = self.results[str(value[0])][value[1]]
            else:
                inputs[name] = value
        return inputs

    async def _execute_node(self, node_id: str, sig: str, cached: bool) -> bool:
        server = self.server
        class_type = self.prompt[node_id]["class_type"]
        if cached:
            outputs, ui = server.cache[sig]
            self.results[node_id] = outputs
            if ui is not None:
                await self._executed(node_id, ui)
            self.progress[node_id] = self._progress_entry(node_id, 1, 1, "finished")
            await self.progress_state()
            return True
        self.progress[node_id] = self._progress_entry(node_id, 0.0, 1.0, "running")
        await self.progress_state()
        server.last_node_id = node_id
        await self.message(
            "executing", {"node": node_id, "display_node": node_id, "prompt_id": self.prompt_id}
        )
        if server.interrupt_requested:
            # Interrupts land at a node boundary, or at a progress step inside one.
            await self._interrupted(node_id, class_type)
            return False
        knobs = server.knobs
        # The delay stands for the node's own work: an interrupt arriving now lands
        # at the next node, like upstream.
        delay = knobs.node_delays.get(node_id, knobs.node_delays.get(class_type, knobs.node_delay))
        if delay:
            await asyncio.sleep(delay)
        inputs = {}
        try:
            inputs = self._inputs_for(node_id)
            if knobs.fail_node in (node_id, class_type):
                exc_class = {"ValueError": ValueError, "RuntimeError": RuntimeError}.get(
                    knobs.fail_exception_type, InjectedFailure
                )
                raise exc_class(knobs.fail_message)
            loop = asyncio.get_running_loop()
            ctx = RunContext(
                server.input_dir,
                server.output_dir,
                server.temp_dir,
                self.prompt,
                self.item.extra_data.get("extra_pnginfo"),
                models=server.models,
                progress=self._progress_hook(node_id, loop),
            )
            result = await loop.run_in_executor(None, run_node, class_type, ctx, inputs)
        except InterruptProcessing:
            await self._interrupted(node_id, class_type)
            return False
        except Exception as ex:  # noqa: BLE001 - reported as ComfyUI's execution_error
            await self.message(
                "execution_error",
                {
                    "prompt_id": self.prompt_id,
                    "node_id": node_id,
                    "node_type": class_type,
                    "executed": list(self.executed),
                    "exception_message": f"{ex}\n",
                    "exception_type": type(ex).__name__,
                    "traceback": traceback.format_tb(ex.__traceback__),
                    "current_inputs": {name: _describe(value) for name, value in inputs.items()},
                    "current_outputs": list(self.prompt),
                    "timestamp": _now_ms(),
                },
            )
            self.status_str, self.completed = "error", False
            return False
        self.results[node_id] = result.outputs
        server.cache[sig] = (result.outputs, result.ui)
        if result.ui is not None:
            await self._executed(node_id, result.ui)
        # A finished node shows value = max: 1.0/1.0, or its last step count (9/9).
        maximum = self.progress[node_id]["max"]
        self.progress[node_id] = self._progress_entry(node_id, maximum, maximum, "finished")
        await self.progress_state()
        self.executed.append(node_id)
        return True

    def _progress_hook(self, node_id: str, loop: asyncio.AbstractEventLoop) -> Any:
        """ComfyUI's progress bar for a node running in the executor thread."""
        server = self.server

        def progress(value: int, total: int) -> None:
            if server.knobs.step_delay:
                time.sleep(server.knobs.step_delay)
            # Checked before each step is reported, like ComfyUI's sampler callback.
            if server.interrupt_requested or server.stopping:
                raise InterruptProcessing()
            report = self._report_progress(node_id, value, total)
            try:
                future = asyncio.run_coroutine_threadsafe(report, loop)
            except RuntimeError:  # the server stopped while this node ran
                report.close()
                raise InterruptProcessing() from None
            while True:
                try:
                    future.result(0.2)
                    return
                except concurrent.futures.TimeoutError:
                    if server.stopping:
                        future.cancel()
                        raise InterruptProcessing() from None

        return progress

    async def _report_progress(self, node_id: str, value: int, total: int) -> None:
        self.progress[node_id] = self._progress_entry(node_id, value, total, "running")
        await self.progress_state()
        await self.message(
            "progress",
            {"value": value, "max": total, "prompt_id": self.prompt_id, "node": node_id},
            broadcast=True,
        )

    async def _interrupted(self, node_id: str, class_type: str) -> None:
        await self.message(
            "execution_interrupted",
            {
                "prompt_id": self.prompt_id,
                "node_id": node_id,
                "node_type": class_type,
                "executed": list(self.executed),
                "timestamp": _now_ms(),
            },
            broadcast=True,
        )
        self.status_str, self.completed = "error", False

    async def _executed(self, node_id: str, ui: dict[str, Any]) -> None:
        self.ui_outputs[node_id] = ui
        self.meta[node_id] = {
            "node_id": node_id,
            "display_node": node_id,
            "parent_node": None,
            "real_node_id": node_id,
        }
        await self.message(
            "executed",
            {"node": node_id, "display_node": node_id, "output": ui, "prompt_id": self.prompt_id},
        )

    def history_entry(self) -> dict[str, Any]:
        return {
            "prompt": self.item.as_list(),
            "outputs": self.ui_outputs,
            "status": {
                "status_str": self.status_str,
                "completed": self.completed,
                "messages": self.messages,
            },
            "meta": self.meta,
        }


def _describe(value: Any) -> list[Any]:
    """ComfyUI lists tensors as their str() and plain values as they are."""
    if isinstance(value, list):
        return [f"image batch {[img.size for img in value]}"]
    if value is None or isinstance(value, str | int | float | bool):
        return [value]
    return [str(value)]


def _memory() -> tuple[int, int]:
    try:
        info = dict(
            line.split(":", 1)
            for line in Path("/proc/meminfo").read_text().splitlines()
            if ":" in line
        )
        total = int(info["MemTotal"].split()[0]) * 1024
        free = int(info["MemAvailable"].split()[0]) * 1024
        return total, free
    except (OSError, KeyError, ValueError):
        return 8 * 1024**3, 4 * 1024**3

"""The Creator API client: jobs, workflows, uploads, downloads."""

from __future__ import annotations

import json
import mimetypes
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import requests

from creator_sdk.errors import BY_STATUS, CreatorError, JobTimeout, RateLimitError

FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
ImageInput = bytes | IO[bytes] | str | Path


@dataclass(frozen=True)
class Output:
    id: str
    url: str
    content_type: str
    width: int | None
    height: int | None
    size: int


@dataclass(frozen=True)
class JobError:
    code: str
    message: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    progress: int
    progress_message: str
    workflow: dict[str, Any] | None
    parameters: dict[str, Any]
    outputs: list[Output]
    error: JobError | None
    created_at: str
    started_at: str | None
    completed_at: str | None
    duration_ms: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Job:
        error = data.get("error")
        return cls(
            id=data["id"],
            status=data["status"],
            progress=data.get("progress", 0),
            progress_message=data.get("progress_message", ""),
            workflow=data.get("workflow"),
            parameters=data.get("parameters") or {},
            outputs=[Output(**o) for o in data.get("outputs") or []],
            error=JobError(**error) if error else None,
            created_at=data.get("created_at", ""),
            started_at=data.get("started_at"),
            completed_at=data.get("completed_at"),
            duration_ms=data.get("duration_ms"),
            raw=data,
        )


class CreatorClient:
    """A client for one API key.

    Requests that fail with a connection error, 429 (honouring Retry-After)
    or 502/503/504 are retried up to `max_retries` times with backoff. Job
    creation always carries an Idempotency-Key, so a retry never creates a
    second job.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = "http://127.0.0.1:8000/api/v1",
        *,
        timeout: float = 30,
        max_retries: int = 3,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.session = session or requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {api_key}", "User-Agent": "creator-sdk-python/1.0"}
        )

    # --- account and workflows ---------------------------------------------------

    def me(self) -> dict[str, Any]:
        return self._request("GET", "/me").json()

    def list_workflows(self, **filters: str) -> Iterator[dict[str, Any]]:
        """Every workflow you can run (filters: tab, category, search)."""
        yield from self._paginate("/workflows", filters)

    def get_workflow(self, id_or_slug: str) -> dict[str, Any]:
        return self._request("GET", f"/workflows/{id_or_slug}").json()

    def upload(self, image: ImageInput, *, filename: str | None = None) -> str:
        """Store an image for later jobs; returns its `asset_id`."""
        name, content = _image_file(image, filename)
        files = {"image": (name, content, _guess_type(name))}
        return self._request("POST", "/uploads", files=files).json()["id"]

    # --- jobs ----------------------------------------------------------------------

    def create_job(
        self,
        *,
        workflow: str,
        image: ImageInput | None = None,
        image_url: str | None = None,
        asset_id: str | None = None,
        parameters: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        project: str | None = None,
        idempotency_key: str | None = None,
        filename: str | None = None,
    ) -> Job:
        """Queue a job and return it at once. Give exactly one of `image`
        (bytes, a file or a path), `image_url` or `asset_id`."""
        args = {
            "workflow": workflow,
            "image": image,
            "image_url": image_url,
            "asset_id": asset_id,
            "parameters": parameters,
            "webhook_url": webhook_url,
            "project": project,
            "idempotency_key": idempotency_key,
            "filename": filename,
        }
        return Job.from_api(self._create("/jobs", args, headers={}).json())

    def generate(self, *, wait: int = 60, **kwargs: Any) -> Job:
        """Like create_job, but the server waits up to `wait` seconds (≤ 120)
        for the result. The returned job may still be running: check
        `is_final`, or call `wait()`."""
        headers = {"Prefer": f"wait={int(wait)}"}
        response = self._create("/generate", kwargs, headers=headers, timeout=self.timeout + wait)
        return Job.from_api(response.json())

    def get_job(self, job_id: str) -> Job:
        return Job.from_api(self._request("GET", f"/jobs/{job_id}").json())

    def list_jobs(self, **filters: str) -> Iterator[Job]:
        """Your jobs, newest first (filters: status, workflow, project,
        created_after, created_before), following the cursor across pages."""
        for data in self._paginate("/jobs", filters):
            yield Job.from_api(data)

    def cancel_job(self, job_id: str) -> Job:
        return Job.from_api(self._request("POST", f"/jobs/{job_id}/cancel").json())

    def wait(
        self,
        job_id: str,
        *,
        timeout: float = 600,
        poll_interval: float = 2.0,
        on_progress: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll until the job is completed, failed or cancelled and return it.
        `on_progress` is called whenever status or progress changes. Raises
        JobTimeout after `timeout` seconds (the job keeps running)."""
        deadline = time.monotonic() + timeout
        last: tuple[str, int] | None = None
        while True:
            job = self.get_job(job_id)
            if on_progress is not None and (job.status, job.progress) != last:
                last = (job.status, job.progress)
                on_progress(job)
            if job.is_final:
                return job
            if time.monotonic() >= deadline:
                raise JobTimeout(
                    f"Job {job_id} is still {job.status} after {timeout:.0f} s.", code="timeout"
                )
            time.sleep(poll_interval)

    def download_outputs(self, job: Job, directory: str | Path) -> list[Path]:
        """Save the job's outputs into `directory` (created if needed) and
        return the paths. Output links are signed: no key is sent with them."""
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, output in enumerate(job.outputs, start=1):
            extension = mimetypes.guess_extension(output.content_type) or ".bin"
            path = target / f"{job.id}-{index}{extension}"
            with requests.get(output.url, stream=True, timeout=self.timeout) as response:
                if response.status_code != 200:
                    raise CreatorError(
                        f"Downloading output {output.id} failed with HTTP {response.status_code}.",
                        status=response.status_code,
                        code="download_failed",
                    )
                with path.open("wb") as handle:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        handle.write(chunk)
            paths.append(path)
        return paths

    # --- plumbing ------------------------------------------------------------------

    def _create(
        self, path: str, args: dict[str, Any], *, headers: dict[str, str], timeout=None
    ) -> requests.Response:
        headers = {**headers, "Idempotency-Key": args.get("idempotency_key") or str(uuid.uuid4())}
        fields = {
            "workflow": args["workflow"],
            "image_url": args.get("image_url"),
            "asset_id": args.get("asset_id"),
            "webhook_url": args.get("webhook_url"),
            "project": args.get("project"),
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        parameters = args.get("parameters")
        image = args.get("image")
        if image is None:
            if parameters is not None:
                fields["parameters"] = parameters
            return self._request("POST", path, json=fields, headers=headers, timeout=timeout)
        name, content = _image_file(image, args.get("filename"))
        if parameters is not None:
            fields["parameters"] = json.dumps(parameters)
        files = {"image": (name, content, _guess_type(name))}
        return self._request(
            "POST", path, data=fields, files=files, headers=headers, timeout=timeout
        )

    def _paginate(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        url: str | None = self.base_url + path
        query: dict[str, Any] | None = {k: v for k, v in params.items() if v is not None}
        while url:
            page = self._request("GET", url, params=query).json()
            yield from page["results"]
            url, query = page.get("next"), None  # the next link carries the query

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if urlsplit(path).scheme else self.base_url + path
        kwargs.setdefault("timeout", None)
        if kwargs["timeout"] is None:
            kwargs["timeout"] = self.timeout
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.RequestException as exc:
                # Bodies are bytes (image files are read up front), so a
                # retry resends them whole.
                if attempt >= self.max_retries:
                    raise CreatorError(
                        f"Could not reach {url}: {exc}", code="connection_error"
                    ) from exc
                time.sleep(min(2**attempt * 0.5, 10))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                delay = _retry_after(response) or min(2**attempt * 0.5, 10)
                time.sleep(delay)
                attempt += 1
                continue
            if response.status_code >= 400:
                raise _error(response)
            return response


def _image_file(image: ImageInput, filename: str | None) -> tuple[str, bytes | IO[bytes]]:
    if isinstance(image, str | Path):
        path = Path(image)
        return filename or path.name, path.read_bytes()
    if isinstance(image, bytes | bytearray):
        return filename or "image", bytes(image)
    name = filename or Path(getattr(image, "name", "image") or "image").name
    return name, image.read()


def _guess_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _retry_after(response: requests.Response) -> float | None:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None


def _error(response: requests.Response) -> CreatorError:
    try:
        body = response.json()["error"]
        code, message, details = body["code"], body["message"], body.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "error", response.text[:500] or response.reason, {}
    kwargs = {"status": response.status_code, "code": code, "details": details}
    if response.status_code == 429:
        return RateLimitError(message, retry_after=_retry_after(response), **kwargs)
    error_class = BY_STATUS.get(response.status_code, CreatorError)
    return error_class(message, **kwargs)

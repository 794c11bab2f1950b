"""``alprkit serve``: read plates over HTTP (FastAPI on uvicorn). Endpoints, limits and keys: docs/serve.md.

- ``POST /v1/read``: an image as the multipart field ``image`` or as the raw request body;
  ``pipeline`` and the overrides the server allows as query parameters or form fields.
  Answers ``{"plates": [...]}``, each plate the object ``alprkit run`` prints as a line.
- ``GET /v1/pipelines``, ``GET /healthz``; OpenAPI docs at ``/docs`` and ``/openapi.json``.

Every request's image goes to one :class:`~alprkit.microbatch.MicroBatcher` thread, which
decodes the images queued together and reads each pipeline's share of them in one batch.
A user's mistake is answered 4xx with ``{"error": "one line"}``; a 500 is a bug (logged).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from dataclasses import dataclass
from typing import Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from . import serve_schema
from .errors import AlprkitError, ConfigError, InputError
from .imageio import NotAnImageError, decode_image
from .microbatch import MicroBatcher
from .served_pipelines import OverrideNotAllowed, ServedPipelines, UnknownPipeline

log = logging.getLogger("alprkit.serve")

RAW_SOURCE = "upload"  # the ``source`` of a plate read from a raw request body
FIELD = "image"
# An upload over the limit is read on and thrown away up to this many bytes before the 413:
# a client still sending when the server closes the connection sees a reset, not the answer.
DISCARD_BYTES = 64_000_000


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int
    max_pixels: int
    timeout_s: float

    @classmethod
    def from_config(cls, cfg) -> "Limits":
        return cls(int(float(cfg.max_upload_mb) * 1_000_000), int(float(cfg.max_megapixels) * 1_000_000),
                   float(cfg.timeout))


@dataclass(frozen=True)
class Upload:
    """One request's image on its way to the batcher."""

    pipeline: object
    data: bytes
    source: str


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def status_of(exc: AlprkitError) -> int:
    """The HTTP status for a user's mistake."""
    if isinstance(exc, UnknownPipeline):
        return 404
    if isinstance(exc, OverrideNotAllowed):
        return 400
    if isinstance(exc, NotAnImageError):
        return 415
    return 422  # a value that does not check out, an image that cannot be decoded or is too large


# -- the batcher's work: decode, then read each pipeline's images in one batch ------------------


def read_uploads(uploads: Sequence[Upload], max_pixels: int) -> list:
    """Each upload's plates as JSON objects, or the exception that answers it."""
    from .pipeline import with_text

    results: list = [None] * len(uploads)
    groups: dict = {}
    for i, upload in enumerate(uploads):
        try:
            frame = decode_image(upload.data, upload.source, max_pixels=max_pixels)
        except InputError as exc:
            results[i] = exc
            continue
        groups.setdefault(id(upload.pipeline), (upload.pipeline, []))[1].append((i, frame))
    for pipeline, members in groups.values():
        frames = [frame for _, frame in members]
        try:
            batch = pipeline.read_many(frames)
        except Exception:  # one image a component chokes on must not fail the others: read them alone
            batch = [_read_alone(pipeline, frame) for frame in frames]
        for (i, _), reads in zip(members, batch):
            results[i] = reads if isinstance(reads, Exception) else [r.to_json() for r in with_text(reads)]
    return results


def _read_alone(pipeline, frame):
    try:
        return pipeline.read(frame)
    except AlprkitError as exc:
        return exc
    except Exception as exc:
        log.exception("reading %s failed", frame.source)
        return exc


# -- the HTTP application --------------------------------------------------------------------


def create_app(pipelines: ServedPipelines, batcher: MicroBatcher, limits: Limits) -> FastAPI:
    app = FastAPI(title="alprkit", summary="Automatic licence plate recognition over HTTP",
                  description="Read the plates in an image: `POST /v1/read` with the image as the multipart "
                              f"field `{FIELD}` or as the raw body. Limits and keys: docs/serve.md.")

    def error(status, message):
        return JSONResponse({"error": " ".join(str(message).split()) or "error"}, status_code=status)

    @app.exception_handler(HttpError)
    async def _http_error(request, exc: HttpError):
        return error(exc.status, exc.message)

    @app.exception_handler(HTTPException)
    async def _starlette_error(request, exc: HTTPException):  # unknown routes (404), wrong methods (405)
        return error(exc.status_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        return error(422, f"{'.'.join(map(str, first.get('loc', ())))}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(Exception)
    async def _bug(request, exc: Exception):
        log.error("internal error on %s", request.url.path, exc_info=exc)
        return error(500, f"internal error ({type(exc).__name__}); the server log has the details")

    @app.get("/healthz", response_model=serve_schema.Health, summary="Whether the server is up")
    async def healthz():
        return {"status": "ok", "pipelines": pipelines.names, "batches": batcher.batches, "images": batcher.items,
                "largest_batch": batcher.largest}

    @app.get("/v1/pipelines", response_model=serve_schema.Pipelines, summary="The pipelines a request can name")
    async def list_pipelines():
        return {"default": pipelines.default, "pipelines": pipelines.describe(), "allow": list(pipelines.allow),
                "limits": {"max_upload_bytes": limits.max_upload_bytes, "max_pixels": limits.max_pixels,
                           "timeout_s": limits.timeout_s}}

    @app.post("/v1/read", summary="Read the plates in one image", responses=serve_schema.READ_RESPONSES,
              openapi_extra=serve_schema.read_request(FIELD))
    async def read(request: Request):
        try:
            plates = await asyncio.wait_for(_read(request), limits.timeout_s)
        except asyncio.TimeoutError:
            raise HttpError(408, f"the request took longer than {limits.timeout_s:g} s (the server's timeout=)")
        return JSONResponse({"plates": plates})

    async def _read(request):
        data, source, settings = await _upload(request, limits.max_upload_bytes)
        name = settings.pop("pipeline", None)
        try:
            if settings:  # a variant may have to be composed and built: not on the event loop
                from starlette.concurrency import run_in_threadpool

                pipeline = await run_in_threadpool(pipelines.get, name, settings)
            else:
                pipeline = pipelines.get(name)
            return await asyncio.wrap_future(batcher.submit(Upload(pipeline, data, source)))
        except AlprkitError as exc:
            raise HttpError(status_of(exc), str(exc)) from None

    return app


async def _upload(request, limit: int) -> tuple[bytes, str, dict]:
    """(image bytes, source name, settings) of a request; mistakes are an HttpError."""
    settings = _add_settings(request.query_params.multi_items(), {})
    body = await _body(request, limit)
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        data, source = await _form(request, body, settings)
    else:  # raw bytes, whatever they are labelled (curl --data-binary says x-www-form-urlencoded)
        data, source = body, RAW_SOURCE
    if not data:
        raise HttpError(400, f"empty upload: send an image as the multipart field '{FIELD}' or as the request body")
    return data, source, settings


def _add_settings(items, settings: dict) -> dict:
    for key, value in items:
        if key in settings:
            raise HttpError(400, f"{key!r} is given twice")
        settings[key] = value
    return settings


async def _body(request, limit: int) -> bytes:
    too_large = f"the upload is larger than the server's limit of {limit:,} bytes (max_upload_mb)"
    length = request.headers.get("content-length")
    chunks, size = [], 0
    if not (length is not None and length.isdigit() and int(length) > limit):
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return b"".join(chunks)
    async for chunk in request.stream():
        size += len(chunk)
        if size > DISCARD_BYTES:
            break
    raise HttpError(413, too_large)


async def _form(request, body: bytes, settings: dict) -> tuple[bytes, str]:
    from starlette.datastructures import UploadFile
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream():
        yield body

    parser = MultiPartParser(request.headers, stream(), max_files=8, max_fields=64, max_part_size=64 * 1024)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise HttpError(400, f"bad multipart upload: {exc.message}") from None
    try:
        images = form.getlist(FIELD)
        files = [key for key, value in form.multi_items() if isinstance(value, UploadFile)]
        if not images:
            got = f" (got the file field {', '.join(map(repr, files))})" if files else ""
            raise HttpError(400, f"no field '{FIELD}' in the upload{got}: send the image as "
                                 f"-F {FIELD}=@car.jpg")
        if len(images) > 1:
            raise HttpError(400, f"one image per request, got {len(images)} '{FIELD}' fields")
        [image] = images
        if not isinstance(image, UploadFile):
            raise HttpError(400, f"field '{FIELD}' must be a file upload (-F {FIELD}=@car.jpg), not text")
        texts = [(k, v) for k, v in form.multi_items() if k != FIELD and not isinstance(v, UploadFile)]
        _add_settings(texts, settings)
        extra = [k for k in files if k != FIELD]
        if extra:
            raise HttpError(400, f"unexpected file field {extra[0]!r}: the image goes in '{FIELD}'")
        return await image.read(), image.filename or RAW_SOURCE
    finally:
        await form.close()


# -- running the server --------------------------------------------------------------------


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening socket; a taken port or a bad address is a ConfigError (before any request)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=1024)
    except (socket.gaierror, UnicodeError) as exc:  # a name that does not resolve
        raise ConfigError(f"host={host!r}: {exc}") from None
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise ConfigError(f"cannot listen on host={host} port={port}: {exc.strerror or exc}") from None


def serve(cfg, overrides=()) -> int:
    """Load the pipelines, open the port and serve until interrupted (SIGINT, SIGTERM)."""
    import uvicorn

    logging.basicConfig(level=logging.WARNING, format="alprkit serve: %(levelname)s %(name)s: %(message)s")
    pipelines = ServedPipelines(cfg, overrides)
    pipelines.warm_up()
    limits = Limits.from_config(cfg)
    sock = listening_socket(str(cfg.host), int(cfg.port))
    batcher = MicroBatcher(lambda uploads: read_uploads(uploads, limits.max_pixels),
                           max_size=int(cfg.batch.max_size), wait_s=float(cfg.batch.wait_ms) / 1000)
    try:
        app = create_app(pipelines, batcher, limits)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(f"alprkit: serving {', '.join(pipelines.names)} on http://{shown}:{port} "
              f"(API docs: http://{shown}:{port}/docs)", file=sys.stderr, flush=True)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                               timeout_keep_alive=30))
        server.run(sockets=[sock])
    finally:
        batcher.close(timeout=5)
        sock.close()
    return 0


"""The playground's ASGI app (Starlette): the page, its static files and a JSON API.

Routes (every POST body and answer is JSON, except the CSV upload and the downloads)::

    GET  /                         the page
    GET  /static/...               its CSS and JavaScript
    POST /api/session              a new session: {"id", ...the full view}
    POST /api/config    {id, config}          rebuild data and network -> full view
    POST /api/train     {id, steps | epochs}  train -> tick view
    POST /api/reset     {id}                  a fresh network from the seed -> full view
    POST /api/explain   {id, start, size}     step-through stages (cr.explain)
    POST /api/upload?id=..&name=..  body: the CSV text  -> full view on the table
    GET  /api/export/{model.npz|history.csv|snippet.py}?id=..

Safety: each tab gets its own session id from the server; at most ``max_sessions``
live at once and each expires after ``ttl`` seconds unused. An upload is at most
``MAX_UPLOAD`` bytes and is read by ``chainrule.datasets.load_table`` (what
``chainrule train`` reads a file with: its checks, its ID and date handling and its
notes) from a private temporary file; the server never opens a path sent by the page.
A bad request gets ``{"error": message}`` with status 400 (410 for an expired
session); an unexpected failure gets a one-line message, never a traceback.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import exporting
from .config import MAX_STEPS_PER_TICK, ConfigError
from .session import Session
from .stepthrough import stages

STATIC = Path(__file__).parent / "static"
MAX_UPLOAD = 1_000_000  # bytes of CSV text
MAX_BODY = 100_000  # bytes of a JSON request
log = logging.getLogger("chainrule.playground")


def finite(obj):
    """``obj`` with every non-finite float replaced by None (JSON has no inf or NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite(v) for v in obj]
    return obj


class RequestError(ValueError):
    """A request the server refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class SessionStore:
    """Sessions by id, capped in number, each dropped after ``ttl`` seconds unused."""

    def __init__(self, max_sessions: int = 16, ttl: float = 1800.0, tables=None) -> None:
        self.max_sessions, self.ttl = max_sessions, ttl
        self.tables = dict(tables or {})
        self._sessions: dict[str, tuple[Session, threading.Lock, float]] = {}
        self._lock = threading.Lock()

    def _purge(self, now: float) -> None:
        for sid in [s for s, (_, _, t) in self._sessions.items() if now - t > self.ttl]:
            del self._sessions[sid]

    def create(self) -> tuple[str, Session]:
        with self._lock:
            self._purge(time.monotonic())
            if len(self._sessions) >= self.max_sessions:
                raise RequestError(
                    f"too many playground sessions are open ({self.max_sessions}); close "
                    f"another tab, or wait {self.ttl / 60:g} minutes for unused ones to expire.",
                    503,
                )
        session = Session(self.tables)
        sid = secrets.token_urlsafe(16)
        with self._lock:
            self._sessions[sid] = (session, threading.Lock(), time.monotonic())
        return sid, session

    def get(self, sid) -> tuple[Session, threading.Lock]:
        with self._lock:
            now = time.monotonic()
            self._purge(now)
            entry = self._sessions.get(sid) if isinstance(sid, str) else None
            if entry is None:
                raise RequestError("this session has expired or is unknown; reload the page.", 410)
            self._sessions[sid] = (entry[0], entry[1], now)
            return entry[0], entry[1]

    def __len__(self) -> int:
        return len(self._sessions)


async def _json(request: Request) -> dict:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise RequestError(f"request too large ({len(body)} bytes; at most {MAX_BODY}).")
    try:
        data = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestError(f"the request is not valid JSON ({exc.msg}).") from exc
    if not isinstance(data, dict):
        raise RequestError("the request must be a JSON object.")
    return data


def _errors(handler):
    """Answer a refused request with {"error": message}; never show a traceback."""

    async def wrapped(request: Request):
        try:
            return await handler(request)
        except RequestError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except (ValueError, TypeError) as exc:  # DataError and ConfigError too
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Exception as exc:  # a message for the page, the trace in the log
            log.exception("playground request failed")
            return JSONResponse(
                {
                    "error": f"the server hit an unexpected error ({type(exc).__name__}); see "
                    "the terminal running `chainrule playground` for details."
                },
                status_code=500,
            )

    return wrapped


def _store(request: Request) -> SessionStore:
    return request.app.state.store


async def _call(request: Request, fn):
    """Run ``fn(session, body)`` under the session's lock, off the event loop."""
    body = await _json(request)
    session, lock = _store(request).get(body.get("id"))

    def locked():
        with lock:
            return fn(session, body)

    return JSONResponse(finite(await run_in_threadpool(locked)))


async def index(request: Request):
    return FileResponse(STATIC / "index.html")


@_errors
async def new_session(request: Request):
    sid, session = await run_in_threadpool(_store(request).create)
    return JSONResponse(finite({"id": sid, **session.full_view()}))


def _configure(session, body) -> dict:
    session.configure(body.get("config", {}))
    return session.full_view()


def _train(session, body) -> dict:
    steps, epochs = body.get("steps", 1), body.get("epochs", 0)
    for key, v, hi in (("steps", steps, MAX_STEPS_PER_TICK), ("epochs", epochs, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
            raise ConfigError(f"{key} must be a whole number from 0 to {hi}, got {v!r}.")
    session.train(steps, epochs)
    return session.tick_view()


def _reset(session, body) -> dict:
    session.reset()
    return session.full_view()


def _explain(session, body) -> dict:
    return stages(session, body.get("start", 0), body.get("size", 1))


@_errors
async def upload(request: Request):
    """The body is the CSV text; ``?id=`` the session, ``?name=`` the file's name."""
    session, lock = _store(request).get(request.query_params.get("id"))
    name = Path(request.query_params.get("name") or "upload.csv").name[:100]
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD:
            raise RequestError(
                f"{name} is larger than {MAX_UPLOAD // 1000} kB; the playground takes "
                "small tables (use `chainrule train` for large ones)."
            )

    def adopt():
        dataset = _read_upload(bytes(body), name)
        with lock:
            session.adopt_table("upload", dataset)
            return session.full_view()

    return JSONResponse(finite(await run_in_threadpool(adopt)))


@_errors
async def export(request: Request):
    session, lock = _store(request).get(request.query_params.get("id"))
    what = request.path_params["what"]
    with lock:
        if what == "model.npz":
            content, media = exporting.model_bytes(session), "application/octet-stream"
        elif what == "history.csv":
            content, media = exporting.history_csv(session), "text/csv"
        elif what == "snippet.py":
            content, media = exporting.snippet(session), "text/x-python"
        else:
            raise RequestError(f"nothing to export as {what!r}.", 404)
    headers = {"Content-Disposition": f'attachment; filename="playground-{what}"'}
    return Response(content, media_type=media, headers=headers)


def _post(path: str, fn) -> Route:
    @_errors
    async def endpoint(request: Request):
        return await _call(request, fn)

    return Route(path, endpoint, methods=["POST"])


ROUTES = [
    Route("/", index),
    Route("/api/session", new_session, methods=["POST"]),
    _post("/api/config", _configure),
    _post("/api/train", _train),
    _post("/api/reset", _reset),
    _post("/api/explain", _explain),
    Route("/api/upload", upload, methods=["POST"]),
    Route("/api/export/{what}", export),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]


def create_app(
    tables: dict | None = None,
    max_sessions: int = 16,
    ttl: float = 1800.0,
    allowed_hosts: list[str] | None = None,
) -> Starlette:
    """The Starlette app.

    Parameters
    ----------
    tables : dict, optional
        ``{"file": Dataset}`` from ``--data``, offered to every session.
    max_sessions : int
        How many sessions may live at once.
    ttl : float
        Seconds after which an unused session expires.
    allowed_hosts : list of str, optional
        Answer only requests whose Host header is one of these (``serve`` passes the
        loopback names when it listens on loopback, so that a web page elsewhere cannot
        reach the server through DNS rebinding). Default: any host.
    """
    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=ROUTES, middleware=middleware)
    app.state.store = SessionStore(max_sessions, ttl, tables)
    return app


def _read_upload(body: bytes, name: str):
    """The uploaded CSV as a Dataset, read as ``chainrule train`` reads a file
    (:func:`chainrule.datasets.load_table`), from a private temporary file."""
    from ..datasets.tables import DataError, load_table

    fd, tmp = tempfile.mkstemp(prefix="chainrule-upload-", suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        try:
            dataset = load_table(tmp, decimal=None, name=name)  # the page has no --decimal
        except DataError as exc:  # name the user's file, not our temporary one
            raise DataError(str(exc).replace(tmp, name)) from None
    finally:
        os.remove(tmp)
    return replace(dataset, source="upload")

"""The playground's ASGI app (Starlette): the page, its static files and a JSON API.

Routes (every POST body and answer is JSON, except the CSV upload and the downloads)::

    GET  /                         the page
    GET  /static/...               its CSS and JavaScript
    POST /api/session   {id?}                 this tab's session (or a fresh one) -> {"id",
                                              "resumed", "notice", ...the full view}
    POST /api/close     {id}                  the tab went away (a beacon): free it soon
    POST /api/config    {id, config}          rebuild data and network -> full view
    POST /api/train     {id, steps | epochs}  train -> tick view
    POST /api/reset     {id}                  a fresh network from the seed -> full view
    POST /api/explain   {id, start, size}     step-through stages (cr.explain)
    POST /api/weight    {id, layer, i, j, value}  set one weight W_layer[i, j] -> tick view
    POST /api/upload?id=..&name=..  body: the CSV text  -> full view on the table
    GET  /api/export/{model.npz|history.csv|snippet.py}?id=..

Safety: each tab gets its own session id from the server and keeps it across reloads; at
most ``max_sessions`` live at once (a new tab closes the longest-idle one) and each expires
after ``ttl`` seconds unused. Only the page's own origin may change a session
(:func:`cross_site_reason`); no page may frame it (``X-Frame-Options``, CSP). A JSON body
is at most ``MAX_BODY`` bytes, refused while it streams in. An upload is at most
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
    """Sessions by id, at most ``max_sessions`` at once, each dropped after ``ttl`` seconds
    unused; a full store makes room by closing its longest-idle session.

    A tab keeps its id (in its ``sessionStorage``) and asks for it again on a reload; a tab
    that goes away *releases* its session, which then lives only ``grace`` seconds more (so
    that the reload which fired the release finds it) and is the first to make room.
    """

    def __init__(
        self, max_sessions: int = 16, ttl: float = 1800.0, tables=None, grace: float = 30.0
    ) -> None:
        self.max_sessions, self.ttl, self.grace = max_sessions, ttl, grace
        self.tables = dict(tables or {})
        # id -> [session, its lock, last use, released at (or None)]
        self._sessions: dict[str, list] = {}
        self._gone: dict[str, str] = {}  # recently dropped id -> why (for a clear message)
        self._lock = threading.Lock()

    def _drop(self, sid: str, why: str) -> None:
        del self._sessions[sid]
        self._gone[sid] = why
        while len(self._gone) > 4 * self.max_sessions:  # remember only the recent ones
            del self._gone[next(iter(self._gone))]

    def _purge(self, now: float) -> None:
        for sid, (_, _, used, released) in list(self._sessions.items()):
            if now - used > self.ttl:
                self._drop(sid, f"it was unused for {self.ttl / 60:g} minutes")
            elif released is not None and now - released > self.grace:
                self._drop(sid, "its tab was closed")

    def _make_room(self) -> None:
        """Close released sessions first, then the longest idle, until one more fits."""
        while len(self._sessions) >= self.max_sessions:
            entries = self._sessions
            sid = min(entries, key=lambda s: (entries[s][3] is None, entries[s][2]))
            self._drop(
                sid,
                f"another tab needed room (at most {self.max_sessions} sessions are open at "
                "once and this one was the longest unused)",
            )

    def open(self, sid=None) -> tuple[str, Session, str | None]:
        """The session ``sid`` if it is still open (a reload), else a new one.

        Returns its id, the session and, when ``sid`` was asked for but is gone, a
        message for the page saying why a fresh session was started.
        """
        with self._lock:
            now = time.monotonic()
            self._purge(now)
            entry = self._sessions.get(sid) if isinstance(sid, str) else None
            if entry is not None:
                entry[2], entry[3] = now, None
                return sid, entry[0], None
            why = self._gone.get(sid) if isinstance(sid, str) else None
        notice = None
        if sid is not None:
            notice = (
                f"this tab's earlier session was closed ({why or 'the server restarted'}); "
                "a fresh one has started."
            )
        session = Session(self.tables)
        new_sid = secrets.token_urlsafe(16)
        with self._lock:
            self._purge(time.monotonic())
            self._make_room()
            self._sessions[new_sid] = [session, threading.Lock(), time.monotonic(), None]
        return new_sid, session, notice

    def release(self, sid) -> bool:
        """Mark ``sid``'s tab as gone: the session lives ``grace`` seconds more."""
        with self._lock:
            entry = self._sessions.get(sid) if isinstance(sid, str) else None
            if entry is not None:
                entry[3] = time.monotonic()
            return entry is not None

    def get(self, sid) -> tuple[Session, threading.Lock]:
        with self._lock:
            now = time.monotonic()
            self._purge(now)
            entry = self._sessions.get(sid) if isinstance(sid, str) else None
            if entry is None:
                why = self._gone.get(sid) if isinstance(sid, str) else None
                raise RequestError(
                    f"this session was closed ({why}); reload the page for a fresh one."
                    if why
                    else "this session has expired or is unknown; reload the page.",
                    410,
                )
            entry[2], entry[3] = now, None
            return entry[0], entry[1]

    def __len__(self) -> int:
        return len(self._sessions)


MAX_DIGITS = 100  # characters of one number in a JSON request


def _number(text: str):
    if len(text) > MAX_DIGITS:
        raise RequestError(
            f"a number in the request has {len(text)} characters; at most {MAX_DIGITS}."
        )
    return float(text) if any(c in text for c in ".eE") else int(text)


async def _body(request: Request, limit: int, too_large: str) -> bytes:
    """The request's body, refused with ``too_large`` as soon as it passes ``limit`` bytes
    (read as it streams in: a huge body is never held whole)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestError(too_large)
    return bytes(body)


async def _json(request: Request) -> dict:
    body = await _body(request, MAX_BODY, f"the request is larger than {MAX_BODY} bytes.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(
            f"the request is not UTF-8 text (byte {exc.start} is {body[exc.start]:#04x})."
        ) from None
    try:
        data = json.loads(text or "{}", parse_int=_number, parse_float=_number)
    except json.JSONDecodeError as exc:
        raise RequestError(f"the request is not valid JSON ({exc.msg}).") from None
    except RecursionError:
        raise RequestError("the request's JSON is nested too deeply.") from None
    if not isinstance(data, dict):
        raise RequestError("the request must be a JSON object.")
    return data


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


def cross_site_reason(method: str, headers) -> str | None:
    """Why a request that changes state comes from another site, or None if it may.

    Only the page's own origin may change a session: a browser names the page that sent a
    request in ``Origin`` (every POST) and ``Sec-Fetch-Site``; either naming another site
    refuses it, even a ``mode: "no-cors"`` form-like POST. A request with neither header
    is not from a browser page (curl, scripts, the tests' client) and is allowed: such a
    client could send any header it liked anyway.
    """
    if method in SAFE_METHODS:
        return None
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site!r}"
    origin = headers.get("origin")
    if origin is not None:
        own = {f"http://{headers.get('host', '')}", f"https://{headers.get('host', '')}"}
        if origin not in own:
            return f"it comes from {origin!r}"
    return None


class PageGuard:
    """ASGI middleware: refuse state-changing requests from other sites (403) and send
    every answer with headers that forbid framing the page and scripts from elsewhere."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        reason = cross_site_reason(scope["method"], headers)
        if reason is not None:
            message = f"refused: only the playground's own page may change a session ({reason})."
            response = JSONResponse({"error": message}, status_code=403)
            return await response(scope, receive, self._with_headers(send))
        return await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send):
        async def sending(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        return sending


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
    """Run ``fn(session, body)`` under the session's lock, off the event loop.

    The answer's ``Server-Timing`` header says how long ``fn`` took: ``compute`` its
    wall-clock and ``cpu`` its thread's CPU time, in milliseconds (the browser shows them
    in its network panel; the Chromium timing test reads them).
    """
    body = await _json(request)
    session, lock = _store(request).get(body.get("id"))

    def locked():
        with lock:
            t0, c0 = time.perf_counter(), time.thread_time()
            out = fn(session, body)
            return out, time.perf_counter() - t0, time.thread_time() - c0

    out, wall, cpu = await run_in_threadpool(locked)
    timing = f"compute;dur={wall * 1e3:.2f}, cpu;dur={cpu * 1e3:.2f}"
    return JSONResponse(finite(out), headers={"Server-Timing": timing})


async def index(request: Request):
    return FileResponse(STATIC / "index.html")


@_errors
async def new_session(request: Request):
    """This tab's session: ``{"id": ...}`` (kept in the tab's ``sessionStorage``) if it is
    still open, else a fresh one; ``"resumed"`` says which, ``"notice"`` why a session
    the tab asked for is gone."""
    body = await _json(request)
    sid, session, notice = await run_in_threadpool(_store(request).open, body.get("id"))
    resumed = sid == body.get("id")
    return JSONResponse(
        finite({"id": sid, "resumed": resumed, "notice": notice, **session.full_view()})
    )


@_errors
async def close_session(request: Request):
    """The tab went away (``navigator.sendBeacon`` on ``pagehide``, body ``{"id"}`` as
    text): its session lives a short grace more, for the reload that may follow."""
    body = await _json(request)
    return JSONResponse({"released": _store(request).release(body.get("id"))})


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


def _set_weight(session, body) -> dict:
    session.set_weight(body.get("layer"), body.get("i"), body.get("j"), body.get("value"))
    return session.tick_view()


def _explain(session, body) -> dict:
    return stages(session, body.get("start", 0), body.get("size", 1))


@_errors
async def upload(request: Request):
    """The body is the CSV text; ``?id=`` the session, ``?name=`` the file's name."""
    session, lock = _store(request).get(request.query_params.get("id"))
    name = Path(request.query_params.get("name") or "upload.csv").name[:100]
    body = await _body(
        request,
        MAX_UPLOAD,
        f"{name} is larger than {MAX_UPLOAD // 1000} kB; the playground takes "
        "small tables (use `chainrule train` for large ones).",
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
    Route("/api/close", close_session, methods=["POST"]),
    _post("/api/config", _configure),
    _post("/api/train", _train),
    _post("/api/reset", _reset),
    _post("/api/explain", _explain),
    _post("/api/weight", _set_weight),
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
    middleware = [Middleware(PageGuard)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
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

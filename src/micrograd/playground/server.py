"""The playground's web server, on the standard library's ``ThreadingHTTPServer``.

The page drives everything with small JSON POSTs, each answered at once: "train up to n steps and
send me the picture", "change this setting", "the graph of that point". No work runs between
requests, so a tab that closes or hangs leaves nothing running: its session is dropped when it
says goodbye (``/api/close``, sent as the page is hidden) or after ``IDLE_SECONDS`` without a request.

What keeps it safe to leave running:
- each tab has its own ``Session`` behind a random id; one lock per session serialises its work;
- at most ``MAX_SESSIONS`` sessions (the longest idle is dropped first, if any is idle long enough)
  and ``MAX_CONNECTIONS`` open connections;
- per session, at most ``STEPS_PER_SECOND`` training steps and ``FRAMES_PER_SECOND`` requests;
- the Host header must name this machine (``localhost``, an IP address, or the ``--host`` name) and
  an Origin header, when sent, must be this server: another site cannot drive it, not even
  through DNS rebinding (a name of the attacker's that resolves to 127.0.0.1);
- bodies are JSON objects of at most ``MAX_BODY`` bytes (``MAX_DATA_BODY`` for those carrying
  points or a CSV file, ``MAX_SESSION_FILE`` for a session file), each field checked once, here, by
  the route's table (``_ROUTES``, see ``fields.py``); anything else gets a 4xx and a one-line
  message naming the field, never a traceback. The session behind trusts what the tables guarantee.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import secrets
import shutil
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from micrograd._extras import NO_DOT, require
from micrograd._validate import whole_number
from micrograd.playground.fields import (
    A_LIST, AN_OBJECT, Field, checked, list_of, nullable, number, one_of, required, text, whole,
)
from micrograd.playground.problems import MAX_CSV_BYTES, PARTS
from micrograd.playground.session import CHOICES, VIEWS, Diverged, Session, Settings

__all__ = ["make_server", "serve", "PlaygroundServer"]

MAX_SESSIONS = 8
MAX_CONNECTIONS = 32
IDLE_SECONDS = 600.0
MAX_BODY = 16 * 1024
MAX_DATA_BODY = 256 * 1024  # the user's points (at most problems.MAX_POINTS) or a CSV file
MAX_SESSION_FILE = 4 * 1024 * 1024
STEPS_PER_SECOND = 500.0
FRAMES_PER_SECOND = 40.0
MAX_STEPS_PER_REQUEST = 100
TRAIN_SECONDS = 0.25  # one request trains at most this long, so pictures keep coming
ASSETS = "micrograd.playground_assets"
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css"}


class RequestError(Exception):
    """A request the server refuses: ``status`` and a message for the page."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


class RateLimit:
    """A token bucket: ``rate`` tokens a second, holding at most ``rate`` (one second's worth)."""

    def __init__(self, rate: float):
        self.rate = rate
        self.tokens = rate
        self.time = time.monotonic()

    def take(self, wanted: int) -> int:
        """As many of ``wanted`` tokens as there are (whole ones), taken."""
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.time) * self.rate)
        self.time = now
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted


class _Tab:
    """A session with what the server keeps beside it."""

    def __init__(self, session: Session):
        self.session = session
        self.lock = threading.Lock()
        self.steps = RateLimit(STEPS_PER_SECOND)
        self.requests = RateLimit(FRAMES_PER_SECOND)
        self.last_used = time.monotonic()


class Sessions:
    """The bounded table of sessions by id."""

    def __init__(self, limit: int = MAX_SESSIONS, idle_seconds: float = IDLE_SECONDS):
        self.limit = limit
        self.idle_seconds = idle_seconds
        self._tabs: dict[str, _Tab] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tabs)

    def open(self, settings: Settings, points: list | None = None) -> tuple[str, _Tab]:
        with self._lock:
            self._make_room()  # a refusal costs no session: building one takes a compile
        session = Session(settings, points)  # built outside the table's lock: it takes a few milliseconds
        with self._lock:
            self._make_room()  # again: other tabs may have opened meanwhile
            key = secrets.token_urlsafe(16)
            tab = self._tabs[key] = _Tab(session)
        return key, tab

    def _make_room(self) -> None:
        """Room for one more tab (dropping the longest idle one if the table is full), else a 503."""
        if len(self._tabs) < self.limit:
            return
        idle = min(self._tabs, key=lambda key: self._tabs[key].last_used)
        if time.monotonic() - self._tabs[idle].last_used < self.idle_seconds:
            message = f"this playground already serves {self.limit} tabs: close one and reload"
            raise RequestError(HTTPStatus.SERVICE_UNAVAILABLE, message)
        del self._tabs[idle]

    def get(self, key: str | None) -> _Tab:
        with self._lock:
            tab = self._tabs.get(key)
            if tab is not None and time.monotonic() - tab.last_used > self.idle_seconds:
                del self._tabs[key]
                tab = None
            if tab is None:
                raise RequestError(HTTPStatus.NOT_FOUND, "no such session (it may have expired): reload the page")
            tab.last_used = time.monotonic()
            return tab

    def close(self, key: str | None) -> None:
        with self._lock:
            self._tabs.pop(key, None)


class PlaygroundServer(ThreadingHTTPServer):
    daemon_threads = True  # a connection left open never keeps the process from stopping
    allow_reuse_address = True

    def __init__(self, host: str, port: int):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host_name = host.lower()
        self.sessions = Sessions()
        self._connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host = self.host_name
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{f'[{host}]' if ':' in host else host}:{self.server_port}/"

    def process_request(self, request, client_address):
        if not self._connections.acquire(blocking=False):
            request.close()  # too many open connections: refuse this one outright
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._connections.release()

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return  # a page that went away or fell silent: nothing to report
        super().handle_error(request, client_address)

    def allowed_host(self, host: str | None) -> bool:
        """Whether a Host header names this server: its port, and a name no other site can own."""
        if not host:
            return False
        name, _, port = host.rpartition(":")
        if not name or port != str(self.server_port):
            return False
        name = name.lower()
        if name in ("localhost", self.host_name):
            return True
        try:
            ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]") else name)
        except ValueError:
            return False
        return True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the page's requests reuse one connection
    server_version = "micrograd-playground"
    timeout = 60  # seconds a connection may stay silent before its thread ends
    server: PlaygroundServer

    def do_GET(self):
        self._answer(self._get)

    def do_POST(self):
        self._answer(self._post)

    def do_PUT(self):
        self._answer(self._wrong_method)

    do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_PUT

    def log_request(self, code="-", size="-"):  # requests are many and routine: only errors are logged
        pass

    # -- routing -----------------------------------------------------------------------------

    def _answer(self, handler) -> None:
        try:
            self._check_host_and_origin()
            status, content_type, body = handler()
        except RequestError as error:
            status, content_type, body = error.status, "application/json", _json({"error": str(error)})
        except Exception as error:  # a bug: the page gets a message, the terminal the traceback
            traceback.print_exc()
            message = f"internal error: {type(error).__name__}: {error}"
            status, content_type, body = HTTPStatus.INTERNAL_SERVER_ERROR, "application/json", _json({"error": message})
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if status == HTTPStatus.TOO_MANY_REQUESTS:
                self.send_header("Retry-After", "1")
            if status >= 400:  # a body may be left unread: start the next request afresh
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":  # a HEAD answer has headers only
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the page went away: nothing to clean up
            self.close_connection = True

    def _check_host_and_origin(self) -> None:
        """Only this machine's pages of this server: a Host header naming it and, if sent, its own Origin."""
        host, origin = self.headers.get("Host"), self.headers.get("Origin")
        if not self.server.allowed_host(host) or origin not in (None, f"http://{host}"):
            message = f"refused (Host {host!r}, Origin {origin!r}): this server answers only to localhost or an IP"
            raise RequestError(HTTPStatus.FORBIDDEN, f"{message} address, from its own pages")

    def _wrong_method(self):
        path = self.path.split("?", 1)[0]
        message = f"{self.command} {path} is not served: the API (/api/...) takes a POST with a JSON body, a page a GET"
        raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED, message)

    def _get(self):
        path = self.path.split("?", 1)[0]
        if path.startswith("/api/"):
            return self._wrong_method()
        name = "index.html" if path == "/" else path.removeprefix("/assets/")
        suffix = name[name.rfind(".") :] if "." in name else ""
        if (path == "/" or path.startswith("/assets/")) and "/" not in name and suffix in _CONTENT_TYPES:
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                return HTTPStatus.OK, _CONTENT_TYPES[suffix], resources.files(ASSETS).joinpath(name).read_bytes()
        raise RequestError(HTTPStatus.NOT_FOUND, f"no page at {path}")

    def _post(self):
        route = _ROUTES.get(self.path)
        if route is None:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no API at {self.path}")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the body as application/json")
        length = self.headers.get("Content-Length")
        # ASCII digits only ("²" is a digit to str.isdigit but not to int), and few enough for int()
        if length is None or not (length.isascii() and length.isdigit() and len(length) <= 18):
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header (a number of bytes) is needed")
        handler, fields, limit = route
        if int(length) > limit:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body is over {limit} bytes")
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw, parse_constant=_no_constant)
        except (ValueError, RecursionError) as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON: {error}") from None
        try:
            answer = handler(self.server.sessions, checked(body, {"session": _SESSION_ID, **fields}, self.path))
        except (TypeError, ValueError) as error:  # a field the route's table refused, or a point, CSV line or file
            status, message = HTTPStatus.BAD_REQUEST, str(error)
        except ArithmeticError as error:  # a diverged model: its picture overflows until it is reset
            status = HTTPStatus.CONFLICT
            message = f"the model's numbers overflow ({error}): reset it, or lower the learning rate"
        except OSError as error:  # a program the request needs is missing: Graphviz's dot, for a point's graph
            status, message = HTTPStatus.SERVICE_UNAVAILABLE, str(error)
        else:
            return HTTPStatus.OK, "application/json", _json(answer)
        raise RequestError(status, message)


# -- the API: each takes the sessions and the request's JSON object, checked by its route's table ---


def _open(sessions: Sessions, body: dict) -> dict:
    settings = Settings().changed(body.get("settings", {}))
    key, tab = sessions.open(settings, body.get("points"))
    print(f"session opened ({len(sessions)} open)", file=sys.stderr, flush=True)
    with tab.lock:
        return {"session": key, "choices": CHOICES, "frame": tab.session.frame()}


def _close(sessions: Sessions, body: dict) -> dict:
    sessions.close(body.get("session"))
    print(f"session closed ({len(sessions)} open)", file=sys.stderr, flush=True)
    return {}


def _with_session(work):
    """An API call on the body's session, under its lock and its request limit."""

    def call(sessions: Sessions, body: dict) -> dict:
        tab = sessions.get(body.get("session"))
        if not tab.requests.take(1):
            raise RequestError(HTTPStatus.TOO_MANY_REQUESTS, f"more than {FRAMES_PER_SECOND:g} requests a second")
        with tab.lock:
            return work(tab, body)

    return call


def _frame(tab: _Tab, body: dict, **extra) -> dict:
    session = tab.session
    have = body.get("have_history", 0)
    if body.get("model_version") != session.model_version:
        have = 0  # a new model: the page's history is of the old one
    frame = session.frame(have_history=have, data_version=body.get("data_version"))
    graph = body.get("graph")
    if graph is not None:
        frame["graph"] = _point_graph(session, checked(graph, _GRAPH_FIELDS, "graph"), layout=False)
    return {**frame, **extra}


@_with_session
def _train(tab: _Tab, body: dict) -> dict:
    granted = tab.steps.take(body.get("steps", 1))
    try:
        done = tab.session.train(granted, seconds=TRAIN_SECONDS)
        error = None
    except Diverged as problem:
        done, error = problem.steps, str(problem)
    return _frame(tab, body, trained=done, error=error)


@_with_session
def _settings(tab: _Tab, body: dict) -> dict:
    tab.session.apply(body.get("settings", {}))
    return _frame(tab, body)


@_with_session
def _reset(tab: _Tab, body: dict) -> dict:
    tab.session.reset()
    return _frame(tab, body)


@_with_session
def _graph(tab: _Tab, body: dict) -> dict:
    return _point_graph(tab.session, body, layout=True)  # without Graphviz an OSError: a 503, the rest works


def _point_graph(session: Session, request: dict, *, layout: bool) -> dict:
    return session.point_graph(
        request["part"], request["index"], request.get("view", "neurons"),
        expanded=request.get("expanded", []), layout=layout,
    )


@_with_session
def _model(tab: _Tab, body: dict) -> dict:
    return tab.session.model_state()


@_with_session
def _points(tab: _Tab, body: dict) -> dict:
    """One change to the points: ``add`` [x1, x2, label, part], ``remove`` [part, index] or ``csv`` (a file's text)."""
    if len(set(body) & set(_POINT_CHANGES)) != 1:
        raise ValueError("send one of add ([x1, x2, label, part]), remove ([part, index]) or csv (the file's text)")
    session = tab.session
    if "add" in body:
        session.add_point(*body["add"])
    elif "remove" in body:
        session.remove_point(*body["remove"])
    else:
        session.read_csv(body["csv"])
    return _frame(tab, body)


@_with_session
def _points_csv(tab: _Tab, body: dict) -> dict:
    return {"csv": tab.session.csv()}


@_with_session
def _parameter(tab: _Tab, body: dict) -> dict:
    """Set one weight by hand: ``layer``, ``neuron``, ``weight`` (the input's index, or null for the bias), ``value``."""
    tab.session.set_parameter(body["layer"], body["neuron"], body["weight"], body["value"])
    return _frame(tab, body)


@_with_session
def _save(tab: _Tab, body: dict) -> dict:
    return tab.session.document()


@_with_session
def _restore(tab: _Tab, body: dict) -> dict:
    tab.session = Session.restore(body["document"], after=tab.session)
    return _frame(tab, body)


@_with_session
def _torch_script(tab: _Tab, body: dict) -> dict:
    return {"script": tab.session.torch_script()}


# The tables of the requests' fields: what each route's body may hold (beside "session").
_SESSION_ID = nullable(text(64))  # null before the page has one
_PART, _INDEX = one_of(PARTS), whole(0)  # a point: its index below the part's count, the session checks
_FRAME_FIELDS = {  # the page's copy of the picture, in a request answered with a new one
    "have_history": whole(0),
    "model_version": nullable(whole(0)),
    "data_version": nullable(whole(0)),
    "graph": AN_OBJECT,  # a point's graph to follow, as _GRAPH_FIELDS
}
_GRAPH_FIELDS = {
    "part": required(_PART),
    "index": required(_INDEX),
    "view": one_of(VIEWS),
    "expanded": list_of(text(16)),  # neuron names: the session checks them against its network
}
_POINT_CHANGES = {  # one of these; the points themselves as problems.with_points checks them
    "add": Field(lambda v: isinstance(v, list) and len(v) == 4, "[x1, x2, label, part]"),
    "remove": Field(lambda v: isinstance(v, list) and len(v) == 2 and _PART.test(v[0]) and _INDEX.test(v[1]),
                    f"[part, index]: {_PART.must_be}, and {_INDEX.must_be}"),
    "csv": text(MAX_CSV_BYTES),
}
_PARAMETER_FIELDS = {  # whether the network has this parameter, the session checks
    "layer": required(whole(0)),
    "neuron": required(whole(0)),
    "weight": required(nullable(whole(0))),  # null: the bias
    "value": required(number()),
}

# path: (handler, its body's fields beside "session", the body's size limit). The fields of the settings and of a
# session file are checked by what reads them (Settings.changed, Session.restore), against their tables in session.py.
_ROUTES = {
    "/api/session": (_open, {"settings": AN_OBJECT, "points": nullable(A_LIST)}, MAX_DATA_BODY),
    "/api/close": (_close, {}, MAX_BODY),
    "/api/train": (_train, {"steps": whole(0, MAX_STEPS_PER_REQUEST), **_FRAME_FIELDS}, MAX_BODY),
    "/api/settings": (_settings, {"settings": AN_OBJECT, **_FRAME_FIELDS}, MAX_BODY),
    "/api/reset": (_reset, _FRAME_FIELDS, MAX_BODY),
    "/api/graph": (_graph, _GRAPH_FIELDS, MAX_BODY),
    "/api/model": (_model, {}, MAX_BODY),
    "/api/points": (_points, {**_POINT_CHANGES, **_FRAME_FIELDS}, MAX_DATA_BODY),
    "/api/points.csv": (_points_csv, {}, MAX_BODY),
    "/api/parameter": (_parameter, {**_PARAMETER_FIELDS, **_FRAME_FIELDS}, MAX_BODY),
    "/api/save": (_save, {}, MAX_BODY),
    "/api/restore": (_restore, {"document": required(AN_OBJECT), **_FRAME_FIELDS}, MAX_SESSION_FILE),
    "/api/torch": (_torch_script, {}, MAX_BODY),
}


def _json(answer) -> bytes:
    return json.dumps(answer, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def make_server(host: str = "127.0.0.1", port: int = 0) -> PlaygroundServer:
    """A playground server bound to ``host`` and ``port`` (0: a free one), not yet serving:
    call ``serve_forever()`` (in a thread, say) and ``shutdown()``, then ``server_close()``."""
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be a host name or IP address, got {host!r}")
    whole_number(port, "port", minimum=0, maximum=65535)  # 0: a free one
    try:
        return PlaygroundServer(host, port)
    except OSError as error:  # a port in use, an address not of this machine, an unknown name
        raise OSError(f"cannot listen on {host} port {port}: {error.strerror or error}") from None


def serve(host: str = "127.0.0.1", port: int = 0, *, open_browser: bool = True) -> None:
    """Run the playground at ``host``:``port`` until Ctrl-C; print its URL and open a browser tab."""
    require("micrograd playground", "playground")  # the heatmaps run through micrograd.compile, moons is sklearn's
    server = make_server(host, port)
    print(f"micrograd playground at {server.url} (Ctrl-C stops it)", flush=True)
    if shutil.which("dot") is None:
        print(f"note: a point's graph will not open without {NO_DOT}", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("micrograd playground: stopped", flush=True)
    finally:
        server.server_close()

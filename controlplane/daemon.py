"""``sluice controller``: the controller as a long-running daemon.

It loads the topology and policy, runs :class:`~controlplane.controller.Controller` against the
switches they name, keeps the controller's desired state on disk (the controller saves it shortly
after every change and on stop; a change made through the API is on disk before the API
answers, so a restart loses nothing), and serves a management API for ``sluice ctl`` on
127.0.0.1.

The API is JSON over HTTP (:mod:`http.server` in a thread), one resource per controller query::

    GET  /v1/status /v1/flows /v1/queues /v1/grants /v1/violations?limit=N
    POST /v1/grant  {"client", "server", "region", "perms"}
    POST /v1/revoke {"client", "server", "region"}

Answers are ``{"result": ...}`` (200) or ``{"error": "..."}`` with 400 (bad input), 404 (no such
resource), 502 (the switch refused), 503 (a switch is unreachable) or 500 (a controller bug; the
traceback goes to the daemon's log, the client gets one line).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "DEFAULT_API_ADDR",
    "ApiError",
    "ApiServer",
    "ManagementApi",
    "default_state_dir",
    "parse_api_addr",
    "run_controller",
]

log = logging.getLogger("sluice.controller.daemon")

DEFAULT_API_ADDR = "127.0.0.1:9191"
API_PREFIX = "/v1"
MAX_BODY = 64 << 10

_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class ApiError(Exception):
    """A request the API answers with ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_api_addr(text: str) -> tuple[str, int]:
    """``HOST:PORT`` → ``(host, port)``; the host must be a loopback address.

    The API changes what clients may touch in remote memory and has no authentication, so it
    never listens beyond the machine. Raises :class:`ValueError` with a readable message.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"malformed address {text!r}: expected HOST:PORT (e.g. {DEFAULT_API_ADDR})")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"malformed address {text!r}: {host!r} is not an IP address") from None
    if not addr.is_loopback:
        raise ValueError(f"the management API listens on loopback only (127.0.0.1), not {host}")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"malformed address {text!r}: port {port_text!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"malformed address {text!r}: port {port} is out of range")
    return host, port


def default_state_dir(topo_path: str) -> str:
    """Where state lives without ``--state-dir``: ``$XDG_STATE_HOME/sluice/<topology name>``."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    name = os.path.splitext(os.path.basename(topo_path))[0] or "default"
    return os.path.join(base, "sluice", name)


# -- the API -----------------------------------------------------------------------------------


def _field(body: dict[str, Any], name: str) -> Any:
    if name not in body or body[name] in (None, ""):
        raise ApiError(400, f"missing field {name!r}")
    return body[name]


class ManagementApi:
    """The API's routes over a controller (anything with :class:`Controller`'s query and
    grant methods), independent of HTTP so it can be tested and reused.

    ``on_change`` runs after every successful change (the daemon saves state there).
    """

    def __init__(self, controller: Any, on_change: Callable[[], None] | None = None) -> None:
        self.controller = controller
        self.on_change = on_change
        self._gets: dict[str, Callable[[dict[str, list[str]]], Any]] = {
            "status": lambda q: controller.status(),
            "flows": lambda q: controller.flows(),
            "queues": lambda q: controller.queues(),
            "grants": lambda q: controller.grants(),
            "violations": lambda q: controller.violations(limit=self._limit(q)),
        }
        self._posts: dict[str, Callable[[dict[str, Any]], Any]] = {
            "grant": lambda b: controller.grant(
                _field(b, "client"), _field(b, "server"), _field(b, "region"), _field(b, "perms")
            ),
            "revoke": lambda b: controller.revoke(
                _field(b, "client"), _field(b, "server"), _field(b, "region")
            ),
        }

    @staticmethod
    def _limit(query: dict[str, list[str]]) -> int:
        text = query.get("limit", ["100"])[-1]
        try:
            limit = int(text)
        except ValueError:
            raise ApiError(400, f"limit must be a number, not {text!r}") from None
        if limit < 1:
            raise ApiError(400, "limit must be at least 1")
        return limit

    def routes(self) -> dict[str, list[str]]:
        """The resources by method (for the 404 message and ``GET /v1``)."""
        return {"GET": sorted(self._gets), "POST": sorted(self._posts)}

    def handle(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
        """Answer one request: ``(HTTP status, JSON object)``. Never raises."""
        try:
            return 200, {"result": self._dispatch(method, path, body)}
        except ApiError as exc:
            return exc.status, {"error": exc.message}
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer
            status, message = _classify(exc)
            if status == 500:
                log.exception("API %s %s failed", method, path)
            return status, {"error": message}

    def _dispatch(self, method: str, path: str, body: bytes) -> Any:
        url = urlsplit(path)
        name = url.path.rstrip("/")
        if name == API_PREFIX and method == "GET":
            return self.routes()
        if not name.startswith(API_PREFIX + "/"):
            raise ApiError(404, f"no such resource {url.path!r} (the API is under {API_PREFIX}/)")
        name = name[len(API_PREFIX) + 1 :]
        if method == "GET" and name in self._gets:
            return self._gets[name](parse_qs(url.query))
        if method == "POST" and name in self._posts:
            try:
                data = json.loads(body or b"{}")
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ApiError(400, f"the request body is not JSON: {exc}") from None
            if not isinstance(data, dict):
                raise ApiError(400, "the request body must be a JSON object")
            result = self._posts[name](data)
            if self.on_change is not None:
                self.on_change()
            return result
        if name in self._gets or name in self._posts:
            raise ApiError(405, f"{method} is not allowed on {url.path}")
        known = ", ".join(sorted(self._gets) + sorted(self._posts))
        raise ApiError(404, f"no such resource {name!r} (known: {known})")


def _classify(exc: Exception) -> tuple[int, str]:
    """HTTP status and one-line message for an exception raised by the controller."""
    from .p4rt import P4RuntimeError, SchemaError, SwitchUnavailable

    # by name: the controller's error class must not make this module import the controller
    if isinstance(exc, SwitchUnavailable | ConnectionError | TimeoutError) or any(
        c.__name__ == "ControllerError" for c in type(exc).__mro__
    ):
        return 503, str(exc)
    if isinstance(exc, P4RuntimeError):
        return 502, str(exc)
    if isinstance(exc, ValueError | KeyError | TypeError | SchemaError | LookupError):
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        return 400, str(text)
    return 500, f"internal error: {type(exc).__name__}: {exc} (see the controller's log)"


class _Handler(BaseHTTPRequestHandler):
    server_version = "sluice-controller"
    api: ManagementApi  # set on the subclass ApiServer makes

    def _answer(self, method: str) -> None:
        body = b""
        if method == "POST":
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._send(400, {"error": "bad or too large Content-Length"})
                return
            body = self.rfile.read(length)
        status, payload = self.api.handle(method, self.path, body)
        self._send(status, payload)

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, default=str).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("API %s: %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    allow_reuse_address = True  # a restarted daemon gets its port back at once
    daemon_threads = True


class ApiServer:
    """The management API served over HTTP on a loopback address, in a daemon thread.

    ``address`` "127.0.0.1:0" picks a free port; :attr:`address` tells the one bound.
    """

    def __init__(self, api: ManagementApi, address: str = DEFAULT_API_ADDR) -> None:
        host, port = parse_api_addr(address)
        handler = type("ApiHandler", (_Handler,), {"api": api})
        self._httpd = _HTTPServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> ApiServer:
        """Serve in a background thread; returns ``self``."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="sluice-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the daemon --------------------------------------------------------------------------------


def _setup_logging(level: str) -> None:
    fmt = logging.Formatter(
        "[%(asctime)s.%(msecs)03d] sluice-controller %(levelname)s: %(message)s", "%H:%M:%S"
    )
    root = logging.getLogger("sluice")
    root.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(fmt)
    root.addHandler(handler)
    root.setLevel(_LOG_LEVELS[level])
    root.propagate = False


def _fail(message: str, status: int = 1) -> int:
    print(f"sluice controller: {message}", file=sys.stderr)
    return status


class _Saver:
    """Saves the controller's state, serialised, logging (not raising) failures."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller
        self._lock = threading.Lock()
        self.failed = False

    def __call__(self) -> None:
        with self._lock:
            try:
                self.controller.save_state()
                if self.failed:
                    log.info("state saved again")
                self.failed = False
            except Exception as exc:  # noqa: BLE001 - the daemon keeps running; say why once
                if not self.failed:
                    log.error("cannot save state: %s", exc)
                self.failed = True


def _load_inputs(args: argparse.Namespace) -> tuple[Any, Any]:
    from .policy import Policy, load_policy
    from .topology import load_topology

    topo = load_topology(args.topo)
    policy = load_policy(args.policy) if args.policy else Policy.default()
    return topo, policy


def run_controller(args: argparse.Namespace) -> int:
    """``sluice controller``: run until SIGINT/SIGTERM; 0 on a clean stop."""
    _setup_logging(args.log_level)
    for path, what in ((args.topo, "topology"), (args.policy, "policy")):
        if path and not os.path.isfile(path):
            return _fail(f"{path}: no such {what} file", 2)
    try:
        api_host, api_port = parse_api_addr(args.api_addr)
    except ValueError as exc:
        return _fail(f"--api-addr: {exc}", 2)
    try:
        topo, policy = _load_inputs(args)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _fail(str(exc), 2)
    state_dir = args.state_dir or default_state_dir(args.topo)
    try:
        os.makedirs(state_dir, exist_ok=True)
    except OSError as exc:
        return _fail(f"--state-dir {state_dir}: {exc.strerror or exc}", 2)

    from .controller import Controller

    controller = Controller(
        topo,
        policy,
        state_dir,
        stats_period_s=args.stats_period,
        connect_timeout_s=args.connect_timeout,
    )
    saver = _Saver(controller)
    try:
        # bind first: a port in use fails before any switch is touched
        server = ApiServer(ManagementApi(controller, on_change=saver), f"{api_host}:{api_port}")
    except OSError as exc:
        return _fail(f"cannot listen on {args.api_addr}: {exc.strerror or exc}")
    stop = threading.Event()
    _install_signal_handlers(stop)
    t0 = time.monotonic()
    started = False
    try:
        log.info("state directory %s", state_dir)
        if topo.p4info is None:
            log.info("compiling %s...", topo.program or "p4src/sluice.p4")
        for spec in topo.switches.values():
            log.info("connecting to %s (%s)...", spec.name, spec.p4runtime)
        try:
            controller.start()
            started = True
        except Exception as exc:  # noqa: BLE001 - an unreachable switch is a message, not a trace
            status, message = _classify(exc)
            if status == 500:
                log.exception("controller failed to start")
            return _fail(f"cannot start: {message}")
        server.start()
        log.info(
            "controller ready in %.0f ms; management API on %s",
            (time.monotonic() - t0) * 1000,
            server.address,
        )
        while not stop.wait(0.5):
            pass
        log.info("stopping")
        return 0
    finally:
        server.stop()
        if started:
            try:
                controller.stop()  # saves the state one last time
            except Exception:  # noqa: BLE001 - stopping must finish
                log.exception("error while stopping the controller")


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, handler)


def add_controller_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``sluice controller`` to the ``sluice`` sub-command parsers."""
    p = subparsers.add_parser(
        "controller",
        help="run the controller (queue allocator, memory guard, router) against the switches",
        description="Run the Sluice controller against the switches of a topology file: routing, "
        "queue allocation by policy, memory guard and statistics. Desired state is kept in the "
        "state directory so a restart loses nothing; 'sluice ctl' talks to the management API.",
    )
    p.add_argument("--topo", required=True, metavar="FILE", help="topology file (TOML)")
    p.add_argument("--policy", metavar="FILE", help="queue policy file (TOML)")
    p.add_argument(
        "--state-dir",
        metavar="DIR",
        help="where desired state is kept (default $XDG_STATE_HOME/sluice/<topology name>)",
    )
    p.add_argument(
        "--api-addr",
        default=DEFAULT_API_ADDR,
        metavar="HOST:PORT",
        help=f"management API address, loopback only (default {DEFAULT_API_ADDR})",
    )
    p.add_argument(
        "--stats-period", type=float, default=1.0, metavar="S", help="statistics period (1 s)"
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds to wait for each switch at start (5)",
    )
    p.add_argument(
        "-L", "--log-level", default="info", choices=list(_LOG_LEVELS), help="log level (info)"
    )
    p.set_defaults(func=run_controller)

"""The admin interface's transport: a JSON-lines TCP server and its client."""

from __future__ import annotations

import json
import logging
import socket
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

from ..runtime import SwitchRuntime
from .base import AdminError
from .commands import AdminCommands

log = logging.getLogger("sluice.switch")

DEFAULT_ADMIN_ADDR = "127.0.0.1:9090"
MAX_LINE = 1 << 20


def parse_address(addr: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``host:port`` (or just ``port``) as a ``(host, port)`` pair."""
    host, sep, port = addr.rpartition(":")
    if not sep:
        host, port = default_host, addr
    host = host.strip("[]") or default_host
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bad address {addr!r}: expected HOST:PORT")
    return host, int(port)


class _Handler(socketserver.StreamRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        for raw in self._lines():
            try:
                req = json.loads(raw)
                if not isinstance(req, dict) or not isinstance(req.get("command"), str):
                    raise ValueError('expected {"command": NAME, "args": [...]}')
                args = req.get("args") or []
                if not isinstance(args, list):
                    raise ValueError("args must be a list")
                resp = self.server.commands.run(req["command"], args)
            except ValueError as exc:
                resp = {"ok": False, "error": f"bad request: {exc}"}
            try:
                self.wfile.write(json.dumps(resp).encode() + b"\n")
                self.wfile.flush()
            except OSError:
                return

    def _lines(self) -> Iterator[bytes]:
        while True:
            try:
                line = self.rfile.readline(MAX_LINE)
            except OSError:
                return
            if not line:
                return
            if line.strip():
                yield line


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    commands: AdminCommands


class AdminServer:
    """The admin interface on ``address`` (``host:port``; port 0 picks a free one)."""

    def __init__(self, runtime: SwitchRuntime, address: str = DEFAULT_ADMIN_ADDR) -> None:
        host, port = parse_address(address)
        try:
            self._server = _TCPServer((host, port), _Handler)
        except OSError as exc:
            raise OSError(f"cannot bind the admin interface to {address}: {exc.strerror}") from None
        self._server.commands = AdminCommands(runtime)
        self.address = self._server.server_address[:2]
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.address[1])

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sluice-admin",
            daemon=True,
        )
        self._thread.start()
        log.info("admin interface listening on %s:%d", *self.address)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()


class AdminClient:
    """A connection to an :class:`AdminServer`: :meth:`call` sends one command."""

    def __init__(self, address: str = DEFAULT_ADMIN_ADDR, timeout: float = 10.0) -> None:
        host, port = parse_address(address)
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise AdminError(
                f"cannot reach the switch's admin interface at {host}:{port}: "
                f"{exc.strerror or exc} (is 'sluice switch' running?)"
            ) from None
        self._file = self._sock.makefile("rwb")

    def call(self, command: str, *args: Any) -> dict[str, Any]:
        """Send a command; the response object (``ok``, ``output``/``result`` or ``error``)."""
        req = {"command": command, "args": [str(a) for a in args]}
        try:
            self._file.write(json.dumps(req).encode() + b"\n")
            self._file.flush()
            line = self._file.readline()
        except OSError as exc:
            raise AdminError(f"admin connection failed: {exc}") from None
        if not line:
            raise AdminError("the switch closed the admin connection")
        return json.loads(line)

    def close(self) -> None:
        """Close the connection."""
        try:
            self._file.close()
        finally:
            self._sock.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Target-specific set-up that P4Runtime does not cover: queue rates and depths, port rates.

One small interface, :class:`TargetDriver`, with one driver per target:

- :class:`SoftswitchDriver`: the embedded target's admin interface (line-delimited JSON on
  127.0.0.1:9090, see ``softswitch.admin``).
- :class:`Bmv2Driver`: ``simple_switch_CLI --thrift-port N`` (queue rates and depths only;
  the rest raises :class:`NotSupported`).

Queue ids are BMv2's priority queues (``qid`` 0 is the lowest priority). ``qid=None`` applies a
setting to every queue of the port.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from abc import ABC, abstractmethod
from typing import Any

__all__ = [
    "Bmv2Driver",
    "DriverError",
    "NotSupported",
    "SoftswitchDriver",
    "TargetDriver",
    "make_driver",
]


class DriverError(RuntimeError):
    """A target set-up command failed; the message says why."""


class NotSupported(DriverError):
    """The target cannot do this."""


class TargetDriver(ABC):
    """Target-specific set-up of one switch."""

    name = "target"

    @abstractmethod
    def set_queue_rate(self, port: int, qid: int | None, pps: int) -> None:
        """Drain rate of a queue in packets per second (0: unlimited)."""

    @abstractmethod
    def set_queue_depth(self, port: int, qid: int | None, pkts: int) -> None:
        """Capacity of a queue in packets."""

    def set_port_rate(self, port: int, bps: int) -> None:
        """Line rate of a port in bits per second (0: unlimited)."""
        raise NotSupported(f"{self.name}: port rates are not supported")

    def pause(self, port: int, qid: int) -> None:
        """Hold a queue (it keeps its packets)."""
        raise NotSupported(f"{self.name}: pausing queues is not supported")

    def resume(self, port: int, qid: int) -> None:
        """Release a paused queue."""
        raise NotSupported(f"{self.name}: pausing queues is not supported")

    def queue_stats(self, port: int | None = None) -> list[dict[str, Any]]:
        """Per-queue counters (port, priority, enqueued, dequeued, dropped, depth, ...)."""
        raise NotSupported(f"{self.name}: queue statistics are not supported")

    def close(self) -> None:  # noqa: B027 - optional: most drivers hold nothing
        """Release the connection, if any."""

    def __enter__(self) -> TargetDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SoftswitchDriver(TargetDriver):
    """The embedded target's admin interface at ``address`` (``host:port``)."""

    name = "softswitch"

    def __init__(self, address: str = "127.0.0.1:9090", timeout: float = 10.0) -> None:
        # imported here so that ``import controlplane.p4rt`` does not load the switch
        from softswitch.admin import AdminClient, AdminError

        self.address = address
        self._error = AdminError
        try:
            self._client = AdminClient(address, timeout=timeout)
        except AdminError as exc:
            raise DriverError(str(exc)) from None
        self._lock = threading.Lock()

    def call(self, command: str, *args: Any) -> Any:
        """Run one admin command; its ``result`` (``DriverError`` with the switch's message)."""
        with self._lock:
            try:
                resp = self._client.call(command, *args)
            except self._error as exc:
                raise DriverError(f"{self.address}: {exc}") from None
        if not resp.get("ok"):
            raise DriverError(f"{self.address}: {command}: {resp.get('error', 'failed')}")
        return resp.get("result")

    def _queue(self, command: str, value: int, port: int, qid: int | None) -> None:
        args: list[Any] = [value, port]
        if qid is not None:
            args.append(qid)
        self.call(command, *args)

    def set_queue_rate(self, port: int, qid: int | None, pps: int) -> None:
        """``set_queue_rate <pps> <port> [<qid>]``."""
        self._queue("set_queue_rate", pps, port, qid)

    def set_queue_depth(self, port: int, qid: int | None, pkts: int) -> None:
        """``set_queue_depth <pkts> <port> [<qid>]``."""
        self._queue("set_queue_depth", pkts, port, qid)

    def set_port_rate(self, port: int, bps: int) -> None:
        """``set_port_rate <bps> <port>``."""
        self.call("set_port_rate", bps, port)

    def pause(self, port: int, qid: int) -> None:
        """``queue_pause <port> <qid>``."""
        self.call("queue_pause", port, qid)

    def resume(self, port: int, qid: int) -> None:
        """``queue_resume <port> <qid>``."""
        self.call("queue_resume", port, qid)

    def queue_stats(self, port: int | None = None) -> list[dict[str, Any]]:
        """``tm_stats [<port>]``."""
        return list(self.call("tm_stats", *([] if port is None else [port])) or [])

    def close(self) -> None:
        """Close the admin connection."""
        self._client.close()


class Bmv2Driver(TargetDriver):
    """BMv2 through ``simple_switch_CLI --thrift-port <thrift_port>`` (one process per call).

    ``cli``: the tool's name or path; a :class:`DriverError` says so when it is not found.
    """

    name = "bmv2"

    def __init__(
        self,
        thrift_port: int = 9090,
        *,
        cli: str = "simple_switch_CLI",
        thrift_ip: str = "127.0.0.1",
        timeout: float = 30.0,
    ) -> None:
        path = shutil.which(cli)
        if path is None:
            raise DriverError(
                f"{cli} not found on PATH: install BMv2 (behavioral-model) or use the "
                "softswitch driver"
            )
        self.cli = path
        self.thrift_port = thrift_port
        self.thrift_ip = thrift_ip
        self.timeout = timeout

    def run(self, *commands: str) -> str:
        """Run CLI commands (one per line); the tool's output. ``DriverError`` when it fails
        or prints an error."""
        argv = [self.cli, "--thrift-port", str(self.thrift_port), "--thrift-ip", self.thrift_ip]
        try:
            proc = subprocess.run(
                argv,
                input="\n".join(commands) + "\n",
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DriverError(f"{self.cli}: {exc}") from None
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or _cli_failed(out):
            detail = out.strip().splitlines()[-1] if out.strip() else f"exit {proc.returncode}"
            raise DriverError(
                f"simple_switch_CLI (thrift port {self.thrift_port}): "
                f"{'; '.join(commands)}: {detail}"
            )
        return out

    def _queue(self, command: str, value: int, port: int, qid: int | None) -> None:
        args = [command, str(value), str(port)] + ([] if qid is None else [str(qid)])
        self.run(" ".join(args))

    def set_queue_rate(self, port: int, qid: int | None, pps: int) -> None:
        """``set_queue_rate <pps> <port> [<qid>]`` (qid needs BMv2 built with priority
        queues)."""
        self._queue("set_queue_rate", pps, port, qid)

    def set_queue_depth(self, port: int, qid: int | None, pkts: int) -> None:
        """``set_queue_depth <pkts> <port> [<qid>]``."""
        self._queue("set_queue_depth", pkts, port, qid)


def _cli_failed(output: str) -> bool:
    markers = ("Error:", "Invalid", "error:", "Could not connect", "Traceback")
    return any(m in output for m in markers)


def make_driver(target: str, **options: Any) -> TargetDriver:
    """The driver for ``target`` (``softswitch`` or ``bmv2``) with its options."""
    if target in ("softswitch", "sluice"):
        return SoftswitchDriver(**options)
    if target in ("bmv2", "simple_switch", "simple_switch_grpc"):
        return Bmv2Driver(**options)
    raise ValueError(f"unknown target {target!r}: softswitch or bmv2")

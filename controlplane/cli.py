"""``sluice controller`` and ``sluice ctl``: the daemon and its command-line client.

``add_controller_commands(subparsers)`` adds both to the ``sluice`` parser (registered lazily in
``softswitch/cli.py``). ``sluice ctl`` speaks the daemon's management API
(:mod:`controlplane.daemon`): human tables by default, ``--json`` for scripts, a clear message
and a non-zero exit for bad input or an unreachable daemon, never a traceback.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any, TextIO

__all__ = [
    "ApiClient",
    "CtlError",
    "InputError",
    "add_controller_commands",
    "format_table",
    "parse_client",
    "parse_perms",
    "parse_region",
    "parse_server",
    "run_ctl",
]

DEFAULT_API_ADDR = "127.0.0.1:9191"  # the daemon's; repeated so 'sluice ctl' imports nothing else
PERM_BITS = {"r": 0x01, "w": 0x02, "o": 0x04}
CLEAR_SCREEN = "\x1b[H\x1b[2J"


class CtlError(Exception):
    """A failure ``sluice ctl`` reports in one line and exits with ``status`` on (1: the
    controller failed or is unreachable, 2: bad input)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class InputError(CtlError):
    """Bad input on the command line (exit status 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 2)


# -- input ------------------------------------------------------------------------------------


def parse_client(text: str) -> str:
    """A memory client: one IPv6 address (``2001:db8::1``); grants are per client."""
    if "/" in text:
        raise InputError(f"client {text!r}: give one IPv6 address, not a prefix (grants are "
                         "per client)")
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError as exc:
        raise InputError(f"malformed client address {text!r}: {exc}") from None


def parse_server(text: str) -> int | str:
    """A memory server: its ``subid`` (16 bits, decimal or 0x...) or its name in the topology."""
    try:
        value = int(text, 0)
    except ValueError:
        if text and (text[0].isalpha() or text[0] == "_"):
            return text  # a name: the controller resolves it
        raise InputError(f"malformed server {text!r}: a subid (0..0xffff) or a server name") from None
    if not 0 <= value <= 0xFFFF:
        raise InputError(f"server subid {text} does not fit in 16 bits (0..0xffff)")
    return value


def _addr64(text: str, what: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise InputError(f"malformed {what} {text!r}: a number (decimal or 0x...)") from None
    if not 0 <= value < 1 << 64:
        raise InputError(f"{what} {text} does not fit in 64 bits")
    return value


def parse_region(text: str) -> list[int]:
    """A region of remote memory: ``LO-HI`` (inclusive) or ``START+LENGTH``; ``[lo, hi]``."""
    if "+" in text:
        start_text, _, len_text = text.partition("+")
        start = _addr64(start_text, "region start")
        length = _addr64(len_text, "region length")
        if length == 0:
            raise InputError(f"region {text!r} is empty")
        lo, hi = start, start + length - 1
    elif "-" in text:
        lo_text, _, hi_text = text.partition("-")
        lo, hi = _addr64(lo_text, "region start"), _addr64(hi_text, "region end")
    else:
        raise InputError(f"malformed region {text!r}: LO-HI (inclusive) or START+LENGTH")
    if hi >= 1 << 64:
        raise InputError(f"region {text!r} runs past the 64-bit address space")
    if lo > hi:
        raise InputError(f"region {text!r} ends before it starts")
    return [lo, hi]


def parse_perms(text: str) -> str:
    """Permissions as the controller names them: ``r``, ``w``, ``rw`` or ``owner`` (owner
    includes read and write; ``o``, ``rwo`` and the like mean owner too)."""
    letters = text.lower()
    if letters == "owner":
        return "owner"
    bad = sorted(set(letters) - set(PERM_BITS))
    if not letters or bad:
        raise InputError(
            f"malformed permissions {text!r}: r (read), w (write), rw, or owner (o)"
        )
    if "o" in letters:
        return "owner"
    return "".join(c for c in "rw" if c in letters)


# -- the API client ---------------------------------------------------------------------------


class ApiClient:
    """Calls the daemon's management API at ``address`` (``HOST:PORT``).

    ``progress``: a stream where a line appears when a call takes more than ``slow_s`` (the
    controller may be waiting for a switch).
    """

    def __init__(
        self,
        address: str = DEFAULT_API_ADDR,
        timeout: float = 10.0,
        progress: TextIO | None = None,
        slow_s: float = 1.0,
    ) -> None:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise InputError(f"malformed API address {address!r}: expected HOST:PORT")
        self.address = address
        self.base = f"http://{address}/v1/"
        self.timeout = timeout
        self.progress = progress
        self.slow_s = slow_s
        # the API is on this machine: an http_proxy from the environment must not apply
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(self, resource: str, **query: Any) -> Any:
        """``GET /v1/<resource>?query`` → the result."""
        qs = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
        return self._call(urllib.request.Request(self.base + resource + (f"?{qs}" if qs else "")))

    def post(self, resource: str, body: dict[str, Any]) -> Any:
        """``POST /v1/<resource>`` with a JSON body → the result."""
        req = urllib.request.Request(
            self.base + resource,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        return self._call(req)

    def _call(self, req: urllib.request.Request) -> Any:
        timer = None
        if self.progress is not None:
            what = req.full_url.split("/v1/", 1)[1].split("?", 1)[0]
            timer = threading.Timer(
                self.slow_s,
                lambda: print(f"waiting for the controller ({what})...", file=self.progress),
            )
            timer.daemon = True
            timer.start()
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                payload = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error") or exc.reason
            except (ValueError, AttributeError):
                message = exc.reason
            # 400: the controller found the input wrong (an unknown server, say)
            raise CtlError(str(message), 2 if exc.code == 400 else 1) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CtlError(
                f"cannot reach the controller at {self.address}: {reason} "
                "(is 'sluice controller' running? see --api-addr)"
            ) from None
        except ValueError as exc:
            raise CtlError(f"the controller at {self.address} sent a bad answer: {exc}") from None
        finally:
            if timer is not None:
                timer.cancel()
        if not isinstance(payload, dict) or "result" not in payload:
            raise CtlError(f"the controller at {self.address} sent a bad answer")
        return payload["result"]


# -- output -----------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ",".join(_cell(v) for v in value) if value else "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={_cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def format_table(
    rows: list[dict[str, Any]], columns: Iterable[str] = (), last: Iterable[str] = ("reason",),
    only: bool = False,
) -> str:
    """Rows as an aligned text table. ``columns``: the preferred ones, in order (those no row
    has are left out); other keys follow (none with ``only``), then those of ``last`` (long
    text reads best at the end of a line). Numbers are right-aligned."""
    if not rows:
        return "(none)"
    seen: list[str] = []
    for row in rows:
        for key in row:
            if key not in seen:
                seen.append(key)
    tail = [c for c in last if c in seen]
    preferred = [c for c in columns if c in seen and c not in tail]
    rest = [] if only else [c for c in seen if c not in preferred and c not in tail]
    cols = preferred + rest + tail
    cells = [[_cell(row.get(c)) for c in cols] for row in rows]
    numeric = [
        all(isinstance(row.get(c), int | float) and not isinstance(row.get(c), bool)
            for row in rows if row.get(c) is not None)
        for c in cols
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line([c.upper() for c in cols]), *(line(r) for r in cells)])


def _format_status(status: dict[str, Any]) -> str:
    lines = []
    tables = []
    for key, value in status.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append((key, value))
        elif isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            tables.append((key, [{"name": k, **v} for k, v in value.items()]))
        else:
            lines.append(f"{key + ':':<14} {_cell(value)}")
    for key, rows in tables:
        lines += ["", f"{key}:", format_table(rows, SWITCH_COLUMNS, only=key == "switches")]
    return "\n".join(lines)


FLOW_COLUMNS = (
    "switch", "flow", "port", "queue", "class", "slot", "weight", "occ_pkts", "occ_bytes",
    "cap_drops", "age_s", "reason",
)
SWITCH_COLUMNS = ("name", "address", "target", "connected", "primary", "reconnects", "syncs",
                  "flows")
QUEUE_COLUMNS = ("switch", "port", "queue", "class", "flows", "weight", "depth")
GRANT_COLUMNS = ("client", "server", "subid", "region", "perms", "origin", "age_s")
VIOLATION_COLUMNS = ("time", "switch", "client", "subid", "cmd", "paddr", "reason", "ingress_port")
_PROTOCOLS = {6: "tcp", 17: "udp"}


def _human(view: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row as a person reads it: a flow's 5-tuple on one line, hex for memory addresses,
    clock times and ages; ``--json`` keeps the API's values."""
    r = dict(row)
    if {"src", "dst", "sport", "dport"} <= r.keys():
        proto = _PROTOCOLS.get(r.pop("protocol", None), "ip")
        src, dst = r.pop("src"), r.pop("dst")
        if r.pop("ip_version", 4) == 6:
            src, dst = f"[{src}]", f"[{dst}]"
        r["flow"] = f"{proto} {src}:{r.pop('sport')} > {dst}:{r.pop('dport')}"
    if "region_text" in r:
        r["region"] = r.pop("region_text")
    if isinstance(r.get("created"), int | float):
        r["age_s"] = time.time() - r.pop("created")
    if isinstance(r.get("age_s"), int | float):
        r["age_s"] = round(r["age_s"], 1)
    for long, short in (("occupancy_packets", "occ_pkts"), ("occupancy_bytes", "occ_bytes")):
        if long in r:
            r[short] = r.pop(long)
    if view == "violations" and isinstance(r.get("time"), int | float):
        r["time"] = time.strftime("%H:%M:%S", time.localtime(r["time"]))
    for key in ("subid", "paddr"):
        if isinstance(r.get(key), int) and not isinstance(r.get(key), bool):
            r[key] = f"{r[key]:#x}"
    return r

_VIEWS = {
    "flows": FLOW_COLUMNS,
    "queues": QUEUE_COLUMNS,
    "grants": GRANT_COLUMNS,
    "violations": VIOLATION_COLUMNS,
}


def _show(result: Any, view: str, as_json: bool, out: TextIO) -> None:
    if as_json:
        json.dump(result, out, indent=2, default=str)
        out.write("\n")
    elif view == "status" and isinstance(result, dict):
        print(_format_status(result), file=out)
    elif isinstance(result, list):
        rows = [_human(view, r) if isinstance(r, dict) else {"value": r} for r in result]
        print(format_table(rows, _VIEWS.get(view, ())), file=out)
    elif isinstance(result, dict):
        print(format_table([_human(view, result)], _VIEWS.get(view, ())), file=out)
    else:
        print(_cell(result), file=out)


# -- commands ---------------------------------------------------------------------------------


def _cmd_simple(client: ApiClient, args: argparse.Namespace, out: TextIO) -> int:
    query = {"limit": args.limit} if args.ctl_command == "violations" else {}
    _show(client.get(args.ctl_command, **query), args.ctl_command, args.json, out)
    return 0


def _cmd_grant(client: ApiClient, args: argparse.Namespace, out: TextIO) -> int:
    body = {
        "client": parse_client(args.client),
        "server": parse_server(args.server),
        "region": parse_region(args.region),
        "perms": parse_perms(args.perms),
    }
    _show(client.post("grant", body), "grants", args.json, out)
    return 0


def _cmd_revoke(client: ApiClient, args: argparse.Namespace, out: TextIO) -> int:
    body = {
        "client": parse_client(args.client),
        "server": parse_server(args.server),
        "region": parse_region(args.region),
    }
    _show(client.post("revoke", body), "grants", args.json, out)
    return 0


def _cmd_watch(client: ApiClient, args: argparse.Namespace, out: TextIO) -> int:
    clear = not args.no_clear and out.isatty()
    n = 0
    try:
        while args.count is None or n < args.count:
            t0 = time.monotonic()
            try:
                queues, flows = client.get("queues"), client.get("flows")
                error = None
            except CtlError as exc:
                if n == 0:
                    raise
                queues, flows, error = [], [], str(exc)
            n += 1
            if args.json:
                json.dump({"time": time.time(), "queues": queues, "flows": flows}, out,
                          default=str)
                out.write("\n")
            else:
                if clear:
                    out.write(CLEAR_SCREEN)
                stamp = time.strftime("%H:%M:%S")
                print(f"sluice ctl watch  {client.address}  {stamp}  (Ctrl-C stops)", file=out)
                if error:
                    print(f"\n{error}; retrying", file=out)
                else:
                    busy = [q for q in queues if q.get("flows") or q.get("depth")]
                    print(f"\nqueues ({len(busy)} of {len(queues)} carry flows)", file=out)
                    print(format_table([_human("queues", q) for q in busy], QUEUE_COLUMNS),
                          file=out)
                    print(f"\nflows ({len(flows)})", file=out)
                    print(format_table([_human("flows", f) for f in flows], FLOW_COLUMNS),
                          file=out)
            out.flush()
            if args.count is not None and n >= args.count:
                break
            time.sleep(max(0.0, args.interval - (time.monotonic() - t0)))
    except KeyboardInterrupt:
        print(file=out)
    return 0


_COMMANDS = {
    "status": _cmd_simple,
    "flows": _cmd_simple,
    "queues": _cmd_simple,
    "grants": _cmd_simple,
    "violations": _cmd_simple,
    "grant": _cmd_grant,
    "revoke": _cmd_revoke,
    "watch": _cmd_watch,
}


def run_ctl(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """``sluice ctl``: 0 on success, 1 on a failure (one line on stderr), 2 on bad input."""
    out = out or sys.stdout
    args.json = getattr(args, "json", False)
    address = getattr(args, "api_addr", None) or os.environ.get("SLUICE_API_ADDR", DEFAULT_API_ADDR)
    try:
        client = ApiClient(address, timeout=getattr(args, "timeout", 10.0), progress=sys.stderr)
        return _COMMANDS[args.ctl_command](client, args, out)
    except CtlError as exc:
        print(f"sluice ctl {args.ctl_command}: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # `sluice ctl flows | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _common(json_too: bool = True) -> argparse.ArgumentParser:
    """Options every ``ctl`` command accepts, before or after its name."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--api-addr",
        default=argparse.SUPPRESS,
        metavar="HOST:PORT",
        help=f"the controller's management API (default $SLUICE_API_ADDR or {DEFAULT_API_ADDR})",
    )
    p.add_argument("--timeout", type=float, default=argparse.SUPPRESS, metavar="S",
                   help="seconds to wait for an answer (10)")
    if json_too:
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                       help="print JSON for scripts instead of tables")
    return p


def add_controller_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``controller`` (the daemon) and ``ctl`` (its client) to the ``sluice`` parser."""
    from .daemon import add_controller_parser

    add_controller_parser(subparsers)

    common = _common()
    ctl = subparsers.add_parser(
        "ctl",
        parents=[common],
        help="inspect and change a running controller (flows, queues, grants, violations)",
        description="Talk to a running 'sluice controller' through its management API: show "
        "flows (with each flow's class, queue and the reason), queues, grants and violations, "
        "grant and revoke memory access, or watch queues and flows live.",
    )
    # no set_defaults for the common options: it would change the shared actions' defaults,
    # and a command's own parser would then overwrite what was given before its name
    ctl.set_defaults(func=run_ctl)
    sub = ctl.add_subparsers(dest="ctl_command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("status", parents=[common], help="switches, connections and counts")
    sub.add_parser("flows", parents=[common], help="flows: class, queue and why")
    sub.add_parser("queues", parents=[common], help="queues per port: class, flows, depth")
    sub.add_parser("grants", parents=[common], help="memory grants")
    v = sub.add_parser("violations", parents=[common], help="refused memory accesses")
    v.add_argument("--limit", type=int, default=100, metavar="N", help="the last N (100)")
    g = sub.add_parser(
        "grant",
        parents=[common],
        help="grant CLIENT access to REGION of SERVER",
        description="Grant CLIENT (an IPv6 address) PERMS on REGION of SERVER: r (read), w "
        "(write), rw, or owner (read, write and FREE).",
    )
    r = sub.add_parser(
        "revoke",
        parents=[common],
        help="revoke CLIENT's grant on REGION of SERVER",
        description="Revoke the grant of CLIENT on REGION of SERVER.",
    )
    for p in (g, r):
        p.add_argument("client", metavar="CLIENT", help="the client's IPv6 address (2001:db8::1)")
        p.add_argument("server", metavar="SERVER", help="memory server: subid (0x2001) or name")
        p.add_argument("region", metavar="REGION", help="LO-HI (inclusive) or START+LENGTH")
    g.add_argument("perms", metavar="PERMS", help="r, w, rw or owner")
    w = sub.add_parser("watch", parents=[common], help="live view of queues and flows")
    w.add_argument("--interval", type=float, default=1.0, metavar="S", help="refresh period (1 s)")
    w.add_argument("--count", type=int, default=None, metavar="N", help="stop after N refreshes")
    w.add_argument("--no-clear", action="store_true", help="do not clear the screen")

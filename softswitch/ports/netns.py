"""veth pairs and network namespaces for tests and ``make ptf`` (root, iproute2's ``ip``).

The shell twin of this module is ``tools/veth.sh``; both make the same interfaces:
``veth0..veth(2N-1)`` as pairs ``veth0<->veth1``, ``veth2<->veth3``, ... (the switch takes the
even ends, PTF the odd ones, as p4lang's PTF set-ups expect), each up, MTU 9500, with IPv6 off
(no duplicate address detection, router solicitations or MLD reports to disturb a test) and the
offloads that make a packet socket see frames other than those on the wire turned off (checksum,
segmentation, receive coalescing, VLAN insertion and stripping) when ``ethtool`` is installed.

Safety: code that creates interfaces for a test does so in a namespace it created, with
:func:`temporary_netns`, which deletes the namespace and every link in it on exit, even on
failure. Functions given no ``netns`` act on the caller's namespace (the host, for
``make ptf``); :func:`veth_down` then removes only veth-type links named as
:func:`veth_up` names them.

Running code inside a namespace: :func:`run_in_netns` runs a function in a short-lived thread
that first joins the namespace (``setns(2)`` on ``/var/run/netns/NAME``: ``os.setns`` on Python
3.12+, libc through :mod:`ctypes` before). Network namespaces belong to a thread, not to the
process, so the rest of the process is unaffected and the thread's membership ends with it.
Sockets, and so :class:`~softswitch.ports.rawsock.RawSocketPort`, stay in the namespace they
were created in: open them through :func:`run_in_netns` and use them from any thread. A
subprocess is started inside with :func:`exec_argv` (``ip netns exec``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "Netns",
    "NetnsError",
    "ToolMissing",
    "configure_interface",
    "create_netns",
    "create_veth_pair",
    "delete_netns",
    "exec_argv",
    "ip",
    "list_links",
    "list_netns",
    "netns_exists",
    "require_ip",
    "run_in_netns",
    "temporary_netns",
    "veth_down",
    "veth_names",
    "veth_up",
]

T = TypeVar("T")

NETNS_DIR = Path("/var/run/netns")
CLONE_NEWNET = 0x40000000
DEFAULT_MTU = 9500
VETH_PREFIX = "veth"
# Offloads that change what a packet socket sees compared with the wire (p4lang's veth_setup.sh
# turns off the same set).
OFFLOADS = ("rx", "tx", "sg", "tso", "gso", "gro", "lro", "rxvlan", "txvlan")
IPV6_SYSCTLS = (
    ("accept_dad", "0"),
    ("dad_transmits", "0"),
    ("router_solicitations", "0"),
    ("disable_ipv6", "1"),
)
_NAME_OK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class NetnsError(RuntimeError):
    """An ``ip`` command or a namespace operation failed; the message holds ``ip``'s words."""


class ToolMissing(NetnsError):
    """A required command is not installed."""


def require_ip() -> str:
    """The path of iproute2's ``ip``, or :class:`ToolMissing` saying how to get it."""
    path = shutil.which("ip")
    if path is None:
        raise ToolMissing(
            "iproute2's 'ip' command is not installed (on Debian: apt-get install iproute2)"
        )
    return path


def _check_name(name: str) -> str:
    if not _NAME_OK.match(name):
        raise ValueError(f"bad namespace or interface name {name!r}")
    return name


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run ``ip [-n NETNS] ARGS...`` and return its output; :class:`NetnsError` on failure."""
    argv = [require_ip()]
    if netns is not None:
        argv += ["-n", _check_name(netns)]
    argv += list(args)
    proc = subprocess.run(argv, capture_output=True, text=True)
    if check and proc.returncode != 0:
        msg = proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}"
        if "Operation not permitted" in msg:
            msg += " (needs root)"
        raise NetnsError(f"'{' '.join(argv[1:])}' failed: {msg}")
    return proc.stdout


# -- namespaces ------------------------------------------------------------------------------


def list_netns() -> list[str]:
    """Names of the named network namespaces (``ip netns list``)."""
    out = ip("netns", "list")
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_exists(name: str) -> bool:
    """Whether namespace ``name`` exists."""
    return (NETNS_DIR / _check_name(name)).exists()


def create_netns(name: str) -> None:
    """Create network namespace ``name`` and bring its loopback up."""
    ip("netns", "add", _check_name(name))
    ip("link", "set", "lo", "up", netns=name)


def delete_netns(name: str) -> None:
    """Delete every link in namespace ``name``, then the namespace; absent is fine.

    Links are deleted first because a namespace outlives ``ip netns del`` while any socket or
    process still holds it; its veths would live on with it.
    """
    if not netns_exists(name):
        return
    for link in list_links(netns=name):
        if link != "lo":
            ip("link", "del", "dev", link, netns=name, check=False)
    ip("netns", "del", name)


def exec_argv(netns: str, argv: list[str]) -> list[str]:
    """The command line that runs ``argv`` inside ``netns`` (for :mod:`subprocess`)."""
    return [require_ip(), "netns", "exec", _check_name(netns), *argv]


_libc: Any = None


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def run_in_netns(netns: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)`` inside namespace ``netns`` and return (or raise) its result.

    The call runs in a new thread that joins the namespace first; the caller waits for it.
    """
    path = NETNS_DIR / _check_name(netns)
    if not path.exists():
        raise NetnsError(f"network namespace {netns!r} does not exist")
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
        except OSError as e:
            hint = " (needs root)" if e.errno == 1 else ""
            box["error"] = NetnsError(f"cannot enter network namespace {netns!r}: {e}{hint}")
            return
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    thread = threading.Thread(target=target, name=f"netns-{netns}", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


# -- links -----------------------------------------------------------------------------------


def list_links(*, netns: str | None = None, kind: str | None = None) -> list[str]:
    """Names of the links in ``netns`` (or here), optionally only those of type ``kind``."""
    args = ["-o", "link", "show"] + (["type", kind] if kind else [])
    names = []
    for line in ip(*args, netns=netns).splitlines():
        # "3: veth0@veth1: <BROADCAST,...> mtu ..." -> veth0
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@", 1)[0])
    return names


def _write_sysctl(path: Path, value: str) -> None:
    with contextlib.suppress(FileNotFoundError, PermissionError):
        path.write_text(value)


def _ipv6_quiet(ifname: str) -> None:
    conf = Path("/proc/sys/net/ipv6/conf") / ifname
    if conf.is_dir():  # no IPv6 in this kernel: nothing to quiet
        for key, value in IPV6_SYSCTLS:
            _write_sysctl(conf / key, value)


def _offloads_off(ifname: str, netns: str | None) -> bool:
    ethtool = shutil.which("ethtool")
    if ethtool is None:
        return False
    base = [ethtool, "-K", ifname]
    argv = exec_argv(netns, base) if netns else base
    off = [x for feature in OFFLOADS for x in (feature, "off")]
    proc = subprocess.run(argv + off, capture_output=True)
    if proc.returncode != 0:  # some ethtool versions stop at a fixed feature: go one by one
        for feature in OFFLOADS:
            subprocess.run(argv + [feature, "off"], capture_output=True)
    return True


def configure_interface(ifname: str, *, netns: str | None = None, mtu: int = DEFAULT_MTU) -> None:
    """MTU, IPv6 quiet, offloads off (when ``ethtool`` exists), then link up."""
    ip("link", "set", "dev", _check_name(ifname), "mtu", str(mtu), netns=netns)
    if netns is None:
        _ipv6_quiet(ifname)
    else:
        run_in_netns(netns, _ipv6_quiet, ifname)
    _offloads_off(ifname, netns)
    ip("link", "set", "dev", ifname, "up", netns=netns)


def create_veth_pair(
    a: str, b: str, *, netns: str | None = None, mtu: int = DEFAULT_MTU
) -> tuple[str, str]:
    """Create veth pair ``a<->b`` in ``netns`` (or here), configured and up; returns the names."""
    ip(
        "link",
        "add",
        "name",
        _check_name(a),
        "type",
        "veth",
        "peer",
        "name",
        _check_name(b),
        netns=netns,
    )
    for name in (a, b):
        configure_interface(name, netns=netns, mtu=mtu)
    return a, b


def veth_names(n: int, prefix: str = VETH_PREFIX) -> list[tuple[str, str]]:
    """The ``n`` pairs ``(veth0, veth1), (veth2, veth3), ...``."""
    return [(f"{prefix}{2 * i}", f"{prefix}{2 * i + 1}") for i in range(n)]


def veth_up(
    n: int, *, netns: str | None = None, mtu: int = DEFAULT_MTU, prefix: str = VETH_PREFIX
) -> list[tuple[str, str]]:
    """Create ``n`` veth pairs (``tools/veth.sh up N``); pairs that already exist are kept."""
    if netns is not None and not netns_exists(netns):
        create_netns(netns)
    existing = set(list_links(netns=netns))
    pairs = veth_names(n, prefix)
    for a, b in pairs:
        if a in existing and b in existing:
            continue
        for name in (a, b):  # a half-made pair from an earlier run
            if name in existing:
                ip("link", "del", "dev", name, netns=netns)
        create_veth_pair(a, b, netns=netns, mtu=mtu)
    return pairs


def veth_down(
    n: int | None = None, *, netns: str | None = None, prefix: str = VETH_PREFIX
) -> list[str]:
    """Delete veth links made by :func:`veth_up` (``tools/veth.sh down [N]``); returns them.

    With ``n``: ``veth0..veth(2n-1)``. Without: every veth-type link named ``veth`` and a number
    of one to three digits without a leading zero (container runtimes' ``veth<7 hex>`` links
    never match). Deleting one end deletes its peer. A missing namespace is fine.
    """
    if netns is not None and not netns_exists(netns):
        return []
    if n is not None:
        wanted = {name for pair in veth_names(n, prefix) for name in pair}
        found = [x for x in list_links(netns=netns, kind="veth") if x in wanted]
    else:
        pattern = re.compile(re.escape(prefix) + r"(0|[1-9][0-9]{0,2})$")
        found = [x for x in list_links(netns=netns, kind="veth") if pattern.match(x)]
    for name in found:
        ip("link", "del", "dev", name, netns=netns, check=False)  # its peer may be gone already
    return found


# -- temporary namespaces --------------------------------------------------------------------


class Netns:
    """A named network namespace, with the module's helpers bound to it."""

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    def ip(self, *args: str, check: bool = True) -> str:
        """``ip -n NAME ARGS...``."""
        return ip(*args, netns=self.name, check=check)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` inside the namespace (see :func:`run_in_netns`)."""
        return run_in_netns(self.name, fn, *args, **kwargs)

    def veth_pair(self, a: str, b: str, *, mtu: int = DEFAULT_MTU) -> tuple[str, str]:
        """A configured veth pair ``a<->b`` inside the namespace."""
        return create_veth_pair(a, b, netns=self.name, mtu=mtu)

    def veth_up(self, n: int, *, mtu: int = DEFAULT_MTU) -> list[tuple[str, str]]:
        """``n`` PTF-style pairs ``veth0<->veth1, ...`` inside the namespace."""
        return veth_up(n, netns=self.name, mtu=mtu)

    def links(self) -> list[str]:
        """Names of the links in the namespace."""
        return list_links(netns=self.name)

    def exec_argv(self, argv: list[str]) -> list[str]:
        """The command line running ``argv`` inside the namespace."""
        return exec_argv(self.name, argv)

    def delete(self) -> None:
        """Delete every link in the namespace, then the namespace."""
        delete_netns(self.name)

    def __repr__(self) -> str:
        return f"Netns({self.name!r})"


@contextlib.contextmanager
def temporary_netns(name_prefix: str = "sluice") -> Iterator[Netns]:
    """A new, uniquely named namespace (``<prefix>-<pid>-<random>``) deleted on exit.

    Everything in it (links first) is deleted even when the body raises. Needs root and ``ip``.
    """
    require_ip()
    name = f"{_check_name(name_prefix)}-{os.getpid()}-{secrets.token_hex(4)}"
    ip("netns", "add", name)  # fails if the name exists: then there is nothing of ours to delete
    try:
        ip("link", "set", "lo", "up", netns=name)
        yield Netns(name)
    finally:
        delete_netns(name)

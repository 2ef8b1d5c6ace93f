"""The topology file: switches, hosts and links, read from TOML (docs/controller.md).

::

    program = "../p4src/sluice.p4"          # or p4info = "x.p4info.txt" + device_config = "x.json"

    [doorbell]                              # defaults for hosts with doorbell = true
    every = 16
    interval_us = 100

    [[switches]]
    name = "s1"
    p4runtime = "127.0.0.1:9559"
    device_id = 0
    admin = "127.0.0.1:9090"
    target = "softswitch"                   # or "bmv2"
    cpu_port = 255
    mac = "00:00:5e:00:53:01"               # the router MAC; also switch_mac of control frames
    ports = [1, 2, 3, 4]

    [[hosts]]
    name = "h1"
    mac = "02:00:00:00:00:01"
    ipv4 = "192.0.2.1"
    ipv6 = "2001:db8:1::1"
    switch = "s1"
    port = 1
    role = "memory_server"                  # "host" (default), "memory_client", "memory_server"
    subid = 0x2001                          # memory servers only

    [[links]]
    a = "s1:3"
    b = "s2:3"

:func:`load_topology` validates everything and raises :class:`TopologyError` naming the file
and the bad key (``topo.toml: hosts[2].mac: not a MAC address: '02:00'``).
"""

from __future__ import annotations

import ipaddress
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "Host",
    "Link",
    "SwitchSpec",
    "Topology",
    "TopologyError",
    "load_topology",
    "parse_topology",
]

ROLES = ("host", "memory_client", "memory_server")
TARGETS = ("softswitch", "bmv2")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
_PORT_MAX = 510  # 511 is v1model's drop port


class TopologyError(ValueError):
    """A topology file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class SwitchSpec:
    """One switch: where to reach it and what it has."""

    name: str
    p4runtime: str
    device_id: int = 0
    admin: str | None = None
    target: str = "softswitch"
    cpu_port: int = 255
    mac: str = "00:00:5e:00:53:01"
    ports: tuple[int, ...] = ()
    queues: int = 8


@dataclass(frozen=True)
class Host:
    """One host and where it is attached."""

    name: str
    mac: str
    switch: str
    port: int
    ipv4: str | None = None
    ipv6: str | None = None
    role: str = "host"
    subid: int | None = None
    doorbell: bool = False

    @property
    def is_memory_server(self) -> bool:
        return self.role == "memory_server"


@dataclass(frozen=True)
class Link:
    """A cable between two switch ports."""

    a: str
    a_port: int
    b: str
    b_port: int


@dataclass
class Topology:
    """A validated topology (see the module docstring)."""

    switches: dict[str, SwitchSpec]
    hosts: dict[str, Host]
    links: list[Link] = field(default_factory=list)
    program: str | None = None
    p4info: str | None = None
    device_config: str | None = None
    doorbell_every: int = 16
    doorbell_interval_us: int = 100
    source: str = "<topology>"

    # -- queries the apps use ---------------------------------------------------------------

    def hosts_on(self, switch: str) -> list[Host]:
        """Hosts attached to ``switch``."""
        return [h for h in self.hosts.values() if h.switch == switch]

    def memory_servers(self) -> list[Host]:
        return [h for h in self.hosts.values() if h.is_memory_server]

    def server(self, name_or_subid: str | int) -> Host:
        """A memory server by host name or subid (``ValueError`` if none)."""
        for h in self.memory_servers():
            if h.name == name_or_subid or h.subid == name_or_subid:
                return h
        if isinstance(name_or_subid, str):
            try:
                return self.server(int(name_or_subid, 0))
            except ValueError:
                pass
        known = ", ".join(f"{h.name} (subid {h.subid:#x})" for h in self.memory_servers())
        raise ValueError(f"no memory server {name_or_subid!r} (known: {known or 'none'})")

    def neighbours(self, switch: str) -> list[tuple[int, str, int]]:
        """(local port, neighbour switch, its port) for each link of ``switch``."""
        out = []
        for ln in self.links:
            if ln.a == switch:
                out.append((ln.a_port, ln.b, ln.b_port))
            elif ln.b == switch:
                out.append((ln.b_port, ln.a, ln.a_port))
        return out

    def next_hop(self, switch: str, target: str) -> tuple[int, str] | None:
        """First hop from ``switch`` towards switch ``target``: (local port, neighbour), by
        a breadth-first shortest path (ties: lowest port). None if unreachable or the same."""
        if switch == target:
            return None
        first: dict[str, tuple[int, str]] = {}
        seen = {switch}
        todo: deque[str] = deque([switch])
        while todo:
            cur = todo.popleft()
            for port, nb, _ in sorted(self.neighbours(cur)):
                if nb in seen:
                    continue
                seen.add(nb)
                first[nb] = (port, nb) if cur == switch else first[cur]
                if nb == target:
                    return first[nb]
                todo.append(nb)
        return None

    def egress(self, switch: str, host: Host) -> tuple[int, str] | None:
        """Where ``switch`` sends packets for ``host``: (port, next-hop MAC), or None."""
        if host.switch == switch:
            return host.port, host.mac
        hop = self.next_hop(switch, host.switch)
        if hop is None:
            return None
        return hop[0], self.switches[hop[1]].mac

    def host_by_address(self, addr: str | int, version: int | None = None) -> Host | None:
        """The host owning an IPv4 or IPv6 address (int addresses need ``version``)."""
        if isinstance(addr, int):
            ip = ipaddress.IPv4Address(addr) if version == 4 else ipaddress.IPv6Address(addr)
        else:
            ip = ipaddress.ip_address(addr)
        for h in self.hosts.values():
            for a in (h.ipv4, h.ipv6):
                if a is not None and ipaddress.ip_address(a) == ip:
                    return h
        return None


# -- loading ------------------------------------------------------------------------------------


def load_topology(path: str | Path) -> Topology:
    """Read and validate a topology file (TOML)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise TopologyError(f"{p}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"{p}: not valid TOML: {exc}") from None
    topo = parse_topology(data, str(p))
    base = p.resolve().parent
    for attr in ("program", "p4info", "device_config"):
        value = getattr(topo, attr)
        if value is not None and not Path(value).is_absolute():
            setattr(topo, attr, str((base / value).resolve()))
    return topo


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, msg: str) -> TopologyError:
        return TopologyError(f"{self.source}: {key}: {msg}")

    def table(self, data: dict[str, Any], key: str, allowed: set[str], required: set[str]) -> None:
        for k in data:
            if k not in allowed:
                raise self.fail(f"{key}.{k}", f"unknown key (known: {', '.join(sorted(allowed))})")
        for k in sorted(required):
            if k not in data:
                raise self.fail(f"{key}.{k}", "missing")

    def str_(self, v: Any, key: str) -> str:
        if not isinstance(v, str) or not v:
            raise self.fail(key, f"expected a non-empty string, got {v!r}")
        return v

    def int_(self, v: Any, key: str, lo: int = 0, hi: int = 1 << 32) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.fail(key, f"expected an integer in {lo}..{hi}, got {v!r}")
        return v

    def mac(self, v: Any, key: str) -> str:
        if not isinstance(v, str) or not _MAC.match(v):
            raise self.fail(key, f"not a MAC address (aa:bb:cc:dd:ee:ff): {v!r}")
        return v.lower()

    def addr(self, v: Any, key: str, version: int) -> str:
        try:
            ip = ipaddress.ip_address(v) if isinstance(v, str) else None
        except ValueError:
            ip = None
        if ip is None or ip.version != version:
            raise self.fail(key, f"not an IPv{version} address: {v!r}")
        return str(ip)

    def hostport(self, v: Any, key: str) -> str:
        s = self.str_(v, key)
        host, _, port = s.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise self.fail(key, f"expected host:port, got {v!r}")
        return s


def parse_topology(data: dict[str, Any], source: str = "<topology>") -> Topology:
    """Validate a topology already parsed into dicts (as TOML gives them)."""
    c = _Checker(source)
    c.table(
        data,
        "(top level)",
        {"program", "p4info", "device_config", "doorbell", "switches", "hosts", "links"},
        {"switches"},
    )
    switches: dict[str, SwitchSpec] = {}
    sw_list = data.get("switches")
    if not isinstance(sw_list, list) or not sw_list:
        raise c.fail("switches", "expected at least one [[switches]] table")
    for i, s in enumerate(sw_list):
        key = f"switches[{i}]"
        if not isinstance(s, dict):
            raise c.fail(key, "expected a table")
        c.table(s, key, {"name", "p4runtime", "device_id", "admin", "target", "cpu_port", "mac",
                         "ports", "queues"}, {"name", "p4runtime", "ports"})
        name = c.str_(s["name"], f"{key}.name")
        if name in switches:
            raise c.fail(f"{key}.name", f"switch {name!r} defined twice")
        target = s.get("target", "softswitch")
        if target not in TARGETS:
            raise c.fail(f"{key}.target", f"expected one of {', '.join(TARGETS)}, got {target!r}")
        ports = s["ports"]
        if not isinstance(ports, list) or not ports:
            raise c.fail(f"{key}.ports", "expected a non-empty list of port numbers")
        plist = tuple(c.int_(p, f"{key}.ports", 0, _PORT_MAX) for p in ports)
        if len(set(plist)) != len(plist):
            raise c.fail(f"{key}.ports", "a port is listed twice")
        cpu = c.int_(s.get("cpu_port", 255), f"{key}.cpu_port", 0, _PORT_MAX)
        if cpu in plist:
            raise c.fail(f"{key}.cpu_port", f"CPU port {cpu} is also a front-panel port")
        switches[name] = SwitchSpec(
            name=name,
            p4runtime=c.hostport(s["p4runtime"], f"{key}.p4runtime"),
            device_id=c.int_(s.get("device_id", 0), f"{key}.device_id", 0, (1 << 64) - 1),
            admin=c.hostport(s["admin"], f"{key}.admin") if "admin" in s else None,
            target=target,
            cpu_port=cpu,
            mac=c.mac(s.get("mac", "00:00:5e:00:53:01"), f"{key}.mac"),
            ports=plist,
            queues=c.int_(s.get("queues", 8), f"{key}.queues", 1, 8),
        )

    used: dict[tuple[str, int], str] = {}

    def claim(sw: str, port: int, what: str, key: str) -> None:
        if sw not in switches:
            raise c.fail(key, f"unknown switch {sw!r} (known: {', '.join(switches)})")
        if port not in switches[sw].ports:
            raise c.fail(key, f"switch {sw} has no port {port} (ports: {switches[sw].ports})")
        if (sw, port) in used:
            raise c.fail(key, f"{sw} port {port} is already used by {used[(sw, port)]}")
        used[(sw, port)] = what

    hosts: dict[str, Host] = {}
    addrs: dict[str, str] = {}
    subids: dict[int, str] = {}
    for i, h in enumerate(data.get("hosts", [])):
        key = f"hosts[{i}]"
        if not isinstance(h, dict):
            raise c.fail(key, "expected a table")
        c.table(h, key, {"name", "mac", "ipv4", "ipv6", "switch", "port", "role", "subid",
                         "doorbell"}, {"name", "mac", "switch", "port"})
        name = c.str_(h["name"], f"{key}.name")
        if name in hosts or name in switches:
            raise c.fail(f"{key}.name", f"name {name!r} is used twice")
        role = h.get("role", "host")
        if role not in ROLES:
            raise c.fail(f"{key}.role", f"expected one of {', '.join(ROLES)}, got {role!r}")
        port = c.int_(h["port"], f"{key}.port", 0, _PORT_MAX)
        sw = c.str_(h["switch"], f"{key}.switch")
        claim(sw, port, f"host {name}", f"{key}.switch")
        v4 = c.addr(h["ipv4"], f"{key}.ipv4", 4) if "ipv4" in h else None
        v6 = c.addr(h["ipv6"], f"{key}.ipv6", 6) if "ipv6" in h else None
        for a, k in ((v4, "ipv4"), (v6, "ipv6")):
            if a is not None:
                if a in addrs:
                    raise c.fail(f"{key}.{k}", f"address {a} is also host {addrs[a]}'s")
                addrs[a] = name
        subid = None
        if role == "memory_server":
            if "subid" not in h:
                raise c.fail(f"{key}.subid", "missing (a memory server needs its subid)")
            subid = c.int_(h["subid"], f"{key}.subid", 1, 0xFFFF)
            if subid in subids:
                raise c.fail(f"{key}.subid", f"subid {subid:#x} is also {subids[subid]}'s")
            subids[subid] = name
        elif "subid" in h:
            raise c.fail(f"{key}.subid", "only a host with role = \"memory_server\" has a subid")
        doorbell = h.get("doorbell", False)
        if not isinstance(doorbell, bool):
            raise c.fail(f"{key}.doorbell", f"expected true or false, got {doorbell!r}")
        hosts[name] = Host(name, c.mac(h["mac"], f"{key}.mac"), sw, port, v4, v6, role, subid,
                           doorbell)

    links: list[Link] = []
    for i, ln in enumerate(data.get("links", [])):
        key = f"links[{i}]"
        if not isinstance(ln, dict):
            raise c.fail(key, "expected a table")
        c.table(ln, key, {"a", "b"}, {"a", "b"})
        ends = []
        for side in ("a", "b"):
            text = c.str_(ln[side], f"{key}.{side}")
            sw, _, port = text.rpartition(":")
            if not sw or not port.isdigit():
                raise c.fail(f"{key}.{side}", f"expected switch:port, got {text!r}")
            claim(sw, int(port), f"link {i}", f"{key}.{side}")
            ends.append((sw, int(port)))
        if ends[0][0] == ends[1][0]:
            raise c.fail(key, "a link must join two different switches")
        links.append(Link(ends[0][0], ends[0][1], ends[1][0], ends[1][1]))

    db = data.get("doorbell", {})
    if not isinstance(db, dict):
        raise c.fail("doorbell", "expected a table")
    c.table(db, "doorbell", {"every", "interval_us"}, set())
    program = data.get("program")
    p4info, devcfg = data.get("p4info"), data.get("device_config")
    if program is not None:
        c.str_(program, "program")
        if p4info is not None or devcfg is not None:
            raise c.fail("program", "give either program or p4info + device_config, not both")
    if (p4info is None) != (devcfg is None):
        raise c.fail("p4info" if p4info is None else "device_config",
                     "p4info and device_config go together")
    return Topology(
        switches=switches,
        hosts=hosts,
        links=links,
        program=program,
        p4info=p4info,
        device_config=devcfg,
        doorbell_every=c.int_(db.get("every", 16), "doorbell.every", 1),
        doorbell_interval_us=c.int_(db.get("interval_us", 100), "doorbell.interval_us", 1),
        source=source,
    )

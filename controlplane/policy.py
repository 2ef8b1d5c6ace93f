"""The policy file: priority classes, the rules that map applications to them, and memory
defaults, read from TOML (docs/controller.md).

::

    [defaults]
    class = "bulk"              # class of a flow no rule matches
    sharing = "flows"           # when a class has no free queue: "flows" (fewest flows) or
                                # "weighted" (least sum of flow weights)
    idle_timeout_s = 10.0

    [classes.latency]
    queues = "5-6"              # or [5, 6]; the class's queues on every port (disjoint)
    preferred = [6]             # tried first when free
    weight = 4                  # weight of each flow of the class (weighted sharing)
    high_water = 16             # packets of one flow: PAUSE at this occupancy
    low_water = 8               # RESUME below it
    cap = 64                    # drop above it
    idle_timeout_s = 2.0

    [[rules]]                   # first match wins
    class = "latency"
    dport = [5201, 5202]        # sport, dport, port (either); proto ("tcp"/"udp"/number);
    src = "2001:db8:1::/48"     # src, dst prefixes; dscp (0..63, from the new-flow digest);
    weight = 8                  # optional: this rule's flows weigh more than the class default

    [memory]
    lease_us = 1000
    report_us = 1000000
    [[memory.allow_alloc]]      # who may ALLOC, on which server (omit server: every one)
    client = "2001:db8:c::/48"
    server = "mem1"

Queue 0 is the data plane's default queue (flows without an entry) and belongs to no class.
DSCP: the new-flow digest carries the DSCP of the packet that raised it, and the allocator
passes it to :meth:`Policy.classify`; a ``dscp`` rule never matches when the DSCP is unknown
(``dscp=None``, a caller without a digest).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from .protocol import FlowKey

__all__ = ["AllocRule", "ClassSpec", "Policy", "PolicyError", "Rule", "load_policy",
           "parse_policy"]

DEFAULT_QID = 0
SHARING = ("flows", "weighted")
_PROTOS = {"tcp": 6, "udp": 17}


class PolicyError(ValueError):
    """A policy file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class ClassSpec:
    """A priority class: its queues, weight, watermarks (packets) and idle timeout."""

    name: str
    queues: tuple[int, ...]
    preferred: tuple[int, ...] = ()
    weight: int = 1
    high_water: int = 0xFFFFFFFF
    low_water: int = 0
    cap: int = 0xFFFFFFFF
    idle_timeout_s: float = 10.0

    def order(self) -> list[int]:
        """Queues in the order they are tried: preferred first, then the rest ascending."""
        return list(self.preferred) + [q for q in sorted(self.queues) if q not in self.preferred]


@dataclass(frozen=True)
class Rule:
    """Maps flows to a class; every given condition must hold."""

    cls: str
    sport: tuple[int, ...] = ()
    dport: tuple[int, ...] = ()
    port: tuple[int, ...] = ()
    proto: int | None = None
    src: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    dst: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    dscp: tuple[int, ...] = ()
    weight: int | None = None
    index: int = 0

    def matches(self, flow: FlowKey, dscp: int | None = None) -> bool:
        """Whether ``flow`` (and its DSCP if known) satisfies every condition."""
        if self.sport and flow.sport not in self.sport:
            return False
        if self.dport and flow.dport not in self.dport:
            return False
        if self.port and flow.sport not in self.port and flow.dport not in self.port:
            return False
        if self.proto is not None and flow.protocol != self.proto:
            return False
        for net, addr in ((self.src, flow.src), (self.dst, flow.dst)):
            if net is not None:
                a = ipaddress.ip_address(addr)
                if a.version != net.version or a not in net:
                    return False
        return not (self.dscp and (dscp is None or dscp not in self.dscp))

    def describe(self) -> str:
        """A short text of the conditions (for allocation reasons)."""
        parts = []
        for name in ("sport", "dport", "port", "dscp"):
            v = getattr(self, name)
            if v:
                parts.append(f"{name} {','.join(map(str, v))}")
        if self.proto is not None:
            parts.append(f"proto {self.proto}")
        if self.src is not None:
            parts.append(f"src {self.src}")
        if self.dst is not None:
            parts.append(f"dst {self.dst}")
        return f"rule {self.index}: " + (" ".join(parts) or "any")


@dataclass(frozen=True)
class AllocRule:
    """Clients (a prefix) allowed to ALLOC on a server (None: any server)."""

    client: ipaddress.IPv6Network
    server: str | int | None = None


@dataclass
class Policy:
    """A validated policy (see the module docstring)."""

    classes: dict[str, ClassSpec]
    rules: list[Rule] = field(default_factory=list)
    default_class: str = "default"
    sharing: str = "flows"
    lease_us: int = 0
    report_us: int = 0
    allow_alloc: list[AllocRule] = field(default_factory=list)
    source: str = "<policy>"

    def classify(self, flow: FlowKey, dscp: int | None = None) -> tuple[ClassSpec, Rule | None]:
        """The class of ``flow`` and the rule that chose it (None: the default class)."""
        for r in self.rules:
            if r.matches(flow, dscp):
                return self.classes[r.cls], r
        return self.classes[self.default_class], None

    def class_of_queue(self, qid: int) -> ClassSpec | None:
        for c in self.classes.values():
            if qid in c.queues:
                return c
        return None

    @classmethod
    def default(cls) -> Policy:
        """One class on queues 1..7, fewest-flows sharing, no watermarks."""
        return parse_policy({"classes": {"default": {"queues": "1-7"}}}, "<default policy>")


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (TOML)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{p}: not valid TOML: {exc}") from None
    return parse_policy(data, str(p))


def parse_policy(data: dict[str, Any], source: str = "<policy>", queues: int = 8) -> Policy:
    """Validate a policy already parsed into dicts; ``queues``: queues per port."""

    def fail(key: str, msg: str) -> PolicyError:
        return PolicyError(f"{source}: {key}: {msg}")

    def keys(d: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(d, dict):
            raise fail(key, "expected a table")
        for k in d:
            if k not in allowed:
                raise fail(f"{key}.{k}", f"unknown key (known: {', '.join(sorted(allowed))})")
        return d

    def num(v: Any, key: str, lo: float = 0, hi: float = 0xFFFFFFFF, integer: bool = True) -> Any:
        ok_types = (int,) if integer else (int, float)
        if isinstance(v, bool) or not isinstance(v, ok_types) or not lo <= v <= hi:
            kind = "an integer" if integer else "a number"
            raise fail(key, f"expected {kind} in {lo}..{hi}, got {v!r}")
        return v

    def int_list(v: Any, key: str, lo: int, hi: int) -> tuple[int, ...]:
        if isinstance(v, str):
            a, sep, b = v.partition("-")
            try:
                lo_v, hi_v = int(a, 0), int(b, 0) if sep else int(a, 0)
            except ValueError:
                raise fail(key, f"expected a list or a range like \"1-4\", got {v!r}") from None
            items = list(range(lo_v, hi_v + 1))
            if not items:
                raise fail(key, f"empty range {v!r}")
        elif isinstance(v, list):
            items = v
        else:
            items = [v]
        return tuple(num(x, key, lo, hi) for x in items)

    def prefix(v: Any, key: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        try:
            return ipaddress.ip_network(v, strict=False)
        except (ValueError, TypeError):
            raise fail(key, f"not an address or prefix: {v!r}") from None

    keys(data, "(top level)", {"defaults", "classes", "rules", "memory"})
    defaults = keys(data.get("defaults", {}), "defaults",
                    {"class", "sharing", "idle_timeout_s"})
    sharing = defaults.get("sharing", "flows")
    if sharing not in SHARING:
        raise fail("defaults.sharing", f"expected one of {', '.join(SHARING)}, got {sharing!r}")
    idle_default = num(defaults.get("idle_timeout_s", 10.0), "defaults.idle_timeout_s", 0.001,
                       86400, integer=False)

    raw_classes = keys(data.get("classes", {}), "classes", set(data.get("classes", {})))
    if not raw_classes:
        raise fail("classes", "expected at least one [classes.<name>] table")
    classes: dict[str, ClassSpec] = {}
    owner: dict[int, str] = {}
    for name, c in raw_classes.items():
        key = f"classes.{name}"
        keys(c, key, {"queues", "preferred", "weight", "high_water", "low_water", "cap",
                      "idle_timeout_s"})
        if "queues" not in c:
            raise fail(f"{key}.queues", "missing")
        qs = int_list(c["queues"], f"{key}.queues", 0, queues - 1)
        for q in qs:
            if q == DEFAULT_QID:
                raise fail(f"{key}.queues", "queue 0 is the default queue of flows without an "
                           "entry; give classes queues 1 and up")
            if q in owner:
                raise fail(f"{key}.queues", f"queue {q} is also class {owner[q]}'s (watermarks "
                           "are per queue, so classes cannot share one)")
            owner[q] = name
        pref = int_list(c.get("preferred", []), f"{key}.preferred", 0, queues - 1)
        for q in pref:
            if q not in qs:
                raise fail(f"{key}.preferred", f"queue {q} is not one of the class's queues")
        high = num(c.get("high_water", 0xFFFFFFFF), f"{key}.high_water", 1)
        low = num(c.get("low_water", 0), f"{key}.low_water")
        cap = num(c.get("cap", 0xFFFFFFFF), f"{key}.cap", 1)
        if low > high:
            raise fail(f"{key}.low_water", f"{low} is above high_water {high}")
        if cap < high and "cap" in c:
            raise fail(f"{key}.cap", f"{cap} is below high_water {high}: the flow would be "
                       "dropped before it is paused")
        classes[name] = ClassSpec(
            name, tuple(sorted(set(qs))), pref, num(c.get("weight", 1), f"{key}.weight", 1, 1000),
            high, low, cap,
            num(c.get("idle_timeout_s", idle_default), f"{key}.idle_timeout_s", 0.001, 86400,
                integer=False),
        )
    default_class = defaults.get("class", next(iter(classes)))
    if default_class not in classes:
        raise fail("defaults.class", f"unknown class {default_class!r} "
                   f"(classes: {', '.join(classes)})")

    rules: list[Rule] = []
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise fail("rules", "expected [[rules]] tables")
    for i, r in enumerate(raw_rules):
        key = f"rules[{i}]"
        keys(r, key, {"class", "sport", "dport", "port", "proto", "src", "dst", "dscp",
                      "weight"})
        cls = r.get("class")
        if cls not in classes:
            raise fail(f"{key}.class", f"unknown class {cls!r} (classes: {', '.join(classes)})")
        proto = r.get("proto")
        if proto is not None:
            proto = _PROTOS.get(proto, proto) if isinstance(proto, str) else proto
            proto = num(proto, f"{key}.proto", 0, 255)
        rules.append(Rule(
            cls,
            int_list(r.get("sport", []), f"{key}.sport", 0, 0xFFFF),
            int_list(r.get("dport", []), f"{key}.dport", 0, 0xFFFF),
            int_list(r.get("port", []), f"{key}.port", 0, 0xFFFF),
            proto,
            prefix(r["src"], f"{key}.src") if "src" in r else None,
            prefix(r["dst"], f"{key}.dst") if "dst" in r else None,
            int_list(r.get("dscp", []), f"{key}.dscp", 0, 63),
            num(r["weight"], f"{key}.weight", 1, 1000) if "weight" in r else None,
            i,
        ))

    mem = keys(data.get("memory", {}), "memory", {"lease_us", "report_us", "allow_alloc"})
    allow: list[AllocRule] = []
    for i, a in enumerate(mem.get("allow_alloc", [])):
        key = f"memory.allow_alloc[{i}]"
        keys(a, key, {"client", "server"})
        if "client" not in a:
            raise fail(f"{key}.client", "missing")
        net = prefix(a["client"], f"{key}.client")
        if net.version != 6:
            raise fail(f"{key}.client", "memory clients are IPv6")
        server = a.get("server")
        if server is not None and not isinstance(server, (str, int)):
            raise fail(f"{key}.server", f"expected a server name or subid, got {server!r}")
        allow.append(AllocRule(net, server))
    return Policy(
        classes=classes,
        rules=rules,
        default_class=default_class,
        sharing=sharing,
        lease_us=num(mem.get("lease_us", 0), "memory.lease_us"),
        report_us=num(mem.get("report_us", 0), "memory.report_us"),
        allow_alloc=allow,
        source=source,
    )

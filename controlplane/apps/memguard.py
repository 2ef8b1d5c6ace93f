"""The memory guard: who may touch which remote memory (docs/protocol.md section 5).

- An ALLOC (or ALLOC_BULK) reply digest grants the client owner + read + write on the new
  region ``[paddr, paddr + bytes - 1]`` of that server; a FREE reply revokes every grant on the
  region that starts at ``paddr`` and ends the page's write lease.
- Explicit grants (``r``, ``rw``, ``owner``) and revocations for a client on a server's region.
- ALLOC allow-list: ``mem_alloc_acl`` entries from the policy's ``[[memory.allow_alloc]]`` and
  from :meth:`MemGuardApp.allow_alloc`.
- Violations: each ``mem_violation_digest_t`` is logged (bounded) with its reason's name.

Grants go to ``mem_acl`` on every switch (each hop checks): client exact (ternary, full mask),
``subid`` exact, ``paddr`` range; a smaller region gets a higher priority, so a narrower grant
inside a wider one decides for its addresses.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..p4rt import P4RuntimeError, RegisterEntry, SwitchUnavailable, TableEntry
from ..protocol import (
    BB_PAGE_SHIFT,
    BBCommand,
    MemEventDigest,
    MemReason,
    MemViolationDigest,
    Perm,
    lease_index,
)
from .base import App

if TYPE_CHECKING:
    from ..controller import SwitchHandle

__all__ = ["Grant", "MemGuardApp", "parse_perms", "parse_region"]

log = logging.getLogger("sluice.controller.memguard")

IG = "SluiceIngress.memguard."
ACL = IG + "mem_acl"
ALLOC_ACL = IG + "mem_alloc_acl"
PERMS = {"r": Perm.READ, "rw": Perm.READ | Perm.WRITE, "w": Perm.WRITE,
         "owner": Perm.OWNER | Perm.READ | Perm.WRITE}
PADDR_MAX = (1 << 64) - 1
MAX_LEASE_PAGES = 256  # FREE ends the leases of at most this many pages of the region


@dataclass
class Grant:
    """Permissions of one client on one region of one server."""

    client: str
    subid: int
    lo: int
    hi: int
    perms: int
    origin: str = "explicit"  # or "alloc"
    created: float = field(default_factory=time.time)

    @property
    def key(self) -> tuple[str, int, int, int]:
        return (self.client, self.subid, self.lo, self.hi)

    def perms_text(self) -> str:
        if self.perms & Perm.OWNER:
            return "owner"
        return ("r" if self.perms & Perm.READ else "") + ("w" if self.perms & Perm.WRITE else "")

    def entry(self) -> TableEntry:
        size_bits = (self.hi - self.lo).bit_length()
        return TableEntry(ACL, {"client": self.client, "subid": self.subid,
                                "paddr": (self.lo, self.hi)},
                          IG + "mem_grant", {"perms": self.perms}, priority=100 - size_bits)


def parse_client(client: str) -> str:
    try:
        return str(ipaddress.IPv6Address(client))
    except (ValueError, TypeError):
        raise ValueError(f"client {client!r} is not an IPv6 address") from None


def parse_perms(perms: str) -> int:
    try:
        return int(PERMS[perms])
    except KeyError:
        raise ValueError(f"permissions {perms!r}: expected one of {', '.join(PERMS)}") from None


def parse_region(region: str | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``(lo, hi)`` inclusive, ``"lo-hi"``, ``"lo..hi"`` or ``"start+length"`` (ints, 0x...)."""
    try:
        if isinstance(region, (tuple, list)):
            lo, hi = int(region[0]), int(region[1])
        elif "+" in region:
            a, _, b = region.partition("+")
            lo = int(a.strip(), 0)
            hi = lo + int(b.strip(), 0) - 1
        else:
            sep = ".." if ".." in region else "-"
            a, _, b = region.partition(sep)
            lo, hi = int(a.strip(), 0), int(b.strip(), 0)
    except (ValueError, TypeError, IndexError, AttributeError):
        raise ValueError(f"region {region!r}: expected lo-hi, start+length or (lo, hi)") from None
    if not 0 <= lo <= hi <= PADDR_MAX:
        raise ValueError(f"region {region!r}: need 0 <= lo <= hi < 2**64")
    return lo, hi


class MemGuardApp(App):
    """Grants, revocations, allow-lists and violations (see the module docstring)."""

    name = "memguard"
    tables = (ACL, ALLOC_ACL)
    digests = ("mem_event_digest_t", "mem_violation_digest_t")

    def __init__(self, ctl: Any) -> None:
        super().__init__(ctl)
        self.lock = threading.RLock()
        self.grants: dict[tuple[str, int, int, int], Grant] = {}
        # allow-list: (client prefix, subid or None)
        self.alloc_allowed: list[tuple[str, int | None]] = []
        self.violations: deque[dict[str, Any]] = deque(maxlen=10000)
        self.violation_count = 0
        for i, rule in enumerate(ctl.policy.allow_alloc):
            try:
                subid = None if rule.server is None else ctl.topo.server(rule.server).subid
            except ValueError as exc:
                raise ValueError(f"{ctl.policy.source}: memory.allow_alloc[{i}].server: {exc}"
                                 ) from None
            self.alloc_allowed.append((str(rule.client), subid))

    # -- desired state ----------------------------------------------------------------------

    def desired(self, sw: SwitchHandle) -> list[Any]:
        with self.lock:
            out: list[Any] = [g.entry() for g in self.grants.values()]
            for i, (prefix, subid) in enumerate(self.alloc_allowed):
                match: dict[str, Any] = {"client": prefix}
                if subid is not None:
                    match["subid"] = subid
                out.append(TableEntry(ALLOC_ACL, match, IG + "mem_allow_alloc",
                                      priority=1000 - i))
            return out

    def _push(self, add: list[Any], remove: list[Any]) -> None:
        for sw in self.ctl.switch_handles():
            try:
                with sw.lock:
                    self._push_one(sw, add, remove)
            except P4RuntimeError as err:
                log.warning("%s: memory guard update failed: %s", sw.name, err)
            except SwitchUnavailable as err:
                log.warning("%s: memory guard update deferred (reconcile on reconnect): %s",
                            sw.name, err)

    def _push_one(self, sw: SwitchHandle, add: list[Any], remove: list[Any]) -> None:
        if remove:
            try:
                sw.conn.delete(remove)
            except P4RuntimeError as err:
                if any(e.code.name != "NOT_FOUND" for e in err.errors) or not err.errors:
                    raise
        if add:
            sw.upsert(add)

    # -- API --------------------------------------------------------------------------------

    def grant(self, client: str, server: str | int, region: Any, perms: str,
              origin: str = "explicit") -> dict[str, Any]:
        """Give ``client`` ``perms`` on ``region`` of ``server`` (replaces that grant's perms)."""
        c = parse_client(client)
        subid = self.ctl.topo.server(server).subid
        lo, hi = parse_region(region)
        bits = parse_perms(perms) if isinstance(perms, str) else int(perms)
        g = Grant(c, subid, lo, hi, bits, origin)
        with self.lock:
            self.grants[g.key] = g
        self._push([g.entry()], [])
        self.ctl.mark_dirty()
        log.info("granted %s %s on server %#x [%#x, %#x] (%s)", c, g.perms_text(), subid, lo, hi,
                 origin)
        return self._show(g)

    def revoke(self, client: str, server: str | int, region: Any) -> dict[str, Any]:
        """Remove ``client``'s grants on ``server`` that overlap ``region``."""
        c = parse_client(client)
        subid = self.ctl.topo.server(server).subid
        lo, hi = parse_region(region)
        with self.lock:
            gone = [g for g in self.grants.values()
                    if g.client == c and g.subid == subid and g.lo <= hi and lo <= g.hi]
            for g in gone:
                del self.grants[g.key]
        if gone:
            self._push([], [g.entry().key() for g in gone])
            self.ctl.mark_dirty()
        return {"client": c, "subid": subid, "region": [lo, hi], "revoked": len(gone),
                "grants": [self._show(g) for g in gone]}

    def allow_alloc(self, client: str, server: str | int | None = None) -> dict[str, Any]:
        """Let ``client`` (an address or prefix) ALLOC on ``server`` (None: any)."""
        try:
            prefix = str(ipaddress.IPv6Network(client, strict=False))
        except ValueError:
            raise ValueError(f"client {client!r} is not an IPv6 address or prefix") from None
        subid = None if server is None else self.ctl.topo.server(server).subid
        with self.lock:
            if (prefix, subid) not in self.alloc_allowed:
                self.alloc_allowed.append((prefix, subid))
        self.ctl.resync()
        self.ctl.mark_dirty()
        return {"client": prefix, "subid": subid}

    def list_grants(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._show(g) for g in self.grants.values()]

    def _show(self, g: Grant) -> dict[str, Any]:
        server = next((h.name for h in self.ctl.topo.memory_servers() if h.subid == g.subid),
                      None)
        return {"client": g.client, "server": server, "subid": g.subid,
                "region": [g.lo, g.hi], "region_text": f"{g.lo:#x}-{g.hi:#x}",
                "perms": g.perms_text(), "origin": g.origin, "created": g.created}

    # -- reports ----------------------------------------------------------------------------

    def on_digest(self, sw: SwitchHandle, digest: str, data: list[Any]) -> None:
        for item in data:
            if digest == "mem_event_digest_t":
                self._event(sw, _decode(MemEventDigest, item))
            else:
                self._violation(sw, _decode(MemViolationDigest, item))

    def _event(self, sw: SwitchHandle, d: MemEventDigest) -> None:
        client = str(ipaddress.IPv6Address(d.client))
        if d.cmd in (BBCommand.ALLOC, BBCommand.ALLOC_BULK):
            if d.args == 0:
                log.info("%s: ALLOC by %s on %#x failed at the server", sw.name, client, d.subid)
                return
            lo, hi = d.paddr, min(PADDR_MAX, d.paddr + d.args - 1)
            with self.lock:
                have = self.grants.get((client, d.subid, lo, hi))
            if have is not None and have.perms & Perm.OWNER:
                return  # the same reply seen by another switch on the path
            self.grant(client, d.subid, (lo, hi), "owner", origin="alloc")
        elif d.cmd == BBCommand.FREE:
            with self.lock:
                gone = [g for g in self.grants.values() if g.subid == d.subid and g.lo == d.paddr]
                for g in gone:
                    del self.grants[g.key]
            if gone:
                self._push([], [g.entry().key() for g in gone])
                self._end_leases(d.subid, gone)
                self.ctl.mark_dirty()
                log.info("%s: FREE by %s of %#x on %#x: revoked %d grants", sw.name, client,
                         d.paddr, d.subid, len(gone))

    def _end_leases(self, subid: int, grants: list[Grant]) -> None:
        g = max(grants, key=lambda g: g.hi - g.lo)
        first, last = g.lo >> BB_PAGE_SHIFT, g.hi >> BB_PAGE_SHIFT
        cells = sorted({lease_index(subid, p << BB_PAGE_SHIFT)
                        for p in range(first, min(last, first + MAX_LEASE_PAGES - 1) + 1)})
        regs = [RegisterEntry(IG + "mem_lease_expiry", i, 0) for i in cells]
        for sw in self.ctl.switch_handles():
            try:
                sw.conn.modify(regs)
            except (P4RuntimeError, SwitchUnavailable) as err:
                log.warning("%s: ending write leases failed: %s", sw.name, err)

    def _violation(self, sw: SwitchHandle, d: MemViolationDigest) -> None:
        try:
            reason = MemReason(d.reason).name
        except ValueError:
            reason = str(d.reason)
        try:
            cmd = BBCommand(d.cmd).name
        except ValueError:
            cmd = str(d.cmd)
        rec = {"time": time.time(), "switch": sw.name,
               "client": str(ipaddress.IPv6Address(d.client)), "subid": d.subid, "cmd": cmd,
               "paddr": d.paddr, "reason": reason, "ingress_port": d.ingress_port,
               "client_index": d.client_index}
        with self.lock:
            self.violations.append(rec)
            self.violation_count += 1
        log.warning("%s: memory access refused: %s %s %#x on server %#x by %s (port %d)",
                    sw.name, reason, cmd, d.paddr, d.subid, rec["client"], d.ingress_port)

    def recent_violations(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.lock:
            items = list(self.violations)
        return items[-limit:] if limit > 0 else []

    # -- state --------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"grants": [asdict(g) for g in self.grants.values()],
                    "alloc_allowed": [list(a) for a in self.alloc_allowed]}

    def load_state(self, data: dict[str, Any]) -> None:
        with self.lock:
            for d in data.get("grants", []):
                g = Grant(**d)
                self.grants[g.key] = g
            for prefix, subid in data.get("alloc_allowed", []):
                if (prefix, subid) not in self.alloc_allowed:
                    self.alloc_allowed.append((prefix, subid))


def _decode(cls: Any, item: Any) -> Any:
    if isinstance(item, dict):
        return cls(**{k: int(v) for k, v in item.items()})
    return cls.from_values(item)

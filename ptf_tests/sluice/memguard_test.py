"""Remote-memory protection (``p4src/include/control/memguard.p4``, docs/protocol.md section 5):
every BlueBridge command allowed or refused for an owner, a reader and a stranger; refusals
counted per client and reported (rate-limited); one writer per page; ALLOC and FREE replies
reported to the controller; spoofed replies refused.

BlueBridge request addresses lie outside 2001:db8::/32 by construction (the command sits in
bits 16..31); they only ever travel on this run's veth pairs inside its namespace.
"""

from __future__ import annotations

import ipaddress
import time

from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controlplane.protocol import (
    BBCommand,
    MemEventDigest,
    MemReason,
    MemViolationDigest,
    Perm,
    client_index,
    lease_index,
    parse_bb_addr,
)
from ptf_tests.sluice.packets import (
    CLIENT_GW_MAC,
    CLIENT_PORT,
    MEM_SUBID,
    SERVER_MAC,
    SERVER_PORT,
    bb_reply,
    bb_request,
    routed,
)
from ptf_tests.sluice.sluice_base import IG, SluiceTest

OWNER = "2001:db8:c::a"
READER = "2001:db8:c::b"
STRANGER = "2001:db8:c::c"
WRITER2 = "2001:db8:c::d"
CLIENTS = (OWNER, READER, STRANGER, WRITER2)
REGION = (0x10000, 0x1FFFF)
PADDR = 0x10040

VIOLATION = "mem_violation_digest_t"
EVENT = "mem_event_digest_t"

ALLOWED = {
    OWNER: set(BBCommand),
    READER: {BBCommand.READ, BBCommand.READ_BULK},
    STRANGER: set(),
}
REASON = {
    BBCommand.ALLOC: MemReason.NO_ALLOC,
    BBCommand.ALLOC_BULK: MemReason.NO_ALLOC,
    BBCommand.READ: MemReason.NO_READ,
    BBCommand.READ_BULK: MemReason.NO_READ,
    BBCommand.WRITE: MemReason.NO_WRITE,
    BBCommand.WRITE_BULK: MemReason.NO_WRITE,
    BBCommand.FREE: MemReason.NOT_OWNER,
    BBCommand.TRIM: MemReason.NOT_OWNER,
}


def ip(addr: str) -> int:
    return int(ipaddress.ip_address(addr))


class MemGuardTest(SluiceTest):
    """A memory server behind port 3 and grants on REGION: OWNER read, write and owner (and
    may allocate), READER read, WRITER2 read and write, STRANGER nothing."""

    def setup_memguard(self, lease_us: int = 0, report_us: int = 1) -> None:
        self.setup_router()
        self.add_mem_server(MEM_SUBID, SERVER_PORT)
        self.grant_memory(OWNER, *REGION, Perm.READ | Perm.WRITE | Perm.OWNER)
        self.grant_memory(READER, *REGION, Perm.READ)
        self.grant_memory(WRITER2, *REGION, Perm.READ | Perm.WRITE)
        self.allow_alloc(OWNER)
        self.enable_digest(VIOLATION)
        self.enable_digest(EVENT)
        self.set_mem_config(lease_us=lease_us, report_us=report_us)
        for client in CLIENTS:
            self.reset_mem_client(client)

    def request_is_forwarded(self, req: Ether) -> None:
        """``req`` reaches the server (MACs rewritten, hop limit - 1) and nothing else."""
        self.send(CLIENT_PORT, req)
        self.expect_frames([(SERVER_PORT, routed(req, SERVER_MAC))], quiet=0.05)

    def request_is_refused(self, req: Ether, reason: int) -> MemViolationDigest:
        """``req`` is reported with ``reason`` (and, checked later, never forwarded)."""
        self.send(CLIENT_PORT, req)
        (d,) = self.digests(VIOLATION, 1, quiet=0.0)
        bb = parse_bb_addr(req[IPv6].dst)
        client = req[IPv6].src
        want = MemViolationDigest(
            ip(client), bb.subid, bb.cmd, bb.paddr, reason, CLIENT_PORT, client_index(client)
        )
        self.assertEqual(d, want)
        return d


class EveryCommandForOwnerReaderStranger(MemGuardTest):
    """All eight commands from each of owner, reader and stranger: what the grants allow is
    forwarded to the server untouched but for MACs and hop limit; everything else is dropped,
    counted at the client's mem_violations cell and reported with the client, command,
    address, reason and ingress port."""

    def runTest(self) -> None:
        self.setup_memguard()
        before = {c: self.counter_delta(IG + "memguard.mem_violations", client_index(c))
                  for c in ALLOWED}  # fmt: skip
        refused: dict[str, int] = {c: 0 for c in ALLOWED}
        for client, allowed in ALLOWED.items():
            for cmd in BBCommand:
                req = bb_request(client, cmd, paddr=PADDR)
                with self.subTest(client=client, cmd=cmd.name):
                    if cmd in allowed:
                        self.request_is_forwarded(req)
                    else:
                        self.request_is_refused(req, REASON[cmd])
                        refused[client] += 1
        self.expect_nothing()
        self.digests(VIOLATION, 0, quiet=0.2)
        size = len(bb_request(OWNER, BBCommand.READ))
        self.assertEqual(refused, {OWNER: 0, READER: 6, STRANGER: 8})
        for client, delta in before.items():
            self.wait_for_delta(delta, (refused[client], refused[client] * size))


class OutsideTheGrantUnknownServerBadCommand(MemGuardTest):
    """The owner is refused outside its region (NO_READ), towards an unknown server
    (NO_SERVER) and with an unknown command (BAD_COMMAND); each refusal is counted."""

    def runTest(self) -> None:
        self.setup_memguard()
        delta = self.counter_delta(IG + "memguard.mem_violations", client_index(OWNER))
        self.request_is_refused(bb_request(OWNER, BBCommand.READ, paddr=0x20000), MemReason.NO_READ)
        self.request_is_refused(bb_request(OWNER, BBCommand.READ, subid=0x2002),
                                MemReason.NO_SERVER)  # fmt: skip
        self.request_is_refused(bb_request(OWNER, 9), MemReason.BAD_COMMAND)
        self.expect_nothing()
        self.wait_for_delta(delta, (3, 3 * len(bb_request(OWNER, 9))))


class ViolationReportsAreRateLimited(MemGuardTest):
    """With one report per 400 ms per client: six refusals of the stranger give one digest and
    six counts; the reader's refusal, a different client, is reported at once; after the
    interval the stranger is reported again."""

    def runTest(self) -> None:
        self.setup_memguard(report_us=400_000)
        delta = self.counter_delta(IG + "memguard.mem_violations", client_index(STRANGER))
        bad = bb_request(STRANGER, BBCommand.READ)
        t0 = time.monotonic()
        self.send(CLIENT_PORT, *[bad] * 6)
        self.send(CLIENT_PORT, bb_request(READER, BBCommand.WRITE))
        self.assertLess(time.monotonic() - t0, 0.2, "sending took too long to be meaningful")
        got = self.digests(VIOLATION, 2, quiet=0.1)
        self.assertEqual([d.client for d in got], [ip(STRANGER), ip(READER)])
        self.wait_for_delta(delta, (6, 6 * len(bad)))
        time.sleep(max(0.0, t0 + 0.8 - time.monotonic()))
        self.send(CLIENT_PORT, bad)
        (d,) = self.digests(VIOLATION, 1, quiet=0.2)
        self.assertEqual((d.client, d.reason), (ip(STRANGER), MemReason.NO_READ))
        self.wait_for_delta(delta, (7, 7 * len(bad)))
        self.expect_nothing()


class OneWriterPerPage(MemGuardTest):
    """Write leases of 600 ms: while the owner holds a page's lease, WRITER2 (who may write)
    is refused with LEASE_HELD on any address of that page, WRITE and WRITE_BULK; the holder
    renews; reads and other pages are not affected. The controller revokes the lease (expiry
    0) and WRITER2 takes it; once that lease runs out, the owner writes again."""

    def runTest(self) -> None:
        self.setup_memguard(lease_us=600_000)
        page, other_page = 0x11000, 0x12000
        cell = lease_index(MEM_SUBID, page)
        self.assertNotEqual(cell, lease_index(MEM_SUBID, other_page))
        self.revoke_lease(MEM_SUBID, page)
        self.revoke_lease(MEM_SUBID, other_page)

        self.request_is_forwarded(bb_request(OWNER, BBCommand.WRITE, paddr=page))
        self.assertEqual(self.read_register(IG + "memguard.mem_lease_holder", cell), ip(OWNER))
        held = MemReason.LEASE_HELD
        self.request_is_refused(bb_request(WRITER2, BBCommand.WRITE, paddr=page + 0x80), held)
        self.request_is_refused(bb_request(WRITER2, BBCommand.WRITE_BULK, paddr=page), held)
        self.request_is_forwarded(bb_request(OWNER, BBCommand.WRITE, paddr=page + 8))
        self.request_is_forwarded(bb_request(WRITER2, BBCommand.READ, paddr=page))
        self.request_is_forwarded(bb_request(WRITER2, BBCommand.WRITE, paddr=other_page))

        self.revoke_lease(MEM_SUBID, page)
        self.request_is_forwarded(bb_request(WRITER2, BBCommand.WRITE, paddr=page))
        self.assertEqual(self.read_register(IG + "memguard.mem_lease_holder", cell), ip(WRITER2))
        self.request_is_refused(bb_request(OWNER, BBCommand.WRITE, paddr=page), held)
        time.sleep(0.7)
        self.request_is_forwarded(bb_request(OWNER, BBCommand.WRITE, paddr=page))
        self.expect_nothing()
        self.digests(VIOLATION, 0, quiet=0.1)


class AllocAndFreeRepliesAreReported(MemGuardTest):
    """Server replies are routed to the client; those to ALLOC, ALLOC_BULK and FREE also give
    the controller a mem_event digest (client, server, command, size, region), a READ reply
    none. An ALLOC "reply" from the client side is spoofed: dropped, no event, a violation
    reported against its destination."""

    def runTest(self) -> None:
        self.setup_memguard()
        replies = [
            (BBCommand.ALLOC, 0x40000, 0x2000),
            (BBCommand.ALLOC_BULK, 0x48000, 0x4000),
            (BBCommand.FREE, 0x40000, 0),
        ]
        for cmd, paddr, args in replies:
            reply = bb_reply(OWNER, cmd, paddr, args)
            self.send(SERVER_PORT, reply)
            self.expect_frames([(CLIENT_PORT, routed(reply, CLIENT_GW_MAC))], quiet=0.05)
            (d,) = self.digests(EVENT, 1, quiet=0.0)
            self.assertEqual(d, MemEventDigest(ip(OWNER), MEM_SUBID, cmd, args, paddr))
        read = bb_reply(OWNER, BBCommand.READ, 0x40000, 64)
        self.send(SERVER_PORT, read)
        self.expect_frames([(CLIENT_PORT, routed(read, CLIENT_GW_MAC))])
        self.digests(EVENT, 0, quiet=0.2)

        delta = self.counter_delta(IG + "memguard.mem_violations", client_index(STRANGER))
        spoofed = bb_reply(STRANGER, BBCommand.ALLOC, 0x50000, 0x1000)
        self.send(CLIENT_PORT, spoofed)
        (v,) = self.digests(VIOLATION, 1, quiet=0.3)
        self.assertEqual((v.client, v.reason, v.ingress_port),
                         (ip(STRANGER), MemReason.SPOOFED_REPLY, CLIENT_PORT))  # fmt: skip
        self.digests(EVENT, 0, quiet=0.0)
        self.expect_nothing()
        self.wait_for_delta(delta, (1, len(spoofed)))

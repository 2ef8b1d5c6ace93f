"""Client arbitration: one primary per (device, role), chosen by ``election_id``.

The spec's rules ("Client Arbitration and Controller Replication", "Rules for Handling
``MasterArbitrationUpdate`` Messages"), with one policy choice:

- ``promote_on_disconnect=True`` (the default, what BMv2's PI server does): the primary is the
  live client with the highest election id, so when the primary's stream closes the next highest
  backup is promoted and every client of the role is told.
- ``promote_on_disconnect=False`` (the letter of the spec): the primary is the live client whose
  election id equals the highest the server has ever seen for the role; when it leaves, the role
  has no primary until a client arbitrates with an election id at least that high.

Errors that end the stream (the caller terminates it with the :class:`P4RTError`): an unknown
device id on the first update (NOT_FOUND), an election id already used by another live client of
the role (INVALID_ARGUMENT), a later update that changes the device id or the role
(FAILED_PRECONDITION).

Roles are kept apart: each role name has its own clients, primary and highest election id. The
default role is ``""``. ``role.config`` is stored and echoed in notifications; a role whose
config is unset has full pipeline access (packet I/O and notifications), one with a config
(whose scheme this server does not interpret) keeps write access to everything but receives no
packet-in, digest or idle-timeout notifications.

Thread-safe; notifications are handed to the ``notify`` callback while the lock is held, so it
must not block (the stream sessions queue them).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import code_pb2
from p4.v1 import p4runtime_pb2

from .errors import P4RTError

__all__ = ["Arbitrator", "ClientInfo", "election_id_of", "role_name_of"]

log = logging.getLogger("sluice.switch")

Notify = Callable[[Hashable, p4runtime_pb2.StreamMessageResponse], None]


def election_id_of(msg: Any) -> int | None:
    """The ``election_id`` of a request as one integer, ``None`` when the field is unset."""
    if not msg.HasField("election_id"):
        return None
    eid = msg.election_id
    return (eid.high << 64) | eid.low


def role_name_of(role: p4runtime_pb2.Role | None) -> str:
    """The role's key: its name; the deprecated numeric ``id`` (``"#<id>"``) if only that is set;
    ``""`` for the default role."""
    if role is None:
        return ""
    if role.name:
        return role.name
    return f"#{role.id}" if role.id else ""


def _request_role(req: Any) -> str:
    role = getattr(req, "role", "")
    if role:
        return role
    role_id = getattr(req, "role_id", 0)  # deprecated uint64 field of Write/SetPipeline
    return f"#{role_id}" if role_id else ""


def _show_eid(eid: int | None) -> str:
    if eid is None:
        return "unset"
    high, low = eid >> 64, eid & ((1 << 64) - 1)
    return f"{high},{low}" if high else str(low)


@dataclass
class ClientInfo:
    """One live controller stream: its role and election id."""

    client: Hashable
    role: str
    election_id: int | None
    name: str = ""  # for log lines (the peer address)


@dataclass
class _Role:
    name: str
    role_msg: p4runtime_pb2.Role | None = None  # as last received from the primary
    clients: dict[Hashable, ClientInfo] = field(default_factory=dict)
    highest: int | None = None  # highest election id ever seen for the role
    primary: Hashable | None = None
    had_primary: bool = False


class Arbitrator:
    """Primary election for one device (see the module docstring)."""

    def __init__(
        self,
        device_id: int,
        notify: Notify,
        *,
        promote_on_disconnect: bool = True,
        on_primary_change: Callable[[str, ClientInfo | None], None] | None = None,
    ) -> None:
        self.device_id = device_id
        self._notify = notify
        self.promote_on_disconnect = promote_on_disconnect
        self._on_primary_change = on_primary_change
        self._lock = threading.Lock()
        self._roles: dict[str, _Role] = {"": _Role("")}
        self._client_role: dict[Hashable, str] = {}

    # -- stream events -------------------------------------------------------------------------

    def update(
        self, client: Hashable, msg: p4runtime_pb2.MasterArbitrationUpdate, name: str = ""
    ) -> None:
        """Handle a ``MasterArbitrationUpdate`` received on ``client``'s stream.

        Raises :class:`P4RTError` when the stream must be terminated (the client is then not
        registered, or keeps its previous registration for a refused later update).
        """
        role_name = role_name_of(msg.role if msg.HasField("role") else None)
        eid = election_id_of(msg)
        with self._lock:
            current = self._client_role.get(client)
            if current is None:
                if msg.device_id != self.device_id:
                    raise P4RTError(
                        grpc.StatusCode.NOT_FOUND,
                        f"device id {msg.device_id} is not known: this switch is device "
                        f"{self.device_id}",
                    )
            else:
                if msg.device_id != self.device_id:
                    raise P4RTError(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        f"the stream is for device {self.device_id}; it cannot switch to device "
                        f"{msg.device_id}",
                    )
                if role_name != current:
                    raise P4RTError(
                        grpc.StatusCode.FAILED_PRECONDITION,
                        f"the stream is for role {current!r}; to change role, open a new stream "
                        f"(asked for {role_name!r})",
                    )
            role = self._roles.get(role_name)
            if role is None:
                role = self._roles[role_name] = _Role(role_name)
            if eid is not None:
                for other in role.clients.values():
                    if other.client is not client and other.election_id == eid:
                        raise P4RTError(
                            grpc.StatusCode.INVALID_ARGUMENT,
                            f"election id {_show_eid(eid)} is already used by another "
                            f"controller of role {role_name or '<default>'}",
                        )
            info = role.clients.get(client)
            if info is None:
                info = role.clients[client] = ClientInfo(client, role_name, eid, name)
                self._client_role[client] = role_name
            else:
                info.election_id = eid
            if eid is not None and (role.highest is None or eid >= role.highest):
                role.highest = eid
            before = role.primary
            primary = self._elect(role)
            if primary is client:
                role.role_msg = msg.role if msg.HasField("role") else None
            if primary is not before or primary is client:
                # a new primary, a primary that stepped down, or the primary re-arbitrating
                # (possibly with a new role config): everyone of the role hears about it
                self._primary_changed(role, before)
                self._notify_all(role)
            else:
                self._notify_one(role, info)

    def remove(self, client: Hashable) -> None:
        """``client``'s stream has closed; promote or clear the primary and tell the others."""
        with self._lock:
            role_name = self._client_role.pop(client, None)
            if role_name is None:
                return
            role = self._roles[role_name]
            role.clients.pop(client, None)
            before = role.primary
            primary = self._elect(role)
            if before is client or primary is not before:
                self._primary_changed(role, before)
                self._notify_all(role)

    # -- queries -------------------------------------------------------------------------------

    def check_primary(self, device_id: int, req: Any) -> None:
        """The checks of Write and SetForwardingPipelineConfig, in the spec's order.

        ``req`` carries ``role`` (or the deprecated ``role_id``) and ``election_id``. Raises
        NOT_FOUND for an unknown device or role, PERMISSION_DENIED when the request's election id
        is not the role's primary's.
        """
        if device_id != self.device_id:
            raise P4RTError(
                grpc.StatusCode.NOT_FOUND,
                f"device id {device_id} is not known: this switch is device {self.device_id}",
            )
        role_name = _request_role(req)
        eid = election_id_of(req)
        with self._lock:
            role = self._roles.get(role_name)
            if role is None:
                raise P4RTError(
                    grpc.StatusCode.NOT_FOUND,
                    f"role {role_name!r} is not known: no controller has arbitrated for it",
                )
            primary = role.clients.get(role.primary) if role.primary is not None else None
            if primary is None:
                raise P4RTError(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"role {role_name or '<default>'} has no primary controller: open a "
                    "StreamChannel and send a MasterArbitrationUpdate first",
                )
            if eid is None or eid != primary.election_id:
                raise P4RTError(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"election id {_show_eid(eid)} is not the primary's for role "
                    f"{role_name or '<default>'}",
                )

    def is_primary(self, client: Hashable) -> bool:
        """Whether ``client`` is the primary of its role."""
        with self._lock:
            role_name = self._client_role.get(client)
            return role_name is not None and self._roles[role_name].primary is client

    def has_full_access(self, client: Hashable) -> bool:
        """Whether ``client`` is a primary whose role has full pipeline access (unset config):
        it may send packet-out and acknowledge digests."""
        with self._lock:
            role_name = self._client_role.get(client)
            if role_name is None:
                return False
            role = self._roles[role_name]
            return role.primary is client and not _has_config(role.role_msg)

    def is_registered(self, client: Hashable) -> bool:
        """Whether ``client`` has arbitrated successfully."""
        with self._lock:
            return client in self._client_role

    def receivers(self) -> list[Hashable]:
        """The primaries of roles with full pipeline access: who gets packet-in, digest lists and
        idle-timeout notifications."""
        with self._lock:
            return [
                r.primary
                for r in self._roles.values()
                if r.primary is not None and not _has_config(r.role_msg)
            ]

    def snapshot(self) -> dict[str, Any]:
        """The arbitration state by role (for logs and the admin interface)."""
        with self._lock:
            out = {}
            for r in self._roles.values():
                if not r.clients and r.highest is None:
                    continue
                primary = r.clients.get(r.primary) if r.primary is not None else None
                out[r.name or "<default>"] = {
                    "primary": _show_eid(primary.election_id) if primary else None,
                    "backups": sorted(
                        _show_eid(c.election_id) for c in r.clients.values() if c is not primary
                    ),
                    "highest_election_id": _show_eid(r.highest),
                }
            return out

    # -- internals -----------------------------------------------------------------------------

    def _elect(self, role: _Role) -> Hashable | None:
        best: ClientInfo | None = None
        if self.promote_on_disconnect:
            for c in role.clients.values():
                if c.election_id is not None and (
                    best is None or c.election_id > best.election_id  # type: ignore[operator]
                ):
                    best = c
        elif role.highest is not None:
            for c in role.clients.values():
                if c.election_id == role.highest:
                    best = c
        role.primary = best.client if best is not None else None
        if best is not None:
            role.had_primary = True
        return role.primary

    def _primary_changed(self, role: _Role, before: Hashable | None) -> None:
        if role.primary is before:
            return
        info = role.clients.get(role.primary) if role.primary is not None else None
        label = role.name or "<default>"
        if info is not None:
            log.info(
                "controller %s (election id %s) is now primary for role %s",
                info.name or "?",
                _show_eid(info.election_id),
                label,
            )
        else:
            log.info("role %s has no primary controller", label)
        if self._on_primary_change is not None:
            self._on_primary_change(role.name, info)

    def _message(self, role: _Role, primary: bool) -> p4runtime_pb2.StreamMessageResponse:
        resp = p4runtime_pb2.StreamMessageResponse()
        arb = resp.arbitration
        arb.device_id = self.device_id
        if role.role_msg is not None:
            arb.role.CopyFrom(role.role_msg)
        elif role.name:
            if role.name.startswith("#"):
                arb.role.id = int(role.name[1:])
            else:
                arb.role.name = role.name
        current = role.clients.get(role.primary) if role.primary is not None else None
        eid = (
            current.election_id
            if current is not None
            else (role.highest if role.had_primary else None)
        )
        if eid is not None:
            arb.election_id.high = eid >> 64
            arb.election_id.low = eid & ((1 << 64) - 1)
        if current is not None and primary:
            arb.status.code = code_pb2.OK
            arb.status.message = "you are the primary"
        elif current is not None:
            arb.status.code = code_pb2.ALREADY_EXISTS
            arb.status.message = "you are a backup: another controller is primary"
        else:
            arb.status.code = code_pb2.NOT_FOUND
            arb.status.message = "there is no primary controller"
        return resp

    def _notify_one(self, role: _Role, info: ClientInfo) -> None:
        self._notify(info.client, self._message(role, role.primary is info.client))

    def _notify_all(self, role: _Role) -> None:
        for info in list(role.clients.values()):
            self._notify_one(role, info)


def _has_config(role_msg: p4runtime_pb2.Role | None) -> bool:
    return role_msg is not None and role_msg.HasField("config")

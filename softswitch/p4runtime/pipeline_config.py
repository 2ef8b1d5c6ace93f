"""Pipeline config: SetForwardingPipelineConfig, GetForwardingPipelineConfig and reconcile.

VERIFY loads the config into a throw-away engine; VERIFY_AND_SAVE keeps it as the *saved*
pipeline (Read and Write use it until COMMIT); COMMIT makes the saved one run; VERIFY_AND_COMMIT
replaces the pipeline; RECONCILE_AND_COMMIT replaces it and carries over, with :func:`reconcile`,
what the new program accepts (see :mod:`.server` for the whole contract).
:class:`PipelineConfigRPCs` is mixed into :class:`.server.P4RuntimeService`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc
from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from ..runtime import Pipeline
from .errors import P4RTError
from .rpc import _err, _rpc

log = logging.getLogger("sluice.switch")

Action = p4runtime_pb2.SetForwardingPipelineConfigRequest
ResponseType = p4runtime_pb2.GetForwardingPipelineConfigRequest
Update = p4runtime_pb2.Update


class PipelineConfigRPCs:
    """The pipeline-config RPCs (a mixin for :class:`.server.P4RuntimeService`)."""

    @_rpc
    def SetForwardingPipelineConfig(
        self, request: Any, context: Any
    ) -> p4runtime_pb2.SetForwardingPipelineConfigResponse:
        """VERIFY, VERIFY_AND_SAVE, VERIFY_AND_COMMIT, COMMIT, RECONCILE_AND_COMMIT."""
        self.arbitrator.check_primary(request.device_id, request)
        action = request.action
        # one pipeline change at a time; building an engine happens outside the runtime lock
        with self._set_pipeline_lock:
            if action == Action.COMMIT:
                if request.HasField("config") and request.config.ByteSize():
                    raise _err(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        "COMMIT takes no config: it commits the saved one",
                    )
                with self.rt.lock:
                    saved, self.saved = self.saved, None
                if saved is None:
                    raise _err(
                        grpc.StatusCode.NOT_FOUND,
                        "no saved config to commit (send VERIFY_AND_SAVE first)",
                    )
                self.rt.commit(saved)
                return p4runtime_pb2.SetForwardingPipelineConfigResponse()
            if action not in (
                Action.VERIFY,
                Action.VERIFY_AND_SAVE,
                Action.VERIFY_AND_COMMIT,
                Action.RECONCILE_AND_COMMIT,
            ):
                raise _err(grpc.StatusCode.INVALID_ARGUMENT, f"unknown or unset action {action}")
            pipeline = self._build(request)
            if action == Action.VERIFY:
                log.info("pipeline config verified (not applied)")
            elif action == Action.VERIFY_AND_SAVE:
                with self.rt.lock:
                    self.saved = pipeline
                log.info("pipeline config saved; Read and Write now use it until COMMIT")
            elif action == Action.VERIFY_AND_COMMIT:
                with self.rt.lock:
                    self.saved = None
                self.rt.commit(pipeline)
            else:
                with self.rt.lock:
                    old = self.saved or self.rt.pipeline
                    self.saved = None
                    if old is not None:
                        kept, lost, first = reconcile(old, pipeline)
                        log.info(
                            "reconcile: kept %d entities, dropped %d%s",
                            kept,
                            lost,
                            f" (first: {first})" if first else "",
                        )
                    self.rt.commit(pipeline)
        return p4runtime_pb2.SetForwardingPipelineConfigResponse()

    def _build(self, request: Any) -> Pipeline:
        if not request.HasField("config"):
            raise _err(grpc.StatusCode.INVALID_ARGUMENT, "the request has no config")
        cfg = request.config
        if not cfg.HasField("p4info"):
            raise _err(grpc.StatusCode.INVALID_ARGUMENT, "the config has no p4info")
        if not cfg.p4_device_config:
            raise _err(grpc.StatusCode.INVALID_ARGUMENT, "the config has no p4_device_config")
        p4info = p4info_pb2.P4Info()
        p4info.CopyFrom(cfg.p4info)
        cookie = None
        if cfg.HasField("cookie"):
            cookie = p4runtime_pb2.ForwardingPipelineConfig.Cookie()
            cookie.CopyFrom(cfg.cookie)
        t0 = time.perf_counter()
        try:
            pipeline = self.rt.build_pipeline(p4info, cfg.p4_device_config, cookie)
        except ValueError as exc:
            raise _err(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        except P4RTError:
            raise
        log.debug("pipeline built in %.1f ms", (time.perf_counter() - t0) * 1000)
        return pipeline

    @_rpc
    def GetForwardingPipelineConfig(
        self, request: Any, context: Any
    ) -> p4runtime_pb2.GetForwardingPipelineConfigResponse:
        """The saved (if any) or running pipeline, fields per ``response_type``."""
        self._check_device(request.device_id)
        resp = p4runtime_pb2.GetForwardingPipelineConfigResponse()
        with self.rt.lock:
            pl = self.saved or self.rt.pipeline
        if pl is None:
            return resp
        rt = request.response_type
        if rt not in (
            ResponseType.ALL,
            ResponseType.COOKIE_ONLY,
            ResponseType.P4INFO_AND_COOKIE,
            ResponseType.DEVICE_CONFIG_AND_COOKIE,
        ):
            raise _err(grpc.StatusCode.INVALID_ARGUMENT, f"unknown response_type {rt}")
        cfg = resp.config
        if rt in (ResponseType.ALL, ResponseType.P4INFO_AND_COOKIE):
            cfg.p4info.CopyFrom(pl.p4info)
        if rt in (ResponseType.ALL, ResponseType.DEVICE_CONFIG_AND_COOKIE):
            cfg.p4_device_config = pl.device_config
        if pl.cookie is not None:
            cfg.cookie.CopyFrom(pl.cookie)
        else:
            cfg.SetInParent()
        return resp


# -- reconcile ----------------------------------------------------------------------------------


def _wildcards(p4info: Any) -> list[tuple[Any, int]]:
    """Entities to read for a reconcile, with the update type that recreates them."""
    E, U = p4runtime_pb2.Entity, Update
    out: list[tuple[Any, int]] = [
        (E(action_profile_member=p4runtime_pb2.ActionProfileMember()), U.INSERT),
        (E(action_profile_group=p4runtime_pb2.ActionProfileGroup()), U.INSERT),
        (E(table_entry=p4runtime_pb2.TableEntry()), U.INSERT),
    ]
    for t in p4info.tables:
        out.append(
            (
                E(
                    table_entry=p4runtime_pb2.TableEntry(
                        table_id=t.preamble.id, is_default_action=True
                    )
                ),
                U.MODIFY,
            )
        )
    pre = p4runtime_pb2.PacketReplicationEngineEntry
    out += [
        (
            E(
                packet_replication_engine_entry=pre(
                    multicast_group_entry=p4runtime_pb2.MulticastGroupEntry()
                )
            ),
            U.INSERT,
        ),
        (
            E(
                packet_replication_engine_entry=pre(
                    clone_session_entry=p4runtime_pb2.CloneSessionEntry()
                )
            ),
            U.INSERT,
        ),
        (E(digest_entry=p4runtime_pb2.DigestEntry()), U.INSERT),
        (E(meter_entry=p4runtime_pb2.MeterEntry()), U.MODIFY),
    ]
    return out


def reconcile(old: Pipeline, new: Pipeline) -> tuple[int, int, str]:
    """Carry ``old``'s state into ``new`` (see the module docstring); returns (kept, dropped,
    first error message)."""
    kept = lost = 0
    first = ""
    for query, utype in _wildcards(old.p4info):
        try:
            entities = list(old.store.read(query))
        except P4RTError:
            continue
        for e in entities:
            if utype == Update.MODIFY and e.WhichOneof("entity") == "table_entry":
                if _same_default(new, e):
                    continue
            try:
                new.store.write(Update(type=utype, entity=e))
                kept += 1
            except P4RTError as err:
                lost += 1
                first = first or err.message
            except Exception as exc:  # noqa: BLE001
                lost += 1
                first = first or repr(exc)
    for name, reg in old.switch.registers.items():
        dst = new.switch.registers.get(name)
        if dst is not None and len(dst) == len(reg) and dst.bitwidth == reg.bitwidth:
            for i, v in enumerate(reg.values()):
                if v:
                    dst.set(i, v)
    for name, ctr in old.switch.counters.items():
        dst = new.switch.counters.get(name)
        if dst is not None and len(dst) == len(ctr):
            for i in range(len(ctr)):
                p, b = ctr.read(i)
                if p or b:
                    dst.write(i, p, b)
    return kept, lost, first


def _same_default(new: Pipeline, entity: Any) -> bool:
    try:
        current = list(
            new.store.read(
                p4runtime_pb2.Entity(
                    table_entry=p4runtime_pb2.TableEntry(
                        table_id=entity.table_entry.table_id, is_default_action=True
                    )
                )
            )
        )
    except P4RTError:
        return False
    return bool(current) and current[0].table_entry.action == entity.table_entry.action

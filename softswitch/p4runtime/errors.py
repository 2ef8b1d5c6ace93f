"""P4Runtime errors: one exception type and the spec's per-update batch error.

A failed Write answers with gRPC status ``UNKNOWN`` at the top level and, in the trailing
metadata key ``grpc-status-details-bin``, a serialised ``google.rpc.Status`` whose ``details``
hold one ``p4.v1.Error`` per update of the batch, in order (``OK`` for those that succeeded).
Any other RPC failure is a plain status code and message (:func:`abort`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

import grpc
from google.rpc import code_pb2, status_pb2
from p4.v1 import p4runtime_pb2

from ..engine.action_profiles import InUse
from ..engine.tables import AlreadyExists, NotFound, ReadOnly, TableFull

__all__ = [
    "STATUS_DETAILS_KEY",
    "P4RTError",
    "abort",
    "abort_with_batch_errors",
    "batch_status",
    "batch_trailing_metadata",
    "engine_call",
    "invalid",
    "not_found",
    "unimplemented",
]

STATUS_DETAILS_KEY = "grpc-status-details-bin"
Code = grpc.StatusCode
R = TypeVar("R")


class P4RTError(Exception):
    """A P4Runtime failure: a gRPC status code and a message saying what was wrong."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"

    @property
    def canonical_code(self) -> int:
        """The numeric ``google.rpc.Code`` of :attr:`code`."""
        return int(self.code.value[0])

    def to_proto(self) -> p4runtime_pb2.Error:
        """This error as the ``p4.v1.Error`` of one update."""
        return p4runtime_pb2.Error(canonical_code=self.canonical_code, message=self.message)


def batch_status(per_update: Sequence[P4RTError | None]) -> status_pb2.Status:
    """The ``google.rpc.Status`` of a Write in which some update failed: code ``UNKNOWN`` and
    one ``p4.v1.Error`` per update (``None`` = the update succeeded, reported as ``OK``)."""
    failed = [e for e in per_update if e is not None]
    if len(failed) == 1:
        message = failed[0].message
    else:
        message = f"{len(failed)} of {len(per_update)} updates failed"
    status = status_pb2.Status(code=code_pb2.UNKNOWN, message=message)
    for err in per_update:
        detail = (
            err.to_proto() if err is not None else p4runtime_pb2.Error(canonical_code=code_pb2.OK)
        )
        status.details.add().Pack(detail)
    return status


def batch_trailing_metadata(per_update: Sequence[P4RTError | None]) -> tuple[tuple[str, bytes]]:
    """The trailing metadata that carries :func:`batch_status` (for async servers, which set
    it themselves before aborting)."""
    return ((STATUS_DETAILS_KEY, batch_status(per_update).SerializeToString()),)


def abort_with_batch_errors(context: Any, per_update: Sequence[P4RTError | None]) -> NoReturn:
    """End a Write RPC (sync ``grpc.ServicerContext``) with the spec's batch error."""
    status = batch_status(per_update)
    context.set_trailing_metadata(((STATUS_DETAILS_KEY, status.SerializeToString()),))
    context.abort(grpc.StatusCode.UNKNOWN, status.message)
    raise AssertionError("context.abort returned")  # pragma: no cover


def abort(context: Any, err: P4RTError) -> NoReturn:
    """End an RPC (sync ``grpc.ServicerContext``) with ``err``'s code and message."""
    context.abort(err.code, err.message)
    raise AssertionError("context.abort returned")  # pragma: no cover


# -- shorthands used by the entity translation ---------------------------------------------


def invalid(msg: str) -> P4RTError:
    """``INVALID_ARGUMENT``."""
    return P4RTError(Code.INVALID_ARGUMENT, msg)


def not_found(msg: str) -> P4RTError:
    """``NOT_FOUND``."""
    return P4RTError(Code.NOT_FOUND, msg)


def unimplemented(msg: str) -> P4RTError:
    """``UNIMPLEMENTED``."""
    return P4RTError(Code.UNIMPLEMENTED, msg)


def engine_call(fn: Callable[..., R], *args: Any) -> R:
    """Call the engine, turning its exceptions into :class:`P4RTError` with the spec's code.

    Callers validate before they call, so these are a safety net, not the normal path."""
    try:
        return fn(*args)
    except AlreadyExists as e:
        raise P4RTError(Code.ALREADY_EXISTS, str(e)) from None
    except NotFound as e:
        raise P4RTError(Code.NOT_FOUND, str(e)) from None
    except TableFull as e:
        raise P4RTError(Code.RESOURCE_EXHAUSTED, str(e)) from None
    except ReadOnly as e:
        raise P4RTError(Code.PERMISSION_DENIED, str(e)) from None
    except InUse as e:
        raise P4RTError(Code.FAILED_PRECONDITION, str(e)) from None
    except IndexError as e:
        raise P4RTError(Code.OUT_OF_RANGE, str(e)) from None
    except KeyError as e:
        raise P4RTError(Code.NOT_FOUND, str(e.args[0] if e.args else e)) from None
    except ValueError as e:
        raise P4RTError(Code.INVALID_ARGUMENT, str(e)) from None

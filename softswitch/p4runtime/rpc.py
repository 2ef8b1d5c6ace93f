"""How every RPC of the service answers a failure: the error's status, or INTERNAL for a bug."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc

from .errors import P4RTError, abort, abort_with_batch_errors

if TYPE_CHECKING:
    from .server import P4RuntimeService

log = logging.getLogger("sluice.switch")


class _BatchFailed(Exception):
    def __init__(self, per_update: list[P4RTError | None]) -> None:
        super().__init__("batch failed")
        self.per_update = per_update


def _rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn P4RTError into the RPC's status and anything unexpected into INTERNAL."""

    @functools.wraps(method)
    def wrapper(self: P4RuntimeService, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except P4RTError as err:
            failure: Any = err
        except _BatchFailed as exc:
            failure = exc
        except Exception as exc:  # noqa: BLE001 - the server must answer, not crash
            log.exception("%s failed with an internal error", method.__name__)
            failure = P4RTError(
                grpc.StatusCode.INTERNAL, f"internal error in {method.__name__}: {exc!r}"
            )
        if isinstance(failure, _BatchFailed):
            abort_with_batch_errors(context, failure.per_update)
        abort(context, failure)

    return wrapper


def _err(code: grpc.StatusCode, message: str) -> P4RTError:
    return P4RTError(code, message)

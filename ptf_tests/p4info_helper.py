"""Only for ``tools/bench_p4runtime.py``, which still builds table entries through the PTF
suites' former helper: :class:`controlplane.p4rt.TableEntry` encoded by a
:class:`controlplane.p4rt.P4Schema`. New code uses those; delete this module once the bench
does.
"""

from __future__ import annotations

from typing import Any

from p4.config.v1 import p4info_pb2
from p4.v1 import p4runtime_pb2

from controlplane.p4rt import P4Schema, TableEntry

__all__ = ["P4InfoHelper"]


class P4InfoHelper:
    """Table entries by name as ``p4.v1.TableEntry`` messages."""

    def __init__(self, p4info: p4info_pb2.P4Info) -> None:
        self.schema = P4Schema(p4info)

    def table_entry(
        self,
        table: str,
        match: dict[str, Any] | None = None,
        action: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> p4runtime_pb2.TableEntry:
        """The ``p4.v1.TableEntry`` of ``table`` (see :class:`controlplane.p4rt.TableEntry`)."""
        return TableEntry(table, dict(match or {}), action, dict(params or {})).encode_inner(
            self.schema
        )

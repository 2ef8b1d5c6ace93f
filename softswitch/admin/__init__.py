"""The admin interface: what BMv2 offers over Thrift to ``simple_switch_CLI``, as JSON over TCP.

Protocol: one JSON object per line each way. A request ``{"command": "set_queue_depth",
"args": ["64", "1"]}`` gets ``{"ok": true, "output": "<text>", "result": <data>}`` or
``{"ok": false, "error": "<message>"}``. Arguments are strings, as typed at the CLI, so the
server does all parsing and ``sluice switch-cli`` stays thin. Default address 127.0.0.1:9090
(BMv2's Thrift port).

Commands take simple_switch_CLI's names and argument order (``help`` lists them):
queues (``set_queue_depth``, ``set_queue_rate``, plus ``set_port_rate``, ``queue_pause``,
``queue_resume``, ``tm_stats``), mirroring (``mirroring_add``, ``mirroring_add_mc``,
``mirroring_delete``, ``mirroring_get``), multicast (``mc_mgrp_create``, ``mc_mgrp_destroy``,
``mc_node_create``, ``mc_node_update``, ``mc_node_associate``, ``mc_node_dissociate``,
``mc_node_destroy``, ``mc_dump``), state (``register_read``, ``register_write``,
``register_reset``, ``counter_read``, ``counter_reset``, ``table_num_entries``, ``table_dump``,
``show_tables``), table writes (``table_add``, ``table_modify``, ``table_delete``,
``table_set_default``, ``table_clear``: entry handles are the engine's insertion numbers, a
``table_add`` priority follows simple_switch_CLI, smaller wins, and is stored as
``PRIORITY_TOP - p`` so P4Runtime, where larger wins, reads the same order), and
``show_ports``, ``switch_info``.
"""

from .base import AdminError
from .commands import AdminCommands
from .transport import DEFAULT_ADMIN_ADDR, AdminClient, AdminServer, parse_address

__all__ = [
    "DEFAULT_ADMIN_ADDR",
    "AdminClient",
    "AdminCommands",
    "AdminError",
    "AdminServer",
    "parse_address",
]

"""Controller apps: each owns part of the switch state and reacts to the switch's reports.

- :mod:`.base`: :class:`App`, the interface the controller drives.
- :mod:`.router`: L2/L3 entries, clone sessions, queue classes, doorbells from topology/policy.
- :mod:`.allocator`: the queue allocator (new-flow digests, idle timeouts, reasons).
- :mod:`.memguard`: grants, revocations, ALLOC allow-lists and the violation log.
- :mod:`.stats`: counters, occupancy and queue depths sampled at a set period.
"""

from .allocator import Allocation, AllocationError, AllocatorApp, QueueAllocator
from .base import App
from .memguard import Grant, MemGuardApp
from .router import RouterApp
from .stats import StatsApp

__all__ = [
    "Allocation",
    "AllocationError",
    "AllocatorApp",
    "App",
    "Grant",
    "MemGuardApp",
    "QueueAllocator",
    "RouterApp",
    "StatsApp",
]

"""The interface between the controller and its apps.

The controller owns the connections; an app declares what it wants on each switch and reacts
to what the switches report. Desired state is declarative so the controller can push it to a
fresh switch, and reconcile it with what a switch already holds (only the differences are
written) after either side restarts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..controller import Controller, SwitchHandle


class App:
    """Base class: every hook is optional."""

    name = "app"
    #: tables whose entries this app alone owns: reconcile deletes entries it does not want
    tables: tuple[str, ...] = ()
    #: digests this app handles (P4Runtime names)
    digests: tuple[str, ...] = ()

    def __init__(self, ctl: Controller) -> None:
        self.ctl = ctl

    def desired(self, sw: SwitchHandle) -> list[Any]:
        """Entities (table entries, clone sessions) that must be on ``sw``."""
        return []

    def configure(self, sw: SwitchHandle) -> None:
        """Idempotent writes that are not reconciled (registers, target driver settings):
        run after every (re)connect and pipeline push."""

    def on_digest(self, sw: SwitchHandle, digest: str, data: list[Any]) -> None:
        """Digest messages (decoded dicts) of one of :attr:`digests`."""

    def on_idle_timeout(self, sw: SwitchHandle, entries: list[Any]) -> None:
        """Table entries that went idle."""

    def state(self) -> dict[str, Any]:
        """What must survive a controller restart (JSON-able)."""
        return {}

    def load_state(self, data: dict[str, Any]) -> None:
        """Restore :meth:`state`'s output."""

    def start(self) -> None:
        """Called once the switches are ready."""

    def stop(self) -> None:
        """Called by :meth:`Controller.stop`."""

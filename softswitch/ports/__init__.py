"""Switch ports: how frames get in and out of the embedded target.

- :mod:`.base`: the :class:`Port` contract, :class:`PortSet` (ports by number, one blocking
  receive loop, capture hook).
- :mod:`.inprocess`: ports fed and read by the calling code (tests, STF, virtual clock).
- :mod:`.rawsock`: Linux interfaces through ``AF_PACKET`` raw sockets (``-i 0@veth0``; root).
- :mod:`.pcap`: the classic pcap file format and ``--pcap DIR`` capture.
- :mod:`.files`: BMv2's ``--use-files`` mode (``X_in.pcap`` -> switch -> ``X_out.pcap``).
- :mod:`.netns`: veth pairs and network namespaces (with ``tools/veth.sh``).

A switch thread owns one :class:`PortSet` (:func:`open_ports` builds it from BMv2-style
options)::

    ports = open_ports(["0@veth0", "1@veth2"], pcap_dir="captures")
    while running:
        for port, frame in ports.poll(timeout=0.1):
            switch.inject(port.number, frame)
        ...
        for egress_port, frame in switch.outputs():
            ports.send(egress_port, frame)
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from .base import Capture, Direction, Port, PortError, PortSet, parse_interface
from .files import FilePort, FilesPortSet, iter_inputs
from .inprocess import InProcessPort, pair
from .netns import run_in_netns
from .pcap import PcapCapture, PcapReader, PcapWriter, read_pcap, write_pcap
from .rawsock import RawSocketPort

__all__ = [
    "Capture",
    "Direction",
    "FilePort",
    "FilesPortSet",
    "InProcessPort",
    "PcapCapture",
    "PcapReader",
    "PcapWriter",
    "Port",
    "PortError",
    "PortSet",
    "RawSocketPort",
    "iter_inputs",
    "open_ports",
    "pair",
    "parse_interface",
    "read_pcap",
    "write_pcap",
]


def open_ports(
    interfaces: Iterable[str | tuple[int, str]],
    *,
    pcap_dir: str | os.PathLike[str] | None = None,
    use_files: float | None = None,
    files_dir: str | os.PathLike[str] = ".",
    netns: str | None = None,
) -> PortSet:
    """The ports ``simple_switch`` would open for the same options.

    ``interfaces``: ``"0@veth0"`` strings (``-i``) or ``(number, name)`` pairs. ``pcap_dir``:
    ``--pcap DIR`` capture. ``use_files``: ``--use-files SECONDS``, interface ``X`` reading
    ``files_dir/X_in.pcap`` and writing ``X_out.pcap`` (BMv2 uses the working directory, and
    ignores ``--pcap`` in this mode, as we do). Otherwise each interface is a
    :class:`RawSocketPort`, opened inside ``netns`` when given.
    """
    ifaces: dict[int, str] = {}
    for item in interfaces:
        number, name = parse_interface(item) if isinstance(item, str) else item
        if number in ifaces:
            raise ValueError(f"port {number} given twice ({ifaces[number]}, {name})")
        ifaces[number] = name
    if use_files is not None:
        return FilesPortSet(files_dir, ifaces, wait_time=use_files)
    ports = PortSet(capture=PcapCapture(pcap_dir) if pcap_dir is not None else None)
    try:
        for number, name in sorted(ifaces.items()):
            if netns is None:
                ports.add(RawSocketPort(number, name))
            else:
                ports.add(run_in_netns(netns, RawSocketPort, number, name))
    except BaseException:
        ports.close()
        raise
    return ports

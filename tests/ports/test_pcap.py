"""pcap files (against scapy's reader and writer), --pcap capture and --use-files replay."""

from __future__ import annotations

import struct
from decimal import Decimal
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter as ScapyPcapWriter
from scapy.utils import rdpcap, wrpcap

from softswitch.ports import InProcessPort, PortSet, open_ports
from softswitch.ports.files import FilesPortSet, iter_inputs
from softswitch.ports.pcap import (
    LINKTYPE_ETHERNET,
    PcapCapture,
    PcapError,
    PcapReader,
    PcapWriter,
    read_pcap,
    write_pcap,
)


def frame(i: int, size: int = 60) -> bytes:
    """A documentation-range UDP frame whose payload says ``i``."""
    pkt = (
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src="192.0.2.1", dst="198.51.100.1")
        / UDP(sport=1000 + i, dport=2000)
        / i.to_bytes(2, "big")
    )
    raw = bytes(pkt)
    return raw + bytes(max(0, size - len(raw)))


# -- the file format -------------------------------------------------------------------------


def test_our_writer_scapy_reads(tmp_path: Path) -> None:
    path = tmp_path / "w.pcap"
    stamps = [1_700_000_000.000001, 1_700_000_000.5, 1_700_000_001.999999]
    frames = [frame(0), frame(1, 1514), frame(2, 9000)]
    with PcapWriter(path) as w:
        for ts, f in zip(stamps, frames):
            w.write(f, ts)
    pkts = rdpcap(str(path))
    assert [bytes(p) for p in pkts] == frames
    assert [p.time for p in pkts] == [Decimal(f"{ts:.6f}") for ts in stamps]
    assert isinstance(pkts[0], Ether)


def test_scapy_writer_we_read(tmp_path: Path) -> None:
    path = tmp_path / "s.pcap"
    pkts = [Ether(frame(i)) for i in range(3)]
    for i, p in enumerate(pkts):
        p.time = Decimal("1600000000.25") + i
    wrpcap(str(path), pkts)
    with PcapReader(path) as r:
        assert r.linktype == LINKTYPE_ETHERNET and not r.nanosecond
        got = list(r)
    assert [f for _, f in got] == [bytes(p) for p in pkts]
    assert [ts for ts, _ in got] == [1600000000.25 + i for i in range(3)]


def test_nanosecond_and_big_endian_files(tmp_path: Path) -> None:
    path = tmp_path / "ns.pcap"
    w = ScapyPcapWriter(str(path), nano=True, linktype=LINKTYPE_ETHERNET)
    p = Ether(frame(7))
    p.time = Decimal("1600000000.123456789")
    w.write(p)
    w.close()
    with PcapReader(path) as r:
        assert r.nanosecond
        (rec,) = list(r.records())
    assert rec.ts_ns == 1_600_000_000_123_456_789
    assert rec.frame == bytes(p) and rec.orig_len == len(rec.frame)

    # A big-endian microsecond file, written by hand.
    be = tmp_path / "be.pcap"
    data = frame(3)
    be.write_bytes(
        struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
        + struct.pack(">IIII", 12, 345678, len(data), len(data))
        + data
    )
    assert read_pcap(be) == [(12.345678, data)]


def test_writer_flushes_every_record(tmp_path: Path) -> None:
    path = tmp_path / "live.pcap"
    w = PcapWriter(path)
    w.write(frame(0), 1.0)
    assert read_pcap(path) == [(1.0, frame(0))]  # readable before close, like tcpdump -r
    w.write(frame(1), 2.0)
    assert len(read_pcap(path)) == 2
    w.close()


def test_snaplen_truncates_and_reader_reports_original_length(tmp_path: Path) -> None:
    path = tmp_path / "snap.pcap"
    with PcapWriter(path, snaplen=64) as w:
        w.write(frame(0, 100), 5.0)
    (rec,) = list(PcapReader(path).records())
    assert len(rec.frame) == 64 and rec.orig_len == 100


def test_reader_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(40))
    with pytest.raises(PcapError, match="pcapng"):
        PcapReader(bad)
    cut = tmp_path / "cut.pcap"
    write_pcap(cut, [(1.0, frame(0))])
    cut.write_bytes(cut.read_bytes()[:-5])
    with pytest.raises(PcapError, match="truncated"):
        read_pcap(cut)


def test_microsecond_rounding_carries(tmp_path: Path) -> None:
    path = tmp_path / "r.pcap"
    write_pcap(path, [(9.9999999, frame(0))])
    (rec,) = list(PcapReader(path).records())
    assert rec.ts_ns == 10_000_000_000


# -- --pcap capture --------------------------------------------------------------------------


def test_capture_files_per_port_and_direction(tmp_path: Path) -> None:
    ports = PortSet(capture=PcapCapture(tmp_path))
    p0 = ports.add(InProcessPort(0, "veth0"))
    ports.add(InProcessPort(1))
    assert sorted(x.name for x in tmp_path.iterdir()) == [
        "1_in.pcap",
        "1_out.pcap",
        "veth0_in.pcap",
        "veth0_out.pcap",
    ]
    assert isinstance(p0, InProcessPort)
    p0.inject(frame(1))
    assert [f for _, f in ports.poll(0)] == [frame(1)]
    ports.send(1, frame(2))
    ports.send(0, frame(3))
    assert [f for _, f in read_pcap(tmp_path / "veth0_in.pcap")] == [frame(1)]
    assert [f for _, f in read_pcap(tmp_path / "1_out.pcap")] == [frame(2)]
    assert [f for _, f in read_pcap(tmp_path / "veth0_out.pcap")] == [frame(3)]
    assert read_pcap(tmp_path / "1_in.pcap") == []
    ports.close()


def test_capture_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        PcapCapture(tmp_path / "missing")


# -- --use-files -----------------------------------------------------------------------------


def _inputs(tmp_path: Path, spec: dict[str, list[tuple[float, bytes]]]) -> None:
    for name, records in spec.items():
        write_pcap(tmp_path / f"{name}_in.pcap", records)


def test_use_files_replays_in_timestamp_order_ties_to_lowest_port(tmp_path: Path) -> None:
    _inputs(
        tmp_path,
        {
            "1": [(10.0, frame(10)), (30.0, frame(30)), (30.0, frame(31))],
            "2": [(5.0, frame(5)), (30.0, frame(32)), (40.0, frame(40))],
            "3": [],
        },
    )
    ports = FilesPortSet(tmp_path, [3, 2, 1], batch=2)
    # Output files exist from the start, as BMv2 creates them when adding the port.
    assert all((tmp_path / f"{n}_out.pcap").exists() for n in (1, 2, 3))
    seen: list[tuple[int, bytes]] = []
    while not ports.done:
        batch = ports.poll(0)
        assert len(batch) <= 2
        seen += [(p.number, f) for p, f in batch]
    expected = [
        (2, frame(5)),
        (1, frame(10)),
        (1, frame(30)),  # ties at 30 s: port 1 first while its head is tied...
        (1, frame(31)),
        (2, frame(32)),  # ...then port 2
        (2, frame(40)),
    ]
    assert seen == expected
    assert ports.delivered == 6
    assert ports.poll(0) == []  # after the inputs: nothing more, and no error
    ports.send(2, frame(99))
    ports.send(7, frame(98))  # no such port: dropped, as BMv2
    ports.close()
    assert [f for _, f in read_pcap(tmp_path / "2_out.pcap")] == [frame(99)]
    assert read_pcap(tmp_path / "1_out.pcap") == []


def test_use_files_names_and_microsecond_ties(tmp_path: Path) -> None:
    # Nanosecond records within one microsecond tie (BMv2 reads through libpcap in usec).
    for name, ns in (("pA", 1_000_000_900), ("pB", 1_000_000_100)):
        w = ScapyPcapWriter(str(tmp_path / f"{name}_in.pcap"), nano=True, linktype=1)
        p = Ether(frame(int(name == "pB")))
        p.time = Decimal(ns) / Decimal(10**9)
        w.write(p)
        w.close()
    order = [n for n, _ in iter_inputs(tmp_path, {4: "pA", 9: "pB"})]
    assert order == [4, 9]  # tie -> lower port number, though pB is 800 ns earlier


def test_use_files_missing_input_and_truncated_records(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="port 1"):
        FilesPortSet(tmp_path, [1])
    with PcapWriter(tmp_path / "2_in.pcap", snaplen=20) as w:
        w.write(frame(0), 1.0)
    ports = FilesPortSet(tmp_path, [2])
    with pytest.raises(PcapError, match="incompletely captured"):
        ports.poll(0)
    ports.close()


def test_use_files_wait_time_and_respect_timing(tmp_path: Path) -> None:
    _inputs(tmp_path, {"0": [(100.0, frame(0)), (100.05, frame(1))]})
    ports = FilesPortSet(tmp_path, [0], wait_time=0.05, respect_timing=True)
    assert ports.poll(0) == []  # still waiting
    got: list[bytes] = []
    polls = 0
    while len(got) < 2:
        got += [f for _, f in ports.poll(1.0)]
        polls += 1
    assert got == [frame(0), frame(1)]
    assert polls <= 4  # waits, not spins
    ports.close()


def test_open_ports_use_files(tmp_path: Path) -> None:
    _inputs(tmp_path, {"p1": [(1.0, frame(1))], "p0": [(2.0, frame(0))]})
    ports = open_ports(["1@p1", (0, "p0")], use_files=0, files_dir=tmp_path)
    assert isinstance(ports, FilesPortSet)
    assert [(p.number, p.name, f) for p, f in ports.poll(0)] == [
        (1, "p1", frame(1)),
        (0, "p0", frame(0)),
    ]
    ports.send(0, frame(5))
    ports.close()
    assert [f for _, f in read_pcap(tmp_path / "p0_out.pcap")] == [frame(5)]
    with pytest.raises(ValueError, match="twice"):
        open_ports(["1@a", "1@b"], use_files=0, files_dir=tmp_path)


def test_use_files_logs_start_and_exhaustion_once(tmp_path: Path) -> None:
    import logging

    records: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("sluice.files")
    handler, level = _Keep(), logger.level
    logger.addHandler(handler)  # direct: "sluice" may not propagate after a switch CLI test
    logger.setLevel(logging.INFO)
    try:
        _inputs(tmp_path, {"0": [(1.0, frame(0)), (2.0, frame(1))], "1": [(1.5, frame(2))]})
        ports = FilesPortSet(tmp_path, [0, 1], batch=2)
        assert len(ports.poll(0)) == 2
        assert records == ["use-files: input started"]
        assert len(ports.poll(0)) == 1
        assert ports.poll(0) == [] and ports.poll(0) == []
        ports.close()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert records[0] == "use-files: input started"
    assert len(records) == 2  # exhaustion reported once, however often it polls afterwards
    assert records[1].startswith("use-files: input exhausted after 3 packets (")

"""Topology files: the example loads, queries answer, and every mistake names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.topology import TopologyError, load_topology, parse_topology

ROOT = Path(__file__).resolve().parents[2]


def base() -> dict:
    return {
        "switches": [
            {"name": "s1", "p4runtime": "127.0.0.1:9559", "ports": [1, 2, 3]},
            {"name": "s2", "p4runtime": "127.0.0.1:9560", "ports": [1, 2, 3],
             "mac": "00:00:5e:00:53:02"},
            {"name": "s3", "p4runtime": "127.0.0.1:9561", "ports": [1, 2, 3],
             "mac": "00:00:5e:00:53:03"},
        ],
        "hosts": [
            {"name": "a", "mac": "02:00:00:00:00:01", "ipv4": "192.0.2.1", "switch": "s1",
             "port": 1},
            {"name": "m", "mac": "02:00:00:00:00:02", "ipv6": "2001:db8::2", "switch": "s3",
             "port": 1, "role": "memory_server", "subid": 0x2001},
        ],
        "links": [{"a": "s1:2", "b": "s2:2"}, {"a": "s2:3", "b": "s3:3"}],
    }


def test_example_loads() -> None:
    t = load_topology(ROOT / "topo" / "example.toml")
    assert set(t.switches) == {"s1", "s2"}
    assert t.program == str(ROOT / "p4src" / "sluice.p4")
    assert [h.name for h in t.memory_servers()] == ["mem1"]
    assert t.server(0x2001).name == "mem1" and t.server("0x2001").name == "mem1"


def test_paths_and_lookups() -> None:
    t = parse_topology(base(), "t.toml")
    assert t.next_hop("s1", "s3") == (2, "s2")
    assert t.egress("s1", t.hosts["m"]) == (2, "00:00:5e:00:53:02")
    assert t.egress("s3", t.hosts["m"]) == (1, "02:00:00:00:00:02")
    assert t.egress("s3", t.hosts["a"]) == (3, "00:00:5e:00:53:02")
    assert t.host_by_address("2001:db8::2").name == "m"
    assert t.host_by_address(0xC0000201, 4).name == "a"
    assert t.host_by_address("192.0.2.99") is None


def test_unreachable_switch_has_no_egress() -> None:
    d = base()
    d["links"] = d["links"][:1]
    t = parse_topology(d, "t.toml")
    assert t.egress("s1", t.hosts["m"]) is None


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["hosts"][0].update(mac="02:00"), "t.toml: hosts[0].mac: not a MAC address"),
        (lambda d: d["hosts"][0].update(ipv4="2001:db8::1"), "hosts[0].ipv4: not an IPv4"),
        (lambda d: d["hosts"][0].update(port=9), "hosts[0].switch: switch s1 has no port 9"),
        (lambda d: d["hosts"][0].update(switch="zz"), "hosts[0].switch: unknown switch 'zz'"),
        (lambda d: d["hosts"][0].update(colour="red"), "hosts[0].colour: unknown key"),
        (lambda d: d["hosts"][1].pop("subid"), "hosts[1].subid: missing"),
        (lambda d: d["hosts"][0].update(subid=3), "hosts[0].subid: only a host with role"),
        (lambda d: d["hosts"][0].update(role="boss"), "hosts[0].role: expected one of"),
        (lambda d: d["links"].append({"a": "s1:1", "b": "s3:2"}),
         "links[2].a: s1 port 1 is already used by host a"),
        (lambda d: d["links"].append({"a": "s1:3", "b": "s1:3"}), "links[2].b: s1 port 3"),
        (lambda d: d["links"].append({"a": "s1", "b": "s2:1"}), "links[2].a: expected switch:port"),
        (lambda d: d["switches"][0].update(p4runtime="localhost"), "switches[0].p4runtime: "),
        (lambda d: d["switches"][0].update(target="tofino"), "switches[0].target: expected"),
        (lambda d: d["switches"][0].update(cpu_port=1), "switches[0].cpu_port: CPU port 1"),
        (lambda d: d["switches"][1].update(name="s1"), "switches[1].name: switch 's1' defined"),
        (lambda d: d["switches"][0].pop("ports"), "switches[0].ports: missing"),
        (lambda d: d.update(p4info="x.txt"), "device_config: p4info and device_config go"),
        (lambda d: d.update(switches=[]), "switches: expected at least one"),
    ],
)
def test_errors_name_file_and_key(mutate, message: str) -> None:
    d = base()
    mutate(d)
    with pytest.raises(TopologyError) as exc:
        parse_topology(d, "t.toml")
    assert message in str(exc.value)
    assert str(exc.value).startswith("t.toml: ")


def test_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[switches]\n")
    with pytest.raises(TopologyError, match="bad.toml: not valid TOML"):
        load_topology(bad)
    with pytest.raises(TopologyError, match="cannot read"):
        load_topology(tmp_path / "missing.toml")

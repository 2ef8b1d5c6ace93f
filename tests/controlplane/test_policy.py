"""Policy files: classes, rules, classification, memory defaults, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.policy import Policy, PolicyError, load_policy, parse_policy
from controlplane.protocol import FlowKey

ROOT = Path(__file__).resolve().parents[2]


def test_example_loads() -> None:
    p = load_policy(ROOT / "topo" / "policy.toml")
    assert set(p.classes) == {"latency", "bulk"}
    lat = p.classes["latency"]
    assert (lat.queues, lat.preferred, lat.order()) == ((5, 6), (6,), [6, 5])
    assert (lat.high_water, lat.low_water, lat.cap) == (16, 8, 64)
    assert p.default_class == "bulk" and p.sharing == "flows"
    assert str(p.allow_alloc[0].client) == "2001:db8:1::/48"


def test_classify_first_match_and_default() -> None:
    p = parse_policy({
        "defaults": {"class": "bulk"},
        "classes": {"latency": {"queues": [6]}, "bulk": {"queues": "1-4"},
                    "mark": {"queues": [5]}},
        "rules": [
            {"class": "latency", "dport": [5201], "proto": "udp"},
            {"class": "latency", "src": "2001:db8:1::/48", "port": 443},
            {"class": "mark", "dscp": 46},
        ],
    })
    v4 = FlowKey(4, 17, "192.0.2.1", "198.51.100.3", 1000, 5201)
    assert p.classify(v4)[0].name == "latency"
    assert p.classify(FlowKey(4, 6, "192.0.2.1", "198.51.100.3", 1000, 5201))[0].name == "bulk"
    v6 = FlowKey(6, 6, "2001:db8:1::1", "2001:db8:2::3", 443, 9)
    cls, rule = p.classify(v6)
    assert cls.name == "latency" and rule.describe() == "rule 1: port 443 src 2001:db8:1::/48"
    # a v4 flow never matches a v6 prefix
    assert p.classify(FlowKey(4, 6, "192.0.2.1", "198.51.100.3", 443, 9))[0].name == "bulk"
    # DSCP rules only match when the DSCP is known
    other = FlowKey(4, 17, "192.0.2.1", "198.51.100.3", 1, 2)
    assert p.classify(other)[0].name == "bulk"
    assert p.classify(other, dscp=46)[0].name == "mark"
    assert p.class_of_queue(3).name == "bulk" and p.class_of_queue(0) is None


def test_default_policy() -> None:
    p = Policy.default()
    assert p.classes["default"].queues == tuple(range(1, 8))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"classes": {}}, "classes: expected at least one"),
        ({"classes": {"a": {"queues": [0, 1]}}}, "classes.a.queues: queue 0 is the default"),
        ({"classes": {"a": {"queues": [8]}}}, "classes.a.queues: expected an integer in 0..7"),
        ({"classes": {"a": {"queues": [1]}, "b": {"queues": "1-2"}}},
         "classes.b.queues: queue 1 is also class a's"),
        ({"classes": {"a": {"queues": [1], "preferred": [2]}}},
         "classes.a.preferred: queue 2 is not one"),
        ({"classes": {"a": {"queues": [1], "high_water": 4, "low_water": 8}}},
         "classes.a.low_water: 8 is above high_water 4"),
        ({"classes": {"a": {"queues": [1], "high_water": 8, "cap": 4}}}, "classes.a.cap: 4"),
        ({"classes": {"a": {"queues": [1], "speed": 4}}}, "classes.a.speed: unknown key"),
        ({"classes": {"a": {}}}, "classes.a.queues: missing"),
        ({"classes": {"a": {"queues": "x-y"}}}, "classes.a.queues: expected a list or a range"),
        ({"classes": {"a": {"queues": [1]}}, "defaults": {"class": "b"}},
         "defaults.class: unknown class 'b'"),
        ({"classes": {"a": {"queues": [1]}}, "defaults": {"sharing": "random"}},
         "defaults.sharing: expected one of flows, weighted"),
        ({"classes": {"a": {"queues": [1]}}, "rules": [{"class": "z"}]},
         "rules[0].class: unknown class 'z'"),
        ({"classes": {"a": {"queues": [1]}}, "rules": [{"class": "a", "src": "nope"}]},
         "rules[0].src: not an address or prefix"),
        ({"classes": {"a": {"queues": [1]}}, "rules": [{"class": "a", "dscp": 64}]},
         "rules[0].dscp: expected an integer in 0..63"),
        ({"classes": {"a": {"queues": [1]}},
          "memory": {"allow_alloc": [{"client": "192.0.2.0/24"}]}},
         "memory.allow_alloc[0].client: memory clients are IPv6"),
    ],
)
def test_errors_name_file_and_key(data: dict, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(data, "p.toml")
    assert str(exc.value).startswith("p.toml: ")
    assert message in str(exc.value)

"""``sluice compile`` end to end, as a user runs it: real files in, real files out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from google.protobuf import json_format, text_format
from p4.config.v1 import p4info_pb2

from softswitch.cli import main
from softswitch.frontend.compiler import load_device_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ROUTER = os.path.join(ROOT, "p4src", "examples", "l3_router.p4")


def _read_p4info(path: str) -> p4info_pb2.P4Info:
    info = p4info_pb2.P4Info()
    with open(path, "rb") as fh:
        data = fh.read()
    if path.endswith(".bin"):
        info.ParseFromString(data)
    elif path.endswith(".json"):
        json_format.Parse(data.decode(), info)
    else:
        text_format.Parse(data.decode(), info)
    return info


def test_compile_writes_device_config_and_all_p4info_formats(tmp_path):
    files = [str(tmp_path / "p" / f"info.{ext}") for ext in ("txtpb", "bin", "json", "txt")]
    rc = main(["compile", ROUTER, "-o", str(tmp_path / "out"), "--p4runtime-files", ",".join(files)])
    assert rc == 0
    infos = [_read_p4info(f) for f in files]
    assert all(i == infos[0] for i in infos[1:])
    info = infos[0]
    assert info.pkg_info.arch == "v1model"
    tables = {t.preamble.name: t for t in info.tables}
    route = tables["RouterIngress.ipv4_route"]
    assert route.preamble.alias == "ipv4_route"
    assert route.size == 1024
    assert [(m.name, m.bitwidth, m.match_type) for m in route.match_fields] == [
        ("ipv4_dst", 32, p4info_pb2.MatchField.LPM)
    ]
    actions = {a.preamble.id: a for a in info.actions}
    names = {actions[r.id].preamble.name for r in route.action_refs}
    assert names == {"RouterIngress.set_next_hop", "RouterIngress.drop"}
    hop = next(a for a in info.actions if a.preamble.name == "RouterIngress.set_next_hop")
    assert [(p.name, p.bitwidth) for p in hop.params] == [
        ("port", 9), ("dst_mac", 48), ("src_mac", 48)
    ]
    # p4c's scheme: the resource type in the top byte (0x02 tables, 0x01 actions).
    assert route.preamble.id >> 24 == 0x02
    assert hop.preamble.id >> 24 == 0x01
    assert [c.direct_table_id for c in info.direct_counters] == [route.preamble.id]

    config = tmp_path / "out" / "l3_router.json"
    data = config.read_bytes()
    assert json.loads(data)["format"] == "sluice-device-config"
    program = load_device_config(data)
    assert any(getattr(d, "name", None) == "RouterIngress" for d in program.decls)


def test_compile_output_file_form_like_p4c_bm2_ss(tmp_path):
    target = tmp_path / "router.json"
    assert main(["compile", ROUTER, "-o", str(target)]) == 0
    assert json.loads(target.read_bytes())["format"] == "sluice-device-config"


def test_type_error_is_located_with_caret_and_exit_1(tmp_path, capsys):
    broken = tmp_path / "broken.p4"
    text = open(ROUTER).read().replace(
        "hdr.ipv4.ttl = hdr.ipv4.ttl - 1;", "hdr.ipv4.ttl = hdr.ethernet.src_addr;"
    )
    broken.write_text(text)
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if "src_addr;" in line
                   and "ttl" in line)
    assert main(["compile", str(broken), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"{broken}:{line_no}:") and "error" in first
    assert "hdr.ipv4.ttl = hdr.ethernet.src_addr;" in err.splitlines()[1]
    assert err.splitlines()[2].strip() == "^"
    assert "Traceback" not in err


def test_syntax_error_is_located(tmp_path, capsys):
    bad = tmp_path / "bad.p4"
    bad.write_text("#include <core.p4>\nheader h_t { bit<8> f }\n")
    assert main(["compile", str(bad), "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:2:")
    assert "^" in err


def test_include_and_define_flags(tmp_path):
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "width.p4").write_text("typedef bit<WIDTH> word_t;\n")
    prog = tmp_path / "p.p4"
    prog.write_text(
        open(ROUTER).read().replace(
            "#include <v1model.p4>", "#include <v1model.p4>\n#include \"width.p4\""
        ).replace("action drop() {", "action note(word_t w) { }\n    action drop() {")
        .replace("drop;\n        }", "drop;\n            note;\n        }")
    )
    out = tmp_path / "o.txtpb"
    assert main(["compile", str(prog), "-I", str(inc), "-D", "WIDTH=12", "-o", str(tmp_path),
                 "--p4runtime-files", str(out)]) == 0
    note = next(a for a in _read_p4info(str(out)).actions if a.preamble.name.endswith("note"))
    assert [p.bitwidth for p in note.params] == [12]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compile", "/nonexistent/x.p4"], "x.p4"),
        (["compile", ROUTER, "-D", "=3"], "bad -D"),
        (["compile", ROUTER, "--p4runtime-files", "out.proto"], "must end in"),
    ],
)
def test_bad_invocations_say_why(argv, message, capsys, tmp_path):
    argv = argv + ["-o", str(tmp_path)]
    assert main(argv) in (1, 2)
    assert message in capsys.readouterr().err


def test_console_script_runs_without_traceback(tmp_path):
    sluice = os.path.join(os.path.dirname(sys.executable), "sluice")
    if not os.path.exists(sluice):
        pytest.skip("console script not installed in this environment")
    res = subprocess.run([sluice, "compile", ROUTER, "-o", str(tmp_path)], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "l3_router.json").exists()

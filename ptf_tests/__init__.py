"""PTF suites, one directory per program, run on any target (``make ptf TARGET=...``).

``base_test.P4RuntimeTest`` connects over P4Runtime, pushes the pipeline and cleans up after each
test, through :mod:`controlplane.p4rt` (``SwitchConnection``, ``P4Schema``, the entities): plain
P4Runtime, so nothing depends on the target; what differs between the embedded switch and BMv2
lives in ``tools/ptf_run.py``.
"""

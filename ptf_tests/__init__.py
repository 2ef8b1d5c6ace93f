"""PTF suites, one directory per program, run on any target (``make ptf TARGET=...``).

``base_test.P4RuntimeTest`` connects over P4Runtime, pushes the pipeline and cleans up after each
test; ``p4info_helper`` turns names and readable values into P4Runtime messages. Neither depends
on the target: what differs between the embedded switch and BMv2 lives in ``tools/ptf_run.py``.
"""

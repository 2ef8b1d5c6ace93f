"""Tests of the P4 program (p4src/) and its wire formats (controlplane/protocol.py)."""

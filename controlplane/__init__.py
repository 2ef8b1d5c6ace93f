"""Sluice's control plane: the P4Runtime client, the controller apps, the daemon and its CLI.

The client library and apps arrive with the controller issue; the package exists now so that the
layout of DESIGN.md section 1 holds from the first commit.
"""

"""Integration tests: real processes (``sluice switch``, ``sluice controller``) over veth pairs
in a network namespace the test creates and removes. They need root and iproute2's ``ip`` and
skip with the reason otherwise."""

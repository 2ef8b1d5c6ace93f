"""Sluice's embedded software target: P4_16 front end, v1model engine, P4Runtime server."""

__version__ = "0.1.0"

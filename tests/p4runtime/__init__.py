"""Tests of the P4Runtime entity translation and packet I/O."""

"""Tests of the STF parser."""

"""p4c's Simple Test Framework (``.stf``): the parser here, the runner beside it.

``parse``/``parse_file`` turn a file into a list of command dataclasses (see
:mod:`softswitch.stf.parser` for every command type), each with its line number.
"""

from .parser import Command, Expect, Packet, StfError, parse, parse_file

__all__ = ["Command", "Expect", "Packet", "StfError", "parse", "parse_file"]

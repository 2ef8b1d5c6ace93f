"""A parser for p4c's Simple Test Framework (``.stf``) files, with the BMv2 runner's commands.

The grammar is the one p4c's ``tools/stf`` and ``backends/bmv2/bmv2stf.py`` accept:

- one command per line, its word case-insensitive; ``#`` starts a comment;
- ``packet``/``expect`` lines hold a decimal port, then hex digits that may be spaced anywhere
  (``expect`` also takes ``*`` for a don't-care nibble and a final ``$`` for "exactly this long");
- any other command may run on over following lines that do not start with a command word, as
  p4c's lexer allows;
- names are identifiers that may contain ``$`` (``extra$0.h``), ``[n]`` and dots, or are quoted.

Beyond p4c it accepts key forms that simple_switch_CLI and P4Runtime users write (``&&&`` masks,
``lo->hi`` ranges, ``*``, dotted IPv4, colon MAC, IPv6), spaces around ``:``, trailing comments
on packet lines, and ``remove <table> <key>...``. Names are kept as written: resolving tables,
actions, key fields and ``$handle`` references is the runner's job.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

__all__ = [
    "ActionArg",
    "ActionCall",
    "AddEntry",
    "CheckCounter",
    "Command",
    "CounterRead",
    "CounterWrite",
    "Expect",
    "KeyMatch",
    "KeyValue",
    "McMgrpCreate",
    "McNodeAssociate",
    "McNodeCreate",
    "McNodeUpdate",
    "MeterArraySetRates",
    "MeterGetRates",
    "MeterRate",
    "MeterSetRates",
    "MirroringAdd",
    "MirroringAddMc",
    "MirroringDelete",
    "MirroringGet",
    "NoPacket",
    "Packet",
    "RegisterRead",
    "RegisterReset",
    "RegisterWrite",
    "RemoveAll",
    "RemoveEntry",
    "SetDefault",
    "StfError",
    "Wait",
    "parse",
    "parse_file",
]


class StfError(Exception):
    """A located error in an STF file."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


# ---------------------------------------------------------------------------------------------
# Values


KeyKind = Literal["value", "masked", "prefix", "range", "any"]


@dataclass(frozen=True)
class KeyValue:
    """One key value as written; the runner fits it to the field's match kind and width.

    ``kind`` is the written form: ``value`` (a number), ``masked`` (``v&&&m``, or a hex/binary
    literal with ``*`` digits, whose mask has those digits clear), ``prefix`` (``v/len``),
    ``range`` (``lo->hi``, ``value`` is lo) or ``any`` (``*``). ``width`` is how many bits the
    literal was written with (4 per hex digit, 1 per binary digit, 32 for dotted IPv4, ...),
    ``None`` for decimal: p4c's runner derives an LPM prefix from it when no ``/len`` is given.
    """

    text: str
    kind: KeyKind
    value: int = 0
    mask: int | None = None
    prefix_len: int | None = None
    high: int | None = None
    width: int | None = None


@dataclass(frozen=True)
class KeyMatch:
    """``field:value`` in ``add``/``remove``; ``field`` may be a suffix of the real key name."""

    field: str
    value: KeyValue


@dataclass(frozen=True)
class ActionArg:
    """``name:value`` inside an action call."""

    name: str
    value: int
    text: str


@dataclass(frozen=True)
class ActionCall:
    """``action(arg:value, ...)``; ``action`` may be a suffix of the real action name."""

    name: str
    args: tuple[ActionArg, ...] = ()


@dataclass(frozen=True)
class MeterRate:
    """``rate:burst`` of ``meter_set_rates``: units per microsecond, burst in units."""

    rate: float
    burst: int


# ---------------------------------------------------------------------------------------------
# Commands


@dataclass(frozen=True)
class Command:
    """Base of every command; ``line`` is where the command word stands (from 1)."""

    keyword: ClassVar[str] = ""
    line: int


@dataclass(frozen=True)
class Packet(Command):
    """``packet <port> <hex>``: inject ``data`` (upper-case hex, no spaces) on ``port``."""

    keyword: ClassVar[str] = "packet"
    port: int
    data: str

    def payload(self) -> bytes:
        """The packet's bytes."""
        return bytes.fromhex(self.data)


@dataclass(frozen=True)
class Expect(Command):
    """``expect <port> [<hex with * nibbles>] [$]``: the next packet out of ``port``.

    ``data`` is upper-case hex with ``*`` for don't-care nibbles, ``None`` when the line gives
    no data (p4c's BMv2 runner then stops checking that port at all). ``exact`` is the ``$``
    flag: the packet may not be longer than ``data``; it may never be shorter.
    """

    keyword: ClassVar[str] = "expect"
    port: int
    data: str | None
    exact: bool = False

    def matches(self, received: bytes) -> bool:
        """Compare as p4c's runner does: nibble by nibble, ``*`` matching anything."""
        if self.data is None:
            return True
        got = received.hex().upper()
        if len(got) < len(self.data) or (self.exact and len(got) > len(self.data)):
            return False
        return all(e == "*" or e == g for e, g in zip(self.data, got))


@dataclass(frozen=True)
class NoPacket(Command):
    """``no_packet``: no packet comes out (p4c parses it; its BMv2 runner cannot run it)."""

    keyword: ClassVar[str] = "no_packet"


@dataclass(frozen=True)
class AddEntry(Command):
    """``add <table> [<priority>] <key>... <action>(<args>) [= <handle>]``.

    ``priority`` is as written; p4c's BMv2 runner hands BMv2 ``10000 - priority`` so a smaller
    STF number wins. ``handle`` names the entry for ``check_counter t($handle)``.
    """

    keyword: ClassVar[str] = "add"
    table: str
    priority: int | None
    keys: tuple[KeyMatch, ...]
    action: ActionCall
    handle: str | None = None


@dataclass(frozen=True)
class SetDefault(Command):
    """``setdefault <table> <action>(<args>)``."""

    keyword: ClassVar[str] = "setdefault"
    table: str
    action: ActionCall


@dataclass(frozen=True)
class RemoveAll(Command):
    """``remove all``: delete every table entry."""

    keyword: ClassVar[str] = "remove"


@dataclass(frozen=True)
class RemoveEntry(Command):
    """``remove <table> [<priority>] <key>...``: delete one entry by its key."""

    keyword: ClassVar[str] = "remove"
    table: str
    priority: int | None
    keys: tuple[KeyMatch, ...]


@dataclass(frozen=True)
class CheckCounter(Command):
    """``check_counter <counter>(<index> | $<handle>) [packets|bytes <op> <value>]``.

    Without a condition p4c's parser records ``(None, "==", 0)``; that default is left to the
    runner, so ``count_type``, ``op`` and ``value`` are ``None`` here.
    """

    keyword: ClassVar[str] = "check_counter"
    counter: str
    index: int | None
    entry: str | None
    count_type: str | None = None  # "packets" or "bytes"
    op: str | None = None
    value: int | None = None


@dataclass(frozen=True)
class Wait(Command):
    """``wait``: let every packet sent so far finish."""

    keyword: ClassVar[str] = "wait"


@dataclass(frozen=True)
class MirroringAdd(Command):
    """``mirroring_add <session> <port>``: clone session to a port."""

    keyword: ClassVar[str] = "mirroring_add"
    session: int
    port: int


@dataclass(frozen=True)
class MirroringAddMc(Command):
    """``mirroring_add_mc <session> <mgrp>``: clone session to a multicast group."""

    keyword: ClassVar[str] = "mirroring_add_mc"
    session: int
    mgrp: int


@dataclass(frozen=True)
class MirroringDelete(Command):
    """``mirroring_delete <session>``."""

    keyword: ClassVar[str] = "mirroring_delete"
    session: int


@dataclass(frozen=True)
class MirroringGet(Command):
    """``mirroring_get <session>``: show a clone session (nothing is checked)."""

    keyword: ClassVar[str] = "mirroring_get"
    session: int


@dataclass(frozen=True)
class McMgrpCreate(Command):
    """``mc_mgrp_create <mgrp>``."""

    keyword: ClassVar[str] = "mc_mgrp_create"
    mgrp: int


@dataclass(frozen=True)
class McNodeCreate(Command):
    """``mc_node_create <rid> <port>...``: BMv2 numbers nodes 0, 1, ... in creation order."""

    keyword: ClassVar[str] = "mc_node_create"
    rid: int
    ports: tuple[int, ...]


@dataclass(frozen=True)
class McNodeUpdate(Command):
    """``mc_node_update <node> <port>...``."""

    keyword: ClassVar[str] = "mc_node_update"
    node: int
    ports: tuple[int, ...]


@dataclass(frozen=True)
class McNodeAssociate(Command):
    """``mc_node_associate <mgrp> <node>``."""

    keyword: ClassVar[str] = "mc_node_associate"
    mgrp: int
    node: int


@dataclass(frozen=True)
class CounterRead(Command):
    """``counter_read <counter> <index>`` (nothing is checked)."""

    keyword: ClassVar[str] = "counter_read"
    counter: str
    index: int


@dataclass(frozen=True)
class CounterWrite(Command):
    """``counter_write <counter> <index> <packets> <bytes>``, simple_switch_CLI's order."""

    keyword: ClassVar[str] = "counter_write"
    counter: str
    index: int
    packets: int
    bytes: int


@dataclass(frozen=True)
class RegisterRead(Command):
    """``register_read <register> <index>`` (nothing is checked)."""

    keyword: ClassVar[str] = "register_read"
    register: str
    index: int


@dataclass(frozen=True)
class RegisterWrite(Command):
    """``register_write <register> <index> <value>``."""

    keyword: ClassVar[str] = "register_write"
    register: str
    index: int
    value: int


@dataclass(frozen=True)
class RegisterReset(Command):
    """``register_reset <register>``: every cell to 0."""

    keyword: ClassVar[str] = "register_reset"
    register: str


@dataclass(frozen=True)
class MeterGetRates(Command):
    """``meter_get_rates <meter> <index>`` (nothing is checked)."""

    keyword: ClassVar[str] = "meter_get_rates"
    meter: str
    index: int


@dataclass(frozen=True)
class MeterSetRates(Command):
    """``meter_set_rates <meter> <index> <rate>:<burst>...`` (committed first, then peak)."""

    keyword: ClassVar[str] = "meter_set_rates"
    meter: str
    index: int
    rates: tuple[MeterRate, ...]


@dataclass(frozen=True)
class MeterArraySetRates(Command):
    """``meter_array_set_rates <meter> <rate>:<burst>...``: every cell of the array."""

    keyword: ClassVar[str] = "meter_array_set_rates"
    meter: str
    rates: tuple[MeterRate, ...]


# ---------------------------------------------------------------------------------------------
# Lexing

_PACKET_COMMANDS = ("packet", "expect")
_COMMANDS = frozenset(
    {
        "add",
        "setdefault",
        "remove",
        "check_counter",
        "no_packet",
        "wait",
        "mirroring_add",
        "mirroring_add_mc",
        "mirroring_delete",
        "mirroring_get",
        "mc_mgrp_create",
        "mc_node_create",
        "mc_node_update",
        "mc_node_associate",
        "counter_read",
        "counter_write",
        "register_read",
        "register_write",
        "register_reset",
        "meter_get_rates",
        "meter_set_rates",
        "meter_array_set_rates",
        *_PACKET_COMMANDS,
    }
)

_TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<comment>\#.*)
      | (?P<op>==|!=|<=|>=|<|>)
      | (?P<punct>[(),=])
      | (?P<word>(?:"[^"\n]*"|->|[^\s(),=#"<>!])+)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_FIRST_WORD_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_PORT_RE = re.compile(r"\s*(\d+)(?=\s|#|$)")
# Operators a key or rate may have spaces around; the lexer glues them back into one word.
_GLUE = (":", "/", "&&&", "->")


@dataclass(frozen=True)
class _Token:
    kind: str  # word, op, or the punctuation character itself
    text: str
    line: int
    first: bool = False  # first token on its line


def _lex(text: str, line: int, file: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        pos = m.end()
        kind = m.lastgroup
        value = m.group(kind) if kind else None
        if kind is None or kind == "comment":
            continue
        if kind == "bad":
            raise StfError(file, line, f"unexpected character {value!r}")
        tok = _Token(value if kind == "punct" else kind, value, line, not tokens)
        prev = tokens[-1] if tokens else None
        if (
            kind == "word"
            and prev is not None
            and prev.kind == "word"
            and (prev.text.endswith(_GLUE) or value.startswith(_GLUE))
        ):
            tokens[-1] = _Token("word", prev.text + value, prev.line, prev.first)
        else:
            tokens.append(tok)
    return tokens


def _glue_lines(tokens: list[_Token], more: list[_Token]) -> None:
    """Append a continuation line's tokens, gluing across the line break as within a line."""
    if (
        tokens
        and more
        and tokens[-1].kind == "word"
        and more[0].kind == "word"
        and (tokens[-1].text.endswith(_GLUE) or more[0].text.startswith(_GLUE))
    ):
        first = more.pop(0)
        last = tokens[-1]
        tokens[-1] = _Token("word", last.text + first.text, last.line, last.first)
    tokens.extend(more)


# ---------------------------------------------------------------------------------------------
# Numbers

_NAME_PART = r'(?:[A-Za-z_$][A-Za-z0-9_$]*|"[^"]+")(?:\[\d+\])?'
_NAME_RE = re.compile(rf"{_NAME_PART}(?:\.{_NAME_PART})*")
_RADIX = {"x": (16, 4, "0123456789abcdef"), "b": (2, 1, "01"), "o": (8, 3, "01234567")}
_MAC_RE = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}")
_IPV4_RE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_DEC_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _literal(text: str) -> tuple[int, int | None, int | None] | None:
    """``(value, mask or None, written width or None)`` of a number, ``None`` if not one.

    A mask appears only when the literal has ``*`` digits; those digits are 0 in the value.
    """
    if len(text) > 2 and text[0] == "0" and text[1].lower() in _RADIX:
        base, bits, digits = _RADIX[text[1].lower()]
        body = text[2:].lower()
        if not all(c in digits or c == "*" for c in body):
            return None
        value = int(body.replace("*", "0"), base)
        width = bits * len(body)
        if "*" not in body:
            return value, None, width
        full = (1 << bits) - 1
        mask = 0
        for c in body:
            mask = (mask << bits) | (0 if c == "*" else full)
        return value, mask, width
    if _DEC_RE.fullmatch(text):
        return int(text), None, None
    if _IPV4_RE.fullmatch(text):
        try:
            return int(ipaddress.IPv4Address(text)), None, 32
        except ValueError:
            return None
    if _MAC_RE.fullmatch(text):
        return _mac(text), None, 48
    if ":" in text:
        try:
            return int(ipaddress.IPv6Address(text)), None, 128
        except ValueError:
            return None
    return None


def _mac(text: str) -> int:
    value = 0
    for part in text.split(":"):
        value = (value << 8) | int(part, 16)
    return value


# ---------------------------------------------------------------------------------------------
# Statements


class _Statement:
    """A cursor over one command's tokens."""

    def __init__(self, file: str, keyword: _Token, tokens: list[_Token]) -> None:
        self.file = file
        self.keyword = keyword
        self.line = keyword.line
        self.tokens = tokens
        self.pos = 0

    def error(self, message: str, tok: _Token | None = None) -> StfError:
        if tok is None:
            tok = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        line = tok.line if tok is not None else (self.tokens[-1].line if self.tokens else self.line)
        return StfError(self.file, line, f"{self.keyword.text}: {message}")

    def peek(self, offset: int = 0) -> _Token | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self, kind: str, what: str) -> _Token:
        tok = self.peek()
        if tok is None:
            raise self.error(f"expected {what}, found end of command")
        if tok.kind != kind:
            raise self.error(f"expected {what}, found {tok.text!r}", tok)
        self.pos += 1
        return tok

    def done(self) -> None:
        tok = self.peek()
        if tok is None:
            return
        if tok.first and tok.line != self.line:
            # a line that did not start with a command word was taken as a continuation
            raise StfError(self.file, tok.line, f"unknown command {tok.text!r}")
        raise self.error(f"unexpected {tok.text!r}", tok)

    def name(self, what: str) -> str:
        tok = self.take("word", what)
        if not _NAME_RE.fullmatch(tok.text):
            raise self.error(f"bad {what} {tok.text!r}", tok)
        return tok.text.replace('"', "")

    def integer(self, what: str) -> int:
        tok = self.take("word", what)
        lit = _literal(tok.text)
        if lit is None or lit[1] is not None:
            raise self.error(f"bad {what} {tok.text!r}", tok)
        return lit[0]

    def integers(self, what: str) -> tuple[int, ...]:
        values = []
        while self.peek() is not None:
            values.append(self.integer(what))
        return tuple(values)

    def priority(self) -> int | None:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.isdigit():
            self.pos += 1
            return int(tok.text)
        return None

    def keys(self, *, until_action: bool) -> tuple[KeyMatch, ...]:
        keys = []
        while (tok := self.peek()) is not None:
            following = self.peek(1)
            if until_action and following is not None and following.kind == "(":
                break
            if tok.kind != "word" or ":" not in tok.text:
                what = "key:value or action call" if until_action else "key:value"
                raise self.error(f"expected {what}, found {tok.text!r}", tok)
            self.pos += 1
            keys.append(self.key(tok))
        return tuple(keys)

    def key(self, tok: _Token) -> KeyMatch:
        field, text = _split_colon(tok.text)
        if not _NAME_RE.fullmatch(field):
            raise self.error(f"bad key field {field!r}", tok)
        try:
            value = _key_value(text)
        except ValueError as exc:
            raise self.error(f"{exc} in {tok.text!r}", tok) from None
        return KeyMatch(field.replace('"', ""), value)

    def action(self) -> ActionCall:
        name = self.name("action name")
        self.take("(", "'('")
        args: list[ActionArg] = []
        while (tok := self.peek()) is not None and tok.kind != ")":
            if args:
                self.take(",", "',' or ')'")
            tok = self.take("word", "action argument")
            arg, text = _split_colon(tok.text)
            lit = _literal(text) if text else None
            if not arg or not _NAME_RE.fullmatch(arg) or lit is None or lit[1] is not None:
                raise self.error(f"bad action argument {tok.text!r}", tok)
            args.append(ActionArg(arg.replace('"', ""), lit[0], text))
        self.take(")", "')'")
        return ActionCall(name, tuple(args))

    def rates(self) -> tuple[MeterRate, ...]:
        rates = []
        while True:
            tok = self.take("word", "rate:burst")
            rate, _, burst = tok.text.partition(":")
            if not _FLOAT_RE.fullmatch(rate) or not burst.isdigit():
                raise self.error(f"bad rate:burst {tok.text!r}", tok)
            rates.append(MeterRate(float(rate), int(burst)))
            if self.peek() is None:
                return tuple(rates)


def _split_colon(text: str) -> tuple[str, str]:
    """Split at the first ``:`` outside quotes (values such as MACs hold more)."""
    quoted = False
    for i, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif c == ":" and not quoted:
            return text[:i], text[i + 1 :]
    return text, ""


def _number(text: str) -> tuple[int, int | None, int | None]:
    lit = _literal(text)
    if lit is None:
        raise ValueError(f"bad number {text!r}" if text else "missing value")
    return lit


def _key_value(text: str) -> KeyValue:
    if text == "*":
        return KeyValue(text, "any")
    if "&&&" in text:
        v, m = text.split("&&&", 1)
        value, vmask, width = _number(v)
        mask, mmask, _ = _number(m)
        if vmask is not None or mmask is not None:
            raise ValueError("'*' digits in a value&&&mask")
        return KeyValue(text, "masked", value, mask, width=width)
    if "->" in text:
        lo, hi = text.split("->", 1)
        low, lmask, width = _number(lo)
        high, hmask, _ = _number(hi)
        if lmask is not None or hmask is not None:
            raise ValueError("'*' digits in a range")
        return KeyValue(text, "range", low, high=high, width=width)
    if "/" in text:
        v, plen = text.split("/", 1)
        value, _, width = _number(v)
        if not plen.isdigit():
            raise ValueError(f"bad prefix length {plen!r}")
        return KeyValue(text, "prefix", value, prefix_len=int(plen), width=width)
    value, mask, width = _number(text)
    if mask is not None:
        return KeyValue(text, "masked", value, mask, width=width)
    return KeyValue(text, "value", value, width=width)


def _check_counter(st: _Statement) -> CheckCounter:
    counter = st.name("counter name")
    st.take("(", "'('")
    tok = st.take("word", "index or $handle")
    index: int | None = None
    entry: str | None = None
    lit = _literal(tok.text)
    if lit is not None and lit[1] is None:
        index = lit[0]
    elif _NAME_RE.fullmatch(tok.text):
        entry = tok.text.replace('"', "").removeprefix("$")
    else:
        raise st.error(f"bad index or $handle {tok.text!r}", tok)
    st.take(")", "')'")
    if st.peek() is None:
        return CheckCounter(st.line, counter, index, entry)
    kind_tok = st.take("word", "packets or bytes")
    count_type = kind_tok.text.lower()
    if count_type not in ("packets", "bytes"):
        raise st.error(f"expected packets or bytes, found {kind_tok.text!r}", kind_tok)
    op = st.take("op", "comparison").text
    value = st.integer("count")
    st.done()
    return CheckCounter(st.line, counter, index, entry, count_type, op, value)


def _statement(st: _Statement) -> Command:
    kw = st.keyword.text.lower()
    line = st.line
    cmd: Command
    if kw == "add":
        table = st.name("table name")
        priority = st.priority()
        keys = st.keys(until_action=True)
        action = st.action()
        handle = None
        tok = st.peek()
        if tok is not None and tok.kind == "=":
            st.pos += 1
            handle = st.name("entry handle")
        cmd = AddEntry(line, table, priority, keys, action, handle)
    elif kw == "setdefault":
        cmd = SetDefault(line, st.name("table name"), st.action())
    elif kw == "remove":
        tok = st.peek()
        if tok is not None and tok.text.lower() == "all" and st.peek(1) is None:
            st.pos += 1
            cmd = RemoveAll(line)
        else:
            table = st.name("'all' or table name")
            priority = st.priority()
            keys = st.keys(until_action=False)
            if not keys:
                raise st.error("expected key:value")
            cmd = RemoveEntry(line, table, priority, keys)
    elif kw == "check_counter":
        return _check_counter(st)
    elif kw == "no_packet":
        cmd = NoPacket(line)
    elif kw == "wait":
        cmd = Wait(line)
    elif kw == "mirroring_add":
        cmd = MirroringAdd(line, st.integer("session id"), st.integer("port"))
    elif kw == "mirroring_add_mc":
        cmd = MirroringAddMc(line, st.integer("session id"), st.integer("multicast group"))
    elif kw == "mirroring_delete":
        cmd = MirroringDelete(line, st.integer("session id"))
    elif kw == "mirroring_get":
        cmd = MirroringGet(line, st.integer("session id"))
    elif kw == "mc_mgrp_create":
        cmd = McMgrpCreate(line, st.integer("multicast group"))
    elif kw == "mc_node_create":
        cmd = McNodeCreate(line, st.integer("replication id"), st.integers("port"))
    elif kw == "mc_node_update":
        cmd = McNodeUpdate(line, st.integer("node handle"), st.integers("port"))
    elif kw == "mc_node_associate":
        cmd = McNodeAssociate(line, st.integer("multicast group"), st.integer("node handle"))
    elif kw == "counter_read":
        cmd = CounterRead(line, st.name("counter name"), st.integer("index"))
    elif kw == "counter_write":
        cmd = CounterWrite(
            line,
            st.name("counter name"),
            st.integer("index"),
            st.integer("packet count"),
            st.integer("byte count"),
        )
    elif kw == "register_read":
        cmd = RegisterRead(line, st.name("register name"), st.integer("index"))
    elif kw == "register_write":
        cmd = RegisterWrite(
            line, st.name("register name"), st.integer("index"), st.integer("value")
        )
    elif kw == "register_reset":
        cmd = RegisterReset(line, st.name("register name"))
    elif kw == "meter_get_rates":
        cmd = MeterGetRates(line, st.name("meter name"), st.integer("index"))
    elif kw == "meter_set_rates":
        cmd = MeterSetRates(line, st.name("meter name"), st.integer("index"), st.rates())
    elif kw == "meter_array_set_rates":
        cmd = MeterArraySetRates(line, st.name("meter name"), st.rates())
    else:  # pragma: no cover - _COMMANDS and this chain list the same words
        raise st.error("unknown command")
    st.done()
    return cmd


def _packet_line(file: str, line: int, keyword: str, rest: str) -> Command:
    rest = rest.split("#", 1)[0]
    m = _PORT_RE.match(rest)
    if m is None:
        raise StfError(file, line, f"{keyword}: expected a decimal port number")
    port = int(m.group(1))
    data = "".join(rest[m.end() :].split()).upper()
    is_expect = keyword == "expect"
    for i, c in enumerate(data):
        if c in "0123456789ABCDEF" or (
            is_expect and (c == "*" or (c == "$" and i == len(data) - 1))
        ):
            continue
        raise StfError(file, line, f"{keyword}: unexpected {c!r} in packet data")
    if not is_expect:
        if not data:
            raise StfError(file, line, "packet: no packet data")
        if len(data) % 2:
            raise StfError(file, line, "packet: odd number of hex digits")
        return Packet(line, port, data)
    if not data:
        return Expect(line, port, None)
    exact = data.endswith("$")
    return Expect(line, port, data.rstrip("$"), exact)


def parse(text: str, file: str = "<stf>") -> list[Command]:
    """Parse STF ``text``; ``file`` only names it in errors. Raises :class:`StfError`."""
    commands: list[Command] = []
    pending: tuple[_Token, list[_Token]] | None = None  # a command that may continue

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            keyword, tokens = pending
            commands.append(_statement(_Statement(file, keyword, tokens)))
            pending = None

    for lineno, raw in enumerate(text.splitlines(), start=1):
        m = _FIRST_WORD_RE.match(raw)
        word = m.group(1).lower() if m else None
        if word in _COMMANDS:
            flush()
            rest = raw[m.end() :]
            if word in _PACKET_COMMANDS:
                commands.append(_packet_line(file, lineno, word, rest))
            else:
                pending = (_Token("word", m.group(1), lineno), _lex(rest, lineno, file))
            continue
        tokens = _lex(raw, lineno, file)
        if not tokens:
            continue
        if pending is None:
            raise StfError(file, lineno, f"unknown command {tokens[0].text!r}")
        _glue_lines(pending[1], tokens)
    flush()
    return commands


def parse_file(path: str) -> list[Command]:
    """Parse the STF file at ``path``."""
    with open(path, encoding="utf-8") as fh:
        return parse(fh.read(), path)

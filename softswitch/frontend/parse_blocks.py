"""Grammar rules for parser and control blocks and tables (mixed into :class:`.parser.Parser`)."""

from __future__ import annotations

from .ast import (
    ActionRef,
    Annotation,
    ControlDecl,
    ControlTypeDecl,
    Entry,
    Expr,
    KeyElement,
    ListExpr,
    Node,
    ParserDecl,
    ParserState,
    ParserTypeDecl,
    PathExpr,
    SelectCase,
    SelectExpr,
    TableDecl,
    TableProperty,
    ValueSetDecl,
)
from .parse_base import _NONTYPE_KW


class BlockParser:
    """Parser declarations and states, select, control declarations and tables."""

    # ------------------------------------------------------------------ parsers and controls

    def parser_decl(self, annos: list[Annotation]) -> Node:
        toks = self.toks
        self.expect("parser")
        n = self.name()
        self.declare(n.text, True)
        self.push()
        try:
            tparams = self.type_params()
            params = self.params()
            if toks[self.i].kind == ";":
                self.i += 1
                return ParserTypeDecl(n.text, tparams, params, annos, loc=n.loc)
            ctor = self.params() if toks[self.i].kind == "(" else []
            self.expect("{")
            locals_: list[Node] = []
            states: list[ParserState] = []
            while toks[self.i].kind != "}":
                la = self.annotations() if toks[self.i].kind == "@" else []
                k = toks[self.i].kind
                if k == "state":
                    states.append(self.parser_state(la))
                elif k == "value_set":
                    locals_.append(self.value_set_decl(la))
                elif k == "EOF":
                    raise self.fail(toks[self.i], '"}"')
                else:
                    locals_.append(self.local_decl(la))
            self.i += 1
            return ParserDecl(n.text, tparams, params, ctor, locals_, states, annos, loc=n.loc)
        finally:
            self.pop()

    def value_set_decl(self, annos: list[Annotation]) -> ValueSetDecl:
        self.expect("value_set")
        self.expect("<")
        elem = self.type_arg()
        self.expect(">")
        self.expect("(")
        size = self.expr()
        self.expect(")")
        n = self.name()
        self.expect(";")
        self.declare(n.text, False)
        return ValueSetDecl(elem, size, n.text, annos, loc=n.loc)

    def parser_state(self, annos: list[Annotation]) -> ParserState:
        toks = self.toks
        self.expect("state")
        n = self.name()
        self.expect("{")
        self.push()
        stmts: list[Node] = []
        while True:
            k = toks[self.i].kind
            if k == "transition" or k == "}":
                break
            stmts.append(self.parser_statement())
        transition: Expr | None = None
        if k == "transition":
            self.i += 1
            t = toks[self.i]
            if t.kind == "select":
                transition = self.select_expr()
            else:
                s = self.name()
                transition = PathExpr(s.text, loc=s.loc)
                self.expect(";")
        self.expect("}")
        self.pop()
        return ParserState(n.text, stmts, transition, annos, loc=n.loc)

    def select_expr(self) -> SelectExpr:
        toks = self.toks
        t = self.expect("select")
        self.expect("(")
        keys = self.expression_list(")")
        self.expect(")")
        self.expect("{")
        cases: list[SelectCase] = []
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            ks = self.keyset()
            self.expect(":")
            s = self.name()
            self.expect(";")
            cases.append(SelectCase(ks, PathExpr(s.text, loc=s.loc), loc=ks.loc))
        self.i += 1
        return SelectExpr(keys, cases, loc=t.loc)

    def control_decl(self, annos: list[Annotation]) -> Node:
        toks = self.toks
        self.expect("control")
        n = self.name()
        self.declare(n.text, True)
        self.push()
        try:
            tparams = self.type_params()
            params = self.params()
            if toks[self.i].kind == ";":
                self.i += 1
                return ControlTypeDecl(n.text, tparams, params, annos, loc=n.loc)
            ctor = self.params() if toks[self.i].kind == "(" else []
            self.expect("{")
            locals_: list[Node] = []
            while True:
                la = self.annotations() if toks[self.i].kind == "@" else []
                k = toks[self.i].kind
                if k == "apply" and not la:
                    break
                if k == "action":
                    locals_.append(self.action_decl(la))
                elif k == "table":
                    locals_.append(self.table_decl(la))
                elif k == "EOF" or k == "}":
                    raise self.fail(toks[self.i], '"apply"')
                else:
                    locals_.append(self.local_decl(la))
            self.i += 1
            body = self.block(self.annotations() if toks[self.i].kind == "@" else [])
            self.expect("}")
            return ControlDecl(n.text, tparams, params, ctor, locals_, body, annos, loc=n.loc)
        finally:
            self.pop()

    # ------------------------------------------------------------------ tables

    def table_decl(self, annos: list[Annotation]) -> TableDecl:
        toks = self.toks
        self.expect("table")
        n = self.name()
        self.expect("{")
        props: list[TableProperty] = []
        while toks[self.i].kind != "}":
            pa = self.annotations() if toks[self.i].kind == "@" else []
            const = self.accept("const") is not None
            t = toks[self.i]
            k = t.kind
            if k == "key" or k == "actions" or k == "entries":
                if (const or pa) and k != "entries":
                    raise self.fail(t)
                self.i += 1
                self.expect("=")
                self.expect("{")
                if k == "key":
                    value: object = self.key_elements()
                elif k == "actions":
                    value = self.action_list()
                else:
                    value = self.entries_list()
            elif k == "ID" or k in _NONTYPE_KW:
                self.i += 1
                self.expect("=")
                value = self.expr()
                self.expect(";")
            else:
                raise self.fail(t, "a table property")
            props.append(TableProperty(t.text, value, const, pa, loc=t.loc))
        self.i += 1
        return TableDecl(n.text, props, annos, loc=n.loc)

    def key_elements(self) -> list[KeyElement]:
        toks = self.toks
        out: list[KeyElement] = []
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            e = self.expr()
            self.expect(":")
            mk = self.name()
            ka = self.annotations() if toks[self.i].kind == "@" else []
            self.expect(";")
            out.append(KeyElement(e, mk.text, ka, loc=e.loc))
        self.i += 1
        return out

    def action_list(self) -> list[ActionRef]:
        toks = self.toks
        out: list[ActionRef] = []
        while toks[self.i].kind != "}":
            aa = self.annotations() if toks[self.i].kind == "@" else []
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            e = self.postfix(self.primary())
            self.expect(";")
            out.append(ActionRef(e, aa, loc=e.loc))
        self.i += 1
        return out

    def entries_list(self) -> list[Entry]:
        toks = self.toks
        out: list[Entry] = []
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            const = self.accept("const") is not None
            prio = None
            if toks[self.i].kind == "priority" and toks[self.i + 1].kind == "=":
                self.i += 2
                prio = self.expr()
                self.expect(":")
            ks = self.keyset()
            self.expect(":")
            action = self.postfix(self.primary())
            ea = self.annotations() if toks[self.i].kind == "@" else []
            self.expect(";")
            keys = ks.items if isinstance(ks, ListExpr) else [ks]
            out.append(Entry(keys, action, prio, const, ea, loc=ks.loc))
        self.i += 1
        return out

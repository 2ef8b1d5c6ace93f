"""Statements, parser states and transitions, and tables.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ast
from . import types as T
from .constfold import expr_str, try_const_value
from .errors import CompileError
from .types import type_str

if TYPE_CHECKING:  # pragma: no cover
    from .typecheck import Checker

    _Base = Checker
else:
    _Base = object

_COMPOUND = {
    "+=": "+",
    "-=": "-",
    "*=": "*",
    "/=": "/",
    "%=": "%",
    "&=": "&",
    "|=": "|",
    "^=": "^",
    "<<=": "<<",
    ">>=": ">>",
    "|+|=": "|+|",
    "|-|=": "|-|",
    "++=": "++",
}


def _unknown(t: ast.Type | None) -> bool:
    return t is None or isinstance(t, ast.TypeDontCare)


class StmtChecker(_Base):
    """Statement rules of the type checker."""

    # ----------------------------------------------------------------------------------------
    # Blocks

    def block(self, b: ast.BlockStmt, new_scope: bool = True) -> None:
        """Check a block's statements in order (in a new scope unless told otherwise)."""
        if not isinstance(b, ast.BlockStmt):
            self.stmt(b)
            return
        if new_scope:
            with self.new_scope("block", b):
                self._stmts(b.stmts)
        else:
            self._stmts(b.stmts)
        self.check_annotations(b)

    def _stmts(self, stmts: list[ast.Node]) -> None:
        for s in stmts:
            self.at(s)
            self.guarded(self.stmt, s)

    def stmt(self, s: ast.Node) -> None:
        """Check one statement (or local declaration)."""
        self.at(s)
        if isinstance(s, (ast.VarDecl, ast.ConstDecl, ast.Instantiation)):
            self.decl(s)
            return
        if isinstance(
            s,
            (
                ast.ActionDecl,
                ast.TableDecl,
                ast.FunctionDecl,
                ast.ParserDecl,
                ast.ControlDecl,
                ast.StructDecl,
                ast.EnumDecl,
                ast.ExternDecl,
                ast.TypedefDecl,
                ast.ValueSetDecl,
            ),
        ):
            raise self.error(s, f"a {s.kind[:-4].lower()} declaration is not allowed here")
        meth = getattr(self, "st_" + s.kind, None)
        if meth is None:
            raise self.error(s, f"unexpected {s.kind} here")
        meth(s)

    def st_BlockStmt(self, s: ast.BlockStmt) -> None:
        self.block(s, new_scope=True)

    def st_EmptyStmt(self, s: ast.EmptyStmt) -> None:
        pass

    def _sub_stmt(self, s: ast.Stmt) -> None:
        """A branch/loop body: a new scope even when it is not written as a block."""
        if isinstance(s, ast.BlockStmt):
            self.block(s, new_scope=True)
        else:
            with self.new_scope("block", s):
                self.guarded(self.stmt, s)

    # ----------------------------------------------------------------------------------------
    # Assignments and calls

    def st_AssignStmt(self, s: ast.AssignStmt) -> None:
        s.lhs = self.expr(s.lhs)
        self.check_lvalue(s.lhs, "assigned")
        lt = s.lhs.type
        if s.op == "=":
            s.rhs = self.expr(s.rhs)
            s.rhs = self.coerce(s.rhs, lt, f"assignment to '{expr_str(s.lhs)}'")
            return
        op = _COMPOUND.get(s.op)
        if op is None:
            raise self.error(s, f"unknown assignment operator '{s.op}'")
        s.rhs = self.expr(s.rhs)
        if _unknown(lt):
            return
        base = T.strip_newtype(lt)
        if not isinstance(base, ast.TypeBits):
            raise self.error(
                s, f"'{s.op}' cannot be applied to '{expr_str(s.lhs)}' of type {type_str(lt)}"
            )
        # Type the compound as the binary operation it stands for, then put the operands back.
        probe = ast.Binary(op=op, left=s.lhs, right=s.rhs, loc=s.loc)
        self.binary(probe)
        s.rhs = probe.right
        if not _unknown(probe.type) and not T.type_eq(probe.type, lt):
            raise self.error(
                s,
                f"'{s.op}': the result of type {type_str(probe.type)} cannot be assigned to"
                f" {type_str(lt)}",
            )

    def st_CallStmt(self, s: ast.CallStmt) -> None:
        c = self.expr(s.call)
        if isinstance(c, (ast.Call, ast.ConstructorCall)):
            s.call = c
        if isinstance(c, ast.ConstructorCall):
            raise self.error(s, "a constructor call is not a statement")

    def st_ReturnStmt(self, s: ast.ReturnStmt) -> None:
        if self.parser is not None and self.function is None:
            raise self.error(s, "return statements are not allowed in parsers")
        if self.function is None:
            if s.expr is not None:
                raise self.error(s, "return with a value is only allowed in functions")
            return
        rt = self.function_rtype
        if isinstance(rt, ast.TypeVoid):
            if s.expr is not None:
                raise self.error(s, "return with a value in a function returning void")
            return
        if s.expr is None:
            if not _unknown(rt):
                raise self.error(
                    s, f"return without a value in a function returning {type_str(rt)}"
                )
            return
        s.expr = self.expr(s.expr)
        s.expr = self.coerce(s.expr, rt, "return value")

    def st_ExitStmt(self, s: ast.ExitStmt) -> None:
        if self.function is not None:
            raise self.error(s, "exit statements are not allowed in functions")
        if self.parser is not None:
            raise self.error(s, "exit statements are not allowed in parsers")

    def st_BreakStmt(self, s: ast.BreakStmt) -> None:
        if self.loop_depth == 0:
            raise self.error(s, "break can only be used inside a for loop")

    def st_ContinueStmt(self, s: ast.ContinueStmt) -> None:
        if self.loop_depth == 0:
            raise self.error(s, "continue can only be used inside a for loop")

    # ----------------------------------------------------------------------------------------
    # Conditionals and loops

    def st_IfStmt(self, s: ast.IfStmt) -> None:
        s.cond = self.cond(s.cond, "an if statement")
        self._sub_stmt(s.then)
        if s.else_ is not None:
            self._sub_stmt(s.else_)

    def st_ForStmt(self, s: ast.ForStmt) -> None:
        with self.new_scope("for", s):
            for i in s.init:
                self.at(i)
                self.guarded(self.stmt, i)
            if s.cond is not None:
                s.cond = self.guarded(self.cond, s.cond, "a for loop") or s.cond
            for u in s.updates:
                self.at(u)
                self.guarded(self.stmt, u)
            with self.ctx(loop_depth=self.loop_depth + 1):
                self._sub_stmt(s.body)

    def st_ForInStmt(self, s: ast.ForInStmt) -> None:
        s.collection = self.expr(s.collection)
        ct = s.collection.type
        with self.new_scope("for", s):
            elem: ast.Type = ast.TypeDontCare()
            if isinstance(s.collection, ast.Range):
                elem = ct or ast.TypeDontCare()
            elif isinstance(ct, ast.TypeStack):
                elem = ct.elem
            elif isinstance(ct, ast.TypeList):
                elem = ct.elem
            elif isinstance(ct, ast.TypeTuple):
                elem = ct.args[0] if ct.args else ast.TypeDontCare()
            elif not _unknown(ct):
                raise self.error(
                    s.collection, f"cannot iterate over a value of type {type_str(ct)}"
                )
            var_t = elem
            if s.var_type is not None:
                var_t = self.ctype(s.var_type)
                if isinstance(s.collection, ast.Range):
                    s.collection.lo = self.coerce(s.collection.lo, var_t, "for loop bound")
                    s.collection.hi = self.coerce(s.collection.hi, var_t, "for loop bound")
                    s.collection.type = var_t
            elif isinstance(var_t, ast.TypeInfInt):
                raise self.error(s, "the type of the loop variable must be given for an int range")
            var = ast.VarDecl(vtype=var_t, name=s.var, loc=s.loc)
            var.__dict__["_sluice_loop_var"] = True
            self.dtype[var] = var_t
            self.declare(s.var, var)
            s.__dict__["_sluice_var"] = var
            with self.ctx(loop_depth=self.loop_depth + 1):
                self._sub_stmt(s.body)

    # ----------------------------------------------------------------------------------------
    # Switch

    def st_SwitchStmt(self, s: ast.SwitchStmt) -> None:
        with self.ctx(in_switch_expr=True):
            s.expr = self.expr(s.expr)
        self.untyped(s.expr)
        t = s.expr.type
        td = T.type_decl(t)
        default_seen = False
        labels: set[Any] = set()
        is_action_run = isinstance(td, ast.EnumDecl) and bool(
            td.__dict__.get("_sluice_action_list")
        )
        if not is_action_run and not _unknown(t):
            base = T.strip_newtype(t)
            if not (
                isinstance(base, (ast.TypeBits, ast.TypeInfInt, ast.TypeErrorT)) or T.is_enum(base)
            ):
                raise self.error(s.expr, f"cannot switch on a value of type {type_str(t)}")
        for c in s.cases:
            self.at(c)
            try:
                if default_seen:
                    raise self.error(c.label, "no case label may follow 'default'")
                if isinstance(c.label, ast.Default) or (
                    isinstance(c.label, ast.PathExpr) and c.label.name == "default"
                ):
                    c.label.type = t if not _unknown(t) else ast.TypeDontCare()
                    default_seen = True
                elif is_action_run:
                    self._action_label(c, td, labels)
                else:
                    self._value_label(c, t, labels)
            except CompileError as err:
                self.report(err)
            if c.body is not None:
                self.block(c.body, new_scope=True)

    def _action_label(self, c: ast.SwitchCase, enum: ast.EnumDecl, labels: set[Any]) -> None:
        lab = c.label
        if not isinstance(lab, ast.PathExpr):
            raise self.error(lab, "a switch label must be an action name or 'default'")
        names = {m.name for m in enum.members}
        if lab.name not in names:
            raise self.error(
                lab,
                f"'{lab.name}' is not an action of table {enum.__dict__['_sluice_action_list'].name}",
            )
        actions = enum.__dict__.get("_sluice_actions", {})
        lab.decl = actions.get(lab.name)
        lab.type = T.named(enum)
        if lab.name in labels:
            raise self.error(lab, f"duplicate case label '{lab.name}'")
        labels.add(lab.name)

    def _value_label(self, c: ast.SwitchCase, t: ast.Type | None, labels: set[Any]) -> None:
        c.label = self.expr(c.label)
        if not _unknown(t):
            base = T.enum_underlying(t) or t
            lt = c.label.type
            if T.is_serializable_enum(lt) and T.type_eq(T.enum_underlying(lt), base):
                pass
            else:
                c.label = self.coerce(c.label, t, "switch label")
        v = try_const_value(c.label)
        if v is None:
            raise self.error(
                c.label, f"switch label '{expr_str(c.label)}' must be a compile-time constant"
            )
        key = repr(v)
        if key in labels:
            raise self.error(c.label, f"duplicate case label '{expr_str(c.label)}'")
        labels.add(key)

    # ----------------------------------------------------------------------------------------
    # Function bodies

    def always_returns(self, s: ast.Node | None) -> bool:
        """True when every path through ``s`` ends in ``return`` (or ``exit``)."""
        if s is None:
            return False
        if isinstance(s, (ast.ReturnStmt, ast.ExitStmt)):
            return True
        if isinstance(s, ast.BlockStmt):
            return any(self.always_returns(x) for x in s.stmts)
        if isinstance(s, ast.IfStmt):
            return self.always_returns(s.then) and self.always_returns(s.else_)
        if isinstance(s, ast.SwitchStmt):
            has_default = any(
                isinstance(c.label, ast.Default)
                or (isinstance(c.label, ast.PathExpr) and c.label.name == "default")
                for c in s.cases
            )
            bodies = [c.body for c in s.cases if c.body is not None]
            return has_default and all(self.always_returns(b) for b in bodies)
        return False

    # ----------------------------------------------------------------------------------------
    # Parser states

    def parser_state(self, st: ast.ParserState) -> None:
        """Check a state's statements and its transition."""
        with self.new_scope("state", st), self.ctx(in_state=True):
            for s in st.stmts:
                self.at(s)
                self.guarded(self._state_stmt, s)
            if st.transition is None:
                st.transition = ast.PathExpr("reject", loc=st.loc)
            self.at(st.transition)
            self.transition(st.transition)

    def _state_stmt(self, s: ast.Node) -> None:
        if isinstance(s, (ast.SwitchStmt,)):
            raise self.error(s, "switch statements are not allowed in parser states")
        self.stmt(s)

    def transition(self, t: ast.Expr) -> None:
        """Check a transition target: a state name or a select expression."""
        if isinstance(t, ast.PathExpr):
            self._state_ref(t)
            return
        if isinstance(t, ast.SelectExpr):
            self.select(t)
            return
        raise self.error(t, "a transition must name a state or be a select expression")

    def _state_ref(self, p: ast.PathExpr) -> None:
        states = self.states or {}
        st = states.get(p.name)
        if st is None:
            found = self.scope.lookup(p.name)
            if found:
                raise self.error(p, f"'{p.name}' is not a parser state")
            raise self.error(p, f"state '{p.name}' is not declared")
        p.decl = st
        p.type = T.named(st)

    def select(self, e: ast.SelectExpr) -> None:
        """Check a select expression: its keys and each case's keyset and next state."""
        e.keys = [self.expr(k) for k in e.keys]
        for k in e.keys:
            self.untyped(k)
        ktypes = [k.type for k in e.keys]
        for k, kt in zip(e.keys, ktypes):
            if not _select_type_ok(kt):
                raise self.error(
                    k, f"'{expr_str(k)}' of type {type_str(kt)} cannot be used in select"
                )
        e.type = ast.TypeVoid()
        for c in e.cases:
            self.at(c)
            try:
                with self.ctx(in_select=True):
                    c.keyset = self.keyset(c.keyset, ktypes, "select case")
            except CompileError as err:
                self.report(err)
            self.at(c.state)
            self.guarded(self._state_ref, c.state)

    def keyset(self, ks: ast.Expr, ktypes: list[ast.Type | None], what: str) -> ast.Expr:
        """Check a keyset (select case or table entry) against the key types."""
        if isinstance(ks, (ast.Default, ast.DontCare)):
            ks.type = (
                ktypes[0] if len(ktypes) == 1 and not _unknown(ktypes[0]) else ast.TypeDontCare()
            )
            return ks
        if (
            isinstance(ks, ast.PathExpr)
            and ks.name == "default"
            and not self.scope.lookup("default")
        ):
            ks.type = ast.TypeDontCare()
            return ks
        if len(ktypes) != 1:
            if isinstance(ks, ast.ListExpr):
                if len(ks.items) != len(ktypes):
                    raise self.error(
                        ks, f"{what} has {len(ks.items)} values but there are {len(ktypes)} keys"
                    )
                ks.items = [self.keyset(i, [t], what) for i, t in zip(ks.items, ktypes)]
                ks.type = ast.TypeTuple(args=[t or ast.TypeDontCare() for t in ktypes])
                return ks
            ks = self.expr(ks)
            vt = ks.type
            if isinstance(ks, ast.PathExpr) and isinstance(ks.decl, ast.ValueSetDecl):
                if T.is_struct(vt):
                    fts = _flat_fields(vt)
                    if len(fts) == len(ktypes) and all(
                        _unknown(k)
                        or T.type_eq(T.enum_underlying(k) or k, T.enum_underlying(f) or f)
                        for f, k in zip(fts, ktypes)
                    ):
                        return ks
                if isinstance(vt, ast.TypeTuple) and len(vt.args) == len(ktypes):
                    return ks
            raise self.error(ks, f"{what} must have {len(ktypes)} values")
        kt = ktypes[0]
        if isinstance(kt, ast.TypeTuple) and isinstance(ks, ast.ListExpr):
            return self.keyset(ks, list(kt.args), what)
        if isinstance(ks, ast.ListExpr) and len(ks.items) == 1:
            ks.items = [self.keyset(ks.items[0], ktypes, what)]
            ks.type = ast.TypeTuple(args=[kt or ast.TypeDontCare()])
            return ks
        ks = self.expr(ks)
        if _unknown(kt):
            return ks
        if isinstance(ks, ast.PathExpr) and isinstance(ks.decl, ast.ValueSetDecl):
            vt = ks.type
            if not (_unknown(vt) or self._key_match(kt, vt)):
                if not (T.is_struct(vt) and len(T.fields_of(vt)) == 1):
                    raise self.error(
                        ks, f"value set '{ks.name}' has type {type_str(vt)}, not {type_str(kt)}"
                    )
            return ks
        if isinstance(ks, ast.Mask):
            ks.value = self._key_value(ks.value, kt, what, True)
            ks.mask = self._key_value(ks.mask, kt, what, True)
            ks.type = kt
            return ks
        if isinstance(ks, ast.Range):
            ks.lo = self._key_value(ks.lo, kt, what, True)
            ks.hi = self._key_value(ks.hi, kt, what, True)
            ks.type = kt
            return ks
        return self._key_value(ks, kt, what, what != "select case")

    def _key_match(self, kt: ast.Type | None, vt: ast.Type | None) -> bool:
        if T.type_eq(kt, vt):
            return True
        return T.type_eq(T.enum_underlying(kt) or kt, T.enum_underlying(vt) or vt)  # type: ignore[arg-type]

    def _key_value(self, v: ast.Expr, kt: ast.Type, what: str, const: bool) -> ast.Expr:
        if isinstance(v, (ast.DontCare, ast.Default)):
            v.type = kt
            return v
        vt = v.type
        if not _unknown(vt) and not T.type_eq(vt, kt):
            kb = T.enum_underlying(kt)
            if kb is not None and (T.type_eq(vt, kb) or isinstance(vt, ast.TypeInfInt)):
                v = self.coerce(v, kb, what)  # serializable-enum keys accept underlying values
            else:
                v = self.coerce(v, kt, what)
        if const and not self.compile_time_known(v):
            raise self.error(v, f"'{expr_str(v)}' in a {what} must be a compile-time constant")
        self.guarded(self._fold_check, v)
        return v


def _select_type_ok(t: ast.Type | None) -> bool:
    if _unknown(t):
        return True
    if isinstance(t, ast.TypeTuple):
        return all(_select_type_ok(a) for a in t.args)
    base = T.strip_newtype(t)  # type: ignore[arg-type]
    return isinstance(base, (ast.TypeBits, ast.TypeBool)) or T.is_enum(base)


def _flat_fields(t: ast.Type) -> list[ast.Type]:
    """Field types of a struct with nested structs flattened (value sets matched by select)."""
    out: list[ast.Type] = []
    for _, ft, _ in T.fields_of(t):
        if T.is_struct(ft):
            out.extend(_flat_fields(ft))
        else:
            out.append(ft)
    return out

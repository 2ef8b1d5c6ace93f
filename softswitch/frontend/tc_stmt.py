"""Statements, parser states and transitions, and tables.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import ast
from . import types as T
from .constfold import const_value, expr_str, try_const_value
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

_KEY_FREE_PROPS = frozenset({"actions", "key", "entries", "default_action"})


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
            raise self.error(s, f"'{s.op}' cannot be applied to '{expr_str(s.lhs)}' of type {type_str(lt)}")
        # Type the compound as the binary operation it stands for, then put the operands back.
        probe = ast.Binary(op=op, left=s.lhs, right=s.rhs, loc=s.loc)
        self.binary(probe)
        s.rhs = probe.right
        if not _unknown(probe.type) and not T.type_eq(probe.type, lt):
            raise self.error(
                s, f"'{s.op}': the result of type {type_str(probe.type)} cannot be assigned to"
                f" {type_str(lt)}"
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
                raise self.error(s, f"return without a value in a function returning {type_str(rt)}")
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
                raise self.error(s.collection, f"cannot iterate over a value of type {type_str(ct)}")
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
        is_action_run = isinstance(td, ast.EnumDecl) and bool(td.__dict__.get("_sluice_action_list"))
        if not is_action_run and not _unknown(t):
            base = T.strip_newtype(t)
            if not (
                isinstance(base, (ast.TypeBits, ast.TypeInfInt, ast.TypeErrorT))
                or T.is_enum(base)
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
            raise self.error(lab, f"'{lab.name}' is not an action of table {enum.__dict__['_sluice_action_list'].name}")
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
            raise self.error(c.label, f"switch label '{expr_str(c.label)}' must be a compile-time constant")
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
                raise self.error(k, f"'{expr_str(k)}' of type {type_str(kt)} cannot be used in select")
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
            ks.type = ktypes[0] if len(ktypes) == 1 and not _unknown(ktypes[0]) else ast.TypeDontCare()
            return ks
        if isinstance(ks, ast.PathExpr) and ks.name == "default" and not self.scope.lookup("default"):
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
                        _unknown(k) or T.type_eq(T.enum_underlying(k) or k, T.enum_underlying(f) or f)
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
                    raise self.error(ks, f"value set '{ks.name}' has type {type_str(vt)}, not {type_str(kt)}")
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

    # ----------------------------------------------------------------------------------------
    # Tables

    def decl_TableDecl(self, t: ast.TableDecl) -> None:
        """Check a table's properties; declares the table (with its apply result type)."""
        # The table is visible in its own properties (p4c rejects such references).
        self._apply_result(t, [])
        self.declare(t.name, t)
        if self.control is None:
            raise self.error(t, "tables can only be declared in controls")
        with self.ctx(table=t):
            self._table(t)

    def _table(self, t: ast.TableDecl) -> None:
        seen: dict[str, ast.TableProperty] = {}
        for p in t.properties:
            if p.name in seen:
                self.report(self.error(p, f"duplicate table property '{p.name}'"))
            seen[p.name] = p
        if "actions" not in seen:
            self.report(self.error(t, f"table '{t.name}' has no 'actions' property"))
        key_types: list[ast.Type | None] = []
        match_kinds: list[str] = []
        listed: dict[str, ast.ActionRef] = {}
        actions: dict[str, ast.ActionDecl] = {}
        done: set[str] = set()
        for p in t.properties:
            self.at(p)
            with self.ctx(table_prop=p.name):
                try:
                    if p.name == "key":
                        key_types, match_kinds = self._table_key(t, p)
                    elif p.name == "actions":
                        listed, actions = self._table_actions(t, p)
                        self._apply_result(t, list(actions.values()))
                    elif p.name == "default_action":
                        if "actions" in seen and "actions" not in done:
                            raise self.error(
                                p, f"the default_action of table '{t.name}' must follow its actions"
                            )
                        self._default_action(t, p, listed)
                    elif p.name == "entries":
                        if "key" in seen and "key" not in done:
                            raise self.error(
                                p, f"the entries of table '{t.name}' must follow its key"
                            )
                        if "actions" in seen and "actions" not in done:
                            raise self.error(
                                p, f"the entries of table '{t.name}' must follow its actions"
                            )
                        self._entries(t, p, key_types, match_kinds, listed, "key" in seen)
                    elif p.name == "size":
                        p.value = self.expr(p.value)
                        self.require_known(p.value, "table size")
                        v = try_const_value(p.value)
                        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                            raise self.error(p.value, "table size must be an integer")
                        if isinstance(v, int) and v < 0:
                            raise self.error(p.value, "table size cannot be negative")
                    else:
                        self._other_property(p)
                except CompileError as err:
                    self.report(err)
            done.add(p.name)
            self.check_annotations(p)
        if "default_action" not in seen and "NoAction" not in listed and "actions" in seen:
            self._check_noaction(t)

    def _check_noaction(self, t: ast.TableDecl) -> None:
        """p4c makes ``NoAction`` the default action of a table without one; it must exist."""
        found = [d for d in self.global_scope.local("NoAction")]
        if not found:
            self.report(
                self.error(
                    t,
                    f"table '{t.name}' has no default_action and the action NoAction is not"
                    " declared; did you include core.p4?",
                )
            )
        elif not isinstance(found[0], ast.ActionDecl):
            self.report(self.error(t, "NoAction is expected to be an action; did you include core.p4?"))
        elif found[0].params:
            self.report(
                self.error(t, "NoAction is expected to take no parameters; did you include core.p4?")
            )

    def _apply_result(self, t: ast.TableDecl, actions: list[ast.ActionDecl]) -> None:
        enum = ast.EnumDecl(
            name=f"action_list({t.name})",
            members=[ast.EnumMember(name=a.name) for a in actions],
        )
        enum.__dict__["_sluice_builtin"] = True
        enum.__dict__["_sluice_action_list"] = t
        enum.__dict__["_sluice_actions"] = {a.name: a for a in actions}
        fields = [
            ast.StructField(ftype=ast.TypeBool(), name="hit"),
            ast.StructField(ftype=ast.TypeBool(), name="miss"),
            ast.StructField(ftype=T.named(enum), name="action_run"),
        ]
        res = ast.StructDecl(flavor="struct", name="apply_result", type_params=[], fields=fields)
        res.__dict__["_sluice_builtin"] = True
        res.__dict__["_sluice_apply_result"] = t
        t.__dict__["_sluice_apply_result"] = res

    def _table_key(
        self, t: ast.TableDecl, p: ast.TableProperty
    ) -> tuple[list[ast.Type | None], list[str]]:
        elems = p.value if isinstance(p.value, list) else []
        types_: list[ast.Type | None] = []
        kinds: list[str] = []
        for k in elems:
            self.at(k)
            if not isinstance(k, ast.KeyElement):
                raise self.error(k, "a table key element must be 'expression : match_kind'")
            kinds.append(k.match_kind)
            try:
                k.expr = self.expr(k.expr)
                kt = k.expr.type
                types_.append(kt)
                base = T.strip_newtype(kt) if not _unknown(kt) else kt
                if not _unknown(base) and not (
                    isinstance(base, (ast.TypeBits, ast.TypeBool, ast.TypeErrorT))
                    or T.is_enum(base)
                ):
                    raise self.error(
                        k.expr,
                        f"key '{expr_str(k.expr)}' must have a scalar type, not {type_str(kt)}",
                    )
                if k.match_kind not in self.match_kinds:
                    raise self.error(k, f"'{k.match_kind}' is not a match_kind")
            except CompileError as err:
                self.report(err)
                if len(types_) < len(kinds):
                    types_.append(ast.TypeDontCare())
            self.check_annotations(k)
        return types_, kinds

    def _table_actions(
        self, t: ast.TableDecl, p: ast.TableProperty
    ) -> tuple[dict[str, ast.ActionRef], dict[str, ast.ActionDecl]]:
        refs = p.value if isinstance(p.value, list) else []
        listed: dict[str, ast.ActionRef] = {}
        actions: dict[str, ast.ActionDecl] = {}
        for r in refs:
            self.at(r)
            try:
                if not isinstance(r, ast.ActionRef):
                    raise self.error(r, "expected an action in the actions list")
                a = self._action_ref(r.expr, "actions")
                if a.name in listed:
                    raise self.error(r, f"action '{a.name}' appears twice in table '{t.name}'")
                listed[a.name] = r
                actions[a.name] = a
            except CompileError as err:
                self.report(err)
            self.check_annotations(r)
        return listed, actions

    def _action_ref(self, e: ast.Expr, prop: str) -> ast.ActionDecl:
        """Resolve an action reference (``a`` or ``a(args)``) in a table property."""
        if isinstance(e, ast.PathExpr):
            decls = self.lookup(e.name, e, e.global_)
            d = decls[0]
            if not isinstance(d, ast.ActionDecl):
                raise self.error(e, f"'{e.name}' is not an action")
            e.decl = d
            e.type = T.named(d)
            if prop != "actions":
                missing = [x for x in d.params if x.default is None and ast.annotation(x, "optional") is None]
                if missing:
                    raise self.error(
                        e, f"parameter '{missing[0].name}' of action '{d.name}' must be bound"
                    )
            else:
                for x in d.params:
                    if x.direction and x.default is None:
                        raise self.error(
                            e, f"parameter '{x.name}' of action '{d.name}' must be bound"
                        )
            return d
        if isinstance(e, ast.Call) and isinstance(e.func, ast.PathExpr):
            decls = self.lookup(e.func.name, e.func, e.func.global_)
            d = decls[0]
            if not isinstance(d, ast.ActionDecl):
                raise self.error(e, f"'{e.func.name}' is not an action")
            e.func.decl = d
            e.func.type = T.named(d)
            self.action_call(e, d)
            return d
        raise self.error(e, "expected an action name or an action call")

    def _listed_check(
        self, e: ast.Expr, a: ast.ActionDecl, listed: dict[str, ast.ActionRef], what: str
    ) -> None:
        ref = listed.get(a.name)
        if ref is None:
            raise self.error(e, f"{what} '{a.name}' is not in the table's actions list")
        if getattr(ref.expr, "decl", None) is not a and not (
            isinstance(ref.expr, ast.Call) and getattr(ref.expr.func, "decl", None) is a
        ):
            raise self.error(e, f"{what} '{a.name}' refers to a different action")
        # Data-plane arguments must repeat those given in the actions list.
        if isinstance(ref.expr, ast.Call) and isinstance(e, ast.Call):
            bound = {p.name: arg for p, arg in zip(a.params, ref.expr.args)}
            for p, arg in zip(a.params, e.args):
                if p.name in bound and not _same_expr(bound[p.name].expr, arg.expr):
                    raise self.error(
                        arg,
                        f"argument '{expr_str(arg.expr)}' does not match the actions list"
                        f" ('{expr_str(bound[p.name].expr)}')",
                    )

    def _default_action(
        self, t: ast.TableDecl, p: ast.TableProperty, listed: dict[str, ast.ActionRef]
    ) -> None:
        e = p.value
        if not isinstance(e, ast.Expr):
            raise self.error(p, "default_action must be an action")
        a = self._action_ref(e, "default_action")
        self._listed_check(e, a, listed, "default action")
        if ast.annotation(listed[a.name], "tableonly") is not None or (
            ast.annotation(a, "tableonly") is not None
        ):
            raise self.error(e, f"action '{a.name}' is marked @tableonly and cannot be the default action")

    def _entries(
        self,
        t: ast.TableDecl,
        p: ast.TableProperty,
        key_types: list[ast.Type | None],
        kinds: list[str],
        listed: dict[str, ast.ActionRef],
        has_key: bool,
    ) -> None:
        entries = p.value if isinstance(p.value, list) else []
        if entries and not key_types:
            raise self.error(p, f"entries cannot be given for table '{t.name}' which has no key")
        needs_priority = any(k not in ("exact", "lpm") for k in kinds)
        with_prio = [en for en in entries if isinstance(en, ast.Entry) and en.priority is not None]
        if with_prio:
            first = with_prio[0]
            if p.const:
                raise self.error(first, "entries of a table with 'const entries' cannot have priorities")
            if not needs_priority:
                raise self.error(
                    first,
                    f"the key match kinds of table '{t.name}' do not use priorities, but an entry"
                    " has one",
                )
            if isinstance(entries[0], ast.Entry) and entries[0].priority is None:
                raise self.error(entries[0], "the first entry must have a priority when others do")
        for en in entries:
            self.at(en)
            try:
                if not isinstance(en, ast.Entry):
                    raise self.error(en, "expected a table entry")
                self._entry(en, key_types, listed, needs_priority)
                self._entry_kinds(en, key_types, kinds)
            except CompileError as err:
                self.report(err)
            self.check_annotations(en)

    def _entry(
        self,
        en: ast.Entry,
        key_types: list[ast.Type | None],
        listed: dict[str, ast.ActionRef],
        needs_priority: bool,
    ) -> None:
        ks = en.keyset
        if len(ks) == 1 and len(key_types) > 1 and isinstance(ks[0], ast.ListExpr):
            ks = list(ks[0].items)
            en.keyset = ks
        if len(ks) == 1 and len(key_types) > 1 and isinstance(ks[0], (ast.DontCare, ast.Default)):
            ks[0].type = ast.TypeDontCare()
        elif len(ks) != len(key_types):
            raise self.error(
                en, f"the entry has {len(ks)} key values but the table has {len(key_types)} keys"
            )
        else:
            en.keyset = [self.keyset(k, [kt], "table entry") for k, kt in zip(ks, key_types)]
        if en.priority is not None:
            en.priority = self.expr(en.priority)
            v = self.constant_or_error(en.priority, "an entry priority")
            if isinstance(v, int) and not isinstance(v, bool) and v < 0:
                raise self.error(en.priority, "entry priorities cannot be negative")
        a = self._action_ref(en.action, "entries")
        self._listed_check(en.action, a, listed, "entry action")
        if ast.annotation(listed[a.name], "defaultonly") is not None or (
            ast.annotation(a, "defaultonly") is not None
        ):
            raise self.error(en.action, f"action '{a.name}' is marked @defaultonly and cannot be used in entries")

    def _entry_kinds(
        self, en: ast.Entry, key_types: list[ast.Type | None], kinds: list[str]
    ) -> None:
        """Keyset forms each match kind accepts (as P4Runtime can express them)."""
        if len(en.keyset) != len(kinds):
            return
        for k, kind, kt in zip(en.keyset, kinds, key_types):
            if kind == "optional" and isinstance(k, (ast.Mask, ast.Range)):
                raise self.error(k, f"'{expr_str(k)}' is not a valid key for a {kind} match")
            if kind == "lpm" and isinstance(k, ast.Range):
                raise self.error(k, f"'{expr_str(k)}' is not a valid key for an lpm match")
            if kind == "lpm" and isinstance(k, ast.Mask):
                m = try_const_value(k.mask)
                w = _key_width(kt)
                if isinstance(m, int) and not isinstance(m, bool) and w is not None:
                    m &= (1 << w) - 1
                    tz = w if m == 0 else (m & -m).bit_length() - 1
                    if tz + bin(m).count("1") != w:
                        raise self.error(k, f"'{expr_str(k)}': invalid mask for an lpm key")

    def _other_property(self, p: ast.TableProperty) -> None:
        v = p.value
        if isinstance(v, ast.Expr):
            p.value = self.expr(v)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                if isinstance(item, ast.Expr):
                    v[i] = self.expr(item)


def _key_width(t: ast.Type | None) -> int | None:
    if _unknown(t):
        return None
    base = T.enum_underlying(t) or T.strip_newtype(t)  # type: ignore[arg-type]
    if isinstance(base, ast.TypeBits):
        return base.size
    if isinstance(base, ast.TypeBool):
        return 1
    return None


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


def _same_expr(a: ast.Expr, b: ast.Expr) -> bool:
    """Syntactic equality of two checked expressions (for action-list arguments)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, ast.PathExpr):
        return a.decl is b.decl  # type: ignore[union-attr]
    if isinstance(a, ast.Member):
        return a.name == b.name and _same_expr(a.expr, b.expr)  # type: ignore[union-attr]
    if isinstance(a, ast.StructExpr):
        fa = {f.name: f.expr for f in a.fields}
        fb = {f.name: f.expr for f in b.fields}  # type: ignore[union-attr]
        return fa.keys() == fb.keys() and all(_same_expr(fa[k], fb[k]) for k in fa)
    try:
        va, vb = const_value(a), const_value(b)
        return bool(va == vb)
    except CompileError:
        pass
    return expr_str(a) == expr_str(b)

"""Tables: keys, actions lists, default actions, entries and priorities.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


def _unknown(t: ast.Type | None) -> bool:
    return t is None or isinstance(t, ast.TypeDontCare)


def _is_optional(p: ast.Parameter) -> bool:
    return ast.annotation(p, "optional") is not None


Binding = dict[ast.Node, "ast.Type | None"]
_CONTAINER_TYPES = (ast.ParserDecl, ast.ControlDecl, ast.ParserTypeDecl, ast.ControlTypeDecl)


class TableChecker(_Base):
    """Table rules of the type checker."""

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
            if self._check_noaction(t):
                # p4c adds NoAction to the list, so it is a legal action_run label.
                noaction = self.global_scope.local("NoAction")[0]
                self._apply_result(t, [*actions.values(), noaction])  # type: ignore[list-item]

    def _check_noaction(self, t: ast.TableDecl) -> bool:
        """p4c makes ``NoAction`` the default action of a table without one; it must exist."""
        found = self.global_scope.local("NoAction")
        if not found:
            self.report(
                self.error(
                    t,
                    f"table '{t.name}' has no default_action and the action NoAction is not"
                    " declared; did you include core.p4?",
                )
            )
        elif not isinstance(found[0], ast.ActionDecl):
            self.report(
                self.error(t, "NoAction is expected to be an action; did you include core.p4?")
            )
        elif found[0].params:
            self.report(
                self.error(
                    t, "NoAction is expected to take no parameters; did you include core.p4?"
                )
            )
        else:
            return True
        return False

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
                missing = [
                    x
                    for x in d.params
                    if x.default is None and ast.annotation(x, "optional") is None
                ]
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
            raise self.error(
                e, f"action '{a.name}' is marked @tableonly and cannot be the default action"
            )

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
                raise self.error(
                    first, "entries of a table with 'const entries' cannot have priorities"
                )
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
        if with_prio and needs_priority and not p.const:
            self._priority_overflow(t, entries)

    def _priority_overflow(self, t: ast.TableDecl, entries: list[ast.Entry]) -> None:
        """p4c's EntryPriorities: entries without a priority continue from the previous one,
        ``priority_delta`` (default 1) lower when ``largest_priority_wins`` (the default), higher
        otherwise; p4c computes this for every entry, the last included, in unsigned 64-bit
        arithmetic and refuses the table when it leaves that range."""
        largest = True
        delta = 1
        for prop in t.properties:
            v = prop.value if isinstance(prop.value, ast.Expr) else None
            if v is None:
                continue
            cv = try_const_value(v)
            if prop.name == "largest_priority_wins" and isinstance(cv, bool):
                largest = cv
            elif prop.name == "priority_delta":
                if not isinstance(cv, int) or isinstance(cv, bool) or not 0 <= cv < 2**32:
                    return
                delta = cv
        current: int | None = None
        for en in entries:
            if not isinstance(en, ast.Entry):
                return
            if en.priority is not None:
                cv = try_const_value(en.priority)
                if not isinstance(cv, int) or isinstance(cv, bool) or not 0 <= cv < 2**32:
                    return
                current = cv
            if current is None:
                return
            nxt = current - delta if largest else current + delta
            if not 0 <= nxt < 2**64:
                raise self.error(
                    en,
                    f"table {t.name}: overflow in priority computation: the priority after this"
                    f" entry's ({current}) would be {current} {'-' if largest else '+'} {delta}"
                    f" (priority_delta) = {nxt}, outside the range of priorities",
                )
            current = nxt

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
            v = self.require_const(en.priority, "an entry priority")
            if isinstance(v, int) and not isinstance(v, bool) and v < 0:
                raise self.error(en.priority, "entry priorities cannot be negative")
        a = self._action_ref(en.action, "entries")
        self._listed_check(en.action, a, listed, "entry action")
        if ast.annotation(listed[a.name], "defaultonly") is not None or (
            ast.annotation(a, "defaultonly") is not None
        ):
            raise self.error(
                en.action, f"action '{a.name}' is marked @defaultonly and cannot be used in entries"
            )

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
    if isinstance(a, ast.Cast):
        return T.type_eq(a.type, b.type) and _same_expr(a.expr, b.expr)  # type: ignore[union-attr]
    if isinstance(a, ast.Call):
        return (
            _same_expr(a.func, b.func)  # type: ignore[union-attr]
            and len(a.args) == len(b.args)  # type: ignore[union-attr]
            and all(
                x.name == y.name and _same_expr(x.expr, y.expr)
                for x, y in zip(a.args, b.args)  # type: ignore[union-attr]
            )
        )
    if isinstance(a, ast.ListExpr):
        return len(a.items) == len(b.items) and all(  # type: ignore[union-attr]
            _same_expr(x, y) for x, y in zip(a.items, b.items)  # type: ignore[union-attr]
        )
    try:
        va, vb = const_value(a), const_value(b)
        return bool(va == vb)
    except CompileError:
        pass
    return expr_str(a) == expr_str(b)

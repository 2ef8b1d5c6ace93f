"""Print a syntax tree back as P4_16 source.

The output parses back to the same tree (up to locations), so ``print(parse(print(parse(s))))``
equals ``print(parse(s))``: that makes round-trip tests cheap. Expressions get parentheses only
where precedence needs them (using the parser's :data:`~.parser.BINARY_PRECEDENCE`).
Annotations with an unparsed body are printed from :attr:`~.ast.Annotation.body` exactly;
``@pragma`` annotations end their line.

Entry points: :func:`print_program` (also accepts any declaration or statement),
:func:`print_expr` and :func:`print_type`.
"""

from __future__ import annotations

from . import ast
from .parser import BINARY_PRECEDENCE

_PREFIX = 11  # unary operators and casts
_POSTFIX = 12  # members, indexing, calls, primaries


def print_program(node: ast.Node, indent: str = "    ") -> str:
    """Source text for a program, declaration or statement."""
    p = _Printer(indent)
    if isinstance(node, ast.Program):
        for i, d in enumerate(node.decls):
            if i:
                p.out.append("")
            p.decl(d)
    else:
        p.decl(node)
    return "\n".join(p.out) + "\n"


def print_expr(e: ast.Expr) -> str:
    """Source text for an expression."""
    return _Printer("    ").expr(e)


def print_type(t: ast.Type) -> str:
    """Source text for a type."""
    return _Printer("    ").type(t)


def _int_text(e: ast.IntLit) -> str:
    if e.text:
        return e.text
    v = abs(e.value)
    body = f"{e.width}{'s' if e.signed else 'w'}{v}" if e.width is not None else str(v)
    return "-" + body if e.value < 0 else body


def _dangles(st: ast.Node) -> bool:
    """Whether ``st`` ends in an ``if`` without ``else`` (which would take a following else)."""
    while True:
        if isinstance(st, ast.IfStmt):
            if st.else_ is None:
                return True
            st = st.else_
        elif isinstance(st, (ast.ForStmt, ast.ForInStmt)):
            st = st.body
        else:
            return False


class _Printer:
    def __init__(self, indent: str) -> None:
        self.indent = indent
        self.level = 0
        self.out: list[str] = []

    def line(self, text: str) -> None:
        self.out.append(self.indent * self.level + text)

    # ------------------------------------------------------------------ annotations

    def annotation(self, a: ast.Annotation) -> str:
        if a.pragma:
            return f"@pragma {a.name} {a.body or ''}".rstrip()
        if a.structured:
            if a.kvs is not None:
                inner = ", ".join(f"{kv.key}={self.expr(kv.value)}" for kv in a.kvs)
            else:
                inner = ", ".join(self.expr(e) for e in a.exprs or ())
            return f"@{a.name}[{inner}]"
        if a.body is not None:
            return f"@{a.name}({a.body})"
        if a.kvs is not None:
            return (
                f"@{a.name}(" + ", ".join(f"{kv.key}={self.expr(kv.value)}" for kv in a.kvs) + ")"
            )
        if a.exprs is not None:
            return f"@{a.name}(" + ", ".join(self.expr(e) for e in a.exprs) + ")"
        return f"@{a.name}"

    def annos_lines(self, annos: list[ast.Annotation]) -> None:
        for a in annos:
            self.line(self.annotation(a))

    def annos_inline(self, annos: list[ast.Annotation]) -> str:
        """Annotations in front of something on the same line; a pragma ends the line."""
        out = ""
        for a in annos:
            out += self.annotation(a)
            out += "\n" + self.indent * (self.level + 1) if a.pragma else " "
        return out

    # ------------------------------------------------------------------ types

    def type(self, t: ast.Type | None) -> str:
        if t is None:
            return "<unknown type>"
        k = t.kind
        if k == "TypeName":
            return ("." if t.global_ else "") + t.name  # type: ignore[attr-defined]
        if k == "TypeBits":
            base = "int" if t.signed else "bit"  # type: ignore[attr-defined]
            if t.width is None:  # type: ignore[attr-defined]
                if t.size is not None and not (t.size == 1 and not t.signed):  # type: ignore[attr-defined]
                    return f"{base}<{t.size}>"  # type: ignore[attr-defined]
                return base
            return f"{base}<{self.width(t.width)}>"  # type: ignore[attr-defined]
        if k == "TypeSpecialized":
            return self.type(t.base) + self.type_args(t.args)  # type: ignore[attr-defined]
        if k == "TypeStack":
            size = t.size_expr if t.size_expr is not None else None  # type: ignore[attr-defined]
            inner = self.expr(size) if size is not None else str(t.size)  # type: ignore[attr-defined]
            return f"{self.type(t.elem)}[{inner}]"  # type: ignore[attr-defined]
        if k == "TypeVarbit":
            if t.width is None:  # type: ignore[attr-defined]
                return f"varbit<{t.size}>"  # type: ignore[attr-defined]
            return f"varbit<{self.width(t.width)}>"  # type: ignore[attr-defined]
        if k == "TypeTuple":
            return "tuple" + self.type_args(t.args)  # type: ignore[attr-defined]
        if k == "TypeList":
            return f"list<{self.type(t.elem)}>"  # type: ignore[attr-defined]
        simple = {
            "TypeBool": "bool",
            "TypeErrorT": "error",
            "TypeMatchKind": "match_kind",
            "TypeString": "string",
            "TypeVoid": "void",
            "TypeDontCare": "_",
            "TypeInfInt": "int",
        }
        if k in simple:
            return simple[k]
        # a checker-made type without source syntax: show its name
        return getattr(t, "name", k)

    def width(self, w: ast.Expr) -> str:
        if isinstance(w, (ast.IntLit, ast.PathExpr)) and not (
            isinstance(w, ast.IntLit) and w.value < 0
        ):
            return self.expr(w)
        return f"({self.expr(w)})"

    def type_args(self, args: list[ast.Type]) -> str:
        return "<" + ", ".join(self.type(a) for a in args) + ">"

    def type_params(self, tps: list[ast.TypeParam]) -> str:
        return "<" + ", ".join(tp.name for tp in tps) + ">" if tps else ""

    def params(self, ps: list[ast.Parameter]) -> str:
        out = []
        for p in ps:
            s = self.annos_inline(p.annotations)
            if p.direction:
                s += p.direction + " "
            s += f"{self.type(p.ptype)} {p.name}"
            if p.default is not None:
                s += " = " + self.expr(p.default)
            out.append(s)
        return "(" + ", ".join(out) + ")"

    # ------------------------------------------------------------------ expressions

    def prec(self, e: ast.Node) -> int:
        k = e.kind
        if k == "Binary":
            return BINARY_PRECEDENCE[e.op]  # type: ignore[attr-defined]
        if k == "Ternary":
            return 0
        if k == "Unary" or k == "Cast":
            return _PREFIX
        if k == "IntLit" and e.value < 0:  # type: ignore[attr-defined]
            return _PREFIX
        if k in ("Mask", "Range"):
            return -1
        return _POSTFIX

    def sub(self, e: ast.Expr, minprec: int) -> str:
        s = self.expr(e)
        return f"({s})" if self.prec(e) < minprec else s

    def args(self, args: list[ast.Argument]) -> str:
        out = []
        for a in args:
            s = self.expr(a.expr)
            out.append(f"{a.name} = {s}" if a.name is not None else s)
        return "(" + ", ".join(out) + ")"

    def expr(self, e: ast.Node | None) -> str:  # noqa: C901 - one dispatch over node kinds
        if e is None:
            return "<missing>"
        k = e.kind
        if k == "PathExpr":
            return ("." if e.global_ else "") + e.name  # type: ignore[attr-defined]
        if k == "Member":
            return f"{self.sub(e.expr, _POSTFIX)}.{e.name}"  # type: ignore[attr-defined]
        if k == "IntLit":
            return _int_text(e)  # type: ignore[arg-type]
        if k == "Binary":
            p = BINARY_PRECEDENCE[e.op]  # type: ignore[attr-defined]
            return (
                f"{self.sub(e.left, p)} {e.op} "  # type: ignore[attr-defined]
                f"{self.sub(e.right, p + 1)}"  # type: ignore[attr-defined]
            )
        if k == "Call":
            targs = self.type_args(e.type_args) if e.type_args else ""  # type: ignore[attr-defined]
            return self.sub(e.func, _POSTFIX) + targs + self.args(e.args)  # type: ignore[attr-defined]
        if k == "BoolLit":
            return "true" if e.value else "false"  # type: ignore[attr-defined]
        if k == "StringLit":
            return f'"{e.value}"'  # type: ignore[attr-defined]
        if k == "Unary":
            inner = e.expr  # type: ignore[attr-defined]
            s = self.expr(inner)
            if (
                self.prec(inner) < _PREFIX
                or inner.kind == "Unary"
                or (inner.kind == "IntLit" and inner.value < 0)
            ):
                s = f"({s})"
            return e.op + s  # type: ignore[attr-defined]
        if k == "Cast":
            return f"({self.type(e.to)}){self.sub(e.expr, _PREFIX)}"  # type: ignore[attr-defined]
        if k == "Ternary":
            return (
                f"{self.sub(e.cond, 1)} ? {self.expr(e.then)} : "  # type: ignore[attr-defined]
                f"{self.expr(e.else_)}"  # type: ignore[attr-defined]
            )
        if k == "Index":
            return f"{self.sub(e.expr, _POSTFIX)}[{self.expr(e.index)}]"  # type: ignore[attr-defined]
        if k == "Slice":
            return (
                f"{self.sub(e.expr, _POSTFIX)}[{self.expr(e.hi)}:"  # type: ignore[attr-defined]
                f"{self.expr(e.lo)}]"  # type: ignore[attr-defined]
            )
        if k == "PlusSlice":
            return (
                f"{self.sub(e.expr, _POSTFIX)}[{self.expr(e.base)} +: "  # type: ignore[attr-defined]
                f"{self.expr(e.width)}]"  # type: ignore[attr-defined]
            )
        if k == "ConstructorCall":
            return self.type(e.ctype) + self.args(e.args)  # type: ignore[attr-defined]
        if k == "ListExpr":
            s = "{" + ", ".join(self.expr(x) for x in e.items) + "}"  # type: ignore[attr-defined]
            return f"({self.type(e.ctype)}){s}" if e.ctype is not None else s  # type: ignore[attr-defined]
        if k == "StructExpr":
            items = [f"{f.name} = {self.expr(f.expr)}" for f in e.fields]  # type: ignore[attr-defined]
            if e.dots:  # type: ignore[attr-defined]
                items.append("...")
            s = "{" + ", ".join(items) + "}"
            return f"({self.type(e.ctype)}){s}" if e.ctype is not None else s  # type: ignore[attr-defined]
        if k == "TypeExpr":
            return self.type(e.ctype)  # type: ignore[attr-defined]
        if k == "This":
            return "this"
        if k == "InvalidHeader":
            return "{#}"
        if k == "DontCare":
            return "_"
        if k == "Default":
            return "default"
        if k == "Dots":
            return "..."
        if k == "Mask":
            return f"{self.expr(e.value)} &&& {self.expr(e.mask)}"  # type: ignore[attr-defined]
        if k == "Range":
            return f"{self.expr(e.lo)} .. {self.expr(e.hi)}"  # type: ignore[attr-defined]
        if k == "SelectExpr":
            return "select (" + ", ".join(self.expr(x) for x in e.keys) + ") { ... }"  # type: ignore[attr-defined]
        raise TypeError(f"cannot print {k} as an expression")

    def keyset(self, e: ast.Expr) -> str:
        if isinstance(e, ast.ListExpr) and e.ctype is None:
            if len(e.items) == 1 and not isinstance(
                e.items[0], (ast.Mask, ast.Range, ast.Default, ast.DontCare)
            ):
                return self.expr(e)  # ``{x}``: ``(x)`` would read back as just x
            return "(" + ", ".join(self.expr(x) for x in e.items) + ")"
        return self.expr(e)

    # ------------------------------------------------------------------ statements

    def body(self, header: str, st: ast.Node) -> None:
        """``header`` followed by a statement that is the body of a compound statement."""
        if isinstance(st, ast.BlockStmt):
            self.line(f"{header} {self.annos_inline(st.annotations)}{{")
            self.level += 1
            for s in st.stmts:
                self.stmt(s)
            self.level -= 1
            self.line("}")
        else:
            self.line(header)
            self.level += 1
            self.stmt(st)
            self.level -= 1

    def block(self, header: str, st: ast.BlockStmt, tail: str = "") -> None:
        lead = f"{header} " if header else ""
        self.line(f"{lead}{self.annos_inline(st.annotations)}{{")
        self.level += 1
        for s in st.stmts:
            self.stmt(s)
        self.level -= 1
        self.line("}" + tail)

    def if_stmt(self, s: ast.IfStmt, lead: str = "") -> None:
        then = s.then
        if s.else_ is not None and _dangles(then):
            then = ast.BlockStmt([then])  # keep the else with the outer if
        self.body(f"{lead}if ({self.expr(s.cond)})", then)
        if s.else_ is None:
            return
        if isinstance(then, ast.BlockStmt):
            self.out.pop()  # the then-block's "}" opens the else line
            lead = "} else"
        else:
            lead = "else"
        if isinstance(s.else_, ast.IfStmt):
            self.if_stmt(s.else_, lead + " ")
        else:
            self.body(lead, s.else_)

    def simple(self, s: ast.Node) -> str:
        """An assignment, call or variable declaration without the ``;``."""
        if isinstance(s, ast.AssignStmt):
            return f"{self.expr(s.lhs)} {s.op} {self.expr(s.rhs)}"
        if isinstance(s, ast.CallStmt):
            return self.expr(s.call)
        if isinstance(s, ast.VarDecl):
            init = f" = {self.expr(s.init)}" if s.init is not None else ""
            return f"{self.annos_inline(s.annotations)}{self.type(s.vtype)} {s.name}{init}"
        raise TypeError(f"cannot print {s.kind} in a for header")

    def stmt(self, s: ast.Node) -> None:  # noqa: C901 - one dispatch over node kinds
        k = s.kind
        if k == "AssignStmt" or k == "CallStmt":
            self.line(self.simple(s) + ";")
        elif k == "BlockStmt":
            self.block("", s)  # type: ignore[arg-type]
        elif k == "IfStmt":
            self.if_stmt(s)  # type: ignore[arg-type]
        elif k == "ReturnStmt":
            e = s.expr  # type: ignore[attr-defined]
            self.line("return;" if e is None else f"return {self.expr(e)};")
        elif k == "ExitStmt":
            self.line("exit;")
        elif k == "EmptyStmt":
            self.line(";")
        elif k == "BreakStmt":
            self.line("break;")
        elif k == "ContinueStmt":
            self.line("continue;")
        elif k == "SwitchStmt":
            self.line(f"switch ({self.expr(s.expr)}) {{")  # type: ignore[attr-defined]
            self.level += 1
            for c in s.cases:  # type: ignore[attr-defined]
                label = self.expr(c.label)
                if c.body is None:
                    self.line(f"{label}:")
                else:
                    self.block(f"{label}:", c.body)
            self.level -= 1
            self.line("}")
        elif k == "ForStmt":
            init = ", ".join(self.simple(x) for x in s.init)  # type: ignore[attr-defined]
            cond = self.expr(s.cond) if s.cond is not None else ""  # type: ignore[attr-defined]
            upd = ", ".join(self.simple(x) for x in s.updates)  # type: ignore[attr-defined]
            head = self.annos_inline(s.annotations)  # type: ignore[attr-defined]
            self.body(f"{head}for ({init}; {cond}; {upd})", s.body)  # type: ignore[attr-defined]
        elif k == "ForInStmt":
            c = s.collection  # type: ignore[attr-defined]
            coll = self.expr(c)
            var = s.var if s.var_type is None else f"{self.type(s.var_type)} {s.var}"  # type: ignore[attr-defined]
            head = self.annos_inline(s.annotations)  # type: ignore[attr-defined]
            self.body(f"{head}for ({var} in {coll})", s.body)  # type: ignore[attr-defined]
        else:
            self.decl(s)

    # ------------------------------------------------------------------ declarations

    def decl(self, d: ast.Node) -> None:  # noqa: C901 - one dispatch over node kinds
        k = d.kind
        if isinstance(d, ast.Stmt):
            self.stmt(d)
            return
        annos = getattr(d, "annotations", None) or []
        if k in ("VarDecl", "ConstDecl", "Instantiation", "ValueSetDecl"):
            # locals often carry @name: keep them on the same line as p4c prints them
            head = self.annos_inline(annos)
        else:
            self.annos_lines(annos)
            head = ""
        if k == "VarDecl":
            self.line(head + self.simple(ast.VarDecl(d.vtype, d.name, d.init)) + ";")  # type: ignore[attr-defined]
        elif k == "ConstDecl":
            self.line(
                f"{head}const {self.type(d.ctype)} {d.name} = {self.expr(d.value)};"  # type: ignore[attr-defined]
            )
        elif k == "Instantiation":
            ty = d.itype  # type: ignore[attr-defined]
            dims = ""
            while isinstance(ty, ast.TypeStack):
                dims = (
                    f"[{self.expr(ty.size_expr) if ty.size_expr is not None else ty.size}]" + dims
                )
                ty = ty.elem
            text = f"{head}{self.type(ty)}{self.args(d.args)} {d.name}{dims}"  # type: ignore[attr-defined]
            if d.initializer is None:  # type: ignore[attr-defined]
                self.line(text + ";")
            else:
                self.line(text + " = {")
                self.level += 1
                for x in d.initializer:  # type: ignore[attr-defined]
                    self.decl(x)
                self.level -= 1
                self.line("};")
        elif k == "ValueSetDecl":
            self.line(
                f"{head}value_set<{self.type(d.elem)}>({self.expr(d.size)}) {d.name};"  # type: ignore[attr-defined]
            )
        elif k == "TypedefDecl":
            kw = "type" if d.newtype else "typedef"  # type: ignore[attr-defined]
            self.line(f"{kw} {self.type(d.target)} {d.name};")  # type: ignore[attr-defined]
        elif k == "StructDecl":
            self.line(f"{d.flavor} {d.name}{self.type_params(d.type_params)} {{")  # type: ignore[attr-defined]
            self.level += 1
            for f in d.fields:  # type: ignore[attr-defined]
                self.line(f"{self.annos_inline(f.annotations)}{self.type(f.ftype)} {f.name};")
            self.level -= 1
            self.line("}")
        elif k == "EnumDecl":
            under = f"{self.type(d.underlying)} " if d.underlying is not None else ""  # type: ignore[attr-defined]
            self.line(f"enum {under}{d.name} {{")  # type: ignore[attr-defined]
            self.level += 1
            members = d.members  # type: ignore[attr-defined]
            for i, m in enumerate(members):
                v = f" = {self.expr(m.value)}" if m.value is not None else ""
                sep = "," if i + 1 < len(members) else ""
                self.line(f"{self.annos_inline(m.annotations)}{m.name}{v}{sep}")
            self.level -= 1
            self.line("}")
        elif k == "ErrorDecl" or k == "MatchKindDecl":
            kw = "error" if k == "ErrorDecl" else "match_kind"
            self.line(kw + " {")
            self.level += 1
            members = d.members  # type: ignore[attr-defined]
            for i, m in enumerate(members):
                self.line(m + ("," if i + 1 < len(members) else ""))
            self.level -= 1
            self.line("}")
        elif k == "ExternDecl":
            self.line(f"extern {d.name}{self.type_params(d.type_params)} {{")  # type: ignore[attr-defined]
            self.level += 1
            for m in d.methods:  # type: ignore[attr-defined]
                self.annos_lines(m.annotations)
                ab = "abstract " if m.abstract else ""
                if m.rtype is None:
                    self.line(f"{ab}{m.name}{self.params(m.params)};")
                else:
                    self.line(
                        f"{ab}{self.type(m.rtype)} {m.name}{self.type_params(m.type_params)}"
                        f"{self.params(m.params)};"
                    )
            self.level -= 1
            self.line("}")
        elif k == "ExternFunctionDecl":
            self.line(
                f"extern {self.type(d.rtype)} {d.name}{self.type_params(d.type_params)}"  # type: ignore[attr-defined]
                f"{self.params(d.params)};"  # type: ignore[attr-defined]
            )
        elif k == "FunctionDecl":
            self.block(
                f"{self.type(d.rtype)} {d.name}{self.type_params(d.type_params)}"  # type: ignore[attr-defined]
                f"{self.params(d.params)}",  # type: ignore[attr-defined]
                d.body,  # type: ignore[attr-defined]
            )
        elif k == "ActionDecl":
            self.block(f"action {d.name}{self.params(d.params)}", d.body)  # type: ignore[attr-defined]
        elif k in ("ParserTypeDecl", "ControlTypeDecl", "PackageTypeDecl"):
            kw = {"ParserTypeDecl": "parser", "ControlTypeDecl": "control"}.get(k, "package")
            self.line(
                f"{kw} {d.name}{self.type_params(d.type_params)}{self.params(d.params)};"  # type: ignore[attr-defined]
            )
        elif k == "ParserDecl" or k == "ControlDecl":
            kw = "parser" if k == "ParserDecl" else "control"
            ctor = self.params(d.ctor_params) if d.ctor_params else ""  # type: ignore[attr-defined]
            self.line(
                f"{kw} {d.name}{self.type_params(d.type_params)}"  # type: ignore[attr-defined]
                f"{self.params(d.params)}{ctor} {{"  # type: ignore[attr-defined]
            )
            self.level += 1
            for x in d.locals:  # type: ignore[attr-defined]
                self.decl(x)
            if k == "ParserDecl":
                for st in d.states:  # type: ignore[attr-defined]
                    self.decl(st)
            else:
                self.block("apply", d.body)  # type: ignore[attr-defined]
            self.level -= 1
            self.line("}")
        elif k == "ParserState":
            self.line(f"state {d.name} {{")  # type: ignore[attr-defined]
            self.level += 1
            for st in d.stmts:  # type: ignore[attr-defined]
                self.stmt(st)
            tr = d.transition  # type: ignore[attr-defined]
            if isinstance(tr, ast.SelectExpr):
                self.select(tr)
            elif tr is not None:
                self.line(f"transition {self.expr(tr)};")
            self.level -= 1
            self.line("}")
        elif k == "TableDecl":
            self.line(f"table {d.name} {{")  # type: ignore[attr-defined]
            self.level += 1
            for prop in d.properties:  # type: ignore[attr-defined]
                self.table_property(prop)
            self.level -= 1
            self.line("}")
        else:
            raise TypeError(f"cannot print {k} as a declaration")

    def select(self, s: ast.SelectExpr) -> None:
        self.line("transition select(" + ", ".join(self.expr(x) for x in s.keys) + ") {")
        self.level += 1
        for c in s.cases:
            self.line(f"{self.keyset(c.keyset)}: {self.expr(c.state)};")
        self.level -= 1
        self.line("}")

    def table_property(self, p: ast.TableProperty) -> None:
        head = self.annos_inline(p.annotations) + ("const " if p.const else "")
        if p.name == "key" and isinstance(p.value, list):
            self.line(head + "key = {")
            self.level += 1
            for ke in p.value:
                annos = "".join(" " + self.annotation(a) for a in ke.annotations)
                if any(a.pragma for a in ke.annotations):
                    annos += "\n" + self.indent * self.level
                self.line(f"{self.expr(ke.expr)}: {ke.match_kind}{annos};")
            self.level -= 1
            self.line("}")
        elif p.name == "actions" and isinstance(p.value, list):
            self.line(head + "actions = {")
            self.level += 1
            for ar in p.value:
                self.line(f"{self.annos_inline(ar.annotations)}{self.expr(ar.expr)};")
            self.level -= 1
            self.line("}")
        elif p.name == "entries" and isinstance(p.value, list):
            self.line(head + "entries = {")
            self.level += 1
            for en in p.value:
                self.line(self.entry(en))
            self.level -= 1
            self.line("}")
        else:
            self.line(f"{head}{p.name} = {self.expr(p.value)};")

    def entry(self, en: ast.Entry) -> str:
        s = "const " if en.const else ""
        if en.priority is not None:
            s += f"priority={self.expr(en.priority)}: "
        if len(en.keyset) == 1:
            s += self.expr(en.keyset[0])
        else:
            s += "(" + ", ".join(self.expr(k) for k in en.keyset) + ")"
        s += f": {self.expr(en.action)}"
        for a in en.annotations:
            s += " " + self.annotation(a)
            if a.pragma:
                s += "\n" + self.indent * self.level
        return s + ";"

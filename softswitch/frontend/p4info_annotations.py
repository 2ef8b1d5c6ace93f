"""Annotations and names in P4Info, printed the way p4c prints them.

* ``annotations`` strings: p4c keeps an annotation it does not know as its list of tokens and
  prints them separated by one space (``@my_anno(1 , "two")``); annotations it parses (``@noWarn``,
  ``@defaultonly``...) are printed by its expression printer;
* structured annotations (``@x[...]``) become ``structured_annotations`` with folded literals;
* ``@brief`` / ``@description`` become ``doc``; ``@name`` and ``@id`` are represented elsewhere;
* key names follow p4c's ``TableKeyNames`` pass (``hdr.ipv4.$valid$``, ``f[7:0]``, ``f & 0xff``).
"""

from __future__ import annotations

from typing import Any

from p4.config.v1 import p4info_pb2, p4types_pb2

from . import ast
from .constfold import const_value
from .elaborate import MISSING, annotation_string, binop, external_name
from .errors import CompileError
from .lexer import int_value
from .types import type_decl

# Annotations p4c parses into expressions (so prints back through its expression printer);
# every other annotation keeps its token list.
_PARSED_ANNOTATIONS = frozenset(
    """name deprecated noWarn length pkginfo synchronous field_list match command_line
    controller_header hidden id brief description platform_property max_group_size
    selector_size_semantics max_member_weight p4runtime_translation atomic defaultonly likely
    noSideEffects optional pure tableonly unlikely disable_optimization unroll nounroll""".split()
)
_DOC_ANNOTATIONS = frozenset({"name", "id", "brief", "description"})


def _expr_text(e: ast.Expr) -> str:
    """How p4c's ToP4 prints a (literal) annotation argument."""
    if isinstance(e, ast.StringLit):
        return '"' + e.value + '"'
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.IntLit):
        return e.text or str(e.value)
    if isinstance(e, ast.PathExpr):
        return ("." if e.global_ else "") + e.name
    if isinstance(e, ast.Member):
        return _expr_text(e.expr) + "." + e.name
    raise ValueError("not a simple expression")


def annotation_text(a: ast.Annotation) -> str:
    """The string p4c puts in an ``annotations`` field for unstructured annotation ``a``."""
    if a.name in _PARSED_ANNOTATIONS and a.exprs is not None:
        if not a.exprs:
            return "@" + a.name
        try:
            return "@" + a.name + "(" + ", ".join(_expr_text(e) for e in a.exprs) + ")"
        except ValueError:
            pass
    if a.name in _PARSED_ANNOTATIONS and a.kvs is not None:
        try:
            body = ", ".join(kv.key + "=" + _expr_text(kv.value) for kv in a.kvs)
            return "@" + a.name + "(" + body + ")"
        except ValueError:
            pass
    body = a.body
    if body is None or body == "":
        return "@" + a.name
    return "@" + a.name + "(" + body + ")"


def _fold_literal(e: ast.Expr) -> Any:
    """The value of a structured annotation's expression (p4c folds them to literals)."""
    if isinstance(e, (ast.IntLit, ast.BoolLit, ast.StringLit)):
        return e.value
    if isinstance(e, ast.Unary):
        v = _fold_literal(e.expr)
        if e.op == "-" and isinstance(v, int) and not isinstance(v, bool):
            return -v
        if e.op == "!" and isinstance(v, bool):
            return not v
        if e.op == "+":
            return v
        if e.op == "~" and isinstance(v, int):
            return ~v
        raise ValueError(e.op)
    if isinstance(e, ast.Binary):
        a, b = _fold_literal(e.left), _fold_literal(e.right)
        if e.op == "++" and isinstance(a, str) and isinstance(b, str):
            return a + b
        r = binop(e.op, a, b)
        if r is MISSING:
            raise ValueError(e.op)
        return r
    if isinstance(e, ast.Ternary):
        c = _fold_literal(e.cond)
        return _fold_literal(e.then if c else e.else_)
    try:
        return const_value(e)
    except CompileError as exc:
        raise ValueError("not constant") from exc


def _structured_expr(e: ast.Expr, out: p4types_pb2.Expression) -> None:
    try:
        v = _fold_literal(e)
    except (ValueError, TypeError, ZeroDivisionError):
        raise CompileError(e.loc, "structured annotation expression must be a literal") from None
    if isinstance(v, bool):
        out.bool_value = v
    elif isinstance(v, int):
        out.int64_value = v
    elif isinstance(v, str):
        out.string_value = v
    else:
        raise CompileError(e.loc, "structured annotation expression must be a literal")


def add_annotations(
    msg: Any, annotations: list[ast.Annotation], skip: frozenset[str] = frozenset()
) -> None:
    """Fill ``annotations`` and ``structured_annotations`` of ``msg`` as p4c does."""
    for a in annotations:
        if a.structured:
            sa = msg.structured_annotations.add()
            sa.name = a.name
            if a.kvs is not None:
                lst = sa.kv_pair_list
                lst.SetInParent()
                for kv in a.kvs:
                    p = lst.kv_pairs.add()
                    p.key = kv.key
                    _structured_expr(kv.value, p.value)
            else:
                lst = sa.expression_list
                lst.SetInParent()
                for e in a.exprs or ():
                    _structured_expr(e, lst.expressions.add())
            continue
        if a.name in _DOC_ANNOTATIONS or a.name in skip:
            continue
        msg.annotations.append(annotation_text(a))


def add_documentation(msg: Any, annotations: list[ast.Annotation]) -> None:
    """Set ``doc`` from ``@brief`` / ``@description``."""
    for a in annotations:
        if a.name in ("brief", "description") and not a.structured:
            s = annotation_string(a)
            if s is None:
                continue
            if a.name == "brief":
                msg.doc.brief = s
            else:
                msg.doc.description = s


def set_preamble(
    pre: p4info_pb2.Preamble,
    ident: int,
    name: str,
    alias: str,
    annotations: list[ast.Annotation],
    skip: frozenset[str] = frozenset(),
) -> None:
    """Fill a preamble: id, name, alias, annotations and documentation."""
    pre.id = ident
    pre.name = name
    pre.alias = alias
    add_annotations(pre, annotations, skip)
    add_documentation(pre, annotations)


def has_annotation(annotations: list[ast.Annotation] | None, name: str) -> bool:
    """Whether ``@name`` is among ``annotations``."""
    return any(a.name == name for a in annotations or ())


def get_annotation(annotations: list[ast.Annotation] | None, name: str) -> ast.Annotation | None:
    """The first ``@name`` among ``annotations`` (p4c reads the first one)."""
    for a in annotations or ():
        if a.name == name:
            return a
    return None


def annotation_int(a: ast.Annotation) -> int | None:
    """The integer argument of an annotation like ``@id(5)``."""
    if a.exprs:
        e = a.exprs[0]
        if isinstance(e, ast.IntLit):
            return e.value
        v = getattr(e, "value", None)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    if a.body:
        try:
            return int_value(a.body.strip())[0]
        except ValueError:
            return None
    return None


def id_annotation(annotations: list[ast.Annotation] | None) -> int | None:
    """The value of an ``@id`` annotation, if any."""
    a = get_annotation(annotations, "id")
    return annotation_int(a) if a is not None else None


def is_hidden(annotations: list[ast.Annotation] | None) -> bool:
    """Whether ``@hidden`` hides the object from the control plane."""
    return has_annotation(annotations, "hidden")


# --------------------------------------------------------------------------------------------
# Key names (p4c's TableKeyNames)


def constant_text(e: ast.IntLit) -> str:
    """An integer literal as p4c prints it in a key name: its value in the base it was written
    in, without width or leading zeros (``8w0x0F`` -> ``0xf``)."""
    text = e.text or ""
    body = text
    for i, ch in enumerate(text):
        if ch in "ws" and text[:i].isdigit() and i > 0:
            body = text[i + 1 :]
            break
    base = 10
    if len(body) > 1 and body[0] == "0" and body[1] in "xXbBoOdD":
        base = {"x": 16, "b": 2, "o": 8, "d": 10}[body[1].lower()]
    v = e.value
    sign = "-" if v < 0 else ""
    v = abs(v)
    if base == 16:
        return f"{sign}0x{v:x}"
    if base == 2:
        return f"{sign}0b{v:b}"
    if base == 8:
        return f"{sign}0o{v:o}"
    return f"{sign}{v}"


def key_name(e: ast.Expr) -> str | None:
    """The name p4c's ``TableKeyNames`` gives a key expression (None when it cannot)."""
    if isinstance(e, ast.PathExpr):
        return ("." if e.global_ else "") + e.name
    if isinstance(e, ast.Member):
        fname = e.name
        d = type_decl(getattr(e.expr, "type", None))
        if isinstance(d, ast.StructDecl):
            if d.flavor in ("header", "header_union") and fname == "isValid":
                fname = "$valid$"
            else:
                for f in d.fields:
                    if f.name == e.name:
                        fname = external_name(f)
                        break
        if fname.startswith("."):
            return fname[1:]
        base = key_name(e.expr)
        return None if base is None else base + "." + fname
    if isinstance(e, ast.Index):
        lft = key_name(e.expr)
        r = key_name(e.index)
        return None if lft is None or r is None else f"{lft}[{r}]"
    if isinstance(e, ast.IntLit):
        return constant_text(e)
    if isinstance(e, ast.Slice):
        a, b, c = key_name(e.expr), key_name(e.hi), key_name(e.lo)
        return None if a is None or b is None or c is None else f"{a}[{b}:{c}]"
    if isinstance(e, ast.Binary) and e.op == "&":
        lft = key_name(e.left)
        r = key_name(e.right)
        return None if lft is None or r is None else f"{lft} & {r}"
    if isinstance(e, ast.Call):
        m = key_name(e.func)
        if m is not None and m.endswith("$valid$") and not e.args:
            return m
        return None
    if isinstance(e, ast.Cast):
        return None
    return None

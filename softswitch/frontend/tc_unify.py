"""Type unification: generic type-argument inference and signature matching.

Part of the type checker (:mod:`.typecheck`); methods here are mixed into its ``Checker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import ast
from . import types as T

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


class UnifyChecker(_Base):
    """Unification rules of the type checker."""

    # ----------------------------------------------------------------------------------------
    # Unification

    def unify(self, p: ast.Type, a: ast.Type, b: Binding) -> bool:
        """Can a value of type ``a`` be passed where ``p`` is expected, binding the type variables
        of ``b`` (keys) that occur in ``p``? Unsized ints and initializers are accepted where an
        implicit conversion exists."""
        if _unknown(a) or _unknown(p):
            return True
        if isinstance(a, ast.TypeName) and isinstance(a.decl, ast.TypeParam) and a.decl in b:
            if not (isinstance(p, ast.TypeName) and p.decl is a.decl):
                cur = b[a.decl]
                if cur is None:
                    b[a.decl] = p
                    return True
                return self.unify(p, cur, b)
        if isinstance(p, ast.TypeName) and isinstance(p.decl, ast.TypeParam) and p.decl in b:
            cur = b[p.decl]
            if cur is None or isinstance(cur, ast.TypeDontCare):
                b[p.decl] = a
                return True
            if isinstance(cur, ast.TypeInfInt) and not isinstance(a, ast.TypeInfInt):
                if isinstance(T.strip_newtype(a), ast.TypeBits):
                    b[p.decl] = a
                    return True
                return False
            if isinstance(cur, ast.TypeTuple) and T.is_struct_like(a):
                if self.unify(a, cur, {}):
                    b[p.decl] = a
                    return True
            return self.unify(cur, a, {})
        if isinstance(a, ast.TypeInfInt):
            base = T.strip_newtype(p)
            return isinstance(base, (ast.TypeBits, ast.TypeInfInt))
        if isinstance(p, ast.TypeInfInt):
            return isinstance(T.enum_underlying(a) or a, ast.TypeBits)
        if isinstance(p, ast.TypeBits):
            if T.is_serializable_enum(a):
                return T.type_eq(T.enum_underlying(a), p)
            return T.type_eq(p, a)
        if isinstance(p, ast.TypeSpecialized):
            if isinstance(a, ast.TypeSpecialized) and a.base.decl is p.base.decl:
                return len(a.args) == len(p.args) and all(
                    self.unify(x, y, b) for x, y in zip(p.args, a.args)
                )
            if isinstance(p.base.decl, (ast.ParserTypeDecl, ast.ControlTypeDecl)):
                return self.unify_signature(p, a, b)
            if T.is_struct_like(p) and isinstance(a, ast.TypeTuple):
                return self._unify_fields(p, a, b)
            return False
        if isinstance(p, ast.TypeName):
            if isinstance(a, ast.TypeName) and a.decl is p.decl:
                return True
            pd = p.decl
            if isinstance(pd, (ast.ParserTypeDecl, ast.ControlTypeDecl)):
                return self.unify_signature(p, a, b)
            if isinstance(pd, ast.StructDecl):
                if isinstance(a, ast.TypeTuple):
                    return self._unify_fields(p, a, b)
                ad = T.type_decl(a)
                if isinstance(ad, ast.StructDecl) and ad.__dict__.get("_sluice_anonymous"):
                    return self._unify_named_fields(p, a, b)
            if isinstance(pd, ast.TypedefDecl) and isinstance(a, ast.TypeInfInt):
                return True
            return False
        if isinstance(p, ast.TypeStack):
            if isinstance(a, ast.TypeStack):
                return p.size == a.size and self.unify(p.elem, a.elem, b)
            if isinstance(a, ast.TypeTuple):
                return len(a.args) == p.size and all(self.unify(p.elem, x, b) for x in a.args)
            return False
        if isinstance(p, ast.TypeTuple):
            if isinstance(a, ast.TypeTuple):
                return len(a.args) == len(p.args) and all(
                    self.unify(x, y, b) for x, y in zip(p.args, a.args)
                )
            return False
        if isinstance(p, ast.TypeList):
            if isinstance(a, ast.TypeList):
                return self.unify(p.elem, a.elem, b)
            if isinstance(a, ast.TypeTuple):
                return all(self.unify(p.elem, x, b) for x in a.args)
            return False
        return T.type_eq(p, a)

    def _unify_fields(self, p: ast.Type, a: ast.TypeTuple, b: Binding) -> bool:
        fields = T.fields_of(p)
        if len(fields) != len(a.args) or T.is_header_union(p):
            return False
        return all(self.unify(ft, x, b) for (_, ft, _), x in zip(fields, a.args))

    def _unify_named_fields(self, p: ast.Type, a: ast.Type, b: Binding) -> bool:
        af = {n: t for n, t, _ in T.fields_of(a)}
        pf = T.fields_of(p)
        if set(af) != {n for n, _, _ in pf}:
            return False
        return all(self.unify(ft, af[n], b) for n, ft, _ in pf)

    def unify_signature(self, p: ast.Type, a: ast.Type, b: Binding) -> bool:
        """A parser/control declaration (or type) ``a`` where parser/control type ``p`` is
        expected: same kind, same parameter directions, unifiable parameter types."""
        pd, ad = T.type_decl(p), T.type_decl(a)
        if not isinstance(pd, _CONTAINER_TYPES) or not isinstance(ad, _CONTAINER_TYPES):
            return False
        p_parser = isinstance(pd, (ast.ParserDecl, ast.ParserTypeDecl))
        a_parser = isinstance(ad, (ast.ParserDecl, ast.ParserTypeDecl))
        if p_parser != a_parser:
            return False
        psub: dict[ast.Node, ast.Type] = dict(T.struct_subst(p))
        if not isinstance(p, ast.TypeSpecialized):
            for tp in pd.type_params:
                if tp not in b:
                    b[tp] = None
        asub = T.struct_subst(a)
        if not isinstance(a, ast.TypeSpecialized):
            for tp in ad.type_params:
                if tp not in b:
                    b[tp] = None
        if len(pd.params) < len(ad.params):
            return False
        for extra in pd.params[len(ad.params) :]:
            if extra.default is None and not _is_optional(extra):
                return False
        for pp, ap in zip(pd.params, ad.params):
            if pp.direction != ap.direction:
                return False
            pt = T.substitute(self.ptype(pp), psub)
            at = T.substitute(self.ptype(ap), asub)
            if not self.unify(pt, at, b):
                return False
        return True

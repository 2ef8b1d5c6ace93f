"""Grammar rules for statements (mixed into :class:`.parser.Parser`)."""

from __future__ import annotations

from .ast import (
    Annotation,
    AssignStmt,
    BlockStmt,
    BreakStmt,
    Call,
    CallStmt,
    ConstructorCall,
    ContinueStmt,
    Default,
    EmptyStmt,
    ExitStmt,
    Expr,
    ForInStmt,
    ForStmt,
    IfStmt,
    Node,
    PathExpr,
    Range,
    ReturnStmt,
    Stmt,
    SwitchCase,
    SwitchStmt,
    Type,
    VarDecl,
)
from .errors import CompileError
from .lexer import Token
from .parse_base import _ASSIGN_OPS, _NAME_KINDS, _NOT_IN_PARSER, _TYPE_KW, describe


class StmtParser:
    """Statements in control, action and parser bodies."""

    # ------------------------------------------------------------------ statements

    def statement(self) -> Node:
        toks = self.toks
        t = toks[self.i]
        k = t.kind
        if k == "ID":
            if toks[self.i + 1].kind != "." and self.is_type(t.text):
                return self.local_decl([])
            return self.simple_statement()
        if k == "{":
            return self.block([])
        if k == "if":
            self.i += 1
            self.expect("(")
            cond = self.expr()
            self.expect(")")
            then = self.statement()
            else_ = None
            if toks[self.i].kind == "else":
                self.i += 1
                else_ = self.statement()
            return IfStmt(cond, then, else_, loc=t.loc)  # type: ignore[arg-type]
        if k == "return":
            self.i += 1
            if toks[self.i].kind == ";":
                self.i += 1
                return ReturnStmt(None, loc=t.loc)
            e = self.expr()
            self.expect(";")
            return ReturnStmt(e, loc=t.loc)
        if k == ";":
            self.i += 1
            return EmptyStmt(loc=t.loc)
        if k == "@":
            annos = self.annotations()
            k = toks[self.i].kind
            if k == "{":
                return self.block(annos)
            if k == "for":
                return self.for_stmt(annos)
            return self.local_decl(annos)
        if k == "switch":
            return self.switch_stmt()
        if k == "exit" or k == "break" or k == "continue":
            self.i += 1
            self.expect(";")
            cls = {"exit": ExitStmt, "break": BreakStmt, "continue": ContinueStmt}[k]
            return cls(loc=t.loc)
        if k == "for":
            return self.for_stmt([])
        if k == "const":
            return self.const_decl([])
        if k in _TYPE_KW or (k == "." and self.type_start(self.i)):
            return self.local_decl([])
        return self.simple_statement()

    def parser_statement(self) -> Node:
        """A statement directly in a parser state or parser block: no ``return``, ``exit``,
        ``switch``, loops (p4c's ``parserStatement``; an ``if`` branch may hold any)."""
        toks = self.toks
        t = toks[self.i]
        k = t.kind
        if k in _NOT_IN_PARSER:
            raise self.fail(t, '"}" or "transition"' if k == "EOF" else None)
        if k == "{" or (k == "@" and self._annotated_block()):
            annos = self.annotations()
            lb = self.expect("{")
            self.push()
            stmts: list[Node] = []
            while toks[self.i].kind != "}":
                stmts.append(self.parser_statement())
            self.i += 1
            self.pop()
            return BlockStmt(stmts, annos, loc=lb.loc)
        return self.statement()

    def _annotated_block(self) -> bool:
        j = self.i
        toks = self.toks
        last = len(toks) - 1
        while toks[j].kind == "@":
            j = min(j + 2, last)
            if toks[j].kind in ("(", "["):
                depth = 0
                while True:
                    k = toks[j].kind
                    if k in ("(", "["):
                        depth += 1
                    elif k in (")", "]"):
                        depth -= 1
                        if depth == 0:
                            break
                    elif k == "EOF":
                        return False
                    j += 1
                j += 1
        return toks[j].kind == "{"

    def simple_statement(self, semi: bool = True) -> Stmt:
        """An assignment or a method call (``lvalue = e;``, ``f(args);``)."""
        toks = self.toks
        first = toks[self.i]
        lhs = self.postfix(self.primary(), True)
        t = toks[self.i]
        k = t.kind
        if k in _ASSIGN_OPS:
            self.i += 1
            st: Stmt = AssignStmt(lhs, self.expr(), k, loc=first.loc)
        elif k == ">" and t.adj and toks[self.i + 1].kind == ">=":
            self.i += 2
            st = AssignStmt(lhs, self.expr(), ">>=", loc=first.loc)
        elif isinstance(lhs, (Call, ConstructorCall)):
            st = CallStmt(lhs, loc=first.loc)
            if semi and k != ";":
                raise self.fail(t, '";"')
        else:
            if isinstance(lhs, PathExpr) and k in _NAME_KINDS:
                # ``foo_t x;`` with foo_t never declared as a type
                raise CompileError(
                    t.loc,
                    f"syntax error, unexpected {describe(t)}: "
                    f'"{lhs.name}" is not a type declared before this point',
                )
            raise self.fail(t, '"=" or "("')
        if semi:
            self.expect(";")
        return st

    def block(self, annos: list[Annotation]) -> BlockStmt:
        toks = self.toks
        lb = self.expect("{")
        self.push()
        stmts: list[Node] = []
        statement = self.statement
        while toks[self.i].kind != "}":
            if toks[self.i].kind == "EOF":
                raise self.fail(toks[self.i], '"}"')
            stmts.append(statement())
        self.i += 1
        self.pop()
        return BlockStmt(stmts, annos, loc=lb.loc)

    def local_decl(self, annos: list[Annotation], semi: bool = True) -> Node:
        """A variable declaration, constant or instantiation inside a block, parser or
        control."""
        toks = self.toks
        if toks[self.i].kind == "const":
            return self.const_decl(annos)
        start = self.i
        ty = self.parse_type()
        k = toks[self.i].kind
        if k == "(":
            return self.instantiation_rest(ty, annos)
        if k == "." and not annos and semi:
            # ``T<A>.apply(...)``: a statement on a (specialized) type, not a declaration
            self.i = start
            return self.simple_statement()
        n = self.name()
        ty = self.declarator(ty)
        init = None
        if toks[self.i].kind == "=":
            self.i += 1
            init = self.expr()
        if semi:
            self.expect(";")
        self.declare(n.text, False)
        return VarDecl(ty, n.text, init, annos, loc=n.loc)

    def switch_stmt(self) -> SwitchStmt:
        toks = self.toks
        t = self.expect("switch")
        self.expect("(")
        e = self.expr()
        self.expect(")")
        self.expect("{")
        cases: list[SwitchCase] = []
        while toks[self.i].kind != "}":
            lt = toks[self.i]
            if lt.kind == "default":
                self.i += 1
                label: Expr = Default(loc=lt.loc)
            elif lt.kind == "{" or lt.kind == "EOF":
                raise self.fail(lt, "a switch label")
            else:
                label = self.expr()
            self.expect(":")
            body = None
            k = toks[self.i].kind
            if k == "{" or k == "@":
                body = self.block(self.annotations())
            cases.append(SwitchCase(label, body, loc=lt.loc))
        self.i += 1
        return SwitchStmt(e, cases, loc=t.loc)

    def for_stmt(self, annos: list[Annotation]) -> Stmt:
        toks = self.toks
        f = self.expect("for")
        self.expect("(")
        self.push()
        try:
            # for (T x in c) / for (x in c)
            t = toks[self.i]
            if t.kind in _NAME_KINDS and toks[self.i + 1].kind == "in":
                raise CompileError(
                    toks[self.i + 1].loc,
                    f'syntax error, unexpected keyword "in": the loop variable needs a type '
                    f"(for (T {t.text} in ...))",
                )
            if t.kind == "@" or self.type_start(self.i):
                start = self.i
                try:
                    self.annotations()
                    ty = self.parse_type()
                    n = self.name()
                    is_in = toks[self.i].kind == "in"
                except CompileError:
                    is_in = False
                if is_in:
                    self.i += 1
                    return self.for_in_rest(f, ty, n, annos)
                self.i = start
            init: list[Node] = []
            if toks[self.i].kind != ";":
                while True:
                    init.append(self.for_init())
                    if not self.accept(","):
                        break
            self.expect(";")
            cond = None if toks[self.i].kind == ";" else self.expr()
            self.expect(";")
            updates: list[Stmt] = []
            if toks[self.i].kind != ")":
                while True:
                    updates.append(self.simple_statement(semi=False))
                    if not self.accept(","):
                        break
            self.expect(")")
            body = self.statement()
            return ForStmt(init, cond, updates, body, annos, loc=f.loc)  # type: ignore[arg-type]
        finally:
            self.pop()

    def for_init(self) -> Node:
        toks = self.toks
        t = toks[self.i]
        if t.kind == "@" or (self.type_start(self.i) and toks[self.i + 1].kind != "."):
            annos = self.annotations()
            return self.local_decl(annos, semi=False)
        return self.simple_statement(semi=False)

    def for_in_rest(
        self, f: Token, ty: Type | None, n: Token, annos: list[Annotation]
    ) -> ForInStmt:
        coll = self.expr()
        if self.toks[self.i].kind == "..":
            self.i += 1
            coll = Range(coll, self.expr(), loc=coll.loc)
        self.expect(")")
        self.declare(n.text, False)
        body = self.statement()
        return ForInStmt(ty, n.text, coll, body, annos, loc=f.loc)  # type: ignore[arg-type]

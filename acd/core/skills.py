"""Skill expressions: a small recursive-descent parser and an evaluator. Never ``eval``.

Grammar (keywords are case-insensitive, skill names are lower-case)::

    expression := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | primary
    primary    := "(" expression ")" | "any" | SKILL [OP LEVEL]
    OP         := ">=" | ">" | "<=" | "<" | "==" | "=" | "!="
    LEVEL      := 0..5          (an advisor without the skill has level 0)

``french`` alone means ``french>=1``; ``any`` is true for every advisor of the queue.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from acd.core.errors import SkillExpressionError

MIN_LEVEL: Final = 1
MAX_LEVEL: Final = 5

SKILL_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_\-]*\Z")
_KEYWORDS: Final = frozenset({"and", "or", "not", "any"})
_OPS: Final = (">=", "<=", "==", "!=", ">", "<", "=")
# Satisfiability is checked by brute force over the skills an expression names; beyond this many
# skills the check is skipped (6**7 combinations is already ~280k evaluations).
_SAT_CHECK_MAX_SKILLS: Final = 6


@dataclass(frozen=True, slots=True)
class AnySkill:
    """True for every advisor."""

    def evaluate(self, skills: Mapping[str, int]) -> bool:
        return True

    def __str__(self) -> str:
        return "any"


@dataclass(frozen=True, slots=True)
class Compare:
    """``skill OP level``, with a missing skill counting as level 0."""

    skill: str
    op: str
    level: int

    def evaluate(self, skills: Mapping[str, int]) -> bool:
        have = skills.get(self.skill, 0)
        op = self.op
        if op == ">=":
            return have >= self.level
        if op == ">":
            return have > self.level
        if op == "<=":
            return have <= self.level
        if op == "<":
            return have < self.level
        if op == "==":
            return have == self.level
        return have != self.level

    def __str__(self) -> str:
        return f"{self.skill}{self.op}{self.level}"


@dataclass(frozen=True, slots=True)
class Not:
    """Negation."""

    operand: SkillExpr

    def evaluate(self, skills: Mapping[str, int]) -> bool:
        return not self.operand.evaluate(skills)

    def __str__(self) -> str:
        return f"not {_wrap(self.operand)}"


@dataclass(frozen=True, slots=True)
class And:
    """Conjunction of two or more operands."""

    operands: tuple[SkillExpr, ...]

    def evaluate(self, skills: Mapping[str, int]) -> bool:
        return all(o.evaluate(skills) for o in self.operands)

    def __str__(self) -> str:
        return " and ".join(_wrap(o) for o in self.operands)


@dataclass(frozen=True, slots=True)
class Or:
    """Disjunction of two or more operands."""

    operands: tuple[SkillExpr, ...]

    def evaluate(self, skills: Mapping[str, int]) -> bool:
        return any(o.evaluate(skills) for o in self.operands)

    def __str__(self) -> str:
        return " or ".join(_wrap(o) for o in self.operands)


SkillExpr = AnySkill | Compare | Not | And | Or


def _wrap(expr: SkillExpr) -> str:
    return f"({expr})" if isinstance(expr, And | Or) else str(expr)


def skills_named(expr: SkillExpr) -> tuple[str, ...]:
    """The skills an expression mentions, sorted, without duplicates."""
    found: set[str] = set()
    stack: list[SkillExpr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Compare):
            found.add(node.skill)
        elif isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, And | Or):
            stack.extend(node.operands)
    return tuple(sorted(found))


def is_satisfiable(expr: SkillExpr) -> bool:
    """Whether some advisor (levels 0–5 on each named skill) could satisfy ``expr``.

    Expressions naming more than a handful of skills are assumed satisfiable.
    """
    names = skills_named(expr)
    if len(names) > _SAT_CHECK_MAX_SKILLS:
        return True
    levels = range(0, MAX_LEVEL + 1)
    for combo in itertools.product(levels, repeat=len(names)):
        if expr.evaluate(dict(zip(names, combo, strict=True))):
            return True
    return False


_TOKEN_RE: Final = re.compile(
    r"\s*(?:(?P<num>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)|(?P<op>>=|<=|==|!=|>|<|=)"
    r"|(?P<paren>[()]))"
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # num | name | op | paren | end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    n = len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.lastgroup is None:
            raise SkillExpressionError(text, pos, f"unexpected character {text[pos]!r}")
        start = m.start(m.lastgroup)
        tokens.append(_Token(m.lastgroup, m.group(m.lastgroup), start))
        pos = m.end()
    tokens.append(_Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, tok: _Token, message: str) -> SkillExpressionError:
        return SkillExpressionError(self.text, tok.pos, message)

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.kind == "name" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> SkillExpr:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "empty skill expression")
        expr = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(tok, f"expected 'and', 'or' or end of expression, got {tok.text!r}")
        return expr

    def or_expr(self) -> SkillExpr:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> SkillExpr:
        items = [self.not_expr()]
        while self.keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> SkillExpr:
        if self.keyword("not"):
            return Not(self.not_expr())
        return self.primary()

    def primary(self) -> SkillExpr:
        tok = self.take()
        if tok.kind == "paren" and tok.text == "(":
            inner = self.or_expr()
            close = self.take()
            if close.kind != "paren" or close.text != ")":
                raise self.fail(close, "expected ')'")
            return inner
        if tok.kind == "name":
            low = tok.text.lower()
            if low == "any":
                return AnySkill()
            if low in _KEYWORDS:
                raise self.fail(tok, f"expected a skill name, got keyword {tok.text!r}")
            if SKILL_NAME_RE.match(tok.text) is None:
                raise self.fail(
                    tok, f"skill names are lower-case letters, digits, '_' or '-': {tok.text!r}"
                )
            if self.peek().kind != "op":
                return Compare(tok.text, ">=", MIN_LEVEL)
            op_tok = self.take()
            level_tok = self.take()
            if level_tok.kind != "num":
                raise self.fail(level_tok, f"expected a level after {op_tok.text!r}")
            level = int(level_tok.text)
            if not 0 <= level <= MAX_LEVEL:
                raise self.fail(level_tok, f"skill level must be 0..{MAX_LEVEL}, got {level}")
            op = "==" if op_tok.text == "=" else op_tok.text
            return Compare(tok.text, op, level)
        if tok.kind == "end":
            raise self.fail(tok, "unexpected end of expression")
        raise self.fail(tok, f"unexpected {tok.text!r}")


def parse_skill_expression(text: str) -> SkillExpr:
    """Parse ``text``; raise ``SkillExpressionError`` with the position of the first problem."""
    return _Parser(text).parse()

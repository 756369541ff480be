"""Skill expressions: parsing, evaluation, precise syntax errors, no eval."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd.core.errors import SkillExpressionError
from acd.core.skills import (
    And,
    AnySkill,
    Compare,
    Not,
    Or,
    is_satisfiable,
    parse_skill_expression,
    skills_named,
)


def test_and_binds_tighter_than_or() -> None:
    """`a or b and c` parses as `a or (b and c)`."""
    expr = parse_skill_expression("a or b>=2 and c")
    assert expr == Or((Compare("a", ">=", 1), And((Compare("b", ">=", 2), Compare("c", ">=", 1)))))


def test_parentheses_and_not() -> None:
    """Parentheses group and `not` negates."""
    expr = parse_skill_expression("not (french>=4 or german = 2)")
    assert expr == Not(Or((Compare("french", ">=", 4), Compare("german", "==", 2))))


def test_any_is_true_for_everyone() -> None:
    """`any` matches an advisor with no skills at all."""
    assert parse_skill_expression("any") == AnySkill()
    assert parse_skill_expression("ANY").evaluate({})


@pytest.mark.parametrize(
    ("text", "skills", "expected"),
    [
        ("french>=4 and billing>=3", {"french": 4, "billing": 3}, True),
        ("french>=4 and billing>=3", {"french": 5, "billing": 2}, False),
        ("french>=2", {"french": 2}, True),
        ("french>2", {"french": 2}, False),
        ("french<3", {}, True),
        ("french<=1", {"french": 1}, True),
        ("french!=0", {}, False),
        ("french", {"french": 1}, True),
        ("french", {}, False),
        ("not french", {}, True),
        ("a or b", {"b": 5}, True),
    ],
)
def test_evaluation(text: str, skills: dict[str, int], expected: bool) -> None:
    """A missing skill counts as level 0; comparisons work as written."""
    assert parse_skill_expression(text).evaluate(skills) is expected


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "empty skill expression"),
        ("french>=", 8, "expected a level"),
        ("french>=4 and", 13, "unexpected end"),
        ("french>=9", 8, "skill level must be 0..5"),
        ("(french>=4", 10, "expected ')'"),
        ("french>=4)", 9, "expected 'and', 'or' or end"),
        ("French>=4", 0, "lower-case"),
        ("french>=4 @ x", 10, "unexpected character '@'"),
        ("and french", 0, "keyword"),
        ("french>=4 billing", 10, "expected 'and', 'or' or end"),
        ("__import__('os')", 11, "unexpected character"),
    ],
)
def test_syntax_errors_report_their_position(text: str, position: int, message: str) -> None:
    """A malformed expression raises SkillExpressionError pointing at the offending column."""
    with pytest.raises(SkillExpressionError) as info:
        parse_skill_expression(text)
    assert info.value.position == position
    assert message in info.value.message
    assert "^" in str(info.value)


def test_skills_named_and_satisfiable() -> None:
    """The named skills are listed; a contradiction is detected as unsatisfiable."""
    expr = parse_skill_expression("b>=2 and (a or c<3)")
    assert skills_named(expr) == ("a", "b", "c")
    assert is_satisfiable(expr)
    assert not is_satisfiable(parse_skill_expression("a>=4 and a<2"))
    assert not is_satisfiable(parse_skill_expression("not any"))


def test_str_round_trips() -> None:
    """Printing an expression gives text that parses back to the same tree."""
    expr = parse_skill_expression("not (a>=2 or b) and c=3")
    assert parse_skill_expression(str(expr)) == expr


_names = st.sampled_from(["french", "billing", "german", "tech"])
_atoms = st.builds(
    lambda n, op, lvl: f"{n}{op}{lvl}",
    _names,
    st.sampled_from([">=", ">", "<=", "<", "==", "!="]),
    st.integers(0, 5),
)
_exprs = st.recursive(
    _atoms | st.just("any"),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a} and {b})", inner, inner),
        st.builds(lambda a, b: f"({a} or {b})", inner, inner),
        st.builds(lambda a: f"not {a}", inner),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(_exprs, st.dictionaries(_names, st.integers(1, 5)))
def test_printed_expressions_evaluate_the_same(text: str, skills: dict[str, int]) -> None:
    """Any generated expression, printed and re-parsed, evaluates identically."""
    expr = parse_skill_expression(text)
    again = parse_skill_expression(str(expr))
    assert again.evaluate(skills) == expr.evaluate(skills)

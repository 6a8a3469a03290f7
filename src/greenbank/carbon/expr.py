"""A safe arithmetic evaluator for methodology formulas.

Methodologies are data that staff publish, so their formulas must never reach ``eval``. A formula
is parsed with ``ast`` in "eval" mode and walked against an allow-list: numbers, declared names,
``+ - * /``, unary signs, parentheses and ``min``/``max``. Everything else (attributes, other
calls, subscripts, strings, powers, lambdas, comparisons) is refused with ``formula_invalid``.
Evaluation is in ``Decimal`` so that factors like 46.7 stay exact.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from greenbank.errors import ValidationFailed

MAX_SOURCE_CHARS = 500
MAX_NODES = 120
MAX_LITERAL_EXPONENT = 15  # literals beyond 1e15 are typos, not emission factors

_CONTEXT = Context(
    prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
_FUNCTIONS: dict[str, Callable[..., Decimal]] = {"min": min, "max": max}
_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
_APPLY: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}
_SHOWN = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_UNARY_PRECEDENCE = 3
_ATOM_PRECEDENCE = 4


class FormulaInvalid(ValidationFailed):
    code = "formula_invalid"
    title = "The formula is not a valid methodology formula"


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 583.750 -> '583.75', 1E+2 -> '100'."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


@dataclass(frozen=True)
class _Num:
    value: Decimal


@dataclass(frozen=True)
class _Var:
    name: str


@dataclass(frozen=True)
class _Neg:
    operand: _Node


@dataclass(frozen=True)
class _Bin:
    op: str
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Call:
    function: str
    args: tuple[_Node, ...]


_Node = _Num | _Var | _Neg | _Bin | _Call


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula; ``names`` are the inputs and parameters it reads."""

    source: str
    names: frozenset[str]
    _tree: _Node = field(repr=False, compare=False)

    def evaluate(self, env: Mapping[str, Decimal]) -> Decimal:
        missing = self.names - env.keys()
        if missing:
            raise FormulaInvalid(f"no value for {', '.join(sorted(missing))}")
        try:
            with localcontext(_CONTEXT):
                return _evaluate(self._tree, env)
        except (InvalidOperation, DivisionByZero, Overflow) as exc:
            raise FormulaInvalid(f"{self.source!r} cannot be evaluated: {exc!r}") from exc

    def explain(self, env: Mapping[str, Decimal], units: Mapping[str, str]) -> str:
        """The formula with every name replaced by its value and unit: '12.5 km × 46.7 g/pkm'."""
        return _render(self._tree, env, units)


def parse_formula(source: str, allowed_names: Iterable[str]) -> Formula:
    """Parse and check ``source``; every name must be one of ``allowed_names``."""
    if not isinstance(source, str) or not source.strip():
        raise FormulaInvalid("the formula is empty")
    if len(source) > MAX_SOURCE_CHARS:
        raise FormulaInvalid(f"the formula is longer than {MAX_SOURCE_CHARS} characters")
    text = source.strip()
    try:
        with warnings.catch_warnings():  # staff input: a refusal says why, no stderr noise
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(text, mode="eval")
        if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
            raise FormulaInvalid(f"the formula has more than {MAX_NODES} parts")
        names: set[str] = set()
        compiled = _compile(tree.body, text, frozenset(allowed_names), names)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise FormulaInvalid(f"{text!r} is not an arithmetic expression") from exc
    return Formula(source=text, names=frozenset(names), _tree=compiled)


def _compile(node: ast.expr, source: str, allowed: frozenset[str], names: set[str]) -> _Node:
    """Translate the allowed subset of Python's AST into our own small tree; refuse the rest."""
    if isinstance(node, ast.Constant):
        return _Num(_literal(node, source))
    if isinstance(node, ast.Name):
        if node.id not in allowed:
            raise FormulaInvalid(f"{node.id!r} is not a declared input or parameter")
        names.add(node.id)
        return _Var(node.id)
    if isinstance(node, ast.BinOp):
        op = _OPERATORS.get(type(node.op))
        if op is None:
            raise FormulaInvalid(f"operator {type(node.op).__name__} is not allowed")
        left = _compile(node.left, source, allowed, names)
        return _Bin(op, left, _compile(node.right, source, allowed, names))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _compile(node.operand, source, allowed, names)
        return _Neg(operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS):
            raise FormulaInvalid("only min() and max() may be called")
        if (
            node.keywords
            or len(node.args) < 2
            or any(isinstance(a, ast.Starred) for a in node.args)
        ):
            raise FormulaInvalid(f"{node.func.id}() takes two or more plain arguments")
        args = tuple(_compile(arg, source, allowed, names) for arg in node.args)
        return _Call(node.func.id, args)
    if isinstance(node, ast.UnaryOp):
        raise FormulaInvalid(f"operator {type(node.op).__name__} is not allowed")
    raise FormulaInvalid(f"{type(node).__name__} is not allowed in a formula")


def _literal(node: ast.Constant, source: str) -> Decimal:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormulaInvalid(f"{value!r} is not a number")
    # read the literal as written so that 46.7 is exactly 46.7, not the nearest binary float
    text = ast.get_source_segment(source, node) or repr(value)
    try:
        number = Decimal(text.replace("_", "")) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:
        raise FormulaInvalid(f"{text!r} is not a number") from exc
    if not number.is_finite() or (number and number.adjusted() > MAX_LITERAL_EXPONENT):
        raise FormulaInvalid(f"the number {text} is out of range")
    return number


def _evaluate(node: _Node, env: Mapping[str, Decimal]) -> Decimal:
    if isinstance(node, _Num):
        return node.value
    if isinstance(node, _Var):
        return env[node.name]
    if isinstance(node, _Neg):
        return -_evaluate(node.operand, env)
    if isinstance(node, _Bin):
        return _APPLY[node.op](_evaluate(node.left, env), _evaluate(node.right, env))
    return _FUNCTIONS[node.function](*(_evaluate(arg, env) for arg in node.args))


def _precedence(node: _Node) -> int:
    if isinstance(node, _Bin):
        return _PRECEDENCE[node.op]
    return _UNARY_PRECEDENCE if isinstance(node, _Neg) else _ATOM_PRECEDENCE


def _render(node: _Node, env: Mapping[str, Decimal], units: Mapping[str, str]) -> str:
    if isinstance(node, _Num):
        return plain(node.value)
    if isinstance(node, _Var):
        unit = units.get(node.name, "")
        value = plain(env[node.name])
        return f"{value} {unit}" if unit and unit != "1" else value
    if isinstance(node, _Neg):
        operand = _render(node.operand, env, units)
        return f"−({operand})" if _precedence(node.operand) < _UNARY_PRECEDENCE else f"−{operand}"
    if isinstance(node, _Bin):
        prec = _PRECEDENCE[node.op]
        left = _render(node.left, env, units)
        if _precedence(node.left) < prec:
            left = f"({left})"
        right = _render(node.right, env, units)
        right_prec = _precedence(node.right)
        if right_prec < prec or (right_prec == prec and node.op in "-/"):
            right = f"({right})"
        return f"{left} {_SHOWN[node.op]} {right}"
    return f"{node.function}({', '.join(_render(arg, env, units) for arg in node.args)})"

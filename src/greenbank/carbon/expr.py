"""A safe arithmetic evaluator for methodology formulas.

Methodologies are data that staff publish, so their formulas must never reach ``eval``. A formula
is parsed with ``ast`` in "eval" mode and walked against an allow-list: numbers, declared names,
``+ - * /``, unary signs, parentheses and ``min``/``max``. Everything else (attributes, other
calls, subscripts, strings, powers, lambdas, comparisons) is refused with ``formula_invalid``.
Evaluation is in ``Decimal`` so that factors like 46.7 stay exact.

The checked tree is compiled once, at parse time, into nested Python closures for evaluation and
for the written-out arithmetic; an event then costs a few function calls, with no tree walk and
no ``eval``/``compile`` of the text.
"""

from __future__ import annotations

import ast
import functools
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
# The context's own methods apply its precision, rounding and traps to each step, without
# switching the thread's current context for every evaluation.
_APPLY: dict[str, Callable[[Decimal, Decimal], Decimal]] = {
    "+": _CONTEXT.add,
    "-": _CONTEXT.subtract,
    "*": _CONTEXT.multiply,
    "/": _CONTEXT.divide,
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
    return _plain(value)


@functools.lru_cache(maxsize=8192, typed=True)
def _plain(value: Decimal) -> str:
    # Cached: parameters and common inputs repeat on every event. Equal Decimals (1.0 and 1)
    # share a cache entry, which is right because they print the same.
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


Evaluator = Callable[[Mapping[str, Decimal]], Decimal]
Renderer = Callable[[Mapping[str, Decimal], Mapping[str, str]], str]


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula; ``names`` are the inputs and parameters it reads."""

    source: str
    names: frozenset[str]
    _evaluate: Evaluator = field(repr=False, compare=False)
    _render: Renderer = field(repr=False, compare=False)

    def evaluate(self, env: Mapping[str, Decimal]) -> Decimal:
        if not self.names <= env.keys():
            missing = self.names - env.keys()
            raise FormulaInvalid(f"no value for {', '.join(sorted(missing))}")
        try:
            return self._evaluate(env)
        except (InvalidOperation, DivisionByZero, Overflow) as exc:
            raise FormulaInvalid(f"{self.source!r} cannot be evaluated: {exc!r}") from exc

    def explain(self, env: Mapping[str, Decimal], units: Mapping[str, str]) -> str:
        """The formula with every name replaced by its value and unit: '12.5 km × 46.7 g/pkm'."""
        return self._render(env, units)


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
        checked = _compile(tree.body, text, frozenset(allowed_names), names)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise FormulaInvalid(f"{text!r} is not an arithmetic expression") from exc
    return Formula(text, frozenset(names), _evaluator(checked), _renderer(checked))


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


def _evaluator(node: _Node) -> Evaluator:
    """A closure computing ``node`` with ``_CONTEXT``'s arithmetic."""
    if isinstance(node, _Num):
        value = node.value
        return lambda env: value
    if isinstance(node, _Var):
        name = node.name
        return lambda env: env[name]
    if isinstance(node, _Neg):
        operand = _evaluator(node.operand)
        return lambda env: _CONTEXT.minus(operand(env))
    if isinstance(node, _Bin):
        apply, left, right = _APPLY[node.op], _evaluator(node.left), _evaluator(node.right)
        return lambda env: apply(left(env), right(env))
    function, args = _FUNCTIONS[node.function], tuple(_evaluator(arg) for arg in node.args)
    return lambda env: function(*[arg(env) for arg in args])


def _precedence(node: _Node) -> int:
    if isinstance(node, _Bin):
        return _PRECEDENCE[node.op]
    return _UNARY_PRECEDENCE if isinstance(node, _Neg) else _ATOM_PRECEDENCE


def _renderer(node: _Node) -> Renderer:
    """A closure writing ``node`` out with values and units; the parentheses a reader needs are
    decided here, once."""
    if isinstance(node, _Num):
        text = plain(node.value)
        return lambda env, units: text
    if isinstance(node, _Var):
        return functools.partial(_render_name, node.name)
    if isinstance(node, _Neg):
        operand = _renderer(node.operand)
        if _precedence(node.operand) < _UNARY_PRECEDENCE:
            return lambda env, units: f"−({operand(env, units)})"
        return lambda env, units: f"−{operand(env, units)}"
    if isinstance(node, _Bin):
        prec = _PRECEDENCE[node.op]
        right_prec = _precedence(node.right)
        left = _parenthesised(_renderer(node.left), _precedence(node.left) < prec)
        right = _parenthesised(
            _renderer(node.right), right_prec < prec or (right_prec == prec and node.op in "-/")
        )
        shown = f" {_SHOWN[node.op]} "
        return lambda env, units: left(env, units) + shown + right(env, units)
    function, args = node.function, tuple(_renderer(arg) for arg in node.args)
    return lambda env, units: f"{function}({', '.join(arg(env, units) for arg in args)})"


def _render_name(name: str, env: Mapping[str, Decimal], units: Mapping[str, str]) -> str:
    unit = units.get(name, "")
    value = plain(env[name])
    return f"{value} {unit}" if unit and unit != "1" else value


def _parenthesised(render: Renderer, wrap: bool) -> Renderer:
    return (lambda env, units: f"({render(env, units)})") if wrap else render

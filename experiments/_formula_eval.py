"""A whitelisting `ast` interpreter that turns formula text into a torch function.

Formulas are never passed to `eval` or `sympify`: only numbers, declared
variables, `pi`, `e`, the operators + - * / ** and a fixed set of
one-argument functions are accepted.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import torch

Evaluator = Callable[[Mapping[str, "torch.Tensor"]], "torch.Tensor"]

FUNCTIONS: dict[str, str] = {
    "sqrt": "sqrt",
    "exp": "exp",
    "log": "log",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "asin": "asin",
    "arccos": "acos",
    "acos": "acos",
    "arctan": "atan",
    "atan": "atan",
    "tanh": "tanh",
    "sinh": "sinh",
    "cosh": "cosh",
    "abs": "abs",
}
"""Formula function name -> `torch` function name."""
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
"""Named constants a formula may use."""
MAX_LENGTH = 10_000
"""Longest formula accepted, in characters."""
MAX_DEPTH = 200
"""Deepest expression tree accepted (guards the recursion)."""

_BINOPS = {
    ast.Add: "add",
    ast.Sub: "sub",
    ast.Mult: "mul",
    ast.Div: "div",
    ast.Pow: "pow",
}


class FormulaError(ValueError):
    """A formula uses syntax or names outside the whitelist."""


def compile_formula(text: str, variables: Iterable[str]) -> Evaluator:
    """Compile formula text into a function of torch tensors.

    Args:
        text: The formula, e.g. `"m*r*v*sin(theta)"`.
        variables: Names the formula may use besides `pi` and `e`.

    Returns:
        A function that maps `{name: tensor}` to the formula's value as a
        tensor broadcast to the inputs' shape (float64, on their device).

    Raises:
        FormulaError: Naming the offending construct.
    """
    names = frozenset(variables)
    if not isinstance(text, str) or not text.strip():
        msg = f"A formula must be a non-empty string, got {text!r}."
        raise FormulaError(msg)
    if len(text) > MAX_LENGTH:
        msg = f"Formula is {len(text)} characters long; at most {MAX_LENGTH} are accepted."
        raise FormulaError(msg)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        msg = f"Formula `{text}` is not valid syntax: {exc.msg}."
        raise FormulaError(msg) from None
    program = _compile(tree.body, names, text, 0)

    def evaluate(inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        import torch  # noqa: PLC0415 - loaded only when used (heavy or optional)

        missing = sorted(names - set(inputs))
        if missing:
            msg = f"Formula `{text}` needs values for {missing}."
            raise FormulaError(msg)
        tensors = [t for t in inputs.values() if isinstance(t, torch.Tensor)]
        like = tensors[0] if tensors else torch.zeros((), dtype=torch.float64)
        value: torch.Tensor = program(_Env(inputs, torch, like))
        # A formula without variables (or `0*x + 3`) still gives one value per point.
        if value.shape != like.shape:
            value = (value + torch.zeros_like(like)).contiguous()
        return value

    return evaluate


class _Env(NamedTuple):
    """What a compiled node needs: the inputs, the torch module, a tensor for device."""

    inputs: Mapping[str, Any]
    torch: Any
    like: Any


_Node = Callable[[_Env], Any]


def _compile(node: ast.expr, names: frozenset[str], text: str, depth: int) -> _Node:
    """Compile one whitelisted node into a closure `env -> tensor`."""
    if depth > MAX_DEPTH:
        msg = f"Formula `{text[:80]}` is nested deeper than {MAX_DEPTH} levels."
        raise FormulaError(msg)
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            msg = f"Formula `{text}` contains the literal {node.value!r}; only real numbers are allowed."
            raise FormulaError(msg)
        return _constant(float(node.value))  # type: ignore[arg-type]
    if isinstance(node, ast.Name):
        if node.id in names:
            name = node.id
            return lambda env: env.inputs[name]
        if node.id in CONSTANTS:
            return _constant(CONSTANTS[node.id])
        msg = f"Formula `{text}` uses the unknown name `{node.id}`; declared variables are {sorted(names)}."
        raise FormulaError(msg)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = _compile(node.left, names, text, depth + 1)
        right = _compile(node.right, names, text, depth + 1)
        op = _BINOPS[type(node.op)]
        return lambda env: getattr(env.torch, op)(left(env), right(env))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _compile(node.operand, names, text, depth + 1)
        if isinstance(node.op, ast.UAdd):
            return operand
        return lambda env: -operand(env)
    if isinstance(node, ast.Call):
        return _compile_call(node, names, text, depth)
    msg = (
        f"Formula `{text}` contains `{ast.unparse(node)}` ({type(node).__name__}), which is not allowed; "
        "use numbers, declared variables, pi, e, + - * / ** and the functions "
        f"{sorted(FUNCTIONS)}."
    )
    raise FormulaError(msg)


def _compile_call(
    node: ast.Call, names: frozenset[str], text: str, depth: int
) -> _Node:
    """Compile a call of a whitelisted one-argument function."""
    if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
        msg = f"Formula `{text}` calls `{ast.unparse(node.func)}`; allowed functions are {sorted(FUNCTIONS)}."
        raise FormulaError(msg)
    if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        msg = f"Formula `{text}`: `{node.func.id}` takes exactly one positional argument, got `{ast.unparse(node)}`."
        raise FormulaError(msg)
    argument = _compile(node.args[0], names, text, depth + 1)
    function = FUNCTIONS[node.func.id]
    return lambda env: getattr(env.torch, function)(argument(env))


def _constant(value: float) -> _Node:
    """A node returning `value` as a float64 tensor on the inputs' device."""
    return lambda env: env.torch.tensor(
        value, dtype=env.torch.float64, device=env.like.device
    )

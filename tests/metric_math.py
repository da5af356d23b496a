"""CloudWatch metric math, the subset the alarms use, over one datapoint per metric: numbers,
metric ids, + - * /, comparisons (1 or 0), ``IF(condition, then, else)`` and
``FILL(metric, value)`` (CloudWatch User Guide, "Using metric math": IF returns its second
argument where the condition is non-zero, its third elsewhere; FILL fills a missing value; a
comparison yields 1 or 0; an arithmetic on a missing value is missing). ``None`` is a missing
datapoint."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

Value = float | None
ARITHMETIC: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
COMPARISON: dict[type, Callable[[float, float], bool]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def evaluate(expression: str, metrics: Mapping[str, Value]) -> Value:
    return _value(ast.parse(expression, mode="eval").body, metrics)


def _value(node: ast.expr, metrics: Mapping[str, Value]) -> Value:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return metrics[node.id]  # an unknown id is a KeyError: the alarm names no such query
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left, metrics), _value(node.right, metrics)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        return ARITHMETIC[type(node.op)](left, right)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = _value(node.left, metrics), _value(node.comparators[0], metrics)
        if left is None or right is None:
            return None
        return 1.0 if COMPARISON[type(node.ops[0])](left, right) else 0.0
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = node.args
        if node.func.id == "IF" and len(args) == 3:
            condition = _value(args[0], metrics)
            if condition is None:
                return None
            return _value(args[1] if condition else args[2], metrics)
        if node.func.id == "FILL" and len(args) == 2:
            filled = _value(args[0], metrics)
            return _value(args[1], metrics) if filled is None else filled
    raise ValueError(f"not in the subset: {ast.unparse(node)}")

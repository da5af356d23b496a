"""A small evaluator of GitHub Actions expressions, enough for the workflows' ``if:`` keys.

It follows "Evaluate expressions in workflows and actions" (docs.github.com, actions/reference/
workflows-and-actions/expressions): string literals in single quotes (``''`` escapes one),
``true``, ``false``, ``null`` and numbers; operators by precedence ``( )``, ``.`` and ``[ ]``,
``!``, ``== !=``, ``&&``, ``||``; ``&&`` and ``||`` return an operand, not a boolean; falsy
values are ``false, 0, -0, '', null``; strings compare ignoring case; ``contains(search,
item)`` is a case-insensitive substring test on a string and membership in an array; ``.*``
is an object filter (``labels.*.name``: every label's name), and a name on an array is null.
A missing property is null.
Relational operators and the other functions are not used by the workflows and not read here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||[!().,\[\]*])|(?P<name>[A-Za-z_][\w-]*))"
)


class ExpressionError(ValueError):
    pass


def evaluate(expression: str, context: Mapping[str, Any]) -> Any:
    parser = _Parser(_tokens(expression), context)
    value = parser.disjunction()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()!r} in {expression!r}")
    return value


def truthy(value: Any) -> bool:
    return value not in (False, 0, "", None)


def _tokens(expression: str) -> list[tuple[str, str]]:
    found, position = [], 0
    text = expression.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:]!r}")
        kind = next(k for k, v in match.groupdict().items() if v is not None)
        found.append((kind, match[kind]))
        position = match.end()
    return found


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return bool(left == right)


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(_equal(element, item) for element in search)
    return str(item).casefold() in str(search if search is not None else "").casefold()


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], context: Mapping[str, Any]) -> None:
        self.tokens, self.context = tokens, context

    def peek(self) -> str | None:
        return self.tokens[0][1] if self.tokens else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if not self.tokens or (expected is not None and self.tokens[0][1] != expected):
            raise ExpressionError(f"expected {expected!r}, found {self.peek()!r}")
        return self.tokens.pop(0)

    def disjunction(self) -> Any:
        value = self.conjunction()
        while self.peek() == "||":
            self.take()
            right = self.conjunction()
            value = value if truthy(value) else right
        return value

    def conjunction(self) -> Any:
        value = self.equality()
        while self.peek() == "&&":
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.unary()
        while self.peek() in ("==", "!="):
            operator = self.take()[1]
            same = _equal(value, self.unary())
            value = same if operator == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "number":
            return float(text) if "." in text else int(text)
        if text == "(":
            value = self.disjunction()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self.peek() == "(":
            return self.call(text)
        return self.context.get(text)

    def call(self, function: str) -> Any:
        self.take("(")
        arguments = [self.disjunction()]
        while self.peek() == ",":
            self.take()
            arguments.append(self.disjunction())
        self.take(")")
        if function == "contains" and len(arguments) == 2:
            return _contains(*arguments)
        raise ExpressionError(f"{function}() is not read by this evaluator")

    def postfix(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == "[":
                index = self.disjunction()
                self.take("]")
                value = _property(value, index)
            elif self.peek() == "*":
                self.take()
                value = list(value.values()) if isinstance(value, Mapping) else list(value or [])
                self.take(".")
                name = self.take()[1]
                value = [_property(element, name) for element in value]
            else:
                value = _property(value, self.take()[1])
        return value


def _property(value: Any, name: Any) -> Any:
    # an array takes an index only; a name on it is null (actions/languageservices
    # expressions/src/funcs/index.ts, handleArray): `labels.name` is null, `labels.*.name` not
    if isinstance(value, list):
        if isinstance(name, int) and 0 <= name < len(value):
            return value[name]
        return None
    if isinstance(value, Mapping):
        wanted = str(name).casefold()
        return next((v for k, v in value.items() if str(k).casefold() == wanted), None)
    return None

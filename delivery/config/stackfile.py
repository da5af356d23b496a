"""Reads a ``Pulumi.<stack>.yaml`` into the configuration model, for code that runs outside
the Pulumi engine (check, rehearsal, benchmark, offline preview, CI driver). The program reads
the same keys through ``pulumi.Config`` in ``infra/config.py``; both end in
``delivery.config.settings.load_settings``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from delivery.config.keys import DECLARED, qualified, secret_command
from delivery.config.model import PROJECT, Settings
from delivery.config.settings import SECRET_VALUES_KEY, load_settings
from delivery.errors import ConfigError, Exit, Problem, SwitchyardError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StackNotFound(SwitchyardError):
    """No Pulumi.<stack>.yaml for the stack named."""

    exit_code = Exit.BAD_INPUT


class StackFileError(SwitchyardError):
    """The stack file cannot be read as Pulumi would read it."""

    exit_code = Exit.BAD_INPUT


MAX_DEPTH: Final = 100  # levels of nesting in a stack file; config values use a few


class _StrictLoader(yaml.SafeLoader):
    """Reads a stack file as the Pulumi CLI does (YAML 1.2's core schema: ``no``, ``on``,
    ``2024-01-01`` and ``1:30`` are text, ``010`` is ten, ``0o10`` and ``0x10`` are numbers;
    ``<<`` is no merge key)."""

    yaml_implicit_resolvers = {}  # noqa: RUF012  # replaced below by YAML 1.2's

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def construct_core_int(self, node: yaml.ScalarNode) -> int | str:
        text = str(self.construct_scalar(node)).replace("_", "")
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        try:
            if digits[:2] in ("0o", "0x"):
                return sign * int(digits[2:], 8 if digits[1] == "o" else 16)
            return sign * int(digits)
        except ValueError:  # more digits than Python converts: the reader reports the text
            return text

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        # The composer and constructor recurse per level: stop before Python's stack does.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nests more than {MAX_DEPTH} levels deep",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution), as yaml.v3 reads it.
for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "float",
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
        "-+.0123456789",
    ),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
):
    _StrictLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(rf"^(?:{_pattern})$"), list(_first)
    )
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_core_int)


_TEXT: Final = "tag:yaml.org,2002:str"


def _key_problems(loader: _StrictLoader, document: yaml.Node) -> list[Problem]:
    """Keys YAML would read other than as written: set twice in one mapping (YAML keeps the
    last), a merge key ``<<``, or a key YAML reads as a boolean, number or null. Each is named
    by its path (``switchyard:secretValues.apiKey``) and line."""
    problems: list[Problem] = []
    visited: set[int] = set()  # an alias repeats a node: judge it once

    def name(path: str, key: str) -> str:
        if not path:
            return key
        if path == "config":  # a config key as Pulumi reads it: bare keys are the project's
            return key if ":" in key else f"{PROJECT}:{key}"
        return f"{path}.{key}"

    def walk(node: yaml.Node, path: str) -> None:
        if id(node) in visited:
            return
        visited.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{path}[{index}]")
        if not isinstance(node, yaml.MappingNode):
            return
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a list or mapping as key: the constructor refused it already
            written = str(key_node.value)
            key = loader.construct_object(key_node)
            where = name(path, written)
            as_written = f"{path}.{written}" if path not in ("", "config") else written
            if key_node.tag == _TEXT and written == "<<" and key_node.style is None:
                problems.append(Problem(as_written, _merge_key(line)))
                continue
            if not isinstance(key, str):
                problems.append(Problem(as_written, _typed_key(line, written, key)))
            elif key in seen:
                problems.append(
                    Problem(
                        where,
                        f"is set twice (lines {seen[key]} and {line}), and YAML would keep "
                        "only the last; delete one",
                    )
                )
            else:
                seen[key] = line
            walk(value_node, where)

    walk(document, "")
    return problems


def _merge_key(line: int) -> str:
    return (
        f"on line {line} is a YAML merge key; Switchyard reads stack files as YAML 1.2, which "
        "has no merge keys, so the settings it merges would not be read; write each setting "
        "out in place of the `<<:` line"
    )


def _typed_key(line: int, written: str, key: Any) -> str:
    what = (
        "null (no value)"
        if key is None
        else f"the {'boolean' if isinstance(key, bool) else 'number'} {written}"
    )
    return (
        f"on line {line} is read by YAML as {what}, not as a name; quote it ('{written}') if "
        "it is meant as a name, or remove it"
    )


def available_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )


def _where(exc: yaml.YAMLError) -> str:
    """Line, column and problem only: pyyaml's own text quotes the source, which may hold a
    secret pasted in plain text."""
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return ""
    mark = exc.problem_mark
    return f" at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"


def read_yaml(path: Path) -> Any:
    """A YAML document, read strictly: a syntax error is a StackFileError, a key set twice a
    ConfigError naming it.

    Pulumi keeps a config value that is a single scalar as the text written (``0x10``,
    ``600.0`` and ``no`` reach the program as those words), so those come back as text too;
    lists and objects are typed by YAML 1.2, as Pulumi types them.
    """
    try:
        loader = _StrictLoader(path.read_text(encoding="utf-8"))
        try:
            node = loader.get_single_node()
            document = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path.name} is not valid YAML{_where(exc)}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{path.name} cannot be read: {exc}") from None
    problems = _key_problems(loader, node) if node is not None else []
    if problems:
        raise ConfigError(problems, source=path.name)
    config = document.get("config") if isinstance(document, dict) else None
    if isinstance(node, yaml.MappingNode) and isinstance(config, dict):
        for key_node, value_node in node.value:
            if key_node.value == "config" and isinstance(value_node, yaml.MappingNode):
                config.update(
                    (loader.construct_object(k), v.value)
                    for k, v in value_node.value
                    if isinstance(v, yaml.ScalarNode) and v.tag != "tag:yaml.org,2002:null"
                )
    return document


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


def stack_config(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    path = root / stack_file_name(stack)
    if not path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise StackNotFound(f"no stack file {path.name} in {root}; known stacks: {known}")
    document = read_yaml(path)
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict) or not config:
        what = (
            "is empty"
            if not document
            else "has an empty `config:`"
            if isinstance(document, dict) and "config" in document and not config
            else "has no `config:` mapping of settings"
        )
        raise StackFileError(f"{path.name} {what}; {_how_to_start(stack, root)}")
    return config


def _how_to_start(stack: str, root: Path) -> str:
    """What a new stack file needs: the settings every stack must set, and where to start."""
    required = [k.name for k in DECLARED if not k.optional and not k.secret]
    others = [s for s in available_stacks(root) if s != stack]
    start = (
        f"copy a committed stack file ({stack_file_name(others[0])}) to {stack_file_name(stack)} "
        "and change what differs, or "
        if others
        else ""
    )
    return (
        f"{start}set each setting with `pulumi config set --stack {stack} <key> <value>`. "
        f"Every stack sets these {len(required)} settings under `config:` (bare names are "
        f"{PROJECT}:<name>): {', '.join(required)}; `python -m delivery check --stack {stack}` "
        "then names what is still missing or wrong"
    )


def load_stack(stack: str, root: Path = PROJECT_ROOT) -> Settings:
    return load_settings(stack_config(stack, root), stack)


@dataclass(frozen=True)
class SecretValues:
    """``secretValues`` as the stack file holds it: what is wrong, and what is still unset."""

    problems: tuple[Problem, ...]  # stored in plain text: in git, in clear
    missing: tuple[str, ...]  # needed entries the file does not hold yet
    opaque: bool = False  # the whole object is one encrypted value: its entries are unseen

    def warnings(self) -> list[str]:
        unseen = (
            [
                f"{SECRET_VALUES_KEY} is one encrypted value, so its entries cannot be verified "
                "here (the program stops unless it is an object of named texts); set each entry "
                f"with `{secret_command('<name>')}` instead"
            ]
            if self.opaque
            else []
        )
        return unseen + [
            f"{SECRET_VALUES_KEY}.{name} is still to be set: {secret_command(name)}"
            for name in self.missing
        ]


def judge_secret_values(config: Mapping[str, Any], settings: Settings) -> SecretValues:
    """Every entry the program needs must be in ``secretValues`` and encrypted (``secure:``).

    ``check``, the offline preview and the program judge the stack file with this; the program
    also checks the decrypted values Pulumi hands it. No value is ever put in a message.
    """
    value = qualified(config)[0].get(SECRET_VALUES_KEY)
    needed = settings.secret_value_keys
    if value is None:
        return SecretValues((), needed)
    if _encrypted(value):  # set with --secret and no --path: only the program can decrypt it
        return SecretValues((), (), opaque=True)
    if not isinstance(value, dict):
        reason = (
            "is stored in plain text, in git; delete it from the stack file and set each "
            f"value with `{secret_command('<name>')}`"
        )
        return SecretValues((Problem(SECRET_VALUES_KEY, reason),), ())
    problems = tuple(
        Problem(
            f"{SECRET_VALUES_KEY}.{name}",
            "is stored in plain text beside encrypted values, so it sits in git in clear; "
            f"delete it from the stack file, set it again with `{secret_command(str(name))}`, "
            "and rotate it",
        )
        for name, entry in value.items()
        if not _encrypted(entry)
    )
    return SecretValues(problems, tuple(n for n in needed if n not in value))


def _encrypted(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def stack_secret_values(stack: str, settings: Settings, root: Path = PROJECT_ROOT) -> SecretValues:
    """Judge the stack file's ``secretValues``; raise a ConfigError for plain-text values."""
    judged = judge_secret_values(stack_config(stack, root), settings)
    if judged.problems:
        raise ConfigError(judged.problems, source=f"stack {stack!r}")
    return judged

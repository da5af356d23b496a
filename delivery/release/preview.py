"""Preview diffs for pull requests: the Automation API's ``preview(diff=True)`` engine events, or
the offline difference of the program's graph at a base git ref and at the working tree,
rendered as one comment that fits GitHub's limit and never loses its warnings.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pulumi.automation.events import EngineEvent, OpType

from delivery.config.model import Colour, Settings
from delivery.config.settings import load_settings
from delivery.errors import Exit
from delivery.plans.alarms import worst_case_fault_to_rollback
from delivery.plans.schedule import expected_duration_seconds
from delivery.release.automation import policy_line
from delivery.release.keys import LIVE_COLOUR
from delivery.release.port import text_value
from delivery.release.replacement import judge

COMMENT_LIMIT: Final = 65_536  # GitHub refuses longer issue and pull-request comments
# The workflows post through marocchino/sticky-pull-request-comment, which appends its marker
# ("\n<!-- Sticky Pull Request Comment<header> -->") to the body: the body leaves it room.
STICKY_MARKER_ROOM: Final = 128
BODY_LIMIT: Final = COMMENT_LIMIT - STICKY_MARKER_ROOM
DESTRUCTIVE: Final = frozenset(
    {OpType.DELETE, OpType.REPLACE, OpType.CREATE_REPLACEMENT, OpType.DELETE_REPLACED}
)
SHOWN: Final = (
    OpType.CREATE,
    OpType.UPDATE,
    OpType.REPLACE,
    OpType.DELETE,
    OpType.CREATE_REPLACEMENT,
    OpType.DELETE_REPLACED,
    OpType.IMPORT,
    OpType.READ,
)
SYMBOL: Final = {
    OpType.CREATE: "+",
    OpType.UPDATE: "~",
    OpType.REPLACE: "+-",
    OpType.DELETE: "-",
    OpType.CREATE_REPLACEMENT: "++",
    OpType.DELETE_REPLACED: "--",
}


@dataclass(frozen=True)
class ValueChange:
    """One changed property: its path, and its value before and after, as shown."""

    path: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"`{self.path}`: `{self.old}` → `{self.new}`"


@dataclass(frozen=True)
class Change:
    op: OpType
    type: str
    name: str
    properties: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    protected: bool = False
    # Resources that hold this one's identity (its id or ARN in their inputs, or depends_on):
    # a replacement gives it a new one, a deletion takes it away. None: not known (the engine's
    # events do not say), which counts as held.
    dependents: int | None = None
    values: tuple[ValueChange, ...] = ()

    @property
    def stateful(self) -> bool:
        """Replacing or deleting it loses what a new one does not bring back: something else
        holds its identity (a VPC its subnets, a cluster its node groups, a topic its
        subscriptions, a gating alarm the cutover), or it is protected."""
        return self.protected or self.dependents is None or self.dependents > 0

    @property
    def warning(self) -> str | None:
        if self.op not in DESTRUCTIVE or not self.stateful:
            return None
        protect = " (protected)" if self.protected else ""
        held = f", held by {self.dependents} resource(s)" if self.dependents else ""
        because = f" because of {', '.join(self.replace_keys)}" if self.replace_keys else ""
        verb = "DELETES" if self.op in (OpType.DELETE, OpType.DELETE_REPLACED) else "REPLACES"
        return f"**{verb}** `{self.type}`{protect} `{self.name}`{because}{held}"

    def line(self) -> str:
        if self.values:
            props = ": " + "; ".join(map(str, self.values))
            rest = [p for p in self.properties if p not in {v.path for v in self.values}]
            props += "".join(f"; `{p}`" for p in rest)
        elif self.properties:
            props = f": {', '.join(f'`{p}`' for p in self.properties)}"
        else:
            props = ""
        return f"- `{self.op.value}` `{self.type}` **{self.name}**{props}"


@dataclass
class PreviewPlan:
    stack: str
    source: str  # "pulumi preview" or "offline, <base> → working tree"
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    live_change: tuple[Colour, Colour] | None = None
    settings: Settings | None = None  # the stack's settings after the change
    policy: list[str] = field(default_factory=list)  # the policy pack's violations
    diagnostics: list[str] = field(default_factory=list)  # the engine's warnings and errors
    # Offline only: resource types with no replacement rule, whose changes read as updates.
    unjudged: list[str] | None = None
    new_stack: bool = False  # offline: the base ref has no stack file; everything is created

    @property
    def counts(self) -> Counter[OpType]:
        counts = Counter(c.op for c in self.changes)
        if self.unchanged:
            counts[OpType.SAME] = self.unchanged
        return counts


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def plan_from_events(stack: str, events: Iterable[EngineEvent]) -> PreviewPlan:
    """A preview's changes from its engine events (``resourcePreEvent`` step metadata).

    A replacement comes as three steps, ``create-replacement``, ``replace`` and
    ``delete-replaced``; only ``replace`` is logical (pulumi/pulumi pkg/resource/deploy/step.go:
    ``Logical()`` is ``!replacing`` for the create and delete). The CLI's JSON omits
    ``logical`` when false (sdk/go/common/apitype/events.go: ``json:"logical,omitempty"``), so
    a step counts only when it says it is logical: each resource once.
    """
    plan = PreviewPlan(stack, "pulumi preview")
    for event in events:
        if event.policy_event is not None:
            plan.policy.append(policy_line(event.policy_event))
        diagnostic = event.diagnostic_event
        if diagnostic is not None and diagnostic.severity in ("warning", "error"):
            where = f" ({_name(diagnostic.urn)})" if diagnostic.urn else ""
            message = _COLOUR.sub("", diagnostic.message).strip()
            plan.diagnostics.append(f"{diagnostic.severity}{where}: {message}")
        pre = event.resource_pre_event
        if pre is None or pre.metadata is None:
            continue
        step = pre.metadata
        if step.type == "pulumi:pulumi:Stack" or step.logical is not True:
            continue
        if step.op is OpType.SAME:
            plan.unchanged += 1
            continue
        properties = tuple(sorted(step.detailed_diff or {})) or tuple(step.diffs or ())
        protected = bool((step.old and step.old.protect) or (step.new and step.new.protect))
        old = dict(step.old.inputs or {}) if step.old else {}
        new = dict(step.new.inputs or {}) if step.new else {}
        plan.changes.append(
            Change(
                step.op,
                step.type,
                _name(step.urn),
                properties,
                tuple(step.keys or ()) if step.op in DESTRUCTIVE else (),
                protected,
                values=value_changes(properties, old, new) if step.op is not OpType.DELETE else (),
            )
        )
    return plan


# pulumi/pulumi sdk/go/common/resource/sig: a secret's signature, and the unknown value's.
SECRET_SIG: Final = "4dabf18193072939515e22adb298388d"
SECRET_MARK: Final = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
VALUE_WIDTH: Final = 60
_COLOUR = re.compile(r"<\{%[^%]*%\}>")  # the engine's colour directives, as in its fixtures
_STEP = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["([^"]*)"\]')


def value_changes(
    properties: Iterable[str], old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[ValueChange, ...]:
    """Each changed property's value before and after (a detailed diff's path such as
    ``tags.Name`` or ``ingress[0].cidrBlocks``); secrets stay ``[secret]``."""
    shown = []
    for path in properties:
        before, after = _at_path(old, path), _at_path(new, path)
        if before != after:
            old_text, new_text = shown_value(before), shown_value(after)
            shown.append(ValueChange(path, *_around_difference(old_text, new_text)))
    return tuple(shown)


def _around_difference(old: str, new: str, width: int = VALUE_WIDTH) -> tuple[str, str]:
    """Both values cut to ``width``, from a little before where they first differ: two long
    values that share their start would otherwise read the same."""
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), None)
    if first is None:
        first = min(len(old), len(new))
    start = max(0, first - width // 4) if first > width - 8 else 0

    def cut(text: str) -> str:
        shown = ("…" if start else "") + text[start : start + width]
        return shown + ("…" if len(text) > start + width else "")

    return cut(old), cut(new)


def _at_path(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = inputs
    for name, index, quoted in _STEP.findall(path):
        if index:
            at = int(index)
            value = value[at] if isinstance(value, list) and at < len(value) else None
        elif isinstance(value, Mapping):
            value = value.get(quoted or name)
        else:
            return None
    return value


def shown_value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, Mapping) and value.get(SECRET_SIG) == SECRET_MARK:
        return "[secret]"
    if value == UNKNOWN:
        return "(known after apply)"
    text = json.dumps(_masked(value), sort_keys=True, ensure_ascii=False, default=str)
    return text.replace("`", "'")  # inside a Markdown code span


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        if value.get(SECRET_SIG) == SECRET_MARK:
            return "[secret]"
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if value == UNKNOWN:
        return "(known after apply)"
    return value


def planned_changes(stack: Any) -> list[Change]:
    """What ``pulumi up`` would do now: the stack's preview (``stack.preview(on_event)``)."""
    events: list[EngineEvent] = []
    stack.preview(events.append)
    return plan_from_events(str(stack.name), events).changes


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _cutover_section(plan: PreviewPlan) -> list[str]:
    if plan.live_change is None or plan.settings is None:
        return []
    source, target = plan.live_change
    policy = plan.settings.traffic
    worst = worst_case_fault_to_rollback(plan.settings)
    slowest = max(worst.items(), key=lambda item: item[1])
    return [
        f"### Cutover: {source} → {target}",
        "",
        "| step | weights | bake |",
        "| --- | --- | --- |",
        *(
            f"| {i} | {target} {w}% / {source} {100 - w}% | {_duration(policy.bake_seconds)} |"
            for i, w in enumerate(policy.steps, 1)
        ),
        "",
        f"`pulumi up` blocks for about **{_duration(expected_duration_seconds(policy))}** "
        f"(the sum of the bakes). Worst case from a fault to 100% back on {source}: "
        f"**{slowest[1]} s** ({slowest[0]} alarm); "
        + ", ".join(f"{kind} {seconds} s" for kind, seconds in worst.items())
        + ".",
        "",
    ]


def render(plan: PreviewPlan, limit: int = BODY_LIMIT) -> str:
    """The comment. The header, warnings, counts and cutover plan always stay; resource lines
    are dropped from the end, with a note saying how many, until the comment fits ``limit``."""
    counts = plan.counts
    summary = " ".join(f"{SYMBOL.get(op, op.value)}{counts[op]}" for op in SHOWN if counts[op])
    warnings = [w for c in plan.changes if (w := c.warning)]
    head = [
        f"## Pulumi preview: `{plan.stack}`",
        "",
        f"{summary or 'no changes'} ({plan.source})",
        "",
    ]
    if plan.new_stack:
        head += [f"The base ref has no `Pulumi.{plan.stack}.yaml`: a new stack, all created.", ""]
    if warnings:
        head += [
            "> [!CAUTION]",
            f"> {len(warnings)} resource(s) that others hold, or protected, would be replaced "
            "or deleted:",
            *(f"> - {w}" for w in warnings),
            "",
        ]
    if plan.policy:
        head += [
            "> [!WARNING]",
            f"> {len(plan.policy)} policy violation(s) (the `policy/` pack; mandatory ones "
            "block `pulumi up`):",
            *(f"> - {line}" for line in plan.policy),
            "",
        ]
    if plan.diagnostics:
        head += [
            f"{len(plan.diagnostics)} diagnostic(s) from the engine:",
            "",
            *(f"- {line}" for line in plan.diagnostics),
            "",
        ]
    head += _offline_note(plan)
    head += ["| operation | resources |", "| --- | --- |"]
    head += [f"| {op.value} | {n} |" for op, n in sorted(counts.items(), key=lambda i: i[0].value)]
    head += ["", *_cutover_section(plan)]
    body = [c.line() for c in plan.changes]
    text = "\n".join(head)
    if len(text) > limit:  # the warnings alone overflow: keep as many as fit
        return _cut(text, limit, "warnings")
    lines: list[str] = []
    opening, closing = [f"<details><summary>{len(body)} change(s)</summary>", ""], ["</details>"]
    budget = limit - len(text) - 400  # room for the wrapper and the omission note
    used = sum(len(x) + 1 for x in opening + closing)
    for line in body:
        if used + len(line) + 1 > budget:
            break
        lines.append(line)
        used += len(line) + 1
    omitted = len(body) - len(lines)
    note = (
        [
            "",
            f"*{omitted} more change(s) not shown: GitHub comments stop at {COMMENT_LIMIT:,} "
            "characters; the preview step of this job printed them all in its log.*",
        ]
        if omitted
        else []
    )
    if body:
        text += "\n" + "\n".join([*opening, *lines, *note, "", *closing]) + "\n"
    return text


def _offline_note(plan: PreviewPlan) -> list[str]:
    if plan.unjudged is None:
        return []
    unjudged = ", ".join(f"`{t}`" for t in plan.unjudged) or "none"
    return [
        "> [!NOTE]",
        "> Offline: the program under Pulumi's mocks, without the provider. Replacements are "
        "judged from the Terraform AWS provider's ForceNew inputs (which pulumi-aws follows) "
        "and pulumi-kubernetes' replace-on-change fields, and cascade to what takes a replaced "
        "resource's id. Not known offline: the live state (drift, changes made by hand), "
        "values the provider computes (ids, ARNs are mocks here), package upgrades (both "
        "trees ran with this checkout's packages), fields the Kubernetes API server calls "
        f"immutable, and whether a change of these types replaces: {unjudged}. The real "
        "preview is authoritative.",
        "",
    ]


def _cut(text: str, limit: int, what: str) -> str:
    note = (
        f"\n\n*… cut to fit GitHub's {COMMENT_LIMIT:,} characters ({what} continue in this "
        "job's log, where the preview step printed the whole comment).*\n"
    )
    return text[: limit - len(note)] + note


# -- offline: the program's graph at two trees -----------------------------------------------


def plan_from_graphs(
    stack: str,
    base: Mapping[str, Mapping[str, Any]],
    head: Mapping[str, Mapping[str, Any]],
    source: str,
) -> PreviewPlan:
    """Added, removed and changed resources between two offline evaluations, keyed by type and
    name (a resource's identity in its URN). A change of an input that forces a new resource
    (``delivery.release.replacement``) is a replacement; a type with no rule is listed as not
    judged, its changes shown as updates."""
    plan = PreviewPlan(stack, source, unjudged=[])
    held = _dependents(base, head)
    unjudged: set[str] = set()
    for key in sorted(set(base) | set(head)):
        old, new = base.get(key), head.get(key)
        if old is None and new is not None:
            plan.changes.append(Change(OpType.CREATE, new["type"], new["name"]))
        elif new is None and old is not None:
            plan.changes.append(
                Change(
                    OpType.DELETE,
                    old["type"],
                    old["name"],
                    protected=bool(old["protect"]),
                    dependents=held.get(key, 0),
                )
            )
        elif old is not None and new is not None:
            ignored = set(new.get("ignore_changes") or ())  # the engine will not diff these
            changed = tuple(
                p for p in _changed_inputs(old["inputs"], new["inputs"]) if p not in ignored
            )
            if not changed:
                plan.unchanged += 1
                continue
            verdict = judge(new["type"], old["inputs"], new["inputs"])
            if not verdict.judged:
                unjudged.add(new["type"])
            plan.changes.append(
                Change(
                    OpType.REPLACE if verdict.replacing else OpType.UPDATE,
                    new["type"],
                    new["name"],
                    changed,
                    verdict.replacing,
                    bool(new["protect"]),
                    dependents=held.get(key, 0),
                    values=value_changes(changed, old["inputs"], new["inputs"]),
                )
            )
    _cascade(plan, base, head, held)
    plan.unjudged = sorted(unjudged)
    return plan


class _Unknown:
    """A value a replacement makes unknown until it is created (a new id or ARN)."""

    def __repr__(self) -> str:
        return "<unknown>"


def _cascade(
    plan: PreviewPlan,
    base: Mapping[str, Mapping[str, Any]],
    head: Mapping[str, Mapping[str, Any]],
    held: Mapping[str, int],
) -> None:
    """A replaced resource gets a new id and ARN, so each resource whose force-new input takes
    its value from it is replaced too (a subnet of a replaced VPC), and so on: the engine sees
    those inputs unknown, and the provider replaces on an unknown force-new input. The mocks
    keep every id the same, so the first pass cannot see this."""
    changes = {f"{c.type}::{c.name}": c for c in plan.changes}
    replaced = {k for k, c in changes.items() if c.op is OpType.REPLACE}
    grew = True
    while grew:
        grew = False
        for key, node in head.items():
            if key in replaced or key not in base or base[key].get("type") != node["type"]:
                continue
            causes = {
                name: sorted(set(needed) & replaced)
                for name, needed in (node.get("inputDependencies") or {}).items()
                if set(needed) & replaced
            }
            if not causes:
                continue
            probe = {**node["inputs"], **{name: _Unknown() for name in causes}}
            forced = [
                path
                for path in judge(node["type"], node["inputs"], probe).replacing
                if path.split(".")[0] in causes
            ]
            before = changes.get(key)
            if not forced:  # its inputs still change (a new ARN): an update
                if before is None:
                    updated = Change(
                        OpType.UPDATE,
                        node["type"],
                        node["name"],
                        tuple(sorted(causes)),
                        protected=bool(node["protect"]),
                        dependents=held.get(key, 0),
                    )
                    plan.unchanged -= 1
                    plan.changes.append(updated)
                    changes[key] = updated
                continue
            reasons = tuple(
                f"{path} (from replaced {', '.join(causes[path.split('.')[0]])})" for path in forced
            )
            cascaded = Change(
                OpType.REPLACE,
                node["type"],
                node["name"],
                tuple(sorted({*(before.properties if before else ()), *causes})),
                (*(before.replace_keys if before else ()), *reasons),
                bool(node["protect"]),
                dependents=held.get(key, 0),
                values=before.values if before else (),
            )
            if before is None:
                plan.unchanged -= 1
                plan.changes.append(cascaded)
            else:
                plan.changes[plan.changes.index(before)] = cascaded
            changes[key] = cascaded
            replaced.add(key)
            grew = True


def _dependents(*graphs: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """How many resources hold each one (by its key), in either graph."""
    holders: dict[str, set[str]] = {}
    for graph in graphs:
        for key, node in graph.items():
            for needed in node.get("dependencies") or ():  # absent from older programs' graphs
                holders.setdefault(needed, set()).add(key)
    return {key: len(found) for key, found in holders.items()}


def _changed_inputs(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        k
        for k in sorted(set(old) | set(new))
        if not k.startswith("__") and old.get(k) != new.get(k)  # __provider: pickled code
    )


def live_change(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[Colour, Colour] | None:
    old, new = text_value(before, LIVE_COLOUR), text_value(after, LIVE_COLOUR)
    if old and new and old != new and {old, new} <= {c.value for c in Colour}:
        return Colour(old), Colour(new)
    return None


def settings_or_none(config: Mapping[str, Any], stack: str) -> Settings | None:
    from delivery.errors import ConfigError

    try:
        return load_settings(config, stack)
    except ConfigError:
        return None


def preview_command(args: argparse.Namespace) -> int:
    """Write the comment to ``--markdown``, also when the preview fails: the comment then says
    so, and replaces the last one (the workflows post it ``if: always()``), which would
    otherwise stand as the diff of code that no longer previews."""
    from delivery.config.stackfile import load_stack
    from delivery.errors import SwitchyardError

    source = f"offline: {args.base} → working tree" if args.offline else "pulumi preview"
    try:
        settings = load_stack(args.stack)
        if args.offline:
            from delivery.release.offline import offline_plan

            plan = offline_plan(settings.stack, args.base)
        else:
            plan = real_plan(settings)
    except SwitchyardError as exc:
        _write(args.markdown, failure_comment(args.stack, source, exc))
        print(f"error: {exc}", file=sys.stderr)
        print(f"the failure is in {args.markdown}, to replace the last comment", file=sys.stderr)
        return exc.exit_code
    text = render(plan)
    _write(args.markdown, text)
    print(render(plan, limit=sys.maxsize))  # the whole of it, which the comment may cut
    counts = ", ".join(f"{op.value} {n}" for op, n in plan.counts.items()) or "no changes"
    print(f"preview of {plan.stack}: {counts}; {len(text):,} characters in {args.markdown}")
    return Exit.OK


FENCE: Final = "`" * 3


def failure_comment(stack: str, source: str, error: Exception, limit: int = BODY_LIMIT) -> str:
    head = (
        f"## Pulumi preview: `{stack}` FAILED\n\n"
        f"The preview ({source}) did not finish, so this commit has no diff (the last "
        "comment was replaced: it showed older code):\n\n"
    )
    detail = str(error).replace(FENCE, "'" * 3)
    text = f"{head}{FENCE}\n{detail}\n{FENCE}\n"
    return text if len(text) <= limit else _cut(text, limit, "the error's lines")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def real_plan(settings: Settings) -> PreviewPlan:
    from delivery.cutover.aws import make_clients
    from delivery.release.automation import AutomationStack
    from delivery.release.lock import Identity
    from delivery.release.record import now_utc
    from delivery.release.truth import SsmReleaseState, TruthfulStack

    stack = AutomationStack.select(settings.stack)
    # The preview compares against the release state, not the checkout's stack file, which is
    # older than the last release CI ran: otherwise every preview after a release shows the
    # release undone (and the program would refuse the stale file).
    ssm = make_clients(settings.region).ssm
    store = SsmReleaseState(ssm, settings.environment.value, settings.stack)
    TruthfulStack(stack, store, Identity.here().who, now_utc).pull()
    events: list[EngineEvent] = []
    stack.preview(events.append)
    plan = plan_from_events(settings.stack, events)
    outputs, config = stack.outputs(), stack.config()
    plan.live_change = live_change({LIVE_COLOUR: outputs.get("liveColour", "")}, config)
    plan.settings = settings
    return plan

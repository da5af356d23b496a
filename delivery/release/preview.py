"""Preview diffs for pull requests: the Automation API's ``preview(diff=True)`` engine events, or
the offline difference of the program's graph at a base git ref and at the working tree,
rendered as one comment that fits GitHub's limit and never loses its warnings.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pulumi.automation.events import EngineEvent, OpType

from delivery.config.model import Colour, Settings
from delivery.config.settings import load_settings
from delivery.plans.alarms import worst_case_fault_to_rollback
from delivery.plans.schedule import expected_duration_seconds
from delivery.release.automation import policy_line
from delivery.release.keys import LIVE_COLOUR
from delivery.release.port import text_value

COMMENT_LIMIT: Final = 65_536  # GitHub refuses longer issue and pull-request comments
# The workflows post through marocchino/sticky-pull-request-comment, which appends its marker
# ("\n<!-- Sticky Pull Request Comment<header> -->") to the body: the body leaves it room.
STICKY_MARKER_ROOM: Final = 128
BODY_LIMIT: Final = COMMENT_LIMIT - STICKY_MARKER_ROOM
# Resources whose loss or replacement loses traffic, keys, data or the cluster.
STATEFUL: Final[Mapping[str, str]] = {
    "aws:lb/loadBalancer:LoadBalancer": "load balancer",
    "aws:lb/listener:Listener": "listener",
    "aws:lb/targetGroup:TargetGroup": "target group",
    "aws:kms/key:Key": "KMS key",
    "aws:secretsmanager/secret:Secret": "secret",
    "aws:eks/cluster:Cluster": "cluster",
    "aws:s3/bucket:Bucket": "bucket",
}
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
class Change:
    op: OpType
    type: str
    name: str
    properties: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    protected: bool = False

    @property
    def warning(self) -> str | None:
        kind = STATEFUL.get(self.type)
        if self.op not in DESTRUCTIVE or not (kind or self.protected):
            return None
        what = kind or self.type
        protect = " (protected)" if self.protected else ""
        because = f" because of {', '.join(self.replace_keys)}" if self.replace_keys else ""
        verb = "DELETES" if self.op in (OpType.DELETE, OpType.DELETE_REPLACED) else "REPLACES"
        return f"**{verb}** {what}{protect} `{self.name}`{because}"

    def line(self) -> str:
        props = f": {', '.join(f'`{p}`' for p in self.properties)}" if self.properties else ""
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

    @property
    def counts(self) -> Counter[OpType]:
        counts = Counter(c.op for c in self.changes)
        if self.unchanged:
            counts[OpType.SAME] = self.unchanged
        return counts


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def plan_from_events(stack: str, events: Iterable[EngineEvent]) -> PreviewPlan:
    """A preview's changes from its engine events (``resourcePreEvent`` step metadata)."""
    plan = PreviewPlan(stack, "pulumi preview")
    for event in events:
        if event.policy_event is not None:
            plan.policy.append(policy_line(event.policy_event))
        diagnostic = event.diagnostic_event
        if diagnostic is not None and diagnostic.severity in ("warning", "error"):
            plan.diagnostics.append(f"{diagnostic.severity}: {diagnostic.message.strip()}")
        pre = event.resource_pre_event
        if pre is None or pre.metadata is None:
            continue
        step = pre.metadata
        if step.type == "pulumi:pulumi:Stack":
            continue
        if step.op is OpType.SAME:
            plan.unchanged += 1
            continue
        properties = tuple(sorted(step.detailed_diff or {})) or tuple(step.diffs or ())
        protected = bool((step.old and step.old.protect) or (step.new and step.new.protect))
        plan.changes.append(
            Change(
                step.op,
                step.type,
                _name(step.urn),
                properties,
                tuple(step.keys or ()) if step.op in DESTRUCTIVE else (),
                protected,
            )
        )
    return plan


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
    if warnings:
        head += [
            "> [!CAUTION]",
            f"> {len(warnings)} stateful or protected resource(s) would be replaced or deleted:",
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
            "characters; the full diff is in the job log.*",
        ]
        if omitted
        else []
    )
    if body:
        text += "\n" + "\n".join([*opening, *lines, *note, "", *closing]) + "\n"
    return text


def _cut(text: str, limit: int, what: str) -> str:
    note = (
        f"\n\n*… cut to fit GitHub's {COMMENT_LIMIT:,} characters ({what} continue in the job "
        "log).*\n"
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
    name (a resource's identity in its URN). Offline there is no provider diff, so replacements
    cannot be told from updates: deletions of stateful resources still warn."""
    plan = PreviewPlan(stack, source)
    for key in sorted(set(base) | set(head)):
        old, new = base.get(key), head.get(key)
        if old is None and new is not None:
            plan.changes.append(Change(OpType.CREATE, new["type"], new["name"]))
        elif new is None and old is not None:
            plan.changes.append(
                Change(OpType.DELETE, old["type"], old["name"], protected=bool(old["protect"]))
            )
        elif old is not None and new is not None:
            ignored = set(new.get("ignore_changes") or ())  # the engine will not diff these
            changed = tuple(
                p for p in _changed_inputs(old["inputs"], new["inputs"]) if p not in ignored
            )
            if changed:
                plan.changes.append(
                    Change(OpType.UPDATE, new["type"], new["name"], changed, (), new["protect"])
                )
            else:
                plan.unchanged += 1
    return plan


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


def preview_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.offline:
        from delivery.release.offline import offline_plan

        plan = offline_plan(settings.stack, args.base)
    else:
        plan = real_plan(settings)
    text = render(plan)
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text)
    counts = ", ".join(f"{op.value} {n}" for op, n in plan.counts.items()) or "no changes"
    print(f"preview of {plan.stack}: {counts}; {len(text):,} characters in {args.markdown}")
    return 0


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

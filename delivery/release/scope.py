"""What a release's `pulumi up` may change, and the stack port that previews each one first.

A release changes the release-owned config keys (delivery.release.truth), and those move only
the workloads, their autoscalers and pre-traffic Jobs, the cutover and the listeners' forward
actions, and what follows the live colour (the dashboard, the error-budget alarms). Anything
else in the plan (an add-on whose default version moved, a node group, a VPC change merged with
the release) is an infrastructure change: it belongs to the infrastructure role's own `up`,
behind its own gate, never to a release that is about to move traffic.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from pulumi.automation.events import OpType

from delivery.errors import SwitchyardError
from delivery.release.port import ForwardingStack, StackPort
from delivery.release.preview import Change
from delivery.release.progress import OnProgress

ANY: Final = frozenset(OpType)
UPDATE: Final = frozenset({OpType.UPDATE})
# A Job's spec is immutable: pulumi-kubernetes replaces it when the image or command changes.
RECREATED: Final = frozenset(
    {
        OpType.CREATE,
        OpType.UPDATE,
        OpType.DELETE,
        OpType.REPLACE,
        OpType.CREATE_REPLACEMENT,
        OpType.DELETE_REPLACED,
    }
)
# Steps that change nothing in the cloud.
HARMLESS: Final = frozenset(
    {
        OpType.SAME,
        OpType.READ,
        OpType.READ_REPLACEMENT,
        OpType.REFRESH,
        OpType.DISCARD,
        OpType.DISCARD_REPLACED,
    }
)


@dataclass(frozen=True)
class Allowed:
    type: str
    names: str  # fnmatch pattern over the resource's logical name
    ops: frozenset[OpType]
    properties: frozenset[str] | None = None  # None: any property may change

    def admits(self, change: Change) -> bool:
        if change.type != self.type or not fnmatch.fnmatchcase(change.name, self.names):
            return False
        if change.op not in self.ops:
            return False
        return self.properties is None or set(change.properties) <= self.properties


FORWARD_ACTIONS: Final = frozenset({"defaultActions"})
RELEASE_SCOPE: Final = (
    Allowed("kubernetes:apps/v1:Deployment", "workload-*", UPDATE),
    Allowed("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "scaling-*", UPDATE),
    Allowed("kubernetes:batch/v1:Job", "workload-hook-*", RECREATED),
    Allowed("time:index/sleep:Sleep", "scaling-scale-down-delay", RECREATED),
    Allowed("pulumi-python:dynamic:Resource", "cutover-weights", RECREATED),
    # The two listeners whose forward actions carry the colours' weights (the release role may
    # modify only these): the HTTP listener only redirects.
    Allowed("aws:lb/listener:Listener", "traffic-production", UPDATE, FORWARD_ACTIONS),
    Allowed("aws:lb/listener:Listener", "traffic-test", UPDATE, FORWARD_ACTIONS),
    Allowed("aws:cloudwatch/dashboard:Dashboard", "dashboard-*", UPDATE),
    Allowed("aws:cloudwatch/metricAlarm:MetricAlarm", "budget-burn-*", UPDATE),
)
SHOWN_AT_MOST: Final = 12


def outside_scope(
    changes: Iterable[Change], scope: Sequence[Allowed] = RELEASE_SCOPE
) -> list[Change]:
    return [c for c in changes if c.op not in HARMLESS and not any(a.admits(c) for a in scope)]


class OutOfReleaseScope(SwitchyardError):
    """A release's `pulumi up` would change more than a release changes; nothing was applied."""


def _line(change: Change) -> str:
    props = f" ({', '.join(change.properties)})" if change.properties else ""
    return f"{change.op.value} {change.type} {change.name}{props}"


class ScopedStack(ForwardingStack):
    """A stack port whose ``up`` is previewed first and refused, with the config it set put
    back, when the plan reaches beyond ``RELEASE_SCOPE``."""

    def __init__(
        self,
        inner: StackPort,
        planned: Callable[[], list[Change]],
        absent: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(inner)
        self._planned = planned
        self._absent = dict(absent or {})  # what a key unset before means, to restore it
        self._before: dict[str, str | None] = {}  # since the last applied up

    def set_config(self, values: Mapping[str, str]) -> None:
        current = self._inner.config()
        for key in values:
            self._before.setdefault(key, current.get(key))
        self._inner.set_config(values)

    def up(self, on_progress: OnProgress) -> None:
        try:
            planned = self._planned()
        except SwitchyardError as exc:  # a mandatory policy violation, a program error
            self._put_back()
            raise OutOfReleaseScope(
                f"the release's `pulumi preview` failed, so nothing was applied and the "
                f"release's config is put back: {exc}"
            ) from exc
        outside = outside_scope(planned)
        if outside:
            self._put_back()
            shown = [_line(c) for c in outside[:SHOWN_AT_MOST]]
            more = len(outside) - len(shown)
            raise OutOfReleaseScope(
                f"this release's `pulumi up` would also change {len(outside)} resource(s) a "
                f"release never changes: {'; '.join(shown)}"
                + (f"; and {more} more" if more else "")
                + ". Nothing was applied and the release's config is put back: apply them "
                "with an infrastructure `pulumi up` first (the infrastructure role, behind its "
                "own approval; README, Releases from CI), then run the release again"
            )
        self._inner.up(on_progress)
        self._before.clear()

    def _put_back(self) -> None:
        restore = {
            key: value if value is not None else self._absent[key]
            for key, value in self._before.items()
            if value is not None or key in self._absent
        }
        self._before.clear()
        if restore:
            self._inner.set_config(restore)

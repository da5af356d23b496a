"""Creating, updating and destroying PR environments, and the scheduled sweep, over two ports:
the PR project's stacks (the Automation API, delivery.release.pr_stacks) and the rules on dev's
listener (ELBv2, ``ListenerRules``). What to name, which priority and what to sweep is planned
in delivery.plans.pr_environments; this module only sequences it.

- ``up``: dev's base is read first (the SSM parameter dev writes, never dev's state), so a
  dev without PR environments stops before anything is created. A PR that already has a
  stack keeps its priority and its creation time (the sweep's age); a new one takes a free
  priority from the live listener.
- ``destroy``: destroys the stack's resources, then removes the stack; a PR without a stack is
  already gone (a second close, a re-run job), which is not an error.
- ``sweep``: destroys each environment ``to_sweep`` chooses, goes on past one that fails, and
  reports every failure at the end, so one stuck stack never shields the others.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from delivery.cutover.aws import parameter_value
from delivery.errors import PortError, SwitchyardError, Unavailable
from delivery.plans.moments import aware_moment
from delivery.plans.pr_environments import (
    RULES_PER_LOAD_BALANCER,
    TARGET_GROUPS_PER_LOAD_BALANCER,
    PrEnvironmentError,
    PrStack,
    PrState,
    Room,
    SweepReason,
    image_problem,
    listener_priority,
    pr_names,
    pr_of,
    read_base,
    to_sweep,
)

Say = Callable[[str], None]


class PrStacks(Protocol):
    def outputs(self, stack: str) -> Mapping[str, Any] | None:
        """The stack's outputs; None when the PR project has no such stack."""

    def up(self, stack: str, config: Mapping[str, str]) -> Mapping[str, Any]:
        """Create the stack when it is missing, set its whole config, `pulumi up`; outputs."""

    def destroy(self, stack: str) -> None:
        """`pulumi destroy`, then `pulumi stack rm`."""

    def names(self) -> Sequence[str]: ...


class ListenerRules(Protocol):
    def priorities(self, listener_arn: str) -> set[int]: ...

    def room(self, listener_arn: str) -> Room:
        """The rules and target groups of the listener's load balancer, and the quotas."""


class PrBaseSource(Protocol):
    where: str  # what an error names: "SSM parameter /switchyard-dev/pr-environment-base"

    def read(self) -> object:
        """Dev's base as written; None when there is none."""


class SweepFailed(SwitchyardError):
    """The sweep destroyed what it could; these environments are left."""


@dataclass(frozen=True)
class PrUp:
    stack: str
    url: str
    priority: int
    created_at: str
    created: bool  # False: an existing environment was updated


def up(
    pr: int,
    image: str,
    stacks: PrStacks,
    rules: ListenerRules,
    source: PrBaseSource,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> PrUp:
    problem = image_problem(image)
    if problem:
        raise PrEnvironmentError(f"--image: {problem}")
    found = source.read()
    base = read_base(found, source.where)
    names = pr_names(pr, base.name_prefix)
    existing = stacks.outputs(names.stack)
    if existing and existing.get("priority") and existing.get("createdAt"):
        priority, created_at = int(existing["priority"]), str(existing["createdAt"])
    else:
        # a new PR takes a rule and a target group: refused before anything is created
        problem = rules.room(base.listener_arn).problem()
        if problem:
            raise PrEnvironmentError(f"PR {pr} cannot have an environment now: {problem}")
        priority = listener_priority(pr, rules.priorities(base.listener_arn))
        created_at = now().isoformat(timespec="seconds")
    config = {
        "aws:region": base.region,
        "switchyard-pr:pr": str(pr),
        "switchyard-pr:image": image,
        "switchyard-pr:base": json.dumps(found, sort_keys=True),
        "switchyard-pr:priority": str(priority),
        "switchyard-pr:createdAt": created_at,
    }
    outputs = stacks.up(names.stack, config)
    return PrUp(
        names.stack, str(outputs.get("url", base.url(names))), priority, created_at, not existing
    )


def destroy(pr: int, stacks: PrStacks, say: Say = print) -> bool:
    """Whether there was an environment to destroy."""
    if isinstance(pr, bool) or pr < 1:
        raise PrEnvironmentError(f"a pull request's number is a positive integer, got {pr}")
    stack = f"dev-pr-{pr}"
    if stacks.outputs(stack) is None:
        say(f"PR {pr} has no environment (stack {stack}): nothing to destroy")
        return False
    stacks.destroy(stack)
    say(f"destroyed PR {pr}'s environment and removed stack {stack}")
    return True


def sweep(
    stacks: PrStacks,
    prs: Mapping[int, PrState],
    max_age: timedelta,
    now: datetime,
    say: Say = print,
    listed_at: datetime | None = None,
) -> list[tuple[PrStack, SweepReason]]:
    found = []
    for name in stacks.names():
        if pr_of(name) is None:
            continue
        outputs = stacks.outputs(name) or {}
        # none yet (its first `up` is running, or failed before writing it), or not zoned
        found.append(PrStack(name, aware_moment(outputs.get("createdAt"))))
    chosen = to_sweep(found, prs, now, max_age, listed_at)
    failed: list[str] = []
    for stack, reason in chosen:
        try:
            stacks.destroy(stack.name)
            say(f"destroyed {stack.name}: {reason}")
        except SwitchyardError as exc:
            failed.append(f"{stack.name} ({exc})")
    if failed:
        raise SweepFailed(
            f"the sweep could not destroy {len(failed)} of {len(chosen)}: "
            + "; ".join(failed)
            + "; run `python -m delivery pr-env destroy --pr <n>` for each once the cause is fixed"
        )
    return chosen


def read_pull_requests(text: str, label: str | None = None) -> dict[int, PrState]:
    """`gh pr list --state open --json number,state[,labels]` (OPEN; CLOSED and MERGED are
    read too) as PR states; with ``label``, an open PR without it counts as closed."""
    try:
        listed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PrEnvironmentError(f"the pull request list is not JSON ({exc})") from exc
    if not isinstance(listed, list):
        raise PrEnvironmentError("the pull request list must be a JSON list of {number, state}")
    states: dict[int, PrState] = {}
    for item in listed:
        number = item.get("number") if isinstance(item, dict) else None
        state = str(item.get("state", "")).upper() if isinstance(item, dict) else ""
        if isinstance(number, bool) or not isinstance(number, int) or state not in _STATES:
            raise PrEnvironmentError(
                f"each pull request must be {{number, state}} with state one of "
                f"{', '.join(_STATES)}, got {item!r}"
            )
        states[number] = _STATES[state]
        if label is not None:
            labels = item.get("labels")
            if not isinstance(labels, list):
                raise PrEnvironmentError(
                    f"with a label to keep, each pull request needs its labels (gh pr list "
                    f"--json number,state,labels), got {item!r}"
                )
            names = {str(x.get("name", "")).casefold() for x in labels if isinstance(x, dict)}
            if label.casefold() not in names:
                states[number] = PrState.CLOSED
    return states


_STATES = {"OPEN": PrState.OPEN, "CLOSED": PrState.CLOSED, "MERGED": PrState.CLOSED}


class ElbListenerRules:
    """ListenerRules over ELBv2: every rule's priority on the listener (DescribeRules pages
    with Marker/NextMarker; the default rule's priority is ``default``), and the load
    balancer's rules (on all its listeners) and target groups against the account's limits
    (DescribeAccountLimits; a limit it does not answer is the documented default)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def priorities(self, listener_arn: str) -> set[int]:
        return {
            int(r["Priority"])
            for r in self._pages("describe_rules", "Rules", ListenerArn=listener_arn)
            if r["Priority"] != "default"
        }

    def room(self, listener_arn: str) -> Room:
        (listener,) = self._client.describe_listeners(ListenerArns=[listener_arn])["Listeners"]
        balancer = listener["LoadBalancerArn"]
        listeners = self._pages("describe_listeners", "Listeners", LoadBalancerArn=balancer)
        rules = sum(len(self.priorities(each["ListenerArn"])) for each in listeners)
        groups = self._pages("describe_target_groups", "TargetGroups", LoadBalancerArn=balancer)
        limits = {
            limit["Name"]: int(limit["Max"])
            for limit in self._client.describe_account_limits()["Limits"]
        }
        return Room(
            rules,
            limits.get("rules-per-application-load-balancer", RULES_PER_LOAD_BALANCER),
            len(groups),
            limits.get(
                "target-groups-per-application-load-balancer", TARGET_GROUPS_PER_LOAD_BALANCER
            ),
        )

    def _pages(self, operation: str, key: str, **given: Any) -> list[Any]:
        found: list[Any] = []
        marker: str | None = None
        while True:
            page = getattr(self._client, operation)(
                **given, **({"Marker": marker} if marker else {})
            )
            found += page[key]
            marker = page.get("NextMarker")
            if not marker:
                return found


class SsmPrBase:
    """PrBaseSource over SSM: the parameter dev writes (components/pr_base.py), read with
    GetParameter (botocore ssm 2014-11-06: a missing one is ``ParameterNotFound``)."""

    def __init__(self, client: Any, name: str) -> None:
        self._client, self._name = client, name
        self.where = f"SSM parameter {name}"

    def read(self) -> object:
        try:
            text = parameter_value(self._client, self._name)
        except PortError as exc:
            raise Unavailable(f"cannot read {self.where}: {exc}") from exc
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PrEnvironmentError(
                f"{self.where} is not JSON ({exc}): run `pulumi up --stack dev` to rewrite it"
            ) from exc

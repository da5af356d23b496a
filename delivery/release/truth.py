"""The release state: the one source of truth for the stack-config keys a release owns.

The driver changes ``liveColour``, the images and ``releaseStep`` through
the Automation API in CI, where the stack file is a throw-away checkout: it is never committed
(CI has no write access to the repository, and a bot committing to ``main`` would race every
merge). So the driver
publishes those keys, as it sets them, to one SSM parameter per stack,
``/switchyard/<environment>/release/<stack>``; every run of the driver starts by putting them
into the stack file, and the program (``infra.config``) refuses a stack file that disagrees with
them, naming both values and the two ways out. A hand ``pulumi up`` from a clean checkout of
``main`` therefore cannot shift production back to an older release, and a preview (which pulls
the state first) shows no bogus flip.

The parameter is a String in the folder the CI roles already read and write
(``parameter/switchyard/<environment>/*``); SSM keeps its last 100 versions as its history.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

from delivery.config.model import PROJECT, Colour
from delivery.cutover.aws import call, parameter_value
from delivery.errors import ConfigError, PortError, Problem
from delivery.release.keys import CANDIDATE_REPLICAS, LIVE_COLOUR, RELEASE_STEP, image_key
from delivery.release.port import ForwardingStack, StackPort, UpFailed
from delivery.release.progress import OnProgress

# The keys a release changes: everything else in the stack file is the repository's.
RELEASE_OWNED: Final = (
    LIVE_COLOUR,
    image_key(Colour.BLUE),
    image_key(Colour.GREEN),
    RELEASE_STEP,
    CANDIDATE_REPLICAS,  # the floor the stage set from the live colour's size
)
# Not latencyBaselineMs: the driver sets it to what it measured, but it is also the static
# fallback a pull request may change, which a pull would then silently undo. Each release
# measures it again; a hand `pulumi up` runs the alarms at the file's value until then.
SCHEMA: Final = 1


def state_folder(environment: str) -> str:
    """The folder the program lists (a by-path read returns no parameter named as the path)."""
    return f"/{PROJECT}/{environment}/release"


def state_parameter(environment: str, stack: str) -> str:
    return f"{state_folder(environment)}/{stack}"


@dataclass(frozen=True)
class ReleaseState:
    values: dict[str, str]  # RELEASE_OWNED keys, fully qualified, as the stack file holds them
    written_at: str  # ISO 8601, UTC
    written_by: str  # the CI run or user@host that wrote it

    @classmethod
    def written(cls, values: dict[str, str], who: str, now: Callable[[], datetime]) -> ReleaseState:
        return cls(values, now().isoformat(timespec="seconds"), who)

    def encode(self) -> str:
        return json.dumps(
            {
                "schema": SCHEMA,
                "values": self.values,
                "writtenAt": self.written_at,
                "writtenBy": self.written_by,
            },
            sort_keys=True,
        )

    @classmethod
    def decode(cls, text: str, parameter: str) -> ReleaseState:
        try:
            raw = json.loads(text)
            values = raw["values"]
            if raw.get("schema") != SCHEMA or not isinstance(values, dict):
                raise ValueError(f"schema {raw.get('schema')!r}, values {type(values).__name__}")
            unknown = set(values) - set(RELEASE_OWNED)
            if unknown or not all(isinstance(v, str) for v in values.values()):
                raise ValueError(f"keys {sorted(values)}")
            return cls(dict(values), str(raw["writtenAt"]), str(raw["writtenBy"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            reason = (
                f"holds {text[:80]!r}, which is not a release state Switchyard wrote ({exc}). "
                f"`aws ssm get-parameter-history --name {parameter}` lists the versions it "
                f"wrote: put the last good one back, or delete it (`aws ssm delete-parameter "
                f"--name {parameter}`) and run a release, which writes it anew"
            )
            raise ConfigError([Problem(parameter, reason)], source="the release state") from exc


def owned(config: Mapping[str, Any]) -> dict[str, str]:
    """The release-owned keys of a stack's config, as text, the ones set only."""
    return {k: str(config[k]) for k in RELEASE_OWNED if config.get(k) not in (None, "")}


def stale_problems(
    config: Mapping[str, Any], state: ReleaseState, stack: str, parameter: str
) -> list[Problem]:
    """One problem per release-owned key the stack file holds otherwise than the state."""
    held = owned(config)
    problems = []
    for key, truth in sorted(state.values.items()):
        if held.get(key) == truth:
            continue
        mine = repr(held[key]) if key in held else "nothing"
        problems.append(
            Problem(
                key,
                f"is {mine} in the stack file, but the release state {parameter} (written "
                f"{state.written_at} by {state.written_by}) says {truth!r}: the stack file is "
                "older than the last release, and this `pulumi up` would undo it. If so, run "
                f"`python -m delivery release-state --stack {stack} --pull` (it sets the "
                "release's values in the stack file), or release through `python -m delivery "
                "release`. If you are changing it by hand on purpose (a release by hand), run "
                f"`python -m delivery release-state --stack {stack} --push` first",
            )
        )
    return problems


class ReleaseStateStore(Protocol):
    @property
    def parameter(self) -> str: ...

    def read(self) -> ReleaseState | None:
        """The state, or None before the first release wrote it; raises PortError."""
        ...

    def write(self, state: ReleaseState) -> None: ...


class SsmReleaseState:
    def __init__(self, ssm: Any, environment: str, stack: str) -> None:
        self._ssm = ssm
        self.parameter = state_parameter(environment, stack)

    def read(self) -> ReleaseState | None:
        value = parameter_value(self._ssm, self.parameter)
        return None if value is None else ReleaseState.decode(value, self.parameter)

    def write(self, state: ReleaseState) -> None:
        call(
            self._ssm.put_parameter,
            Name=self.parameter,
            Value=state.encode(),
            Type="String",
            Overwrite=True,
            Description="Switchyard release state: the stack-config keys the last release set",
        )


class TruthfulStack(ForwardingStack):
    """A stack port that keeps the release state true: ``pull`` puts the state into the stack
    file before a run acts, every change of a release-owned key is published as it is made,
    and no ``pulumi up`` runs while the state and the file disagree (the program would refuse
    it, less plainly). A failed publish outside an ``up`` only warns: the abort path sets
    ``liveColour`` back and must not stop there."""

    def __init__(
        self,
        inner: StackPort,
        store: ReleaseStateStore,
        who: str,
        now: Callable[[], datetime],
        say: Callable[[str], None] = print,
    ) -> None:
        super().__init__(inner)
        self._store = store
        self._who = who
        self._now = now
        self._say = say
        self._published: dict[str, str] | None = None

    def pull(self) -> None:
        """Put the release state into the stack file (nothing before the first release)."""
        state = self._store.read()
        if state is None:
            self._say(f"release state {self._store.parameter}: none yet, the stack file's kept")
            return
        held = owned(self._inner.config())
        changed = {k: v for k, v in state.values.items() if held.get(k) != v}
        if changed:
            self._inner.set_config(changed)
            shown = ", ".join(f"{k} {held.get(k)} -> {v}" for k, v in changed.items())
            self._say(
                f"stack file set from the release state {self._store.parameter} (written "
                f"{state.written_at} by {state.written_by}): {shown}"
            )
        self._published = dict(state.values)

    def set_config(self, values: Mapping[str, str]) -> None:
        self._inner.set_config(values)
        if set(values) & set(RELEASE_OWNED):
            try:
                self._publish()
            except PortError as exc:
                # The abort and rollback paths come here with no `pulumi up` after them: say
                # exactly what puts the truth right, since the program now trusts the state.
                shown = ", ".join(f"{k} {v}" for k, v in owned(self._inner.config()).items())
                self._say(
                    f"warning: the release state {self._store.parameter} was not updated "
                    f"({exc}): it should hold {shown}. This driver's next `pulumi up` publishes "
                    "it first; if none follows, set those values in the stack file and run "
                    f"`python -m delivery release-state --stack {self.name} --push`, or a "
                    "`pulumi up` is refused (or, after --pull, undoes this)"
                )

    def up(self, on_progress: OnProgress) -> None:
        try:
            self._publish()
        except PortError as exc:
            raise UpFailed(
                f"the release state {self._store.parameter} could not be written ({exc}), so "
                "`pulumi up` did not run: the program refuses a stack file the release state "
                "disagrees with. Check the role's ssm:PutParameter on it and run again"
            ) from exc
        self._inner.up(on_progress)

    def _publish(self) -> None:
        values = owned(self._inner.config())
        if values == self._published:
            return
        self._store.write(ReleaseState.written(values, self._who, self._now))
        self._published = values


def compare(stack: StackPort, store: ReleaseStateStore) -> list[str]:
    """Each release-owned key as the stack file and the release state hold it."""
    state = store.read()
    if state is None:
        return [f"{store.parameter}: no release state yet; the stack file is the truth"]
    held = owned(stack.config())
    lines = [f"{store.parameter}: written {state.written_at} by {state.written_by}"]
    for key in RELEASE_OWNED:
        mine, truth = held.get(key, "-"), state.values.get(key, "-")
        mark = "" if mine == truth else "   <- differs"
        lines.append(f"  {key:<28} file {mine:<40} state {truth}{mark}")
    return lines


def push(
    stack: StackPort,
    store: ReleaseStateStore,
    who: str,
    now: Callable[[], datetime],
    say: Callable[[str], None],
) -> None:
    """Make the stack file's release-owned values the truth (a release by hand)."""
    before = store.read()
    values = owned(stack.config())
    old = before.values if before else {}
    for key in RELEASE_OWNED:
        if old.get(key) != values.get(key):
            say(f"{key}: {old.get(key, '-')} -> {values.get(key, '-')}")
    store.write(ReleaseState.written(values, who, now))
    say(f"release state {store.parameter} now holds the stack file's values")

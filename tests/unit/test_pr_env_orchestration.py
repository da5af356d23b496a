"""PR environments' orchestration over its ports (delivery.release.pr_environments): a fake
stack port in memory, as the Automation API's would answer (outputs of an existing stack, none
for a missing one), and the command line's bad input."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from delivery.cli import main
from delivery.errors import Exit, SwitchyardError
from delivery.plans.pr_environments import (
    BASE_KEYS,
    PrEnvironmentError,
    PrState,
    Room,
    SweepReason,
)
from delivery.release import pr_command
from delivery.release import pr_environments as pr_env

LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/switchyard-dev/1/2"
DIGEST = "registry.example.com/web@sha256:" + "0" * 64
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
BASE = {key: f"<{key}>" for key in BASE_KEYS} | {
    "namePrefix": "switchyard-dev",
    "region": "eu-west-1",
    "domain": "pr.dev.example.com",
    "scheme": "http",
    "listenerArn": LISTENER,
    "targetPort": 8080,
    "secretNames": ["database-password"],
    "cpuRequestMillicores": 250,
    "memoryRequestMiB": 256,
    "tags": {"owner": "platform-team"},
}


@dataclass
class FakeStacks:
    """What the PR project holds: stack name -> outputs (the program's exports)."""

    stacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, Mapping[str, str]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def outputs(self, stack: str) -> Mapping[str, Any] | None:
        return self.stacks.get(stack)

    def up(self, stack: str, config: Mapping[str, str]) -> Mapping[str, Any]:
        self.calls.append(f"up {stack}")
        self.configs[stack] = dict(config)
        pr = config["switchyard-pr:pr"]
        self.stacks[stack] = {
            "url": f"http://pr-{pr}.pr.dev.example.com",
            "priority": int(config["switchyard-pr:priority"]),
            "createdAt": config["switchyard-pr:createdAt"],
        }
        return self.stacks[stack]

    def destroy(self, stack: str) -> None:
        self.calls.append(f"destroy {stack}")
        if stack in self.failing:
            raise SwitchyardError(f"`pulumi destroy` on stack {stack} failed: a lock")
        del self.stacks[stack]

    def names(self) -> Sequence[str]:
        return [*self.stacks, "dev", "staging"]


@dataclass
class FakeBase:
    """Dev's base as the SSM parameter holds it (None: no such parameter)."""

    found: object = field(default_factory=lambda: dict(BASE))
    where: str = "SSM parameter /switchyard-dev/pr-environment-base"

    def read(self) -> object:
        return self.found


@dataclass
class FakeRules:
    taken: set[int] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)
    held: Room = field(default_factory=lambda: Room(1, 100, 2, 100))

    def priorities(self, listener_arn: str) -> set[int]:
        self.asked.append(listener_arn)
        return set(self.taken)

    def room(self, listener_arn: str) -> Room:
        self.asked.append(f"room {listener_arn}")
        return self.held


def test_a_new_pr_gets_a_free_priority_and_its_creation_time() -> None:
    stacks, rules = FakeStacks(), FakeRules(taken={1010})
    done = pr_env.up(11, DIGEST, stacks, rules, FakeBase(), now=lambda: NOW)
    assert (done.stack, done.url, done.created) == (
        "dev-pr-11",
        "http://pr-11.pr.dev.example.com",
        True,
    )
    assert done.priority == 1011 and rules.asked == [f"room {LISTENER}", LISTENER]
    config = stacks.configs["dev-pr-11"]
    assert config["aws:region"] == "eu-west-1"
    assert config["switchyard-pr:createdAt"] == "2026-12-07T09:00:00+00:00"
    assert json.loads(config["switchyard-pr:base"]) == BASE


def test_a_push_keeps_the_prs_priority_and_age() -> None:
    stacks, rules = FakeStacks(), FakeRules()
    pr_env.up(7, DIGEST, stacks, rules, FakeBase(), now=lambda: NOW)
    later = pr_env.up(
        7,
        DIGEST.replace("0" * 64, "1" * 64),
        stacks,
        FakeRules(taken={1006}),
        FakeBase(),
        now=lambda: NOW + timedelta(hours=5),
    )
    assert later.created is False and later.priority == 1006
    assert later.created_at == "2026-12-07T09:00:00+00:00"
    assert stacks.configs["dev-pr-7"]["switchyard-pr:image"].endswith("1" * 64)


@pytest.mark.parametrize("image", ["registry.example.com/web:pr-7", "web@sha256:abc", ""])
def test_an_image_not_by_digest_changes_nothing(image: str) -> None:
    stacks, rules = FakeStacks(), FakeRules()
    with pytest.raises(PrEnvironmentError, match="--image: the pull request's image by digest"):
        pr_env.up(7, image, stacks, rules, FakeBase())
    assert stacks.calls == [] and rules.asked == []


@pytest.mark.parametrize("found", [None, ["not", "an", "object"]], ids=["missing", "a-list"])
def test_a_dev_without_pr_environments_stops_before_anything(found: object) -> None:
    stacks, rules = FakeStacks(), FakeRules()
    said = "SSM parameter /switchyard-dev/pr-environment-base holds no PR environment base"
    with pytest.raises(PrEnvironmentError, match=f"{said}.*set prDomain"):
        pr_env.up(7, DIGEST, stacks, rules, FakeBase(found))
    assert stacks.calls == [] and rules.asked == []


@pytest.mark.parametrize(
    ("held", "said"),
    [
        (Room(100, 100, 40, 100), "100 of 100 rules"),
        (Room(60, 100, 100, 100), "100 of 100 target groups"),
    ],
)
def test_a_full_load_balancer_refuses_a_new_pr_but_keeps_updating_old_ones(
    held: Room, said: str
) -> None:
    stacks = FakeStacks()
    pr_env.up(3, DIGEST, stacks, FakeRules(), FakeBase())
    full = FakeRules(held=held)
    with pytest.raises(PrEnvironmentError, match=f"PR 4 cannot have an environment now.*{said}"):
        pr_env.up(4, DIGEST, stacks, full, FakeBase())
    assert "dev-pr-4" not in stacks.stacks
    assert pr_env.up(3, DIGEST, stacks, full, FakeBase()).created is False


def test_destroying_twice_is_not_an_error() -> None:
    stacks, said = FakeStacks(), list[str]()
    pr_env.up(3, DIGEST, stacks, FakeRules(), FakeBase())
    assert pr_env.destroy(3, stacks, said.append) is True
    assert pr_env.destroy(3, stacks, said.append) is False
    assert stacks.calls == ["up dev-pr-3", "destroy dev-pr-3"]
    assert "nothing to destroy" in said[-1]


def test_the_sweep_destroys_closed_unknown_and_expired_and_reports_what_it_left() -> None:
    stacks = FakeStacks()
    for pr, age in ((1, 1), (2, 1), (3, 100), (4, 1), (5, 1)):
        created = NOW - timedelta(hours=age)
        pr_env.up(
            pr, DIGEST, stacks, FakeRules(), FakeBase(), now=functools.partial(lambda c: c, created)
        )
    stacks.failing = {"dev-pr-4"}
    prs = {1: PrState.OPEN, 2: PrState.CLOSED, 3: PrState.OPEN, 4: PrState.CLOSED}
    with pytest.raises(pr_env.SweepFailed, match="could not destroy 1 of 4: dev-pr-4"):
        pr_env.sweep(stacks, prs, timedelta(hours=72), NOW, print)
    # 2 closed, 3 expired, 5 unknown destroyed; 4 left; 1 (open, young), dev and staging untouched
    assert set(stacks.stacks) == {"dev-pr-1", "dev-pr-4"}
    assert [c for c in stacks.calls if c.startswith("destroy")] == [
        "destroy dev-pr-2",
        "destroy dev-pr-3",
        "destroy dev-pr-4",
        "destroy dev-pr-5",
    ]


def test_an_environment_without_a_creation_time_goes_with_its_pr_not_by_age() -> None:
    """A first `up` still running has no outputs yet: the sweep must not destroy it under the
    job that is creating it, and a naive time is no creation time either."""
    stacks = FakeStacks(stacks={"dev-pr-9": {}, "dev-pr-8": {"createdAt": "2020-01-01T00:00"}})
    kept = pr_env.sweep(stacks, {9: PrState.OPEN, 8: PrState.OPEN}, timedelta(hours=72), NOW)
    assert kept == [] and set(stacks.stacks) == {"dev-pr-9", "dev-pr-8"}
    # missing from the open list: maybe opened since; only an explicit close takes them
    assert pr_env.sweep(stacks, {}, timedelta(hours=72), NOW) == []
    closed = {9: PrState.CLOSED, 8: PrState.CLOSED}
    chosen = pr_env.sweep(stacks, closed, timedelta(hours=72), NOW, print)
    assert sorted(s.name for s, _ in chosen) == ["dev-pr-8", "dev-pr-9"]


def test_an_environment_created_after_the_list_was_taken_is_kept() -> None:
    """The sweep's list comes from an earlier job: a PR opened since is not in it, and its
    environment, created since, is not swept as not open."""
    listed = NOW - timedelta(minutes=20)
    stacks = FakeStacks(
        stacks={
            "dev-pr-8": {"createdAt": (NOW - timedelta(minutes=5)).isoformat()},
            "dev-pr-7": {"createdAt": (NOW - timedelta(hours=2)).isoformat()},
        }
    )
    chosen = pr_env.sweep(stacks, {}, timedelta(hours=72), NOW, listed_at=listed)
    assert [(s.name, r) for s, r in chosen] == [("dev-pr-7", SweepReason.UNKNOWN)]


def test_an_open_pr_without_the_label_counts_as_closed() -> None:
    text = json.dumps(
        [
            {"number": 1, "state": "OPEN", "labels": [{"name": "PR-Environment"}]},
            {"number": 2, "state": "OPEN", "labels": [{"name": "bug"}]},
        ]
    )
    assert pr_env.read_pull_requests(text, "pr-environment") == {
        1: PrState.OPEN,
        2: PrState.CLOSED,
    }
    with pytest.raises(PrEnvironmentError, match="needs its labels"):
        pr_env.read_pull_requests('[{"number": 1, "state": "OPEN"}]', "pr-environment")


def test_githubs_pull_request_list_is_read_strictly() -> None:
    text = json.dumps(
        [
            {"number": 1, "state": "OPEN"},
            {"number": 2, "state": "MERGED"},
            {"number": 3, "state": "CLOSED"},
        ]
    )
    assert pr_env.read_pull_requests(text) == {
        1: PrState.OPEN,
        2: PrState.CLOSED,
        3: PrState.CLOSED,
    }
    for bad in (
        "{",
        '{"number": 1}',
        '[{"number": "1", "state": "OPEN"}]',
        '[{"number": 1, "state": "DRAFT"}]',
    ):
        with pytest.raises(PrEnvironmentError):
            pr_env.read_pull_requests(bad)


def test_the_command_prints_the_url_and_writes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    stacks = FakeStacks()
    url_file = tmp_path / "url"
    args = argparse.Namespace(
        action="up", pr=5, image=DIGEST, url_file=url_file, description_file=None
    )
    assert pr_command.run(args, pr_command.Ports(stacks, FakeRules(), FakeBase())) == Exit.OK
    assert url_file.read_text() == "http://pr-5.pr.dev.example.com\n"
    assert "created PR 5's environment" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["pr-env", "up", "--pr", "0", "--image", DIGEST], "a pull request's number"),
        (["pr-env", "up", "--pr", "7"], "--image"),
        (["pr-env", "sweep", "--pull-requests", "x.json", "--max-age-hours", "0"], "at least 1"),
        (["pr-env", "teleport"], "invalid choice"),
        (["pr-env", "sweep", "--pull-requests", "x.json", "--listed-at", "12:00"], "its zone"),
    ],
)
def test_bad_options_exit_2_and_say_why(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == Exit.BAD_INPUT
    assert said in capsys.readouterr().err


OTHER = "registry.example.com/web@sha256:" + "a" * 64  # another build of the same repository


@pytest.mark.parametrize(
    ("description", "image"),
    [
        ("Fixes the login.\n", DIGEST),
        (f"Fixes the login.\r\n\r\nPR-Environment-Image: {OTHER}\r\n", OTHER),
        (f"pr-environment-image: {DIGEST}\n  pr-environment-image:   {OTHER}  \n", OTHER),
        (f"see `pr-environment-image: {OTHER}` below\n", DIGEST),  # not a line of its own
    ],
    ids=["none", "named", "last-wins", "inline"],
)
def test_the_description_may_name_the_image(description: str, image: str, tmp_path: Path) -> None:
    import argparse

    text = tmp_path / "description.txt"
    text.write_text(description)
    stacks = FakeStacks()
    args = argparse.Namespace(action="up", pr=5, image=DIGEST, url_file=None, description_file=text)
    pr_command.run(args, pr_command.Ports(stacks, FakeRules(), FakeBase()))
    assert stacks.configs["dev-pr-5"]["switchyard-pr:image"] == image


@pytest.mark.parametrize(
    "named",
    [
        "web:latest",
        "web@sha256:abc; rm -rf /",
        "",
        "evil.example.com/web@sha256:" + "b" * 64,  # a digest, but of another repository
    ],
)
def test_a_bad_image_in_the_description_is_refused_naming_the_line(
    named: str, tmp_path: Path
) -> None:
    import argparse

    text = tmp_path / "description.txt"
    text.write_text(f"pr-environment-image: {named}\n")
    stacks, rules = FakeStacks(), FakeRules()
    args = argparse.Namespace(action="up", pr=5, image=DIGEST, url_file=None, description_file=text)
    with pytest.raises(SwitchyardError, match="`pr-environment-image:` line"):
        pr_command.run(args, pr_command.Ports(stacks, rules, FakeBase()))
    assert stacks.calls == [] and rules.asked == []


def test_the_sweep_without_the_pulumi_cli_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` there
    prs = tmp_path / "prs.json"
    prs.write_text("[]")
    assert main(["pr-env", "sweep", "--pull-requests", str(prs)]) == Exit.UNAVAILABLE
    assert "the Pulumi CLI is not on PATH" in capsys.readouterr().err


def test_up_without_a_region_is_bad_input_and_calls_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert main(["pr-env", "up", "--pr", "7", "--image", DIGEST]) == Exit.BAD_INPUT
    assert "give --region or set AWS_REGION" in capsys.readouterr().err


def test_an_unreadable_pull_request_list_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse

    args = argparse.Namespace(
        action="sweep",
        pull_requests=tmp_path / "missing.json",
        max_age_hours=72,
        label=None,
        listed_at=None,
    )
    with pytest.raises(SwitchyardError, match="cannot read --pull-requests"):
        pr_command.run(args, pr_command.Ports(FakeStacks(), FakeRules()))


class AnsweringElb:
    """An ELBv2 client's answers for one load balancer, as DescribeListeners, DescribeRules,
    DescribeTargetGroups and DescribeAccountLimits give them (the limits' names as the API
    reference's Limit lists them: rules-per-application-load-balancer,
    target-groups-per-application-load-balancer)."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits

    def describe_listeners(self, **given: Any) -> dict[str, Any]:
        balancer = "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/dev/1"
        return {"Listeners": [{"ListenerArn": LISTENER, "LoadBalancerArn": balancer}]}

    def describe_rules(self, **given: Any) -> dict[str, Any]:
        rules = [{"Priority": str(p)} for p in range(1, 121)] + [{"Priority": "default"}]
        return {"Rules": rules}

    def describe_target_groups(self, **given: Any) -> dict[str, Any]:
        return {"TargetGroups": [{"TargetGroupArn": f"tg/{i}"} for i in range(40)]}

    def describe_account_limits(self) -> dict[str, Any]:
        return {"Limits": [{"Name": k, "Max": str(v)} for k, v in self.limits.items()]}


def test_a_raised_rules_quota_is_the_accounts_not_the_default() -> None:
    raised = {
        "rules-per-application-load-balancer": 200,
        "target-groups-per-application-load-balancer": 100,
    }
    room = pr_env.ElbListenerRules(AnsweringElb(raised)).room(LISTENER)
    assert room == Room(rules=120, max_rules=200, target_groups=40, max_target_groups=100)
    assert room.problem() is None
    defaults = pr_env.ElbListenerRules(AnsweringElb({})).room(LISTENER)
    assert defaults.max_rules == 100 and "120 of 100 rules" in str(defaults.problem())

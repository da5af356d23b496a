"""``python -m delivery pr-env``: create or update, destroy, and sweep PR environments."""

from __future__ import annotations

import argparse
import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from delivery.errors import BadRequest, Exit
from delivery.plans.moments import aware_moment
from delivery.plans.pr_environments import (
    DEFAULT_BASE_PARAMETER,
    Room,
    image_named_in,
    image_problem,
)
from delivery.release import pr_environments as pr_env

DEFAULT_MAX_AGE_HOURS = 72
DESCRIPTION = """\
Environments per pull request in dev's cluster and on dev's load balancer
(pr/Pulumi.yaml, one stack dev-pr-<n> each), through the Automation API:
  up       create or update PR <n>'s environment with an image; prints its URL
  destroy  destroy it and remove its stack (nothing there is not an error)
  sweep    destroy every environment whose PR is not open, or that is older
           than --max-age-hours
"""


def add_parser(commands: Any, epilog: str) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = commands.add_parser(
        "pr-env",
        help="create, update, destroy and sweep environments per pull request",
        description=DESCRIPTION,
        epilog=epilog,
        formatter_class=formatter,
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--secrets-provider",
        default=os.environ.get("SWITCHYARD_PR_SECRETS_PROVIDER"),
        help="secrets provider of new PR stacks, a key of their own (never dev's), e.g. "
        "awskms://alias/switchyard-dev-pr-state "
        "(default: $SWITCHYARD_PR_SECRETS_PROVIDER)",
    )

    def action(name: str, summary: str) -> argparse.ArgumentParser:
        found: argparse.ArgumentParser = actions.add_parser(
            name, parents=[common], help=summary, epilog=epilog, formatter_class=formatter
        )
        return found

    up = action("up", "create or update a PR's environment")
    up.add_argument("--pr", type=_pr, required=True, help="the pull request's number")
    up.add_argument("--image", required=True, help="its image by digest: <name>@sha256:<hex>")
    up.add_argument("--url-file", type=Path, help="also write the URL to this file")
    up.add_argument(
        "--description-file",
        type=Path,
        help="the pull request's description: a line `pr-environment-image: <image by digest>` "
        "there replaces --image",
    )
    up.add_argument(
        "--base-parameter",
        default=DEFAULT_BASE_PARAMETER,
        help=f"the SSM parameter dev writes its base to (default: {DEFAULT_BASE_PARAMETER})",
    )
    up.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        help="dev's region (default: $AWS_REGION, as configure-aws-credentials sets it)",
    )
    destroy = action("destroy", "destroy a PR's environment")
    destroy.add_argument("--pr", type=_pr, required=True, help="the pull request's number")
    sweep = action("sweep", "destroy those whose PR is not open or labelled, or too old")
    sweep.add_argument(
        "--pull-requests",
        type=Path,
        required=True,
        help="the open pull requests: JSON of "
        "`gh pr list --state open --limit 10000 --json number,state,labels`",
    )
    sweep.add_argument(
        "--listed-at",
        type=_moment,
        help="when the list was taken, ISO 8601 with its zone (default: now): an environment "
        "created since may belong to a PR opened since, and is kept",
    )
    sweep.add_argument(
        "--label",
        help="an open PR without this label counts as closed (the list then needs labels)",
    )
    sweep.add_argument(
        "--max-age-hours",
        type=_hours,
        default=DEFAULT_MAX_AGE_HOURS,
        help=f"destroy environments older than this (default: {DEFAULT_MAX_AGE_HOURS})",
    )


def _pr(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a pull request's number, such as 42; got {text!r}")
    return int(text)


def _moment(text: str) -> datetime:
    moment = aware_moment(text)
    if moment is None:
        raise argparse.ArgumentTypeError(
            f"a time with its zone, such as 2026-12-07T12:00:00Z; got {text!r}"
        )
    return moment


def _hours(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of hours, at least 1; got {text!r}")
    return int(text)


@dataclass(frozen=True)
class Ports:
    stacks: pr_env.PrStacks
    rules: pr_env.ListenerRules
    base: pr_env.PrBaseSource | None = None  # `up` only


def run(args: argparse.Namespace, ports: Ports | None = None) -> int:
    ports = ports or _aws_ports(args)
    stacks = ports.stacks
    if args.action == "up":
        assert ports.base is not None
        image = _image(args.image, args.description_file)
        done = pr_env.up(args.pr, image, stacks, ports.rules, ports.base)
        verb = "created" if done.created else "updated"
        print(f"{verb} PR {args.pr}'s environment (stack {done.stack}): {done.url}")
        if args.url_file:
            args.url_file.write_text(done.url + "\n")
        return int(Exit.OK)
    if args.action == "destroy":
        pr_env.destroy(args.pr, stacks)
        return int(Exit.OK)
    try:
        text = args.pull_requests.read_text()
    except OSError as exc:
        raise BadRequest(f"cannot read --pull-requests {args.pull_requests}: {exc}") from exc
    prs = pr_env.read_pull_requests(text, args.label)
    chosen = pr_env.sweep(
        stacks,
        prs,
        timedelta(hours=args.max_age_hours),
        datetime.now(UTC),
        listed_at=args.listed_at,
    )
    print(f"swept {len(chosen)} PR environment(s)")
    return int(Exit.OK)


def _image(default: str, description_file: Path | None) -> str:
    if description_file is None:
        return default
    try:
        named = image_named_in(description_file.read_text())
    except OSError as exc:
        raise BadRequest(f"cannot read --description-file {description_file}: {exc}") from exc
    if named is None:
        return default
    problem = image_problem(named)
    repository, default_repository = named.partition("@")[0], default.partition("@")[0]
    if not problem and repository != default_repository:
        # the description picks code that runs in dev's VPC: only builds of the app's own
        # repository (its pipeline's scanned pushes), never an image from anywhere
        problem = f"must be an image of {default_repository}, got one of {repository}"
    if problem:
        raise BadRequest(
            f"the pull request's description names an image on its `pr-environment-image:` "
            f"line: {problem}; fix that line or remove it"
        )
    return named


def _aws_ports(args: argparse.Namespace) -> Ports:
    from delivery.release.pr_stacks import AutomationPrStacks

    base = None
    if args.action == "up":
        if not args.region:
            raise BadRequest("pr-env up needs dev's region: give --region or set AWS_REGION")
        import boto3

        ssm = boto3.client("ssm", region_name=args.region)
        base = pr_env.SsmPrBase(ssm, args.base_parameter)
    return Ports(AutomationPrStacks(args.secrets_provider), _RulesInTheListenersRegion(), base)


class _RulesInTheListenersRegion:
    """ELBv2 in the listener's own region (an ARN's fourth field)."""

    def priorities(self, listener_arn: str) -> set[int]:
        return self._rules(listener_arn).priorities(listener_arn)

    def room(self, listener_arn: str) -> Room:
        return self._rules(listener_arn).room(listener_arn)

    @staticmethod
    def _rules(listener_arn: str) -> pr_env.ElbListenerRules:
        return pr_env.ElbListenerRules(_elbv2(listener_arn.split(":")[3]))


@functools.cache
def _elbv2(region: str) -> Any:
    """One client per region: `up` asks for the room, then the priorities."""
    import boto3

    return boto3.client("elbv2", region_name=region)

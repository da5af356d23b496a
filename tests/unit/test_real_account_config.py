"""Configuration a real account or cluster refuses, judged from the facts it is refused by:
EC2's instance types, the EKS node AMI's kubelet reserve, the HPA's tolerance, an account's
one OIDC provider."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from delivery.config.accounts import check_sibling_stacks
from delivery.config.instance_types import TABLE, architecture_by_name, lookup
from delivery.config.settings import load_settings
from delivery.config.stackfile import load_stack, stack_config
from delivery.errors import ConfigError
from tests.instance_types_source import moto_table
from tests.unit.test_settings import problems_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_vendored_table_is_what_the_pinned_moto_ships() -> None:
    assert json.loads(TABLE.read_text()) == moto_table(), (
        "rewrite it: python -m tests.instance_types_source"
    )


def test_the_naming_rule_names_every_known_types_architecture() -> None:
    table = moto_table()["types"]
    wrong = [
        name
        for name, (architectures, *_) in table.items()
        if architecture_by_name(name) not in architectures
        and not any(a.endswith("_mac") for a in architectures)
    ]
    assert not wrong
    assert len(table) > 1000


def test_a_nodes_room_follows_nodeadms_formula() -> None:
    # m5.large: 3 ENIs of 10 addresses, 29 pods (eni-max-pods.txt); 2 vCPUs keep 70m
    # (6% + 1%); 8192 MiB keep 11 x 29 + 255 and the 100Mi eviction threshold.
    node = lookup("m5.large")
    assert node is not None
    assert (node.max_pods, node.allocatable_millicores, node.allocatable_mib) == (29, 1930, 7518)
    big = lookup("m5.24xlarge")  # 96 vCPUs: 60 + 10 + 10 + 230 = 310m kept; 15 ENIs x 50
    assert big is not None
    assert (big.max_pods, big.allocatable_millicores) == (737, 95_690)


def test_a_type_too_small_for_the_pods_cpu_is_refused_naming_what_is_left() -> None:
    reason = problems_for(
        nodeInstanceTypes=["t3.small"], cpuRequestMillicores=1800, cpuLimitMillicores=2000
    )["switchyard:nodeInstanceTypes"]
    assert "leaves 1630m CPU" in reason
    assert "cpuRequestMillicores (1800)" in reason


def test_a_type_too_small_for_the_pods_memory_is_refused() -> None:
    reason = problems_for(
        nodeInstanceTypes=["t3.small"], memoryRequestMiB=1500, memoryLimitMiB=2048
    )["switchyard:nodeInstanceTypes"]
    assert "leaves 1419 MiB" in reason


def test_a_type_that_just_fits_is_accepted() -> None:
    assert "switchyard:nodeInstanceTypes" not in _problems_or_none(
        nodeInstanceTypes=["t3.small"], memoryRequestMiB=1419, memoryLimitMiB=2048
    )


def test_a_type_ec2_sells_only_on_demand_is_refused_as_spot() -> None:
    only_on_demand = next(
        name
        for name, row in moto_table()["types"].items()
        if "x86_64" in row[0] and "spot" not in row[5] and row[3] * (row[4] - 1) + 2 > 4
    )
    reason = problems_for(stack_config("dev"), nodeInstanceTypes=[only_on_demand])[
        "switchyard:nodeInstanceTypes"
    ]
    assert "does not sell as spot capacity" in reason


def test_the_cpu_alarm_just_above_the_autoscalers_tolerance_is_accepted() -> None:
    # staging: request 250m, target 60% (150m), tolerance 10%: 165m; limit 500m, so 34% is 170m.
    assert "switchyard:cpuPercent" not in _problems_or_none(cpuPercent=34)
    assert "switchyard:cpuPercent" in _problems_or_none(cpuPercent=33)


def _problems_or_none(**overrides: Any) -> dict[str, str]:
    """The problems of staging with these overrides; empty when it loads."""
    raw = {**stack_config("staging"), **{f"switchyard:{k}": v for k, v in overrides.items()}}
    try:
        load_settings(raw, "test")
    except ConfigError as failure:
        return {p.key: p.reason for p in failure.problems}
    return {}


def _project(tmp_path: Path) -> Path:
    for stack in ("dev", "staging", "prod"):
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path)
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path)
    return tmp_path


def _without_provider(path: Path) -> None:
    text = path.read_text()
    path.write_text(re.sub(r"(?m)^  switchyard:githubOidcProviderArn: .*\n", "", text))


def test_the_committed_stacks_create_the_accounts_oidc_provider_once() -> None:
    for stack in ("dev", "staging", "prod"):
        check_sibling_stacks(load_stack(stack), ROOT)
    creators = [
        s for s in ("dev", "staging", "prod") if not load_stack(s).security.github_oidc_provider_arn
    ]
    assert creators == ["prod"]


def test_two_stacks_of_one_account_that_would_each_create_the_provider_are_refused(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    _without_provider(root / "Pulumi.staging.yaml")
    with pytest.raises(ConfigError) as failure:
        check_sibling_stacks(load_stack("staging", root), root)
    (problem,) = failure.value.problems
    assert problem.key == "switchyard:githubOidcProviderArn"
    assert "stack 'prod', which deploys to the same account 123456789012" in problem.reason
    check_sibling_stacks(load_stack("dev", root), root)  # dev still names prod's provider


def test_stacks_in_different_accounts_each_create_their_own(tmp_path: Path) -> None:
    root = _project(tmp_path)
    staging = root / "Pulumi.staging.yaml"
    _without_provider(staging)
    staging.write_text(staging.read_text().replace("123456789012", "210987654321"))
    check_sibling_stacks(load_stack("staging", root), root)
    check_sibling_stacks(load_stack("prod", root), root)


def test_prod_is_never_refused_for_a_siblings_mistake(tmp_path: Path) -> None:
    """A typo in dev must not stop prod's release or rollback `up`: dev is refused instead."""
    root = _project(tmp_path)
    _without_provider(root / "Pulumi.dev.yaml")
    check_sibling_stacks(load_stack("prod", root), root)
    with pytest.raises(ConfigError, match="'prod' is prod, which creates it"):
        check_sibling_stacks(load_stack("dev", root), root)


def test_two_non_prod_stacks_that_would_both_create_it_are_both_refused(tmp_path: Path) -> None:
    root = _project(tmp_path)
    for stack in ("dev", "staging"):
        _without_provider(root / f"Pulumi.{stack}.yaml")
    prod = root / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text().replace("123456789012", "210987654321"))
    for stack in ("dev", "staging"):
        with pytest.raises(ConfigError, match="let one stack create it"):
            check_sibling_stacks(load_stack(stack, root), root)


def test_every_type_ec2_names_passes_the_name_check() -> None:
    """Metal sizes carry a hyphen (m7i.metal-24xl): the name rule must take every name the
    table and EC2's API model hold; only the facts about a type may refuse it."""
    names = sorted({*moto_table()["types"], *moto_table()["apiModel"]})
    metal = [n for n in names if ".metal-" in n]
    assert metal
    reasons = {
        name: _problems_or_none(nodeInstanceTypes=[name]).get("switchyard:nodeInstanceTypes", "")
        for name in [*names[:: max(1, len(names) // 300)], *metal]
    }
    assert not [n for n, r in reasons.items() if "must list EC2 instance types" in r]


def test_accelerated_and_grace_types_are_refused_for_the_standard_ami() -> None:
    for name, reason in {
        "g5.xlarge": "an accelerated type (gpu)",
        "inf2.xlarge": "an accelerated type (inference/neuron)",
        "p6e-gb200.36xlarge": "a type for arm64",
    }.items():
        assert reason in problems_for(nodeInstanceTypes=[name])["switchyard:nodeInstanceTypes"]

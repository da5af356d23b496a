"""Reads the stack's configuration through Pulumi's runtime into the one typed model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from delivery.config.accounts import check_sibling_stacks
from delivery.config.keys import secret_command
from delivery.config.model import PROJECT, Settings
from delivery.config.regions import zone_count_problem
from delivery.config.settings import SECRET_VALUES_KEY, load_settings
from delivery.config.stackfile import stack_secret_values
from delivery.config.workloads import upgrade_problem
from delivery.errors import ConfigError, Problem
from delivery.release.truth import ReleaseState, stale_problems, state_folder, state_parameter

OPT_IN = "opt-in-status"  # EC2's filter; Availability Zones are the opt-in-not-required ones


@dataclass(frozen=True)
class StackConfig:
    settings: Settings
    secret_values: dict[str, pulumi.Output[str]]  # Pulumi secrets, never plain text
    zone_names: tuple[str, ...]  # the region's available zones, as the region answered


def read_stack_config() -> StackConfig:
    """Every config value of this stack, validated before any resource is registered.

    Values go over as Pulumi holds them (text, JSON text for arrays), so one ConfigError lists
    every bad or misspelt key instead of the first typed getter failing alone.
    """
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    stack = pulumi.get_stack()
    settings = load_settings(raw, stack)
    # No plain text beside secure values. The CLI runs ``main: infra/`` inside infra/, so the
    # stack file is read from the project root the engine names; a missing file stops the run.
    root = Path(pulumi.get_root_directory())
    stack_secret_values(stack, settings, root)
    check_sibling_stacks(settings, root)
    secret_values = _secret_values(settings, raw.get(SECRET_VALUES_KEY), stack)
    zones = _available_zones(settings)
    _check_release_state(settings, raw)
    _check_cluster_upgrade(settings)
    return StackConfig(settings, secret_values, zones)


def _check_cluster_upgrade(settings: Settings) -> None:
    """EKS moves a cluster one minor version at a time and never back (UpdateClusterVersion;
    "Update existing cluster to new Kubernetes version", EKS user guide): refuse any other
    kubernetesVersion change before anything is registered, rather than fail mid-update."""
    name = settings.workload.cluster_name
    if name not in (aws.eks.get_clusters().names or []):
        return  # the first deploy creates it at the configured version
    running = aws.eks.get_cluster(name=name).version
    wanted = settings.cluster.kubernetes_version.value
    problem = upgrade_problem(running, wanted)
    if problem:
        raise ConfigError(
            [Problem(f"{PROJECT}:kubernetesVersion", problem)], source=f"stack {settings.stack!r}"
        )


def _check_release_state(settings: Settings, raw: dict[str, Any]) -> None:
    """Refuse a stack file whose release-owned keys disagree with the release state the driver
    published (delivery.release.truth): a clean checkout of ``main`` is older than the last
    release CI ran. None before the first release: a first deploy reads an empty folder (the
    by-path read answers empty lists, never ParameterNotFound; Terraform's
    aws_ssm_parameters_by_path, which pulumi-aws 7 wraps)."""
    environment = settings.environment.value
    parameter = state_parameter(environment, settings.stack)
    found = aws.ssm.get_parameters_by_path(path=state_folder(environment), with_decryption=False)
    named = dict(zip(found.names or [], found.values or [], strict=False))
    if parameter not in named:
        return
    state = ReleaseState.decode(named[parameter], parameter)
    problems = stale_problems(raw, state, settings.stack, parameter)
    if problems:
        raise ConfigError(problems, source=f"stack {settings.stack!r}")


def _available_zones(settings: Settings) -> tuple[str, ...]:
    """Ask the region which Availability Zones it has (the default provider reads aws:region,
    as the explicit one does), and stop cleanly when azCount asks for more. Opted-in Local and
    Wavelength Zones are listed as available too; they are not Availability Zones."""
    only_zones = aws.GetAvailabilityZonesFilterArgs(name=OPT_IN, values=["opt-in-not-required"])
    names = tuple(aws.get_availability_zones(state="available", filters=[only_zones]).names)
    problem = zone_count_problem(settings.network.az_count, settings.region, names)
    if problem:
        raise ConfigError(
            [Problem(f"{PROJECT}:azCount", problem)], source=f"stack {settings.stack!r}"
        )
    return names


def _secret_values(settings: Settings, raw: Any, stack: str) -> dict[str, pulumi.Output[str]]:
    needed = settings.secret_value_keys
    if raw is not None and not runtime_config.is_config_secret(SECRET_VALUES_KEY):
        raise ConfigError(
            [
                Problem(
                    SECRET_VALUES_KEY,
                    "is stored in plain text; remove it and set each value with "
                    f"`{secret_command('<name>')}`",
                )
            ],
            source=f"stack {stack!r}",
        )
    values = _decoded(raw, stack)
    problems = [
        Problem(f"{SECRET_VALUES_KEY}.{key}", f"is missing; set it with `{secret_command(key)}`")
        for key in needed
        if not isinstance(values.get(key), str) or not values[key]
    ]
    if problems:
        raise ConfigError(problems, source=f"stack {stack!r}")
    return {key: pulumi.Output.secret(values[key]) for key in needed}


def _decoded(raw: Any, stack: str) -> dict[str, Any]:
    """``secretValues`` as an object of named texts; set as one scalar or a list, it is not."""
    if raw is None:
        return {}
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        values = None  # one scalar: `pulumi config set --secret` without --path
    if isinstance(values, dict) and all(isinstance(v, str) for v in values.values()):
        return values
    reason = (
        "must be an object of named text values, one per entry; remove it with "
        f"`pulumi config rm {SECRET_VALUES_KEY}` and set each value with "
        f"`{secret_command('<name>')}`"
    )
    raise ConfigError([Problem(SECRET_VALUES_KEY, reason)], source=f"stack {stack!r}")

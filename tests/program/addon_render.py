"""What the CloudWatch agent operator does with the add-on's configuration, copied from the
pinned sources so a test can ask "is anything injected into this namespace?":

- Helm's merge of configuration values over the chart's values.yaml: maps merge key by key,
  anything else (lists included) is replaced (helm "Values Files" docs; chart
  amazon-cloudwatch-observability-6.4.0, commit f4ad2e3abc4444162a74684aa69058a73bb399f6);
- the chart's ``manager.modify-auto-monitor-config`` (templates/_helpers.tpl): a
  ``monitorAllServices`` that is set stays as set (the default agent carries Application
  Signals, so ``hasAppSignals`` is true and only a missing key is defaulted);
- the operator's ``Monitor.MutateObject`` (v3.6.0 pkg/instrumentation/auto/monitor.go and
  config.go): languages = custom selector's (Deployments by namespace/name) + every configured
  language when auto-monitored (``monitorAllServices`` and a Service selecting the pods, outside
  the operator's own excluded namespaces), minus the languages whose ``exclude`` lists the
  namespace or the Deployment. A Deployment given no language gets no inject annotation, and the
  pod webhook injects nothing into its pods.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from components.addons import AUTO_INSTRUMENTED_LANGUAGES

CHART_VALUES = (
    Path(__file__).resolve().parents[2]
    / "components/vendored/amazon-cloudwatch-observability-chart-6.4.0-values.yaml"
)


def chart_defaults() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(CHART_VALUES.read_text())
    return values


def helm_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# Declared only as a comment in values.yaml ("monitorAllServices: true; Defaults to true for
# regions where AppSignals is supported"), read by _helpers.tpl (hasKey) and by the operator's
# MonitorConfig (json "monitorAllServices").
COMMENTED_KEYS = frozenset({"manager.applicationSignals.autoMonitor.monitorAllServices"})


def unknown_keys(override: dict[str, Any], base: dict[str, Any], at: str = "") -> list[str]:
    """Paths of ``override`` the chart's values do not declare (a typo Helm would ignore)."""
    found = []
    for key, value in override.items():
        path = f"{at}.{key}" if at else key
        if path in COMMENTED_KEYS:
            continue
        if key not in base:
            found.append(path)
        elif isinstance(value, dict) and isinstance(base[key], dict) and base[key]:
            # an empty map in values.yaml ({}) is free-form: annotations, a budget's spec
            found += unknown_keys(value, base[key], path)
    return found


def injected_languages(
    configuration: dict[str, Any], namespace: str, deployment: str, selected_by_service: bool
) -> set[str]:
    """The languages the operator would inject into ``deployment``'s pods in ``namespace``."""
    values = helm_merge(chart_defaults(), configuration)
    monitor = values["manager"]["applicationSignals"]["autoMonitor"]
    monitor.setdefault("monitorAllServices", True)  # the region supports Application Signals
    named = f"{namespace}/{deployment}"
    custom = monitor.get("customSelector") or {}
    languages = {
        lang
        for lang in AUTO_INSTRUMENTED_LANGUAGES
        if named in ((custom.get(lang) or {}).get("deployments") or [])
    }
    if monitor["monitorAllServices"] and selected_by_service:
        languages |= set(monitor.get("languages") or [])
    exclude = monitor.get("exclude") or {}
    for lang in AUTO_INSTRUMENTED_LANGUAGES:
        resources = exclude.get(lang) or {}
        if namespace in (resources.get("namespaces") or []) or named in (
            resources.get("deployments") or []
        ):
            languages.discard(lang)
    return languages


CONTROLLER_CHART_VALUES = CHART_VALUES.with_name(
    "aws-load-balancer-controller-chart-3.5.0-values.yaml"
)


def controller_chart_defaults() -> dict[str, Any]:
    """aws/eks-charts stable/aws-load-balancer-controller/values.yaml at chart 3.5.0."""
    values: dict[str, Any] = yaml.safe_load(CONTROLLER_CHART_VALUES.read_text())
    return values

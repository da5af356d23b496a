"""Keys each valid alone that contradict each other."""

from __future__ import annotations

from typing import Final

from delivery.config.model import (
    AlarmThresholds,
    AlertingSettings,
    SecretsSettings,
    ServiceSettings,
)
from delivery.config.reader import ConfigReader

# The HPA leaves replicas alone while usage / target stays within 1 +- this (kube-controller-
# manager's --horizontal-pod-autoscaler-tolerance, default 0.1: Kubernetes docs, "Horizontal
# Pod Autoscaling", algorithm details), so pods run up to 10% above the target unscaled.
HPA_TOLERANCE: Final = 0.1


def check_webhook_keys(
    reader: ConfigReader, alerting: AlertingSettings, secrets: SecretsSettings | None
) -> None:
    """A webhook's URL and an application secret read the same secretValues entry when they
    share a name, so the pods would get the pager's URL (or the pager the secret)."""
    if secrets is None:
        return
    shared = sorted({w.endpoint for w in alerting.webhooks} & set(secrets.names))
    if shared:
        reader.fail(
            "alertWebhooks",
            f"uses the secretValues key {', '.join(shared)}, which secretNames also lists: "
            "the URL would become an application secret the pods read; give the webhook "
            "its own key, e.g. pager-webhook-url",
        )


def check_cpu_alarm_above_autoscaler(
    reader: ConfigReader, alarms: AlarmThresholds | None, service: ServiceSettings | None
) -> None:
    """The CPU rollback alarm (a percentage of the limit) must sit above where the autoscaler
    keeps the pods (its target, a percentage of the request, plus its tolerance), or it fires
    whenever load rises faster than new pods start."""
    if alarms is None or service is None:
        return
    alarm_millicores = alarms["cpuPercent"] * service.cpu_limit_millicores / 100
    held_millicores = (
        service.cpu_target_percent * service.cpu_request_millicores / 100 * (1 + HPA_TOLERANCE)
    )
    if alarm_millicores <= held_millicores:
        reader.fail(
            "cpuPercent",
            f"is {alarms['cpuPercent']}% of the {service.cpu_limit_millicores}m limit "
            f"({alarm_millicores:g}m), at or below the {held_millicores:g}m the autoscaler lets "
            f"pods run at (autoscaleCpuPercent {service.cpu_target_percent}% of the "
            f"{service.cpu_request_millicores}m request, plus its 10% tolerance): every "
            "scale-up would roll the release back; raise cpuPercent or cpuLimitMillicores, "
            "or lower autoscaleCpuPercent",
        )

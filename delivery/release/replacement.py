"""Which changed inputs force a new resource, judged without a provider: the offline preview.

AWS resources: pulumi-aws bridges the Terraform AWS provider, which replaces a resource when an
input marked ForceNew (or RequiresReplace) changes. ``terraform_force_new.json`` holds, per
Pulumi type, every top-level input of the Terraform resource with whether it forces a new one,
the nested inputs that do, and those that do only in some cases ("conditional", with why: a
CustomizeDiff), read from hashicorp/terraform-provider-aws (its "source" names the commits).

Kubernetes objects: the fields pulumi-kubernetes replaces on (``forceNewProperties`` in its
provider/pkg/provider/diff.go): ``.metadata.name`` and ``.metadata.namespace`` of every object,
and per kind the fields below. A type with no rule is "not judged", never "an update".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final

CONDITIONAL: Final = "conditional"


@cache
def terraform_rules() -> Mapping[str, Mapping[str, Any]]:
    """Per Pulumi type, the Terraform resource's inputs and which force a new resource."""
    text = (resources.files("delivery.release") / "terraform_force_new.json").read_text()
    rules: Mapping[str, Mapping[str, Any]] = json.loads(text)["types"]
    return rules


# pulumi-kubernetes' forceNewProperties (provider/pkg/provider/diff.go at 94977969): by API
# group ("" and "core" alike), version and kind; every object adds .metadata.name and
# .metadata.namespace. A Secret replaces on .type, .stringData and .data, a ConfigMap on .data
# and .binaryData (the provider's enableSecretMutable and enableConfigMapMutable are false
# unless set: this assumes the defaults).
_METADATA: Final = (".metadata.name", ".metadata.namespace")
_SELECTOR: Final = (
    ".spec.selector",
    ".spec.selector.matchExpressions",
    ".spec.selector.matchLabels",
)
_CONTAINER_FIELDS: Final = (
    "args",
    "command",
    "env",
    "image",
    "imagePullPolicy",
    "lifecycle",
    "livenessProbe",
    "ports",
    "readinessProbe",
    "resources",
    "securityContext",
    "stdin",
    "stdinOnce",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "tty",
    "volumeDevices",
    "volumeMounts",
    "workingDir",
)
_POD_FIELDS: Final = (
    "affinity",
    "automountServiceAccountToken",
    "dnsConfig",
    "dnsPolicy",
    "enableServiceLinks",
    "hostAliases",
    "hostIPC",
    "hostNetwork",
    "hostPID",
    "hostname",
    "imagePullSecrets",
    "nodeName",
    "nodeSelector",
    "overhead",
    "preemptionPolicy",
    "priority",
    "priorityClassName",
    "readinessGates",
    "restartPolicy",
    "runtimeClassName",
    "schedulerName",
    "securityContext",
    "serviceAccount",
    "serviceAccountName",
    "shareProcessNamespace",
    "subdomain",
    "terminationGracePeriodSeconds",
    "volumes",
)
_POD: Final = (
    *(f".spec.{field}" for field in _POD_FIELDS),
    *(f".spec.{c}[*].{f}" for c in ("containers", "initContainers") for f in _CONTAINER_FIELDS),
)
_PERSISTENT_VOLUME: Final = tuple(
    f".spec.{source}"
    for source in (
        [
            "awsElasticBlockStore",
            "azureDisk",
            "azureFile",
            "cephfs",
            "cinder",
            "csi",
            "fc",
            "flexVolume",
            "flocker",
            "gcePersistentDisk",
            "glusterfs",
            "hostPath",
            "iscsi",
            "local",
            "nfs",
            "photonPersistentDisk",
            "portworxVolume",
            "quobyte",
            "rbd",
            "scaleIO",
            "storageos",
            "vsphereVolume",
        ]
    )
)
_STATEFUL_SET: Final = (
    ".spec.podManagementPolicy",
    ".spec.revisionHistoryLimit",
    ".spec.serviceName",
    ".spec.volumeClaimTemplates",
    *_SELECTOR,
)
_JOB: Final = (".spec.completions", ".spec.parallelism", ".spec.template", *_SELECTOR)
_ROLE_BINDING: Final = {"ClusterRoleBinding": (".roleRef",), "RoleBinding": (".roleRef",)}
_APPS: Final = {"DaemonSet": _SELECTOR, "Deployment": _SELECTOR, "StatefulSet": _STATEFUL_SET}
_CORE: Final = {
    "v1": {
        "PersistentVolume": _PERSISTENT_VOLUME,
        "PersistentVolumeClaim": (
            ".spec.accessModes",
            ".spec.storageClassName",
            ".spec.volumeName",
            *_SELECTOR,
        ),
        "Pod": _POD,
        "ResourceQuota": (".spec.scopes",),
        "Secret": (".type",),
        "Service": (".spec.clusterIP",),
    }
}
KUBERNETES_FORCE_NEW: Final[Mapping[str, Mapping[str, Mapping[str, tuple[str, ...]]]]] = {
    "apps": {
        "v1beta1": {"StatefulSet": _STATEFUL_SET},
        "v1beta2": _APPS,
        "v1": _APPS,
    },
    "core": _CORE,
    "": _CORE,
    "policy": {"v1beta1": {"PodDisruptionBudget": (".spec",)}},
    "rbac.authorization.k8s.io": dict.fromkeys(("v1alpha1", "v1beta1", "v1"), _ROLE_BINDING),
    "storage.k8s.io": {"v1": {"StorageClass": (".parameters", ".provisioner")}},
    "batch": {v: {"Job": _JOB} for v in ("v1beta1", "v1", "v2alpha1")},
}
_SECRET_DATA: Final = (".type", ".stringData", ".data")
_CONFIG_MAP_DATA: Final = (".binaryData", ".data")
_KUBERNETES_OBJECT: Final = "kubernetes:"
_HELM: Final = "kubernetes:helm.sh/"  # a Helm release is no object: no rule


@dataclass(frozen=True)
class Judgement:
    """``replacing``: the changed inputs that force a new resource; ``judged``: whether a rule
    covers the type (False: offline cannot tell an update from a replacement)."""

    replacing: tuple[str, ...]
    judged: bool


def judge(type_: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Judgement:
    rule = terraform_rules().get(type_)
    if rule is not None:
        attributes = rule["attributes"]
        # An input the table does not know (one pulumi-aws added since it was read): whether
        # its change replaces is not known, and the type is listed as not judged.
        known = all(
            name in attributes or name.startswith("__") or old.get(name) == new.get(name)
            for name in {*old, *new}
        )
        return Judgement(_aws_replacing(attributes, old, new), known)
    if type_.startswith(_KUBERNETES_OBJECT) and not type_.startswith(_HELM):
        return Judgement(_kubernetes_replacing(old, new), True)
    return Judgement((), False)


def _aws_replacing(
    attributes: Mapping[str, Mapping[str, Any]], old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[str, ...]:
    """The changed inputs that force a new resource; one that may ("conditional": the provider
    decides from both values) is named so, as offline cannot tell."""
    replacing = []
    for name, attribute in attributes.items():
        if attribute.get("injected"):  # the provider's own `region`: the program never sets it
            continue
        changed = old.get(name) != new.get(name)
        force = attribute.get("forceNew")
        if changed and force is True:
            replacing.append(name)
        elif changed and force == CONDITIONAL:
            replacing.append(f"{name} (may replace)")
        for nested, may in (
            *((n, False) for n in attribute.get("nestedForceNew", ())),
            *((n, True) for n in attribute.get("nestedConditional", ())),
        ):
            path = tuple(nested.split("."))
            if _at(old, path) != _at(new, path):
                replacing.append(f"{nested} (may replace)" if may else nested)
    return tuple(dict.fromkeys(replacing))


def kubernetes_force_new(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields whose change replaces this object, as pulumi-kubernetes' forceNewProperties
    lists them for its group, version and kind."""
    group, _, version = str(manifest.get("apiVersion", "")).rpartition("/")
    kind = str(manifest.get("kind", ""))
    kinds = KUBERNETES_FORCE_NEW.get(group, {}).get(version)
    if kinds is None:
        return _METADATA
    if kind == "Secret":
        return (*_METADATA, *_SECRET_DATA)
    if kind in kinds:
        return (*_METADATA, *kinds[kind])
    if kind == "ConfigMap":
        return (*_METADATA, *_CONFIG_MAP_DATA)
    return _METADATA


def _kubernetes_replacing(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        field.lstrip(".")
        for field in kubernetes_force_new(new)
        if _at(old, _path(field)) != _at(new, _path(field))
    )


def _path(field: str) -> tuple[str, ...]:
    return tuple(field.lstrip(".").split("."))


def _at(inputs: Any, path: Sequence[str]) -> Any:
    """The value at ``path``; a part ending in ``[*]`` is a list whose items' rest is taken."""
    value: Any = inputs
    for index, part in enumerate(path):
        if not isinstance(value, Mapping):
            return value  # a list or a scalar: compared whole, one level up
        if part.endswith("[*]"):
            items = value.get(part[:-3])
            if not isinstance(items, list):
                return items
            return tuple(_at(item, path[index + 1 :]) for item in items)
        value = value.get(part)
    return value

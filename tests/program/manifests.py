"""Kubernetes objects registered under the mock runtime, rendered and validated offline.

Built-in kinds are validated with ``kubernetes-validate`` against the schemas of the cluster's
Kubernetes version (strict: unknown fields are errors, as with `kubectl apply
--validate=strict`); a TargetGroupBinding against the CRD schema of the pinned AWS Load
Balancer Controller (components/vendored), made strict the same way.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from components.cluster import VENDORED

TGB_CRD = VENDORED / "aws-load-balancer-controller-v3.5.0-targetgroupbinding-crd.yaml"


def _strict(schema: Any) -> Any:
    """Close every object schema that lists its properties, as the API server's strict field
    validation does for a structural CRD schema."""
    if isinstance(schema, dict):
        closed = {k: _strict(v) for k, v in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def target_group_binding_schema(version: str) -> dict[str, Any]:
    crd = yaml.safe_load(TGB_CRD.read_text())
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = served["schema"]["openAPIV3Schema"]
    schema["properties"]["metadata"] = {"type": "object"}  # the API server checks metadata
    return dict(_strict(schema))


def validation_errors(manifest: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Every reason the manifest would be rejected; empty when it is valid."""
    if manifest["kind"] == "TargetGroupBinding":
        group, _, version = manifest["apiVersion"].partition("/")
        if group != "elbv2.k8s.aws":
            return [f"unknown group {group}"]
        validator = jsonschema.Draft7Validator(target_group_binding_schema(version))
        return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]
    try:
        kubernetes_validate.validate(manifest, f"{kubernetes_version}.0", strict=True)
    except kubernetes_validate.ValidationError as error:
        return [str(error).splitlines()[0]]
    return []

"""PR preview rendering from engine events built with pulumi.automation.events' own classes,
and the comment trimmed to GitHub's limit without losing a warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation.events import (
    DiffKind,
    EngineEvent,
    OpType,
    PropertyDiff,
    ResourcePreEvent,
    StepEventMetadata,
    StepEventStateMetadata,
)

from delivery.config.model import Colour
from delivery.config.stackfile import load_stack
from delivery.release.preview import (
    COMMENT_LIMIT,
    SECRET_MARK,
    SECRET_SIG,
    UNKNOWN,
    Change,
    PreviewPlan,
    plan_from_events,
    plan_from_graphs,
    render,
    value_changes,
)
from delivery.release.replacement import judge
from tests.unit.test_workflows import NAMES, jobs

URN = "urn:pulumi:prod::switchyard::{type}::{name}"


def step(
    op: OpType,
    type_: str,
    name: str,
    diff: dict[str, DiffKind] | None = None,
    keys: list[str] | None = None,
    protect: bool = False,
) -> EngineEvent:
    urn = URN.format(type=type_, name=name)
    state = StepEventStateMetadata(type_, urn, f"{name}-id", "", "", protect=protect)
    metadata = StepEventMetadata(
        op,
        urn,
        type_,
        provider="",
        old=state if op is not OpType.CREATE else None,
        new=state if op is not OpType.DELETE else None,
        keys=keys,
        diffs=list(diff or {}),
        detailed_diff={k: PropertyDiff(kind, True) for k, kind in (diff or {}).items()},
        # the engine's Logical(): false only for a replacement's create and delete steps
        logical=op not in (OpType.CREATE_REPLACEMENT, OpType.DELETE_REPLACED),
    )
    return EngineEvent(1, 0, resource_pre_event=ResourcePreEvent(metadata))


def events() -> list[EngineEvent]:
    same = [step(OpType.SAME, "aws:ec2/subnet:Subnet", f"subnet-{i}") for i in range(90)]
    return [
        EngineEvent(0, 0),  # events without a resource step are not changes
        step(OpType.SAME, "pulumi:pulumi:Stack", "switchyard-prod"),
        *same,
        step(
            OpType.UPDATE,
            "aws:lb/targetGroup:TargetGroup",
            "traffic-blue",
            {"healthCheck.path": DiffKind.UPDATE, "healthCheck.interval": DiffKind.UPDATE},
        ),
        step(
            OpType.REPLACE,
            "aws:kms/key:Key",
            "secrets-key",
            {"customerMasterKeySpec": DiffKind.UPDATE_REPLACE},
            keys=["customerMasterKeySpec"],
        ),
        step(OpType.DELETE, "aws:secretsmanager/secret:Secret", "secrets-api-key", protect=True),
        step(OpType.DELETE, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarms-old"),
        step(OpType.CREATE, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarms-new"),
    ]


def test_counts_properties_and_loud_warnings_come_from_the_engine_events() -> None:
    plan = plan_from_events("prod", events())
    text = render(plan)

    assert plan.counts == {
        OpType.SAME: 90,
        OpType.UPDATE: 1,
        OpType.REPLACE: 1,
        OpType.DELETE: 2,
        OpType.CREATE: 1,
    }
    assert "+1 ~1 +-1 -2 (pulumi preview)" in text
    assert "> [!CAUTION]" in text
    # the engine's events do not say what holds a resource: every replacement and deletion
    # it reports is loud
    assert "**REPLACES** `aws:kms/key:Key` `secrets-key` because of customerMasterKeySpec" in text
    assert "**DELETES** `aws:secretsmanager/secret:Secret` (protected) `secrets-api-key`" in text
    assert "**DELETES** `aws:cloudwatch/metricAlarm:MetricAlarm` `alarms-old`" in text
    assert "**traffic-blue**: `healthCheck.interval`, `healthCheck.path`" in text


def test_a_step_from_the_clis_json_is_read_the_same_way() -> None:
    raw = {
        "sequence": 7,
        "timestamp": 1764200000,
        "resourcePreEvent": {
            "metadata": {
                "op": "replace",
                "urn": URN.format(type="aws:lb/loadBalancer:LoadBalancer", name="traffic-alb"),
                "type": "aws:lb/loadBalancer:LoadBalancer",
                "provider": "urn:pulumi:prod::switchyard::pulumi:providers:aws::aws::id",
                "old": {"type": "aws:lb/loadBalancer:LoadBalancer", "urn": "u", "protect": True},
                "new": {"type": "aws:lb/loadBalancer:LoadBalancer", "urn": "u", "protect": True},
                "keys": ["internal"],
                "diffs": ["internal"],
                "detailedDiff": {"internal": {"diffKind": "update-replace", "inputDiff": True}},
                "logical": True,
            }
        },
    }
    text = render(plan_from_events("prod", [EngineEvent.from_json(raw)]))

    assert (
        "**REPLACES** `aws:lb/loadBalancer:LoadBalancer` (protected) `traffic-alb` because of "
        "internal" in text
    )


def test_a_live_colour_change_shows_the_cutover_plan() -> None:
    plan = plan_from_events("prod", events())
    plan.live_change = (Colour.BLUE, Colour.GREEN)
    plan.settings = load_stack("prod")
    text = render(plan)

    assert "### Cutover: blue → green" in text
    assert "| 2 | green 50% / blue 50% | 10 min |" in text
    assert "blocks for about **30 min**" in text
    assert "**735 s** (cpu alarm)" in text


def test_a_huge_diff_is_cut_to_githubs_limit_keeping_every_warning() -> None:
    changes = [
        step(
            OpType.UPDATE,
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            f"alarm-{i}",
            {f"dimensions.property-{j}": DiffKind.UPDATE for j in range(12)},
        )
        for i in range(3000)
    ]
    replaced = [
        step(OpType.REPLACE, "aws:lb/targetGroup:TargetGroup", f"group-{i}", keys=["port"])
        for i in range(40)
    ]
    text = render(plan_from_events("prod", [*changes, *replaced]))

    assert len(text) <= COMMENT_LIMIT
    assert all(f"`group-{i}` because of port" in text for i in range(40))
    assert "more change(s) not shown" in text and "printed them all in its log" in text
    assert text.rstrip().endswith("</details>")


def test_warnings_that_alone_overflow_are_cut_with_a_note() -> None:
    replaced = [
        step(OpType.DELETE, "aws:s3/bucket:Bucket", f"bucket-{i:05d}-" + "x" * 80)
        for i in range(1000)
    ]
    text = render(plan_from_events("prod", replaced))

    assert len(text) <= COMMENT_LIMIT
    assert text.startswith("## Pulumi preview: `prod`") and "cut to fit GitHub's 65,536" in text


@pytest.mark.parametrize("limit", [2_000, 10_000])
def test_any_limit_is_respected(limit: int) -> None:
    many = [step(OpType.CREATE, "aws:ec2/subnet:Subnet", f"s-{i}") for i in range(500)]
    assert len(render(plan_from_events("prod", many), limit=limit)) <= limit


def test_offline_graphs_give_creates_deletes_and_changed_inputs() -> None:
    def node(name: str, type_: str, protect: bool = False, **inputs: object) -> dict[str, object]:
        return {
            "type": type_,
            "name": name,
            "inputs": inputs,
            "protect": protect,
            "ignore_changes": ["defaultActions"] if "listener" in name else [],
        }

    base = {
        "a": node("traffic-alb", "aws:lb/loadBalancer:LoadBalancer", True, idleTimeout=60),
        "b": node("secrets-db", "aws:secretsmanager/secret:Secret", True),
        "c": node("traffic-listener", "aws:lb/listener:Listener", defaultActions=[1]),
        "d": node("cutover", "pulumi-python:dynamic:Resource", __provider="old", live="blue"),
    }
    head = {
        "a": node("traffic-alb", "aws:lb/loadBalancer:LoadBalancer", True, idleTimeout=120),
        "c": node("traffic-listener", "aws:lb/listener:Listener", defaultActions=[2]),
        "d": node("cutover", "pulumi-python:dynamic:Resource", __provider="new", live="green"),
        "e": node("alarms-new", "aws:cloudwatch/metricAlarm:MetricAlarm"),
    }
    plan = plan_from_graphs("prod", base, head, "offline")

    assert [(c.op, c.name, c.properties) for c in plan.changes] == [
        (OpType.UPDATE, "traffic-alb", ("idleTimeout",)),
        (OpType.DELETE, "secrets-db", ()),
        (OpType.UPDATE, "cutover", ("live",)),
        (OpType.CREATE, "alarms-new", ()),
    ]
    assert plan.unchanged == 1  # the listener: its actions belong to the cutover
    assert "**DELETES** `aws:secretsmanager/secret:Secret` (protected) `secrets-db`" in render(plan)


# What marocchino/sticky-pull-request-comment (ci.yml, v3.0.5) posts: the body, then its marker
# (src/comment.ts: bodyWithHeader), all of which GitHub counts against the comment's limit.
STICKY_MARKER = "\n<!-- Sticky Pull Request Comment{header} -->"


def sticky_headers() -> list[str]:
    headers = []
    for job in jobs(NAMES["ci"]).values():
        matrix = job.get("strategy", {}).get("matrix", {})
        stacks = matrix.get("stack") or [entry["stack"] for entry in matrix.get("include", [])]
        for stack in stacks:
            for used in job["steps"]:
                if "sticky-pull-request-comment" in str(used.get("uses", "")):
                    header = str(used["with"]["header"])
                    headers.append(header.replace("${{ matrix.stack }}", stack))
    return headers


def test_the_posted_comment_fits_githubs_limit_with_the_sticky_marker() -> None:
    headers = sticky_headers()
    assert "offline-preview-staging" in headers and "preview-prod" in headers
    overflowing = [
        step(OpType.DELETE, "aws:s3/bucket:Bucket", f"bucket-{i:05d}-" + "x" * 80)
        for i in range(1000)
    ]
    huge = [
        step(OpType.UPDATE, "aws:ec2/subnet:Subnet", f"s-{i}", {"tags.x": DiffKind.UPDATE})
        for i in range(5000)
    ]
    for changes in (overflowing, huge):
        text = render(plan_from_events("prod", changes))
        longest = max(len(text + STICKY_MARKER.format(header=h)) for h in headers)
        assert longest <= COMMENT_LIMIT


FIXTURES = Path(__file__).parents[1] / "fixtures" / "engine-events"


def recorded(name: str) -> list[EngineEvent]:
    lines = (FIXTURES / name).read_text().splitlines()
    return [EngineEvent.from_json(json.loads(line)) for line in lines if line.strip()]


def test_a_recorded_replacement_counts_once_with_its_old_and_new_value() -> None:
    """pulumi/pulumi's own recording: create-replacement, replace, delete-replaced for one
    instance. It used to count three changes, two of them a create and a delete."""
    plan = plan_from_events("dev", recorded("webserver-userdata.jsonl"))
    assert plan.counts == {OpType.REPLACE: 1, OpType.SAME: 1}
    text = render(plan)
    assert "+-1 (pulumi preview)" in text
    assert "**REPLACES** `aws:ec2/instance:Instance` `web-server-www` because of userData" in text
    (change,) = plan.changes
    (value,) = change.values
    assert "Hello, World!" in value.old and "Hello, Pulumi!" in value.new


def test_a_recorded_warning_stays_in_the_comment_without_colour_codes() -> None:
    plan = plan_from_events("dev", recorded("retry-limit-warning.jsonl"))
    assert plan.counts == {OpType.CREATE: 1}
    text = render(plan)
    assert "warning (resA): retrying create due to on-error hook request (1/100)" in text
    assert "<{%" not in text


def test_values_are_shown_where_they_differ_and_secrets_stay_secret() -> None:
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "x"}
    old = {"tags": {"Name": "a"}, "password": secret, "text": "p" * 200 + "old"}
    new = {"tags": {"Name": "b"}, "password": {**secret, "value": "y"}, "text": "p" * 200 + "new"}
    shown = value_changes(["tags.Name", "password", "text"], old, new)
    assert [(v.path, v.old, v.new) for v in shown[:1]] == [("tags.Name", '"a"', '"b"')]
    assert shown[1].old == shown[1].new == "[secret]"
    assert shown[2].old.endswith('old"') and shown[2].new.endswith('new"')
    assert len(shown[2].old) <= 62


def graph_node(
    name: str, type_: str, *, dependencies: list[str] | None = None, **inputs: object
) -> dict[str, object]:
    return {
        "type": type_,
        "name": name,
        "inputs": inputs,
        "protect": False,
        "ignore_changes": [],
        "dependencies": dependencies or [],
    }


VPC = "aws:ec2/vpc:Vpc"
ALB = "aws:lb/loadBalancer:LoadBalancer"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"


@pytest.mark.parametrize(
    ("type_", "name", "before", "after", "key"),
    [
        (
            VPC,
            "network-vpc",
            {"cidrBlock": "10.0.0.0/16"},
            {"cidrBlock": "10.1.0.0/16"},
            "cidrBlock",
        ),
        (ALB, "traffic-alb", {"internal": False}, {"internal": True}, "internal"),
    ],
)
def test_the_offline_preview_warns_on_a_change_that_forces_a_new_resource(
    type_: str, name: str, before: dict[str, object], after: dict[str, object], key: str
) -> None:
    """A changed vpcCidr or the ALB's scheme used to read `~ update`: CloudFormation's schema
    makes CidrBlock and Scheme create-only, and the subnets or listeners hold the resource."""
    holder = graph_node("holder", "aws:ec2/subnet:Subnet", dependencies=[f"{type_}::{name}"])
    base = {f"{type_}::{name}": {**graph_node(name, type_), "inputs": before}, "holder": holder}
    head = {f"{type_}::{name}": {**graph_node(name, type_), "inputs": after}, "holder": holder}
    plan = plan_from_graphs("prod", base, head, "offline")
    (change,) = plan.changes
    assert (change.op, change.replace_keys, change.dependents) == (OpType.REPLACE, (key,), 1)
    text = render(plan)
    assert f"**REPLACES** `{type_}` `{name}` because of {key}, held by 1 resource(s)" in text
    assert "> [!NOTE]" in text and "The real preview is authoritative" in text


def test_an_offline_change_of_an_updatable_input_stays_an_update_and_unruled_types_are_named() -> (
    None
):
    base = {
        "a": graph_node("network-vpc", VPC, enableDnsHostnames=False),
        "b": graph_node("cutover", "pulumi-python:dynamic:Resource", live="blue"),
    }
    head = {
        "a": graph_node("network-vpc", VPC, enableDnsHostnames=True),
        "b": graph_node("cutover", "pulumi-python:dynamic:Resource", live="green"),
    }
    plan = plan_from_graphs("prod", base, head, "offline")
    assert [c.op for c in plan.changes] == [OpType.UPDATE, OpType.UPDATE]
    assert plan.unjudged == ["pulumi-python:dynamic:Resource"]
    assert "replaces: `pulumi-python:dynamic:Resource`" in render(plan)


def test_a_kubernetes_rename_replaces_and_a_replica_change_does_not() -> None:
    def deployment(name: str, replicas: int) -> dict[str, dict[str, object]]:
        node = graph_node(
            "web",
            "kubernetes:apps/v1:Deployment",
            metadata={"name": name},
            spec={"replicas": replicas},
            apiVersion="apps/v1",
            kind="Deployment",
        )
        return {"d": node}

    base, renamed, scaled = deployment("web", 2), deployment("web2", 2), deployment("web", 3)
    assert plan_from_graphs("p", base, renamed, "o").changes[0].replace_keys == ("metadata.name",)
    assert plan_from_graphs("p", base, scaled, "o").changes[0].op is OpType.UPDATE


@pytest.mark.parametrize(
    ("type_", "before", "after", "replacing"),
    [
        ("aws:kms/key:Key", {"multiRegion": False}, {"multiRegion": True}, ("multiRegion",)),
        ("aws:kms/key:Key", {"description": "a"}, {"description": "b"}, ()),
        (
            "aws:s3/bucket:Bucket",
            {"objectLockEnabled": False},
            {"objectLockEnabled": True},
            ("objectLockEnabled",),
        ),
        (
            "aws:cloudwatch/logGroup:LogGroup",
            {"logGroupClass": "STANDARD"},
            {"logGroupClass": "INFREQUENT_ACCESS"},
            ("logGroupClass",),
        ),
        (
            "aws:eks/cluster:Cluster",
            {"vpcConfig": {"subnetIds": ["a"]}},
            {"vpcConfig": {"subnetIds": ["b"]}},
            (),
        ),
        (
            "aws:eks/cluster:Cluster",
            {"accessConfig": {"bootstrapClusterCreatorAdminPermissions": True}},
            {"accessConfig": {"bootstrapClusterCreatorAdminPermissions": False}},
            ("accessConfig.bootstrapClusterCreatorAdminPermissions",),
        ),
        (
            "aws:eks/cluster:Cluster",
            {"encryptionConfig": {"resources": ["secrets"]}},
            {},
            ("encryptionConfig (may replace)",),
        ),
        (
            "aws:lb/loadBalancer:LoadBalancer",
            {"internal": False},
            {"internal": True},
            ("internal",),
        ),
    ],
)
def test_aws_replacements_follow_the_terraform_providers_force_new_inputs(
    type_: str, before: dict[str, Any], after: dict[str, Any], replacing: tuple[str, ...]
) -> None:
    """pulumi-aws replaces where terraform-provider-aws marks an input ForceNew: a KMS key's
    multiRegion (CloudFormation's schema lists no create-only property for a key at all), an
    EKS cluster's access bootstrap, but not its subnets (updatable in place)."""
    verdict = judge(type_, before, after)
    assert verdict.judged and verdict.replacing == replacing


@pytest.mark.parametrize(
    ("api_version", "kind", "changed", "replaces"),
    [
        ("v1", "Secret", {"data": {"k": "bmV3"}}, True),  # enableSecretMutable is false
        ("v1", "ConfigMap", {"data": {"k": "new"}}, True),  # enableConfigMapMutable is false
        ("v1", "ConfigMap", {"metadata": {"name": "c", "labels": {"a": "b"}}}, False),
        ("apps/v1", "StatefulSet", {"spec": {"serviceName": "other"}}, True),
        ("apps/v1", "Deployment", {"spec": {"replicas": 9}}, False),
        ("v1", "Pod", {"spec": {"containers": [{"name": "web", "image": "web:2"}]}}, True),
        ("policy/v1beta1", "PodDisruptionBudget", {"spec": {"minAvailable": 2}}, True),
        ("policy/v1", "PodDisruptionBudget", {"spec": {"minAvailable": 2}}, False),  # no rule
        ("storage.k8s.io/v1", "StorageClass", {"provisioner": "ebs.csi.aws.com"}, True),
    ],
)
def test_kubernetes_replacements_follow_pulumi_kubernetes_force_new_table(
    api_version: str, kind: str, changed: dict[str, Any], replaces: bool
) -> None:
    """provider/pkg/provider/diff.go at 94977969: forceNew by group, version and kind."""
    old: dict[str, Any] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "c"},
        "data": {"k": "b2xk"},
        "provisioner": "kubernetes.io/aws-ebs",
        "spec": {
            "serviceName": "web",
            "replicas": 2,
            "minAvailable": 1,
            "containers": [{"name": "web", "image": "web:1"}],
        },
    }
    new = {**old, **{k: {**old[k], **v} for k, v in changed.items() if isinstance(v, dict)}}
    new.update({k: v for k, v in changed.items() if not isinstance(v, dict)})
    judged = judge(f"kubernetes:test:{kind}", old, new)
    assert judged.judged
    assert bool(judged.replacing) is replaces, judged.replacing


def test_a_replacement_cascades_to_what_takes_its_id_in_a_force_new_input() -> None:
    """The mocks keep ids the same; a real replaced VPC gets a new id, so its subnet (vpcId is
    create-only), and the subnet's route table association after it, are replaced too, while
    an alarm naming a replaced topic in its actions is only updated."""
    vpc_key, subnet_key = f"{VPC}::network-vpc", "aws:ec2/subnet:Subnet::network-private-0"
    association = f"{ASSOCIATION}::network-private-0"
    topic, alarm = "aws:sns/topic:Topic::alerting-critical", f"{ALARM}::alarms-5xx"

    def graph(cidr: str, topic_name: str) -> dict[str, dict[str, Any]]:
        return {
            vpc_key: graph_node("network-vpc", VPC, cidrBlock=cidr),
            subnet_key: {
                **graph_node("network-private-0", "aws:ec2/subnet:Subnet", vpcId="vpc-1"),
                "inputDependencies": {"vpcId": [vpc_key]},
            },
            association: {
                **graph_node("network-private-0", ASSOCIATION, subnetId="subnet-1"),
                "inputDependencies": {"subnetId": [subnet_key]},
            },
            topic: {
                **graph_node("alerting-critical", "aws:sns/topic:Topic"),
                "inputs": {"name": topic_name},
            },
            alarm: {
                **graph_node("alarms-5xx", ALARM, alarmActions=["arn:topic"]),
                "inputDependencies": {"alarmActions": [topic]},
            },
        }

    plan = plan_from_graphs("prod", graph("10.0.0.0/16", "a"), graph("10.1.0.0/16", "b"), "offline")
    ops = {(c.type.rsplit(":", 1)[-1], c.name): (c.op, c.replace_keys) for c in plan.changes}
    assert ops == {
        ("Vpc", "network-vpc"): (OpType.REPLACE, ("cidrBlock",)),
        ("Topic", "alerting-critical"): (OpType.REPLACE, ("name",)),
        ("Subnet", "network-private-0"): (
            OpType.REPLACE,
            (f"vpcId (from replaced {vpc_key})",),
        ),
        ("RouteTableAssociation", "network-private-0"): (
            OpType.REPLACE,
            (f"subnetId (from replaced {subnet_key})",),
        ),
        ("MetricAlarm", "alarms-5xx"): (OpType.UPDATE, ()),
    }
    assert plan.unchanged == 0


def test_secrets_stay_masked_at_any_depth_and_unknowns_read_as_known_after_apply() -> None:
    def secret(text: str) -> dict[str, str]:
        return {SECRET_SIG: SECRET_MARK, "value": text}

    old = {"env": [{"name": "TOKEN", "value": secret("s3cr3t-old")}], "arn": "arn:old"}
    new = {"env": [{"name": "TOKEN", "value": secret("s3cr3t-new")}], "arn": UNKNOWN}
    (env, arn) = value_changes(["env", "arn"], old, new)
    assert "s3cr3t" not in f"{env.old}{env.new}" and '"[secret]"' in env.new
    assert (arn.old, arn.new) == ('"arn:old"', "(known after apply)")
    nested = value_changes(["tags"], {"tags": {"a": "1"}}, {"tags": {"a": UNKNOWN}})
    assert nested[0].new == '{"a": "(known after apply)"}'


def test_policy_violations_are_kept_in_the_comment() -> None:
    plan = PreviewPlan("prod", "pulumi preview")
    plan.policy = ["mandatory policy violation: switchyard-baseline/s3-private on records: x"]
    assert "mandatory policy violation: switchyard-baseline/s3-private on records" in render(plan)


@pytest.mark.parametrize(
    ("protected", "dependents", "warned"),
    [(False, 0, False), (False, 2, True), (True, 0, True), (False, None, True)],
)
def test_a_replacement_warns_only_when_something_holds_it_or_it_is_protected(
    protected: bool, dependents: int | None, warned: bool
) -> None:
    change = Change(
        OpType.REPLACE, VPC, "network-vpc", ("cidrBlock",), ("cidrBlock",), protected, dependents
    )
    assert (change.warning is not None) is warned
    assert Change(OpType.UPDATE, VPC, "network-vpc", ("tags",), (), True, 9).warning is None

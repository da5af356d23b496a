"""The program under Pulumi's mock runtime: an offline preview of the resource graph.

Tests, the program benchmark and ``python -m infra.offline --stack prod`` use it. No Pulumi CLI
and no cloud: every registration is recorded with its inputs and options, and the few provider
functions the program calls get fixed answers.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import dill
import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.rpc import deserialize_properties

from delivery.config.keys import qualified
from delivery.config.regions import zone_names
from delivery.config.settings import REGION_KEY, SECRET_VALUES_KEY
from delivery.config.stackfile import PROJECT_ROOT, load_stack, stack_config, stack_secret_values
from delivery.errors import SwitchyardError
from delivery.plans.alarms import AlarmSpec
from infra.config import OPT_IN, read_stack_config
from infra.environment import build_environment

ACCOUNT = "123456789012"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how Pulumi marks a secret on the wire
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    provider: str | None
    outputs: dict[str, Any] = field(default_factory=dict)  # what the mock answered


@dataclass(frozen=True)
class Node:
    """One registration as the engine sees it: what the policy pack is handed in a preview."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    provider: str  # "<provider urn>::<provider id>", empty for components
    parent: str
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Options:
    """Resource options as the engine receives them (the mock runtime drops them otherwise)."""

    ignore_changes: tuple[str, ...] = ()
    protect: bool = False
    parent: str = ""
    update_timeout: str = ""
    depends_on: tuple[str, ...] = ()  # the names of the resources it waits for
    aliases: tuple[str, ...] = ()  # each alias as the engine receives it (its text form)
    retain_on_delete: bool = False

    def waits_for(self, name: str) -> bool:
        return name in self.depends_on


def _hex(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def aws_name(name: str, inputs: dict[str, Any]) -> str:
    """The name AWS gets: given, or the prefix plus the provider's 26 unique characters, or
    Pulumi's auto-name (the resource's name and 7 random characters)."""
    if inputs.get("name"):
        return str(inputs["name"])
    prefix = inputs.get("namePrefix") or inputs.get("bucketPrefix")
    if prefix:
        return f"{prefix}20261102093012345600000001"
    return f"{name}-1a2b3c4"


def _key_id(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


# ARNs as AWS writes them, for the resources whose ARNs the program puts into IAM, key, topic
# and bucket policies (the Service Authorization Reference's resource types): the policies
# rendered offline then read as the real ones, and tools such as parliament can check them.
_ARNS: dict[str, Any] = {
    "aws:kms/key:Key": lambda n, i, r: f"arn:aws:kms:{r}:{ACCOUNT}:key/{_key_id(n)}",
    "aws:kms/alias:Alias": lambda n, i, r: f"arn:aws:kms:{r}:{ACCOUNT}:{i.get('name', n)}",
    "aws:sns/topic:Topic": lambda n, i, r: f"arn:aws:sns:{r}:{ACCOUNT}:{aws_name(n, i)}",
    "aws:iam/role:Role": lambda n, i, r: f"arn:aws:iam::{ACCOUNT}:role/{aws_name(n, i)}",
    "aws:iam/policy:Policy": lambda n, i, r: f"arn:aws:iam::{ACCOUNT}:policy/{aws_name(n, i)}",
    "aws:secretsmanager/secret:Secret": lambda n, i, r: (
        f"arn:aws:secretsmanager:{r}:{ACCOUNT}:secret:{aws_name(n, i)}-AbC123"
    ),
    "aws:cloudtrail/trail:Trail": lambda n, i, r: (
        f"arn:aws:cloudtrail:{r}:{ACCOUNT}:trail/{aws_name(n, i)}"
    ),
    "aws:cloudwatch/logGroup:LogGroup": lambda n, i, r: (
        f"arn:aws:logs:{r}:{ACCOUNT}:log-group:{aws_name(n, i)}"
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda n, i, r: (
        f"arn:aws:cloudwatch:{r}:{ACCOUNT}:alarm:{aws_name(n, i)}"
    ),
    "aws:cloudwatch/compositeAlarm:CompositeAlarm": lambda n, i, r: (
        f"arn:aws:cloudwatch:{r}:{ACCOUNT}:alarm:{i.get('alarmName', n)}"
    ),
    "aws:ec2/vpc:Vpc": lambda n, i, r: f"arn:aws:ec2:{r}:{ACCOUNT}:vpc/vpc-{_hex(n)}",
}


def _outputs(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """The computed outputs AWS would return, in the shape the program needs."""
    elb = f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT}"
    arn = _ARNS.get(type_)
    extra: dict[str, Any] = {
        "arn": arn(name, inputs, region) if arn else f"arn:aws:mock:{region}:{ACCOUNT}:{name}"
    }
    if type_ == "aws:lb/loadBalancer:LoadBalancer":
        suffix = f"app/{inputs.get('name', name)}/{_hex(name)}"
        extra = {
            "arn": f"{elb}:loadbalancer/{suffix}",
            "arnSuffix": suffix,
            "dnsName": f"{name}.{region}.elb.amazonaws.com",
        }
    elif type_ == "aws:lb/targetGroup:TargetGroup":
        suffix = f"targetgroup/{inputs.get('name', name)}/{_hex(name)}"
        extra = {"arn": f"{elb}:{suffix}", "arnSuffix": suffix}
    elif type_ == "aws:lb/listener:Listener":
        # AWS names a listener under its load balancer: listener/app/<lb name>/<lb id>/<id>.
        balancer = str(
            inputs.get("loadBalancerArn") or f"{elb}:loadbalancer/app/{name}/{_hex(name)}"
        )
        under = balancer.replace(":loadbalancer/", ":listener/", 1)
        extra = {"arn": f"{under}/{_hex(name + 'l')}"}
    elif type_ == "aws:s3/bucket:Bucket":
        bucket = str(inputs.get("bucket") or f"{inputs.get('bucketPrefix', '')}{_hex(name)}")
        extra = {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}
    elif type_ == "aws:eks/cluster:Cluster":
        cluster = inputs.get("name", name)
        issuer = f"https://oidc.eks.{region}.amazonaws.com/id/{_hex(name).upper()}"
        extra = {
            "arn": f"arn:aws:eks:{region}:{ACCOUNT}:cluster/{cluster}",
            "endpoint": f"https://{_hex(name).upper()}.gr7.{region}.eks.amazonaws.com",
            "certificateAuthority": {"data": base64.b64encode(b"mock-ca").decode()},
            "identities": [{"oidcs": [{"issuer": issuer}]}],
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-cluster"},
        }
    elif type_ == "random:index/randomPassword:RandomPassword":
        extra = {"result": f"generated-{_hex(name)}"}
    elif type_ == "aws:lb/listenerRule:ListenerRule":
        under = str(inputs.get("listenerArn", "")).replace(":listener/", ":listener-rule/", 1)
        extra = {"arn": f"{under}/{_hex(name + 'r')}"}
    elif type_ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        host = str(inputs.get("url", "")).removeprefix("https://")
        extra = {"arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"}
    elif type_ == "aws:ssmincidents/responsePlan:ResponsePlan":
        # Global: no region (the AWS CLI's update-response-plan example's ARN).
        extra = {"arn": f"arn:aws:ssm-incidents::{ACCOUNT}:response-plan/{inputs.get('name')}"}
    elif type_ == "aws:ssmcontacts/contact:Contact":
        extra = {"arn": f"arn:aws:ssm-contacts:{region}:{ACCOUNT}:contact/{inputs.get('alias')}"}
    elif type_ == "aws:ssmcontacts/contactChannel:ContactChannel":
        # contact-channel/<contact alias>/<id> (botocore ssm-contacts examples-1.json); created
        # with activation deferred (terraform-provider-aws contact_channel.go), so not activated.
        alias = str(inputs.get("contactId", "")).rsplit("/", 1)[-1]
        channel = f"contact-channel/{alias}/{_key_id(name)}"
        extra = {
            "arn": f"arn:aws:ssm-contacts:{region}:{ACCOUNT}:{channel}",
            "activationStatus": "NOT_ACTIVATED",
        }
    elif type_ == "aws:ec2/launchTemplate:LaunchTemplate":
        extra["latestVersion"] = 1
    elif type_ == "pulumi-python:dynamic:Resource":
        extra = {"weights": {"blue": 100, "green": 0}, "last_outcome": "established"}
    return {**inputs, **extra}


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    region: str = "eu-west-1"  # the stack's aws:region, which the default provider would use
    available: tuple[str, ...] | None = None  # zones to answer instead of the region's table
    # Local or Wavelength Zones the account has opted into: EC2 lists them as available too,
    # unless the call asks only for zones with opt-in-status opt-in-not-required.
    opted_in: tuple[str, ...] = ()
    parameters: dict[str, str] = field(default_factory=dict)  # SSM parameters, by name
    clusters: dict[str, str] = field(default_factory=dict)  # EKS clusters there: name -> version
    resources: list[Registered] = field(default_factory=list)
    options: dict[str, Options] = field(default_factory=dict)  # by name: the last of a name
    # by "<type>::<name>", as a URN tells resources apart (a contact and its plan share a name)
    typed_options: dict[str, Options] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    invoked: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # token, arguments

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        outputs = _outputs(args.typ, args.name, inputs, self.region)
        self.resources.append(
            Registered(args.typ, args.name, inputs, bool(args.custom), args.provider, outputs)
        )
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.invoked.append((args.token, dict(args.args)))
        computed = {  # answers that depend on the call's arguments, built only when asked
            "aws:ssm/getParametersByPath:getParametersByPath": self._by_path,
            "aws:eks/getCluster:getCluster": self._cluster,
            "aws:eks/getAddonVersion:getAddonVersion": self._addon_version,
        }
        if args.token in computed:
            return computed[args.token](args.args), []
        zones = list(self.available or zone_names(self.region) or ())  # the region's zones
        opt_in = [f["values"] for f in args.args.get("filters") or [] if f["name"] == OPT_IN]
        if all("opted-in" in values for values in opt_in):
            zones += self.opted_in
        answers: dict[str, dict[str, Any]] = {
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": zones,
                "zoneIds": zones,
            },
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/ci",
                "userId": "ci",
            },
            "aws:index/getPartition:getPartition": {
                "partition": "aws",
                "dnsSuffix": "amazonaws.com",
            },
            "aws:elb/getServiceAccount:getServiceAccount": {
                "arn": "arn:aws:iam::156460612806:root",
                "id": "156460612806",
            },
            "aws:eks/getClusters:getClusters": {"id": self.region, "names": list(self.clusters)},
        }
        return answers.get(args.token, {}), []  # the SDK iterates the failures: not None

    def _cluster(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        return {"id": name, "name": name, "version": self.clusters.get(name, "")}

    @staticmethod
    def _addon_version(args: dict[str, Any]) -> dict[str, Any]:
        """DescribeAddonVersions' default for the Kubernetes version, in EKS's own form."""
        addon, kubernetes = str(args.get("addonName")), str(args.get("kubernetesVersion"))
        return {
            "id": addon,
            "addonName": addon,
            "kubernetesVersion": kubernetes,
            "version": f"v{kubernetes}.0-eksbuild.1",
        }

    def _by_path(self, args: dict[str, Any]) -> dict[str, Any]:
        """GetParametersByPath: without ``recursive`` only the path's direct children (a
        parameter named as the path itself is not one); none is an empty answer, not an
        error (the SSM API reference, GetParametersByPath)."""
        path = str(args.get("path", "")).rstrip("/")
        found = {
            name: value
            for name, value in sorted(self.parameters.items())
            if name.startswith(f"{path}/")
            and (args.get("recursive") or "/" not in name[len(path) + 1 :])
        }
        return {
            "path": path,
            "names": list(found),
            "values": list(found.values()),
            "types": ["String"] * len(found),
            "arns": [f"arn:aws:ssm:{self.region}:{ACCOUNT}:parameter{n}" for n in found],
        }

    def named(self, name: str, type_: str | None = None) -> Registered:
        found = [r for r in self.resources if r.name == name and type_ in (None, r.type)]
        assert found, f"no resource named {name!r}; registered: {[r.name for r in self.resources]}"
        return found[0]

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def option_of(self, resource: Registered) -> Options:
        """The options ``resource`` was registered with (none recorded: the defaults)."""
        return self.typed_options.get(f"{resource.type}::{resource.name}", Options())


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self._recording = mocks

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (the gRPC method's name)
        options = Options(
            ignore_changes=tuple(request.ignoreChanges),
            protect=bool(request.protect),
            parent=request.parent,
            update_timeout=request.customTimeouts.update,
            depends_on=tuple(urn.rsplit("::", 1)[-1] for urn in request.dependencies),
            aliases=tuple(str(a).replace("\n", " ").strip() for a in request.aliases),
            retain_on_delete=bool(request.retainOnDelete),
        )
        self._recording.options[request.name] = options
        self._recording.typed_options[f"{request.type}::{request.name}"] = options
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        registered = self.resources.get(response.urn)
        if registered is not None:  # the stack itself is not recorded
            self._recording.nodes.append(
                Node(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    custom=bool(request.custom),
                    inputs=dict(deserialize_properties(request.object)),
                    outputs=dict(registered.state),
                    provider=request.provider,
                    parent=request.parent,
                    dependencies=tuple(request.dependencies),
                    property_dependencies={
                        key: tuple(deps.urns) for key, deps in request.propertyDependencies.items()
                    },
                )
            )
        return response


def install(mocks: RecordingMocks, stack: str) -> None:
    pulumi.runtime.set_mocks(
        mocks, project="switchyard", stack=stack, preview=False, monitor=RecordingMonitor(mocks)
    )
    # set_mocks leaves the SDK's placeholder root; the engine names the directory of Pulumi.yaml.
    pulumi.runtime.settings.SETTINGS.root_directory = str(PROJECT_ROOT)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK


def dynamic_provider(resource: Registered) -> Any:
    """The provider object a dynamic resource carries, as the Pulumi engine would unpickle it."""
    raw = resource.inputs["__provider"]
    if is_secret(raw):  # Pulumi marks the serialized provider secret
        raw = raw["value"]
    # The program's own provider, serialised a moment ago in this process (bandit B301).
    return dill.loads(base64.b64decode(raw))  # nosec B301


@dataclass
class Evaluation:
    mocks: RecordingMocks
    exports: dict[str, Any] = field(default_factory=dict)


def placeholder_secrets(stack: str) -> dict[str, str]:
    return {key: f"offline-placeholder-{key}" for key in load_stack(stack).secret_value_keys}


def config_for(
    stack: str, overrides: dict[str, Any] | None, secrets: dict[str, str] | str | None
) -> dict[str, str]:
    """The stack file's config as Pulumi hands it to a program: every key with its namespace,
    every value as text."""
    raw, _ = qualified({**stack_config(stack), **(overrides or {})})
    if secrets is not None:
        raw[SECRET_VALUES_KEY] = secrets
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items() if v is not None}


def evaluate(
    stack: str,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | str | None = None,
    mocks: RecordingMocks | None = None,
    alarm_specs: Sequence[AlarmSpec] | None = None,
) -> Evaluation:
    """Run the program; pass ``mocks`` to inspect what was registered even when it raises.

    ``secrets`` becomes the secret ``secretValues`` config (placeholders when not given; None
    in ``overrides`` removes a key).
    """
    evaluation = Evaluation(mocks if mocks is not None else RecordingMocks())
    config = config_for(stack, overrides, secrets)
    evaluation.mocks.region = config.get(REGION_KEY, evaluation.mocks.region)
    install(evaluation.mocks, stack)
    pulumi.runtime.set_all_config(config, [SECRET_VALUES_KEY] if secrets is not None else [])

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # the SDK leaves it untyped
    def run() -> pulumi.Output[Any]:
        exports = build_environment(read_stack_config(), alarm_specs)
        return pulumi.Output.from_input(exports).apply(evaluation.exports.update)

    run()
    return evaluation


def evaluate_pr(config: Mapping[str, str], mocks: RecordingMocks | None = None) -> Evaluation:
    """Run the PR program (pr/Pulumi.yaml) on ``config`` (its keys without the project's
    namespace: pr, image, base, priority, createdAt) for stack dev-pr-<pr>."""
    from infra.pr_environment import PROJECT, build_pr_environment, read_pr_config

    evaluation = Evaluation(mocks if mocks is not None else RecordingMocks())
    pulumi.runtime.set_mocks(
        evaluation.mocks,
        project=PROJECT,
        stack=f"dev-pr-{config.get('pr', '')}",
        preview=False,
        monitor=RecordingMonitor(evaluation.mocks),
    )
    pulumi.runtime.set_all_config({f"{PROJECT}:{k}": v for k, v in config.items()}, [])

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # the SDK leaves it untyped
    def run() -> pulumi.Output[Any]:
        exports = build_pr_environment(read_pr_config())
        return pulumi.Output.from_input(exports).apply(evaluation.exports.update)

    run()
    return evaluation


@functools.cache
def placeholder_graph(stack: str) -> Evaluation:
    """The stack's graph with placeholder secrets, evaluated once per process: for the
    read-only audits (`make audit` reads it for the IAM policies and for the manifests)."""
    return evaluate(stack, secrets=placeholder_secrets(stack))


def urn_key(urn: str) -> str:
    """``type::name`` of a URN (``urn:pulumi:<stack>::<project>::<parents$>type::name``)."""
    qualified, name = urn.rsplit("::", 1)
    return f"{qualified.rsplit('::', 1)[-1].rsplit('$', 1)[-1]}::{name}"


def graph(stack: str, run: Evaluation) -> dict[str, Any]:
    """The evaluated graph as plain data, keyed by type and name (a URN's identity), with what
    each resource's inputs and ``depends_on`` name (its dependencies, by the same keys)."""
    needs = {
        urn_key(node.urn): sorted(
            {
                urn_key(urn)
                for urn in (*node.dependencies, *chain(*node.property_dependencies.values()))
            }
        )
        for node in run.mocks.nodes
    }
    # per input, the resources its value comes from: a replaced one makes that input unknown
    by_input = {
        urn_key(node.urn): {
            name: sorted({urn_key(urn) for urn in urns})
            for name, urns in node.property_dependencies.items()
            if urns
        }
        for node in run.mocks.nodes
    }
    resources = {
        f"{r.type}::{r.name}": {
            "type": r.type,
            "name": r.name,
            "inputs": r.inputs,
            "protect": run.mocks.option_of(r).protect,
            "ignore_changes": list(run.mocks.option_of(r).ignore_changes),
            "dependencies": needs.get(f"{r.type}::{r.name}", []),
            "inputDependencies": by_input.get(f"{r.type}::{r.name}", {}),
        }
        for r in run.mocks.resources
    }
    return {"stack": stack, "config": stack_config(stack), "resources": resources}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.offline",
        description="Evaluate a stack's program offline and list the resources it declares.",
    )
    parser.add_argument("--stack", default="staging")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the graph as JSON (each resource's type, name, inputs and protect flag, "
        "and the stack's config): what the offline preview diff compares",
    )
    args = parser.parse_args(argv)
    try:
        # Plain-text secret values in the stack file stop the preview, as they stop the program;
        # values still to be set are warned about and stand in as placeholders.
        judged = stack_secret_values(args.stack, load_stack(args.stack))
        for warning in judged.warnings():
            print(f"warning: {warning}", file=sys.stderr)
        run = evaluate(args.stack, secrets=placeholder_secrets(args.stack))
    except SwitchyardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(graph(args.stack, run), default=str, sort_keys=True))
        return 0
    for type_, count in sorted(Counter(r.type for r in run.mocks.resources).items()):
        print(f"{count:4d}  {type_}")
    print(f"{len(run.mocks.resources):4d}  resources in stack {args.stack}")
    print(json.dumps(run.exports, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""An embedded AWS emulator (moto's server on 127.0.0.1) and the traffic plane built inside it.

The rehearsal, the benchmark and the integration tests all use this, so they exercise the same
boto3 adapters over real HTTP that production uses against AWS.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import boto3
import botocore.session

from delivery.config.alarm_kinds import Dimensions, Metric
from delivery.config.model import ALARM_PERIOD_SECONDS, AlarmThresholds, Colour, Workload
from delivery.config.stackfile import load_stack
from delivery.cutover.aws import (
    CUTOVER_BACKOFF_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    ApiCalls,
    AwsClients,
    CallBudget,
    ElbListener,
    make_clients,
)
from delivery.cutover.ports import AlarmValue, Clock
from delivery.errors import BadRequest
from delivery.plans.alarms import AlarmSpec, alarm_name, dimensions, rollback_alarm_specs
from delivery.plans.schedule import Weights

DEFAULT_WORKLOAD = Workload("switchyard-rehearsal", "web", "web")

# Generous for a busy machine (5 s reads); tests of the engine's bounds pass their own budget.
EMULATOR_BUDGET = CallBudget(60.0)
# The engine's calls back off as briefly as in production (CallBudget.per_poll).
CUTOVER_BUDGET = replace(EMULATOR_BUDGET, backoff_cap=CUTOVER_BACKOFF_SECONDS)


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    region: str

    def clients(
        self,
        counter: ApiCalls | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        budget: CallBudget = EMULATOR_BUDGET,
        clock: Clock | None = None,
    ) -> AwsClients:
        return make_clients(
            self.region,
            endpoint_url=self.endpoint,
            max_attempts=max_attempts,
            counter=counter,
            session=emulator_session(self.region),
            budget=budget,
            clock=clock,
        )

    def reset(self) -> None:
        """Forget every resource, so each rehearsal run starts from an empty account."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        # The endpoint is the emulator's own http://127.0.0.1 address (bandit B310).
        with urllib.request.urlopen(request, timeout=10):  # nosec B310
            pass


@functools.cache
def _shared_botocore_session() -> botocore.session.Session:
    # One botocore session keeps its loaded service models, so new clients cost milliseconds.
    return botocore.session.get_session()


def emulator_session(region: str) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id="emulator",
        aws_secret_access_key="emulator",
        region_name=region,
        botocore_session=_shared_botocore_session(),
    )


@contextmanager
def running_emulator(region: str) -> Iterator[Emulator]:
    """moto's server on 127.0.0.1 at a free port, stopped on exit."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # it logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield Emulator(f"http://{host}:{port}", region)
    finally:
        server.stop()


@dataclass(frozen=True)
class TrafficPlane:
    load_balancer_arn: str
    listener_arn: str
    target_groups: dict[Colour, str]
    alarms: dict[Colour, tuple[str, ...]]
    subnets: tuple[str, ...]

    def gating_alarms(self, colour: Colour) -> tuple[str, ...]:
        return self.alarms[colour]


def build_traffic_plane(
    clients: AwsClients,
    name: str,
    zones: int = 3,
    targets: dict[Colour, int] | None = None,
    alarms_per_colour: int | None = None,
    live: Colour = Colour.BLUE,
    thresholds: AlarmThresholds | None = None,
    workload: Workload = DEFAULT_WORKLOAD,
) -> TrafficPlane:
    """VPC over ``zones`` AZs, an ALB, blue and green groups with targets, listener, alarms.

    The alarms are the program's rollback alarms (prod's thresholds unless given), with their
    real metrics, so the emulator holds what CloudWatch would.
    """
    targets = targets if targets is not None else {Colour.BLUE: 2, Colour.GREEN: 2}
    ec2, elbv2 = clients.ec2, clients.elbv2
    region = ec2.meta.region_name
    # The emulator's own zones: the configuration's table corrects moto's where AWS differs.
    answer = ec2.describe_availability_zones()["AvailabilityZones"]
    region_zones = sorted(z["ZoneName"] for z in answer)
    if zones > len(region_zones):
        raise BadRequest(
            f"the AWS emulator (moto) offers {region} {len(region_zones)} zones "
            f"({', '.join(region_zones) or 'none'}), so a traffic plane over {zones} cannot be "
            f"built there; rehearse a stack with azCount at most {len(region_zones)}"
        )
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_cidrs = list(ipaddress.IPv4Network("10.0.0.0/16").subnets(new_prefix=20))
    subnets = tuple(
        ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=str(subnet_cidrs[i]),
            AvailabilityZone=region_zones[i],
        )["Subnet"]["SubnetId"]
        for i in range(zones)
    )
    lb_arn = elbv2.create_load_balancer(
        Name=f"{name}-alb", Subnets=list(subnets), Scheme="internet-facing", Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    groups: dict[Colour, str] = {}
    for colour in Colour:
        groups[colour] = elbv2.create_target_group(
            Name=f"{name}-{colour}",
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc_id,
            TargetType="ip",
            HealthCheckPath="/healthz",
        )["TargetGroups"][0]["TargetGroupArn"]
        first_host = 10 if colour is Colour.BLUE else 110
        hosts = [str(subnet_cidrs[0][first_host + i]) for i in range(targets[colour])]
        if hosts:
            elbv2.register_targets(
                TargetGroupArn=groups[colour], Targets=[{"Id": h, "Port": 8080} for h in hosts]
            )
    listener_arn = elbv2.create_listener(
        LoadBalancerArn=lb_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[_forward(groups, live)],
    )["Listeners"][0]["ListenerArn"]
    specs = rollback_alarm_specs(thresholds or load_stack("prod").alarms)
    lb_suffix = lb_arn.split(":loadbalancer/")[1]  # as CloudWatch names the ALB and groups
    alarms = {}
    for colour in Colour:
        group_suffix = groups[colour].split(":")[-1]
        dims = {
            which: dimensions(which, colour, workload, lb_suffix, group_suffix)
            for which in Dimensions
        }
        count = alarms_per_colour or len(specs)
        alarms[colour] = _create_alarms(clients.cloudwatch, name, colour, specs, count, dims)
    return TrafficPlane(lb_arn, listener_arn, groups, alarms, subnets)


def _forward(groups: dict[Colour, str], live: Colour) -> dict[str, Any]:
    return {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": arn, "Weight": 100 if colour is live else 0}
                for colour, arn in groups.items()
            ]
        },
    }


def _create_alarms(
    cloudwatch: Any,
    name: str,
    colour: Colour,
    specs: Sequence[AlarmSpec],
    count: int,
    dims: Mapping[Dimensions, Mapping[str, str]],
) -> tuple[str, ...]:
    """The colour's rollback alarms as the program names and defines them; ``count`` beyond
    the specs repeats them (the benchmark's 100 alarms)."""
    names = []
    for index in range(count):
        spec = specs[index % len(specs)]
        suffix = "" if index < len(specs) else f"-{index}"
        alarm = alarm_name(name, colour, f"{spec.slug}{suffix}")
        cloudwatch.put_metric_alarm(
            AlarmName=alarm,
            AlarmDescription=spec.description,
            EvaluationPeriods=spec.periods,
            DatapointsToAlarm=spec.periods,
            Threshold=float(spec.threshold),
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData=spec.treat_missing.value,
            **_measure(spec, dims),
        )
        names.append(alarm)
    return tuple(names)


def _metric(metric: Metric, dims: Mapping[Dimensions, Mapping[str, str]]) -> dict[str, Any]:
    return {
        "Namespace": metric.namespace,
        "MetricName": metric.name,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims[metric.dimensions].items()],
    }


def _measure(spec: AlarmSpec, dims: Mapping[Dimensions, Mapping[str, str]]) -> dict[str, Any]:
    """PutMetricAlarm's arguments for what the alarm watches, as boto3 spells them."""
    measure = spec.measure
    if isinstance(measure, Metric):
        statistic = "ExtendedStatistic" if measure.percentile else "Statistic"
        return {
            **_metric(measure, dims),
            "Period": ALARM_PERIOD_SECONDS,
            statistic: measure.statistic,
        }
    queries: list[dict[str, Any]] = [
        {
            "Id": query_id,
            "MetricStat": {
                "Metric": _metric(metric, dims),
                "Period": ALARM_PERIOD_SECONDS,
                "Stat": metric.statistic,
            },
            "ReturnData": False,
        }
        for query_id, metric in measure.inputs
    ]
    queries.append(
        {
            "Id": "result",
            "Expression": measure.expression,
            "Label": measure.label,
            "ReturnData": True,
        }
    )
    return {"Metrics": queries}


def set_alarm(clients: AwsClients, alarm: str, state: AlarmValue, reason: str) -> None:
    clients.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue=state.value, StateReason=reason)


def listener_weights(clients: AwsClients, plane: TrafficPlane) -> Weights:
    return ElbListener(clients.elbv2, plane.listener_arn, plane.target_groups).read_weights()


def force_weights(clients: AwsClients, plane: TrafficPlane, weights: Weights) -> None:
    """Set the listener as an operator (or a crashed earlier run) would, outside the engine."""
    listener = ElbListener(clients.elbv2, plane.listener_arn, plane.target_groups)
    listener.read_weights()
    listener.set_weights(weights)

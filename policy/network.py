"""VPC and security groups: closed default group, flow logs, internet only on 80/443 of the load
balancer, targets reachable only from the load balancer, no public IPs by default."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from policy.baseline import INTERNET, Rule, Stack, Subject, as_list, ports

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
PUBLIC_PORTS = frozenset({80, 443})


@dataclass(frozen=True)
class Ingress:
    declared_by: Subject  # the rule resource, or the group for inline rules
    group_urn: str
    cidrs: tuple[str, ...]
    peer_urns: tuple[str, ...]
    ports: tuple[int, int]


def _ingresses(stack: Stack) -> Iterator[Ingress]:
    for rule in stack.of_type(INGRESS_RULE):
        # a group the stack does not declare (given by id, e.g. EKS's cluster group) is judged
        # by its id: the internet must not reach it either
        for group in rule.dependencies.get("securityGroupId", ()) or [
            str(rule.get("securityGroupId") or "")
        ]:
            cidrs = tuple(str(c) for c in (rule.get("cidrIpv4"), rule.get("cidrIpv6")) if c)
            peers = rule.dependencies.get("referencedSecurityGroupId", ())
            yield Ingress(rule, group, cidrs, peers, ports(rule.props))
    for rule in stack.of_type(LEGACY_RULE):
        if rule.get("type") != "ingress":
            continue
        for group in rule.dependencies.get("securityGroupId", ()) or [
            str(rule.get("securityGroupId") or "")
        ]:
            cidrs = tuple(
                str(c)
                for c in [*as_list(rule.get("cidrBlocks")), *as_list(rule.get("ipv6CidrBlocks"))]
            )
            peers = rule.dependencies.get("sourceSecurityGroupId", ())
            yield Ingress(rule, group, cidrs, peers, ports(rule.props))
    for sg in stack.of_type(SECURITY_GROUP):
        for inline in as_list(sg.get("ingress")):
            cidrs = tuple(
                str(c)
                for c in [
                    *as_list(inline.get("cidrBlocks")),
                    *as_list(inline.get("ipv6CidrBlocks")),
                ]
            )
            peers = sg.dependencies.get("ingress", ()) if inline.get("securityGroups") else ()
            yield Ingress(sg, sg.urn, cidrs, peers, ports(inline))


def _load_balancer_groups(stack: Stack) -> set[str]:
    return {
        urn
        for alb in stack.of_type(LOAD_BALANCER)
        for urn in alb.dependencies.get("securityGroups", ())
    }


def _target_groups(stack: Stack, balancer_groups: set[str]) -> set[str]:
    """Security groups the load balancer sends traffic to: the targets'."""
    return {
        peer
        for rule in stack.of_type(EGRESS_RULE)
        if set(rule.dependencies.get("securityGroupId", ())) & balancer_groups
        for peer in rule.dependencies.get("referencedSecurityGroupId", ())
    }


def _internet_ingress(stack: Stack) -> Iterator[tuple[Subject, str]]:
    balancers = _load_balancer_groups(stack)
    for ingress in _ingresses(stack):
        if not set(ingress.cidrs) & INTERNET:
            continue
        low, high = ingress.ports
        if ingress.group_urn not in balancers:
            yield (
                ingress.declared_by,
                (
                    f"opens ports {low}-{high} to the internet on a group that is not the load "
                    "balancer's; admit the internet only on the load balancer, and only 80/443"
                ),
            )
        elif not set(range(low, high + 1)) <= PUBLIC_PORTS:
            yield (
                ingress.declared_by,
                (
                    f"opens ports {low}-{high} of the load balancer to the internet; only 80 and "
                    "443 may face the internet (smoke-test ports take testClientCidrs)"
                ),
            )


def _targets_from_balancer_only(stack: Stack) -> Iterator[tuple[Subject, str]]:
    balancers = _load_balancer_groups(stack)
    targets = _target_groups(stack, balancers)
    for ingress in _ingresses(stack):
        if ingress.group_urn not in targets:
            continue
        if ingress.cidrs or not set(ingress.peer_urns) <= balancers:
            yield (
                ingress.declared_by,
                (
                    "admits traffic to the targets from something other than the load balancer; "
                    "reference the load balancer's security group instead"
                ),
            )


def _default_group_closed(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for vpc in stack.of_type(VPC):
        defaults = stack.attached(vpc, DEFAULT_SECURITY_GROUP, "vpcId")
        if not defaults:
            yield (
                vpc,
                (
                    "leaves its default security group open (all traffic between members, all "
                    "egress); adopt it with aws.ec2.DefaultSecurityGroup and no rules"
                ),
            )
        for group in defaults:
            if as_list(group.get("ingress")) or as_list(group.get("egress")):
                yield group, "has rules; the default security group must have none"


def _flow_logs(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for vpc in stack.of_type(VPC):
        if not stack.attached(vpc, FLOW_LOG, "vpcId"):
            yield vpc, "has no flow log; add an aws.ec2.FlowLog with traffic_type ALL"


def _no_public_ip(subnet: Subject) -> Iterator[str]:
    if subnet.get("mapPublicIpOnLaunch"):
        yield "gives every instance a public IP; set map_public_ip_on_launch=False"


RULES = [
    Rule(
        "ec2-default-security-group-closed",
        "Each VPC's default security group allows no traffic",
        "FSBP EC2.2; CIS 5.3",
        stack_check=_default_group_closed,
    ),
    Rule(
        "ec2-vpc-flow-logs",
        "Every VPC records flow logs",
        "FSBP EC2.6; CIS 3.9",
        stack_check=_flow_logs,
    ),
    Rule(
        "ec2-internet-ingress",
        "Only the load balancer faces the internet, and only on 80 and 443",
        "FSBP EC2.18, EC2.19, EC2.53, EC2.54; CIS 5.2",
        stack_check=_internet_ingress,
    ),
    Rule(
        "ec2-targets-from-load-balancer",
        "The targets admit traffic only from the load balancer's security group",
        "FSBP EC2.18 (baseline: targets behind the load balancer only)",
        stack_check=_targets_from_balancer_only,
    ),
    Rule(
        "ec2-subnet-no-public-ip",
        "Subnets do not assign public IPs on launch",
        "FSBP EC2.15",
        _no_public_ip,
        frozenset({SUBNET}),
    ),
]

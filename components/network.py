"""MultiAzNetwork: a VPC over N zones with public and private subnets, NAT, encrypted flow logs
and a default security group that admits nothing (FSBP EC2.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.keys import (
    LogGroupSpec,
    account_output,
    document,
    encrypted_log_group,
    service_trust,
)
from delivery.config.model import NatLayout, NetworkSettings
from delivery.plans.subnets import plan_subnets


@dataclass(frozen=True)
class MultiAzNetworkArgs:
    settings: NetworkSettings
    name_prefix: str
    zone_names: Sequence[str]  # the region's available zones (infra.config asked it)
    region: str
    key_rotation_days: int
    permissions_boundary: pulumi.Input[str] = field(kw_only=True)


class MultiAzNetwork(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MultiAzNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:network:MultiAzNetwork", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        plan = plan_subnets(settings.cidr, settings.az_count)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(settings.cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{args.name_prefix}-vpc"},
            opts=child,
        )
        # Adopting the default group with no rules removes AWS's allow-all rules (CIS 5.3).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags={"Name": f"{args.name_prefix}-default-closed"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{args.name_prefix}-igw"}, opts=child
        )
        public_routes = self._default_route(
            f"{name}-public", f"{args.name_prefix}-public", gateway_id=igw.id
        )

        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        for zone in plan:
            az = args.zone_names[zone.zone_index]
            suffix = f"{zone.zone_index}"
            public = aws.ec2.Subnet(
                f"{name}-public-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=str(zone.public),
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={
                    "Name": f"{args.name_prefix}-public-{suffix}",
                    "tier": "public",
                    "kubernetes.io/role/elb": "1",
                },
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{suffix}",
                subnet_id=public.id,
                route_table_id=public_routes.id,
                opts=child,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{suffix}",
                vpc_id=self.vpc.id,
                cidr_block=str(zone.private),
                availability_zone=az,
                tags={
                    "Name": f"{args.name_prefix}-private-{suffix}",
                    "tier": "private",
                    "kubernetes.io/role/internal-elb": "1",
                },
                opts=child,
            )
            self.public_subnets.append(public)
            self.private_subnets.append(private)

        nat_count = 1 if settings.nat is NatLayout.SINGLE else settings.az_count
        self.nat_gateways = [
            aws.ec2.NatGateway(
                f"{name}-nat-{i}",
                allocation_id=aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", opts=child).id,
                subnet_id=self.public_subnets[i].id,
                tags={"Name": f"{args.name_prefix}-nat-{i}"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )
            for i in range(nat_count)
        ]
        for i, private in enumerate(self.private_subnets):
            nat = self.nat_gateways[i % nat_count]
            routes = self._default_route(
                f"{name}-private-{i}", f"{args.name_prefix}-private-{i}", nat_gateway_id=nat.id
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}", subnet_id=private.id, route_table_id=routes.id, opts=child
            )

        self._flow_logs(name, args)
        self.register_outputs(
            {
                "vpcId": self.vpc.id,
                "publicSubnetIds": [s.id for s in self.public_subnets],
                "privateSubnetIds": [s.id for s in self.private_subnets],
            }
        )

    def _flow_logs(self, name: str, args: MultiAzNetworkArgs) -> None:
        """Flow logs to a log group encrypted with a key only CloudWatch Logs may use for it,
        written by a role only this account's flow logs may assume."""
        child = pulumi.ResourceOptions(parent=self)
        account = account_output(self, args.region)
        self.flow_log_group = encrypted_log_group(
            f"{name}-flow-logs",
            LogGroupSpec(
                f"/switchyard/{args.name_prefix}/vpc-flow-logs",
                f"the VPC flow logs of {args.name_prefix}",
                f"{args.name_prefix}-flow-logs",
                args.settings.flow_log_retention_days,
                args.key_rotation_days,
            ),
            account,
            self,
        )
        flow_role = aws.iam.Role(
            f"{name}-flow-logs",
            name_prefix=f"{args.name_prefix}-flow-logs-",
            permissions_boundary=args.permissions_boundary,
            assume_role_policy=account.apply(
                lambda a: service_trust(
                    "vpc-flow-logs.amazonaws.com", a, a.arn("ec2", "vpc-flow-log/*")
                )
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=flow_role.id,
            policy=self.flow_log_group.arn.apply(_flow_log_writer),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn,
            iam_role_arn=flow_role.arn,
            max_aggregation_interval=60,
            opts=child,
        )

    def _default_route(
        self, name: str, label: str, **target: pulumi.Input[str]
    ) -> aws.ec2.RouteTable:
        """A route table whose default route leaves through ``target`` (a gateway or a NAT)."""
        child = pulumi.ResourceOptions(parent=self)
        table = aws.ec2.RouteTable(name, vpc_id=self.vpc.id, tags={"Name": label}, opts=child)
        aws.ec2.Route(
            f"{name}-default",
            route_table_id=table.id,
            destination_cidr_block="0.0.0.0/0",
            opts=child,
            **target,
        )
        return table


def _flow_log_writer(group_arn: str) -> str:
    return document(
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group_arn, f"{group_arn}:*"],
        }
    )

"""WeightedAlb: an internet-facing ALB with permanent blue and green target groups.

The production listener forwards to both groups. Its weights belong to the cutover's dynamic
resource, so the listener ignores changes to its actions and `pulumi up` never resets live
weights (pulumi-aws #5798). A declared weight 0 may come back as 1 (pulumi-aws #5772); the
cutover corrects 99/1 to 100/0 when it is created.

TestListener: the test port forwards to the colour that is not live *according to the
cutover's outcome* (its live-colour output), not the config: it reaches the candidate while a
shift runs and after a rollback, and the old colour only once a promotion succeeded.

Outside dev a WAF web ACL (AWS managed rule groups and a per-IP rate limit) guards the load
balancer and logs to an encrypted log group (FSBP ELB.16, WAF.10-12).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

import pulumi
import pulumi_aws as aws

from components.buckets import make_private, tls_only, versioned_logs
from components.keys import Account, LogGroupSpec, account_output, encrypted_log_group
from delivery.config.model import DEREGISTRATION_DELAY_SECONDS, AlbSettings, Colour

TLS13_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"  # TLS 1.3, and 1.2 for older clients
ACCESS_LOG_DAYS = 90
NONCURRENT_LOG_DAYS = 30
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
INTERNET = "0.0.0.0/0"
# A managed group's own block/count actions apply (override "none"); the SDK's empty args class
# has no annotated constructor.
KEEP_GROUP_ACTIONS = aws.wafv2.WebAclRuleOverrideActionArgs(
    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()  # type: ignore[no-untyped-call]
)


@dataclass(frozen=True)
class WeightedAlbArgs:
    settings: AlbSettings
    name_prefix: str
    live_colour: Colour
    vpc_id: pulumi.Input[str]
    vpc_cidr: IPv4Network
    public_subnet_ids: Sequence[pulumi.Input[str]]
    region: str
    key_rotation_days: int
    log_retention_days: int
    waf_rate_limit: int | None  # requests per IP per 5 minutes; None: no web ACL (dev)


class WeightedAlb(pulumi.ComponentResource):
    """The load balancer, its security groups, target groups, and production listeners."""

    def __init__(
        self, name: str, args: WeightedAlbArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:traffic:WeightedAlb", name, None, opts)
        self.name = name
        self.settings = args.settings
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        durable = pulumi.ResourceOptions(parent=self, protect=settings.deletion_protection)
        https = settings.certificate_arn is not None

        self.alb_security_group, self.target_security_group = self._security_groups(name, args)
        logs = self._access_log_bucket(name, args)

        self.target_groups: dict[Colour, aws.lb.TargetGroup] = {
            colour: aws.lb.TargetGroup(
                f"{name}-{colour}",
                name=f"{args.name_prefix}-{colour}",
                port=settings.target_port,
                protocol="HTTP",
                target_type="ip",
                vpc_id=args.vpc_id,
                deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
                health_check={
                    "path": settings.health_check.path,
                    "port": "traffic-port",
                    "protocol": "HTTP",
                    "interval": settings.health_check.interval_seconds,
                    "timeout": settings.health_check.timeout_seconds,
                    "healthy_threshold": settings.health_check.healthy_threshold,
                    "unhealthy_threshold": settings.health_check.unhealthy_threshold,
                    "matcher": "200-399",
                },
                opts=durable,
            )
            for colour in Colour
        }
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=args.name_prefix,
            internal=False,
            load_balancer_type="application",
            subnets=list(args.public_subnet_ids),
            security_groups=[self.alb_security_group.id],
            enable_deletion_protection=settings.deletion_protection,
            drop_invalid_header_fields=True,
            access_logs={"bucket": logs.bucket, "prefix": "alb", "enabled": True},
            opts=pulumi.ResourceOptions(
                parent=self, protect=settings.deletion_protection, depends_on=[self._log_policy]
            ),
        )
        if args.waf_rate_limit is not None:
            self._web_acl(name, args, args.waf_rate_limit)
        weighted = aws.lb.ListenerDefaultActionArgs(
            type="forward",
            forward=aws.lb.ListenerDefaultActionForwardArgs(
                target_groups=[
                    aws.lb.ListenerDefaultActionForwardTargetGroupArgs(
                        arn=tg.arn, weight=100 if colour is args.live_colour else 0
                    )
                    for colour, tg in self.target_groups.items()
                ]
            ),
        )
        owned_by_cutover = pulumi.ResourceOptions(parent=self, ignore_changes=["defaultActions"])
        ssl_policy = TLS13_POLICY if https else None
        self.production_listener = aws.lb.Listener(
            f"{name}-production",
            load_balancer_arn=self.load_balancer.arn,
            port=443 if https else 80,
            protocol="HTTPS" if https else "HTTP",
            ssl_policy=ssl_policy,
            certificate_arn=settings.certificate_arn,
            default_actions=[weighted],
            opts=owned_by_cutover,
        )
        if https:
            redirect = aws.lb.ListenerDefaultActionRedirectArgs(
                port="443", protocol="HTTPS", status_code="HTTP_301"
            )
            aws.lb.Listener(
                f"{name}-http-redirect",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(type="redirect", redirect=redirect)
                ],
                opts=child,
            )
        self.register_outputs(
            {
                "dnsName": self.load_balancer.dns_name,
                "productionListenerArn": self.production_listener.arn,
                "targetGroupArns": {c.value: tg.arn for c, tg in self.target_groups.items()},
            }
        )

    def _security_groups(
        self, name: str, args: WeightedAlbArgs
    ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        alb = aws.ec2.SecurityGroup(
            f"{name}-alb-sg",
            vpc_id=args.vpc_id,
            description="ALB: 80/443 from the internet",
            tags={"Name": f"{args.name_prefix}-alb"},
            opts=child,
        )
        targets = aws.ec2.SecurityGroup(
            f"{name}-targets-sg",
            vpc_id=args.vpc_id,
            description="Workloads: only from the ALB",
            tags={"Name": f"{args.name_prefix}-targets"},
            opts=child,
        )
        for port in settings.public_ports:
            self._tcp_in(f"{name}-alb-in-{port}", alb, port, "users", cidr=INTERNET)
        for index, cidr in enumerate([args.vpc_cidr, *settings.test_client_cidrs]):
            self._tcp_in(
                f"{name}-alb-in-test-{index}",
                alb,
                settings.test_listener_port,
                "smoke tests of the idle colour",
                cidr=str(cidr),
            )
        self._tcp_in(
            f"{name}-targets-in-alb", targets, settings.target_port, "from the ALB only", peer=alb
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-out-targets",
            security_group_id=alb.id,
            ip_protocol="tcp",
            from_port=settings.target_port,
            to_port=settings.target_port,
            referenced_security_group_id=targets.id,
            description="to the workloads",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-targets-out",
            security_group_id=targets.id,
            ip_protocol="-1",
            cidr_ipv4=INTERNET,
            description="workloads call out through NAT",
            opts=child,
        )
        return alb, targets

    def _tcp_in(
        self,
        name: str,
        group: aws.ec2.SecurityGroup,
        port: int,
        description: str,
        cidr: str | None = None,
        peer: aws.ec2.SecurityGroup | None = None,
    ) -> None:
        """Admit one TCP port from a CIDR block or from another security group."""
        aws.vpc.SecurityGroupIngressRule(
            name,
            security_group_id=group.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            cidr_ipv4=cidr,
            referenced_security_group_id=peer.id if peer else None,
            description=description,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access_log_bucket(self, name: str, args: WeightedAlbArgs) -> aws.s3.Bucket:
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{name}-access-logs",
            bucket_prefix=f"{args.name_prefix}-alb-logs-",
            force_destroy=not args.settings.deletion_protection,
            opts=child,
        )
        # ALB access logs support only SSE-S3 encryption, not KMS.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-access-logs",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        make_private(f"{name}-access-logs", bucket, child)
        versioned_logs(
            f"{name}-access-logs",
            bucket,
            "expire-access-logs",
            ACCESS_LOG_DAYS,
            NONCURRENT_LOG_DAYS,
            child,
        )
        invoke = pulumi.InvokeOutputOptions(parent=self)
        elb_account = aws.elb.get_service_account_output(opts=invoke).arn
        account = account_output(self, args.region)
        self._log_policy = aws.s3.BucketPolicy(
            f"{name}-access-logs",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, elb_account, account).apply(
                lambda a: _log_policy(*a)
            ),
            opts=child,
        )
        return bucket

    def _web_acl(self, name: str, args: WeightedAlbArgs, rate_limit: int) -> None:
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        waf = aws.wafv2
        rules = [
            waf.WebAclRuleArgs(
                name="rate-limit-per-ip",
                priority=0,
                action=waf.WebAclRuleActionArgs(block=waf.WebAclRuleActionBlockArgs()),
                statement=waf.WebAclRuleStatementArgs(
                    rate_based_statement=waf.WebAclRuleStatementRateBasedStatementArgs(
                        limit=rate_limit, aggregate_key_type="IP"
                    )
                ),
                visibility_config=_rule_visibility(f"{prefix}-rate-limit"),
            ),
            *(
                waf.WebAclRuleArgs(
                    name=group,
                    priority=index,
                    override_action=KEEP_GROUP_ACTIONS,
                    statement=waf.WebAclRuleStatementArgs(
                        managed_rule_group_statement=waf.WebAclRuleStatementManagedRuleGroupStatementArgs(
                            name=group, vendor_name="AWS"
                        )
                    ),
                    visibility_config=_rule_visibility(f"{prefix}-{group}"),
                )
                for index, group in enumerate(MANAGED_RULE_GROUPS, start=1)
            ),
        ]
        # REGIONAL: the scope an ALB accepts (CLOUDFRONT ACLs live in us-east-1 for CloudFront).
        acl = aws.wafv2.WebAcl(
            f"{name}-waf",
            name=f"{prefix}-alb",
            scope="REGIONAL",
            default_action=waf.WebAclDefaultActionArgs(allow=waf.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=waf.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=f"{prefix}-alb",
                sampled_requests_enabled=True,
            ),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-waf",
            resource_arn=self.load_balancer.arn,
            web_acl_arn=acl.arn,
            opts=child,
        )
        logs = encrypted_log_group(
            f"{name}-waf-logs",
            LogGroupSpec(
                f"aws-waf-logs-{prefix}",  # WAF logs only to groups named aws-waf-logs-*
                f"the WAF logs of {prefix}",
                f"{prefix}-waf-logs",
                args.log_retention_days,
                args.key_rotation_days,
            ),
            account_output(self, args.region),
            self,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-waf",
            resource_arn=acl.arn,
            log_destination_configs=[logs.arn],
            opts=child,
        )


@dataclass(frozen=True)
class TestListenerArgs:
    alb: WeightedAlb
    live_colour: pulumi.Input[str]  # the cutover's outcome: the colour last promoted


class TestListener(pulumi.ComponentResource):
    """The test port, forwarding to the colour the cutover has not (yet) made live."""

    def __init__(
        self, name: str, args: TestListenerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:traffic:TestListener", name, None, opts)
        alb, settings = args.alb, args.alb.settings
        https = settings.certificate_arn is not None
        groups = {c.value: tg.arn for c, tg in alb.target_groups.items()}
        idle_group = pulumi.Output.all(pulumi.Output.from_input(args.live_colour), groups).apply(
            lambda both: both[1][Colour(both[0]).other.value]
        )
        self.listener = aws.lb.Listener(
            f"{alb.name}-test",
            load_balancer_arn=alb.load_balancer.arn,
            port=settings.test_listener_port,
            protocol="HTTPS" if https else "HTTP",
            ssl_policy=TLS13_POLICY if https else None,
            certificate_arn=settings.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=idle_group)
            ],
            # It used to be the load balancer component's child: same listener, no replacement
            # (a new listener on the same port would collide with the old one).
            opts=pulumi.ResourceOptions(parent=self, aliases=[pulumi.Alias(parent=alb)]),
        )
        self.register_outputs({"testListenerArn": self.listener.arn})


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _log_policy(bucket_arn: str, elb_account_arn: str, account: Account) -> str:
    # Only this account's load balancers write, and only under this account's prefix.
    logs = f"{bucket_arn}/alb/AWSLogs/{account.id}/*"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {  # regions from before August 2022 deliver as the regional ELB account
                    "Sid": "ElbAccountWritesAccessLogs",
                    "Effect": "Allow",
                    "Principal": {"AWS": elb_account_arn},
                    "Action": "s3:PutObject",
                    "Resource": logs,
                },
                {  # newer regions deliver as the log-delivery service
                    "Sid": "LogDeliveryWritesAccessLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": logs,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account.id}},
                },
                tls_only(bucket_arn),
            ],
        }
    )

"""Composes one environment from its validated configuration: network → secrets → alerting →
incident response → ALB → cluster → workload → alarms → error budget → audit trail → dashboard
→ cutover → test listener (it follows the cutover's outcome) → scaling → CI roles. Returns
what the stack exports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import RollbackAlarms, RollbackAlarmsArgs
from components.alerting import AlertTopics, AlertTopicsArgs
from components.audit import AuditTrail, AuditTrailArgs
from components.budget import ErrorBudgetAlarms, ErrorBudgetAlarmsArgs
from components.ci_roles import (
    INFRASTRUCTURE,
    RELEASE,
    CiRoles,
    CiRolesArgs,
    permissions_boundary,
    role_name,
)
from components.cluster import EksCluster, EksClusterArgs, ServiceAccountRole
from components.cutover import BlueGreenCutover, BlueGreenCutoverArgs
from components.dashboard import EnvironmentDashboard, EnvironmentDashboardArgs
from components.incidents import IncidentResponse, IncidentResponseArgs
from components.network import MultiAzNetwork, MultiAzNetworkArgs
from components.pr_base import PrEnvironmentBase, PrEnvironmentBaseArgs
from components.records import ReleaseRecords, ReleaseRecordsArgs
from components.secrets import EnvironmentSecrets, EnvironmentSecretsArgs
from components.traffic import TestListener, TestListenerArgs, WeightedAlb, WeightedAlbArgs
from components.workload import (
    RELEASE_GROUP,
    BlueGreenWorkload,
    BlueGreenWorkloadArgs,
    ColourScaling,
    ColourScalingArgs,
)
from delivery.config.alarm_kinds import MIN_REQUESTS
from delivery.config.model import Colour, Tier
from delivery.cutover.records import rollback_record_path
from delivery.plans.alarms import AlarmSpec, rollback_alarm_specs, worst_case_fault_to_rollback
from delivery.plans.release import plan_release
from infra.config import StackConfig


def build_environment(
    stack: StackConfig, alarm_specs: Sequence[AlarmSpec] | None = None
) -> dict[str, Any]:
    settings = stack.settings
    prefix = settings.name_prefix
    # Tags are set once, as the provider's default tags, so every taggable resource gets them.
    provider = aws.Provider("aws", region=settings.region, default_tags={"tags": settings.tags})
    on_aws = pulumi.ResourceOptions(providers=[provider])

    key_rotation = settings.secrets.key_rotation_days
    log_days = settings.network.flow_log_retention_days
    ci_roles = [role_name(prefix, kind) for kind in (RELEASE, INFRASTRUCTURE)]
    boundary = permissions_boundary(prefix, settings.environment, on_aws).arn
    network = MultiAzNetwork(
        "network",
        MultiAzNetworkArgs(
            settings.network,
            prefix,
            stack.zone_names,
            settings.region,
            key_rotation,
            permissions_boundary=boundary,
        ),
        on_aws,
    )
    secrets = EnvironmentSecrets(
        "secrets",
        EnvironmentSecretsArgs(
            settings.secrets,
            prefix,
            settings.region,
            {name: stack.secret_values[name] for name in settings.secrets.names},
            recovery_window_days=settings.environment.secret_recovery_days,
        ),
        on_aws,
    )
    alerting = AlertTopics(
        "alerting",
        AlertTopicsArgs(
            settings.alerting,
            prefix,
            settings.region,
            key_rotation,
            log_days,
            ci_roles,
            {w.endpoint: stack.secret_values[w.endpoint] for w in settings.alerting.webhooks},
            permissions_boundary=boundary,
            incident_tiers=frozenset(settings.incidents.escalations)
            if settings.incidents.enabled
            else frozenset(),
        ),
        on_aws,
    )
    topic_arns = {tier: topic.arn for tier, topic in alerting.topics.items()}
    incidents = IncidentResponse(
        "incidents",
        IncidentResponseArgs(
            settings.incidents,
            prefix,
            settings.region,
            topic_arns,
            frozenset(chat.tier for chat in settings.alerting.chats),
        ),
        on_aws,
    )
    alb = WeightedAlb(
        "traffic",
        WeightedAlbArgs(
            settings.alb,
            prefix,
            settings.live_colour,
            network.vpc.id,
            settings.network.cidr,
            [s.id for s in network.public_subnets],
            settings.region,
            key_rotation,
            log_days,
            settings.security.waf_rate_limit,
        ),
        on_aws,
    )
    workload = settings.workload
    cluster = EksCluster(
        "cluster",
        EksClusterArgs(
            settings.cluster,
            workload.cluster_name,
            prefix,
            settings.region,
            network.vpc.id,
            [s.id for s in network.private_subnets],
            alb.target_security_group.id,
            secrets.key.arn,
            settings.network.flow_log_retention_days,
            protect=settings.environment.protected,
            key_rotation_days=key_rotation,
            permissions_boundary=boundary,
            workload_namespace=workload.namespace,
            load_balancer_arn=alb.load_balancer.arn,
            target_group_arns=[tg.arn for tg in alb.target_groups.values()],
        ),
        on_aws,
    )
    app_role = cluster.service_account_role(
        "workload-service-account",
        ServiceAccountRole(
            workload.namespace, workload.service_name, policy_arns=(secrets.read_policy.arn,)
        ),
    )
    plan = plan_release(
        workload.service_name, settings.service, settings.release, settings.live_colour
    )
    service = BlueGreenWorkload(
        "workload",
        BlueGreenWorkloadArgs(
            workload,
            settings.service,
            plan,
            settings.alb.health_check,
            settings.alb.target_port,
            settings.region,
            f"{prefix}/",
            {c: tg.arn for c, tg in alb.target_groups.items()},
            app_role.arn,
            cluster.provider,
            cluster.load_balancer_controller,
            cluster.nodes_and_dns,
        ),
    )
    group_suffixes = {c: tg.arn_suffix for c, tg in alb.target_groups.items()}
    alarms = RollbackAlarms(
        "alarms",
        RollbackAlarmsArgs(
            prefix,
            alarm_specs if alarm_specs is not None else rollback_alarm_specs(settings.alarms),
            alb.load_balancer.arn_suffix,
            group_suffixes,
            settings.workload,
            topic_arns,
            incidents.plan_arns,
        ),
        on_aws,
    )
    budget = ErrorBudgetAlarms(
        "budget",
        ErrorBudgetAlarmsArgs(
            prefix,
            settings.slo,
            alb.load_balancer.arn_suffix,
            group_suffixes[settings.live_colour],
            topic_arns,
            incidents.plan_arns,
            min_requests=settings.alarms[MIN_REQUESTS.name],
        ),
        on_aws,
    )
    # Expected readers: the workload's role, and the CI roles (the infrastructure role writes
    # the secrets through `pulumi up`).
    audit = AuditTrail(
        "audit",
        AuditTrailArgs(
            prefix,
            settings.region,
            key_rotation,
            settings.alb.deletion_protection,
            ci_roles,
            alerting.topics[Tier.WARNING].arn,
            [app_role.arn],
            permissions_boundary=boundary,
        ),
        on_aws,
    )
    dashboard = EnvironmentDashboard(
        "dashboard",
        EnvironmentDashboardArgs(
            prefix,
            settings.region,
            alb.load_balancer.arn_suffix,
            group_suffixes,
            [*alarms.alarm_arns, *budget.alarm_arns, audit.alarm.arn],
            settings.slo,
            settings.live_colour,
        ),
        on_aws,
    )
    cutover = BlueGreenCutover(
        "cutover",
        BlueGreenCutoverArgs(
            listener_arn=alb.production_listener.arn,
            target_groups={c: tg.arn for c, tg in alb.target_groups.items()},
            live_colour=settings.live_colour,
            policy=settings.traffic,
            gating_alarms={c: list(alarms.gating_alarms(c)) for c in Colour},
            region=settings.region,
            stack=settings.stack,
            alert_topics={t: alerting.topics[t].arn for t in (Tier.CRITICAL, Tier.EMERGENCY)},
            record_path=rollback_record_path(settings.environment),
            # The image the live colour's pods run, checked against its config: the cutover
            # needs it, so it never starts on a mismatch (components/workload.py).
            release=service.live_image,
            retry_rollback=settings.retry_rollback,
        ),
        pulumi.ResourceOptions(depends_on=[alarms, *service.ready_for_traffic]),
    )
    ColourScaling(
        "scaling",
        ColourScalingArgs(
            workload,
            settings.service,
            plan,
            settings.release.scale_down_delay_seconds,
            cluster.provider,
            cutover,
            service.namespace,
        ),
    )
    test_listener = TestListener(
        "test-listener", TestListenerArgs(alb, cutover.live_colour), on_aws
    )
    records = ReleaseRecords(
        "records",
        ReleaseRecordsArgs(prefix, secrets.key.arn, protect=settings.alb.deletion_protection),
        on_aws,
    )
    ci = CiRoles(
        "ci",
        CiRolesArgs(
            settings.security,
            prefix,
            settings.environment,
            settings.region,
            settings.workload.cluster_name,
            network.vpc.arn,
            [alb.production_listener.arn, test_listener.listener.arn],
            [topic.arn for topic in alerting.topics.values()],
            alerting.key.arn,
            secrets.key.arn,
            records.bucket.arn,
            permissions_boundary_arn=boundary,
            foreign_role_arns=[
                *settings.cluster.admin_role_arns,
                *filter(None, [settings.cluster.deploy_role_arn]),
            ],
        ),
        on_aws,
    )
    # Each CI role's `pulumi up` reaches the Kubernetes API as that role: the infrastructure
    # role administers the cluster, the release role (the deploy workflows') is in the group
    # the workload namespace binds to what a release changes. Neither entry is made when the
    # stack names the role already.
    for kind, groups in ((INFRASTRUCTURE, ()), (RELEASE, (RELEASE_GROUP,))):
        if not cluster.admits_role(role_name(prefix, kind)):
            cluster.admit(role_name(prefix, kind), ci.roles[kind].arn, groups)
    exports: dict[str, Any] = {}
    if settings.pr_environments is not None:
        base = PrEnvironmentBase(
            "pr-environments",
            PrEnvironmentBaseArgs(
                settings.pr_environments,
                prefix,
                settings.region,
                settings.security.github_repository,
                ci.github_provider_arn,
                alb.load_balancer,
                alb.production_listener,
                settings.alb.certificate_arn is not None,
                network.vpc.id,
                settings.alb.target_port,
                settings.alb.health_check.path,
                cluster,
                workload.cluster_name,
                workload.service_name,
                settings.secrets.names,
                settings.service,
                settings.tags,
                key_rotation,
            ),
            on_aws,
        )
        exports["prEnvironmentBase"] = base.output
        exports["prEnvironmentRoleArn"] = base.role.arn
    return exports | {
        "albDnsName": alb.load_balancer.dns_name,
        "loadBalancerArn": alb.load_balancer.arn,
        "releaseRecordsBucket": records.bucket.bucket,
        "productionListenerArn": alb.production_listener.arn,
        "testListenerArn": test_listener.listener.arn,
        "targetGroupArns": {c.value: tg.arn for c, tg in alb.target_groups.items()},
        "liveColour": cutover.live_colour,
        "weights": cutover.weights,
        "gatingAlarms": list(alarms.gating_alarms(settings.live_colour)),
        "alarmNames": {c.value: list(alarms.gating_alarms(c)) for c in Colour},
        "dashboardUrl": dashboard.url,
        "vpcId": network.vpc.id,
        "publicSubnetIds": [s.id for s in network.public_subnets],
        "privateSubnetIds": [s.id for s in network.private_subnets],
        "secretArns": {name: s.arn for name, s in secrets.secrets.items()},
        "secretsReadPolicyArn": secrets.read_policy.arn,
        "alertTopicArns": {t.value: topic.arn for t, topic in alerting.topics.items()},
        "responsePlanArns": {t.value: arn for t, arn in incidents.plan_arns.items()},
        "contactChannels": incidents.channel_outputs,
        "burnRateAlarms": {slug: c.alarm_name for slug, c in budget.composites.items()},
        "availabilitySlo": settings.slo.availability_percent,
        "ciRoleArns": {kind: role.arn for kind, role in ci.roles.items()},
        "auditTrailArn": audit.trail.arn,
        "worstCaseFaultToRollbackSeconds": worst_case_fault_to_rollback(settings),
        "clusterName": cluster.cluster.name,
        "clusterEndpoint": cluster.cluster.endpoint,
        "images": {c.value: p.image for c, p in plan.colours.items()},
        "releaseStep": settings.release.step.value,
        "hookJobs": [h.name for h in plan.hooks],
    }

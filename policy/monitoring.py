"""Alarms, logs and the audit trail: alarms act, logs are encrypted and kept, every environment's
secret reads are recorded by CloudTrail and alarmed on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from delivery.config.model import Environment
from policy.baseline import Rule, Stack, Subject, as_list

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_FILTER = "aws:cloudwatch/logMetricFilter:LogMetricFilter"
TRAIL = "aws:cloudtrail/trail:Trail"
SECRET = "aws:secretsmanager/secret:Secret"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
MIN_RETENTION_DAYS = 365
SHORT_LIVED = "short-lived environments keep logs for less (switchyard:flowLogRetentionDays)"


def _alarm_acts(alarm: Subject) -> Iterator[str]:
    if not as_list(alarm.get("alarmActions")):
        yield "notifies nobody in ALARM; set alarm_actions to the tier's SNS topic"
    if alarm.get("actionsEnabled") is False:
        yield "has its actions switched off; remove actions_enabled=False"


def _log_encrypted(group: Subject) -> Iterator[str]:
    if not group.get("kmsKeyId"):
        yield (
            "is encrypted only with CloudWatch's service key; set kms_key_id to a "
            "customer-managed key whose policy names this log group"
        )


def _log_retention(group: Subject) -> Iterator[str]:
    days = group.get("retentionInDays")
    if days and int(days) < MIN_RETENTION_DAYS:
        yield f"keeps logs {int(days)} days; keep them at least {MIN_RETENTION_DAYS}"


def _trail(trail: Subject) -> Iterator[str]:
    if not trail.get("isMultiRegionTrail"):
        yield "records one region only; set is_multi_region_trail=True"
    if not trail.get("enableLogFileValidation"):
        yield "cannot prove its logs untouched; set enable_log_file_validation=True"
    if not trail.get("kmsKeyId"):
        yield "writes logs encrypted only with SSE-S3; set kms_key_id to the audit key"
    if not trail.get("cloudWatchLogsGroupArn"):
        yield (
            "sends nothing to CloudWatch Logs, so no metric filter sees it; "
            "set cloud_watch_logs_group_arn"
        )
    for selector in as_list(trail.get("eventSelectors")):
        if (
            selector.get("includeManagementEvents") is False
            or selector.get("readWriteType", "All") != "All"
        ):
            yield "skips read or management events; Secrets Manager and KMS reads are read events"
        sources = as_list(selector.get("excludeManagementEventSources"))
        if sources:
            yield f"excludes {', '.join(map(str, sources))}; record every management event source"
    advanced = as_list(trail.get("advancedEventSelectors"))
    if advanced and not any(_records_management(a) for a in advanced):
        yield (
            "records no management events (its advanced event selectors select only data "
            "events); add a selector with eventCategory Management"
        )


def _records_management(selector: Mapping[str, Any]) -> bool:
    for field in as_list(selector.get("fieldSelectors")):
        if str(field.get("field")) == "eventCategory":
            return "Management" in [str(v) for v in as_list(field.get("equals"))]
    return False


def _secrets_audited(stack: Stack) -> Iterator[tuple[Subject, str]]:
    secrets = stack.of_type(SECRET)
    if not secrets:
        return
    if not stack.of_type(TRAIL):
        yield (
            secrets[0],
            ("is read without an audit trail; declare a CloudTrail trail for the environment"),
        )
    filters = [
        f for f in stack.of_type(METRIC_FILTER) if "GetSecretValue" in str(f.get("pattern", ""))
    ]
    if not filters:
        yield (
            secrets[0],
            (
                "reads raise no alarm; add a metric filter on GetSecretValue by unexpected callers "
                "and an alarm to the warning tier"
            ),
        )


def _waf_logged(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for acl in stack.of_type(WEB_ACL):
        if not stack.attached(acl, WAF_LOGGING, "resourceArn"):
            yield (
                acl,
                "logs no requests; add a WebAclLoggingConfiguration to an aws-waf-logs-* log group",
            )


def _waf_rules(acl: Subject) -> Iterator[str]:
    rules = as_list(acl.get("rules"))
    if not rules:
        yield "has no rules; add AWS managed rule groups and a rate-based rule"
        return
    managed = {
        ((r.get("statement") or {}).get("managedRuleGroupStatement") or {}).get("name")
        for r in rules
    }
    if "AWSManagedRulesCommonRuleSet" not in managed:
        yield "lacks AWSManagedRulesCommonRuleSet; add the AWS managed common rule group"
    if not any((r.get("statement") or {}).get("rateBasedStatement") for r in rules):
        yield "has no rate limit; add a rate-based rule (switchyard:wafRateLimit)"
    if not all((r.get("visibilityConfig") or {}).get("cloudwatchMetricsEnabled") for r in rules):
        yield "has rules without CloudWatch metrics; enable visibility_config metrics on each"


RULES = [
    Rule(
        "cloudwatch-alarm-actions",
        "Every alarm, gating alarms first, notifies a topic and has its actions on",
        "FSBP CloudWatch.15, CloudWatch.17",
        _alarm_acts,
        frozenset({METRIC_ALARM, COMPOSITE_ALARM}),
    ),
    Rule(
        "logs-encrypted",
        "CloudWatch log groups are encrypted with a customer-managed KMS key",
        "Control Tower CT.CLOUDWATCH.PR.3 (no FSBP control)",
        _log_encrypted,
        frozenset({LOG_GROUP}),
    ),
    Rule(
        "logs-retention",
        "Log groups keep at least a year of logs in prod",
        "FSBP CloudWatch.16",
        _log_retention,
        frozenset({LOG_GROUP}),
        relaxed={
            e: SHORT_LIVED for e in Environment if e.min_log_retention_days < MIN_RETENTION_DAYS
        },
    ),
    Rule(
        "cloudtrail-trail",
        "Trails are multi-region, validated, KMS-encrypted, in CloudWatch Logs, all events",
        "FSBP CloudTrail.1, CloudTrail.2, CloudTrail.4, CloudTrail.5; CIS 3.1, 3.2, 3.4, 3.7",
        _trail,
        frozenset({TRAIL}),
    ),
    Rule(
        "cloudtrail-secret-reads-audited",
        "An environment with secrets records every read and alarms on unexpected readers",
        "FSBP CloudTrail.1; baseline metric filter in the style of CIS 4.x",
        stack_check=_secrets_audited,
    ),
    Rule(
        "waf-rules",
        "Web ACLs carry the AWS managed common rules, a rate limit and metrics",
        "FSBP WAF.10, WAF.12",
        _waf_rules,
        frozenset({WEB_ACL}),
    ),
    Rule(
        "waf-logging",
        "Web ACLs log requests",
        "FSBP WAF.11",
        stack_check=_waf_logged,
    ),
]

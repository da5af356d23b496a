"""Load balancers: HTTPS with a TLS 1.2+ policy, HTTP only as a redirect, WAF, logs, protection."""

from __future__ import annotations

from collections.abc import Iterator

from delivery.config.model import Environment
from policy.baseline import Rule, Stack, Subject

LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
DEV_HTTP = "dev has no certificate and serves plain HTTP on purpose (certificateArn unset)"
# ELB.17: the recommended policies negotiate TLS 1.2 at least (the TLS13 family adds 1.3).
RECOMMENDED_TLS = (
    "ELBSecurityPolicy-TLS13-",
    "ELBSecurityPolicy-TLS-1-2-",
    "ELBSecurityPolicy-FS-1-2-",
)


def _redirects_to_https(listener: Subject) -> bool:
    actions = listener.get("defaultActions") or []
    return bool(actions) and all(
        a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
        for a in actions
    )


def _https_listener(listener: Subject) -> Iterator[str]:
    protocol = listener.get("protocol")
    if protocol == "HTTP" and not _redirects_to_https(listener):
        yield (
            f"serves plain HTTP on port {int(listener.get('port') or 0)}; serve HTTPS with a "
            "certificate (switchyard:certificateArn) and keep HTTP only as a redirect to HTTPS"
        )


def _tls_policy(listener: Subject) -> Iterator[str]:
    if listener.get("protocol") not in ("HTTPS", "TLS"):
        return
    policy = listener.get("sslPolicy")
    if not isinstance(policy, str) or not policy.startswith(RECOMMENDED_TLS):
        yield (
            f"uses TLS policy {policy or 'ELBSecurityPolicy-2016-08 (the default, TLS 1.0)'}; "
            "set ssl_policy to ELBSecurityPolicy-TLS13-1-2-2021-06 or another TLS 1.2+ policy"
        )


def _drops_invalid_headers(alb: Subject) -> Iterator[str]:
    if alb.get("loadBalancerType", "application") == "application" and not alb.get(
        "dropInvalidHeaderFields"
    ):
        yield "forwards invalid HTTP headers; set drop_invalid_header_fields=True"


def _access_logs(alb: Subject) -> Iterator[str]:
    logs = alb.get("accessLogs") or {}
    if not logs.get("enabled") or not logs.get("bucket"):
        yield "keeps no access logs; set access_logs to an encrypted, private bucket, enabled"


def _deletion_protection(alb: Subject) -> Iterator[str]:
    if not alb.get("enableDeletionProtection"):
        yield "can be deleted by one API call; set enable_deletion_protection=True"


def _desync(alb: Subject) -> Iterator[str]:
    if alb.get("desyncMitigationMode") == "monitor":
        yield "only monitors HTTP desync; set desync_mitigation_mode to defensive or strictest"


def _multi_az(alb: Subject) -> Iterator[str]:
    subnets = alb.get("subnets") or alb.get("subnetMappings") or []
    if len(subnets) < 2:
        yield "spans fewer than two zones; give it a subnet in at least two availability zones"


def _waf(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for alb in stack.of_type(LOAD_BALANCER):
        if alb.get("internal") or alb.get("loadBalancerType", "application") != "application":
            continue
        if not stack.attached(alb, WAF_ASSOCIATION, "resourceArn"):
            yield (
                alb,
                (
                    "faces the internet without a WAF web ACL; associate one with AWS managed rule "
                    "groups and a rate limit (switchyard:wafRateLimit)"
                ),
            )


RULES = [
    Rule(
        "elb-https-listeners",
        "Load balancer listeners serve HTTPS; plain HTTP only redirects to HTTPS",
        "FSBP ELB.1, ELB.18",
        _https_listener,
        frozenset({LISTENER}),
        relaxed={e: DEV_HTTP for e in Environment if not e.https_only},
    ),
    Rule(
        "elb-tls12-policy",
        "HTTPS listeners negotiate TLS 1.2 or newer with a recommended security policy",
        "FSBP ELB.17",
        _tls_policy,
        frozenset({LISTENER}),
    ),
    Rule(
        "elb-drop-invalid-headers",
        "Application load balancers drop invalid HTTP headers",
        "FSBP ELB.4",
        _drops_invalid_headers,
        frozenset({LOAD_BALANCER}),
    ),
    Rule(
        "elb-access-logs",
        "Load balancers write access logs",
        "FSBP ELB.5",
        _access_logs,
        frozenset({LOAD_BALANCER}),
    ),
    Rule(
        "elb-deletion-protection",
        "The production load balancer has deletion protection",
        "FSBP ELB.6",
        _deletion_protection,
        frozenset({LOAD_BALANCER}),
        relaxed={e: f"{e} is torn down and rebuilt freely" for e in Environment if not e.protected},
    ),
    Rule(
        "elb-desync-mitigation",
        "Application load balancers mitigate HTTP desync (defensive or strictest)",
        "FSBP ELB.12",
        _desync,
        frozenset({LOAD_BALANCER}),
    ),
    Rule(
        "elb-multi-az",
        "Load balancers span at least two availability zones",
        "FSBP ELB.13",
        _multi_az,
        frozenset({LOAD_BALANCER}),
    ),
    Rule(
        "elb-waf",
        "Internet-facing application load balancers are protected by a WAF web ACL",
        "FSBP ELB.16",
        stack_check=_waf,
        relaxed={
            e: f"{e} carries no user traffic; the web ACL's cost is kept for the others"
            for e in Environment
            if not e.guarded_by_waf
        },
    ),
]

"""What `check` warns about before a real `pulumi up`: values a real account cannot use (the
committed examples) and a private cluster's temporary bootstrap address. Warnings, not
errors: the committed stack files must stay valid so the tests and the rehearsal run them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from delivery.config.model import Settings

EXAMPLE_ACCOUNT: Final = "123456789012"  # the AWS documentation's placeholder account
# RFC 5737: addresses reserved for documentation, routed nowhere; no client connects from them.
DOCUMENTATION_RANGES: Final = tuple(
    ipaddress.IPv4Network(block) for block in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
_EXAMPLE_OWNER: Final = re.compile(r"^example-org/")
_EXAMPLE_DOMAIN: Final = re.compile(r"@example\.(?:com|org|net)\b")  # RFC 2606
_ADDRESS: Final = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?$")


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def _documentation_range(text: str) -> ipaddress.IPv4Network | None:
    if not _ADDRESS.match(text.strip()):
        return None
    try:
        net = ipaddress.IPv4Network(text.strip(), strict=False)
    except ValueError:
        return None
    return next((d for d in DOCUMENTATION_RANGES if net.overlaps(d)), None)


EXAMPLE_SLACK_WORKSPACE: Final = "T0EXAMPLE1"  # the committed stack files' Slack workspace


def example_value_warnings(config: Mapping[str, Any]) -> list[str]:
    """Each key of a stack file that still holds a committed example, with what to put there."""
    found = []
    for key, value in config.items():
        texts = list(_texts(value))
        if any(EXAMPLE_ACCOUNT in t for t in texts):
            found.append(
                f"{key} names the example account {EXAMPLE_ACCOUNT}: put your account's ARNs "
                "and registry there (`aws sts get-caller-identity` shows the account id)"
            )
        if any(_EXAMPLE_OWNER.match(t) for t in texts):
            found.append(
                f"{key} is the example repository: set it to your <owner>/<name>, or GitHub's "
                "OIDC tokens will match no role"
            )
        ranges = sorted({str(r) for t in texts if (r := _documentation_range(t))})
        if ranges:
            found.append(
                f"{key} lists documentation addresses ({', '.join(ranges)}, RFC 5737) that no "
                "client connects from: list your runners' or VPN's real egress ranges"
            )
        if any(EXAMPLE_SLACK_WORKSPACE in t for t in texts):
            found.append(
                f"{key} names the example Slack workspace {EXAMPLE_SLACK_WORKSPACE}: put your "
                "workspace's and channels' ids there (Slack shows them under the channel's "
                "details; authorise the workspace in the AWS Chatbot console first)"
            )
        if any(_EXAMPLE_DOMAIN.search(t) for t in texts):
            found.append(
                f"{key} uses example.com addresses (RFC 2606) that receive no mail: use your "
                "team's real addresses, or no alert or page reaches anyone"
            )
    return found


def incident_manager_warnings(settings: Settings) -> list[str]:
    """A stack that would create the account's Incident Manager replication set: since
    2025-11-07 Incident Manager takes no new customers ("AWS Systems Manager Incident Manager
    availability change", Incident Manager User Guide), so in an account that never used it the
    first `pulumi up` fails at the replication set."""
    incidents = settings.incidents
    if not incidents.enabled or incidents.replication_set_arn is not None:
        return []
    return [
        "this stack creates the account's Incident Manager replication set, and Incident "
        "Manager has taken no new customers since 2025-11-07: in an account that has not used "
        "it, `pulumi up` fails there. Check with `aws ssm-incidents list-replication-sets`; if "
        "the account has one, set switchyard:incidentReplicationSetArn to it; if it has none "
        "and cannot get one, remove switchyard:incidentContacts and the *Escalation keys and "
        "page through switchyard:alertWebhooks (PagerDuty's CloudWatch integration URL on the "
        "critical and emergency topics) (README, incidents)"
    ]


def bootstrap_warnings(settings: Settings) -> list[str]:
    address = settings.cluster.api.bootstrap_cidr
    if address is None:
        return []
    return [
        f"switchyard:clusterBootstrapCidr admits {address} to the public Kubernetes API "
        "endpoint: it is for a private cluster's first deploy only; once a runner inside the "
        "VPC reaches the private endpoint (clusterApiAccessSecurityGroupIds), remove it with "
        f"`pulumi config rm switchyard:clusterBootstrapCidr --stack {settings.stack}` and run "
        "`pulumi up` from that runner (README, first deploy of a private cluster)"
    ]

"""Every rule of the baseline, in one list: the pack served by ``__main__`` and run offline by
``python -m policy.offline``."""

from __future__ import annotations

from pulumi_policy import Policy

from policy import eks, elb, iam, keys, monitoring, network, s3, sns, tags
from policy.baseline import Rule, policies_of

NAME = "switchyard-baseline"
RULES: list[Rule] = [
    *elb.RULES,
    *s3.RULES,
    *keys.RULES,
    *sns.RULES,
    *network.RULES,
    *iam.RULES,
    *monitoring.RULES,
    *eks.RULES,
    *tags.RULES,
]
POLICIES: list[Policy] = policies_of(RULES)

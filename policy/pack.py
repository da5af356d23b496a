"""Every rule of the baseline, in one list: the pack served by ``__main__`` and run offline by
``python -m policy.offline``."""

from __future__ import annotations

import dataclasses

from pulumi_policy import Policy

from policy import eks, elb, iam, keys, monitoring, network, s3, sns, tags
from policy.baseline import Rule, policies_of
from policy.frameworks import criteria_tags

NAME = "switchyard-baseline"
_RULES: list[Rule] = [
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
# Each rule tagged with the SOC 2 and PCI DSS criteria it serves (policy/frameworks.py).
RULES: list[Rule] = [dataclasses.replace(r, tags=criteria_tags(r.name)) for r in _RULES]
POLICIES: list[Policy] = policies_of(RULES)

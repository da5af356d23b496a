"""The required tags on every taggable AWS resource (its own tags merged over the provider's
default tags, which AWS applies to every taggable resource)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policy.baseline import Rule, Subject

REQUIRED_TAGS = ("environment", "project", "owner", "cost-centre")


class AwsResources(frozenset[str]):
    """Every ``aws:`` resource type except providers (the rule filters on the prefix)."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and item.startswith("aws:")


def _tagged(subject: Subject) -> Iterator[str]:
    own = subject.get("tags")
    tags = {**subject.default_tags, **(own if isinstance(own, Mapping) else {})}
    missing = [t for t in REQUIRED_TAGS if not tags.get(t)]
    if missing:
        yield (
            f"lacks the tags {', '.join(missing)}; set them as the AWS provider's default_tags "
            "(infra/environment.py does, from switchyard:owner and switchyard:costCentre)"
        )


RULES = [
    Rule(
        "tags-required",
        "Every AWS resource carries environment, project, owner and cost-centre tags",
        "FSBP resource tagging (e.g. SecretsManager.5, SNS.3, CloudTrail.9)",
        _tagged,
        AwsResources(),
    ),
]

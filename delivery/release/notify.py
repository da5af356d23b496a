"""Release notifications on the environment's SNS tiers: start and promotion (info), rollback
(critical, with its cause and a link to its post-incident record), refusal (warning), each with
a link to the CI run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from delivery.config.model import Tier
from delivery.cutover.alerts import for_people, sns_subject
from delivery.cutover.aws import call
from delivery.release.record import Outcome, ReleaseRecord


class Notifier(Protocol):
    def publish(self, tier: Tier, subject: str, message: str) -> None: ...


@dataclass(frozen=True)
class Notice:
    tier: Tier
    subject: str
    message: str


def _link(record: ReleaseRecord) -> str:
    return f"\nRun: {record.run_url}" if record.run_url else ""


def started(record: ReleaseRecord) -> Notice:
    return Notice(
        Tier.INFO,
        f"[{record.stack}] release started: {record.image}",
        f"Releasing {record.image} ({record.commit or 'no commit given'}) to {record.target} "
        f"on {record.stack}; {record.source} carries production until promotion.{_link(record)}",
    )


def finished(record: ReleaseRecord) -> Notice | None:
    """The notice for a release's outcome; None while it has none."""
    tiers = {
        Outcome.PROMOTED: (Tier.INFO, "promoted"),
        Outcome.ROLLED_BACK: (Tier.CRITICAL, "ROLLED BACK"),
        Outcome.ABORTED: (Tier.CRITICAL, "ABORTED"),
        Outcome.STOPPED: (Tier.WARNING, "refused"),
        Outcome.FAILED: (Tier.CRITICAL, "FAILED"),  # drift, a failed rollback: look now
    }
    if record.outcome not in tiers:
        return None
    tier, verb = tiers[record.outcome]
    cause = f"\nCause: {record.cause}" if record.cause else ""
    live = record.target if record.outcome is Outcome.PROMOTED else record.source
    incident = (
        f"\nPost-incident record: {record.post_incident} (python -m delivery incident {record.id})"
        if record.post_incident
        else ""
    )
    return Notice(
        tier,
        f"[{record.stack}] release {verb}: {record.image}",
        f"Release {record.id} of {record.image} on {record.stack}: {verb}. "
        f"{live} carries production.{cause}{incident}{_link(record)}",
    )


class SnsNotifier:
    def __init__(self, sns: Any, topics: Mapping[Tier, str]) -> None:
        self._sns = sns
        self._topics = dict(topics)

    def publish(self, tier: Tier, subject: str, message: str) -> None:
        topic = self._topics.get(tier)
        if topic is None:
            return
        subject = sns_subject(subject)
        call(
            self._sns.publish,
            TopicArn=topic,
            Subject=subject,
            MessageStructure="json",  # AWS Chatbot shows only its custom notifications
            Message=json.dumps(for_people(subject, message)),
        )


class Silent:
    def publish(self, tier: Tier, subject: str, message: str) -> None:
        return None

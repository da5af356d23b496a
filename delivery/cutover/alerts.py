"""What a rollback tells people and machines: the SNS message built from a CutoverReport."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from delivery.cutover.events import CutoverReport, Outcome
from delivery.cutover.records import NO_RELEASE

SUBJECT_LIMIT: Final = 99  # SNS: under 100 characters, ASCII, no line breaks
MESSAGE_SCHEMA: Final = "switchyard.rollback/v1"


@dataclass(frozen=True)
class AlertMessage:
    """One SNS message: ``text`` for people (e-mail, chat), ``body`` (JSON) for machines."""

    subject: str
    text: str
    body: str

    def sns_message(self) -> str:
        """The ``Message`` for ``MessageStructure=json``: queues and functions get the JSON body,
        HTTPS subscribers (AWS Chatbot's) a Chatbot custom notification, the rest the text."""
        return json.dumps(
            {**for_people(self.subject, self.text), "sqs": self.body, "lambda": self.body}
        )


# AWS Chatbot shows, of what an SNS topic carries, the events of the services it supports and
# "custom notifications" of this shape (AWS Chatbot's guide, "Custom notifications"); a plain
# text message it drops. Title and description within its limits (250 and 8,000 characters).
CHAT_TITLE_LIMIT: Final = 250
CHAT_DESCRIPTION_LIMIT: Final = 8000


def for_people(subject: str, text: str) -> dict[str, str]:
    """A ``MessageStructure=json`` message's parts for people: the text, and for HTTPS
    subscribers (AWS Chatbot's) the same as a Chatbot custom notification."""
    return {"default": text, "https": chat_notification(subject, text)}


def chat_notification(subject: str, text: str) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "source": "custom",
            "content": {
                "textType": "client-markdown",
                "title": subject[:CHAT_TITLE_LIMIT],
                "description": text[:CHAT_DESCRIPTION_LIMIT],
            },
        }
    )


def rollback_message(report: CutoverReport, stack: str, release: str) -> AlertMessage:
    """The message published on a rollback (critical) or a failed rollback (emergency)."""
    failed = report.outcome is Outcome.ROLLBACK_FAILED
    what = "ROLLBACK FAILED" if failed else "rolled back"
    where = f" at step {report.step}%" if report.step is not None else ""
    subject = sns_subject(f"Switchyard {stack}: {report.source}->{report.target} {what}{where}")
    now = str(report.weights) if report.weights else "unknown (see the cause)"
    lines = [
        f"Stack {stack}: the shift from {report.source} to {report.target} was {what}{where}.",
        f"Release on {report.target}: {release or NO_RELEASE}",
        f"Weights in force now: {now}",
        f"Cause: {report.cause}",
    ]
    if report.alarm:
        lines.append(f"Alarm: {report.alarm.alarm} ({report.alarm.reason or 'no reason given'})")
    if report.reaction_seconds is not None:
        lines.append(f"Reaction: {report.reaction_seconds * 1000:.0f} ms from first sign to 100/0")
    if failed:
        lines.append(f"ACT NOW: restore 100% on {report.source} on the listener by hand.")
    body: dict[str, Any] = {
        "schema": MESSAGE_SCHEMA,
        "stack": stack,
        "release": release,
        "report": report.as_dict(),
    }
    return AlertMessage(subject, "\n".join(lines), json.dumps(body, sort_keys=True))


def _ascii_line(text: str) -> str:
    return re.sub(r"[^\x20-\x7e]", "?", text)


def sns_subject(text: str) -> str:
    """A subject SNS takes: "UTF-8 text with no line breaks or control characters, and less
    than 100 characters long" (SNS API reference, Publish); ASCII, so e-mail shows it whole."""
    return _ascii_line(" ".join(text.split()))[:SUBJECT_LIMIT]

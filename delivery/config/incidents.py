"""Reads the incident keys (declared in ``delivery.config.keys``: contacts, escalations per
paging tier, the replication set, the availability objective) into the model.

Incident Manager's rules are applied here, before anything is registered: a stage waits 1..30
minutes (SSM Contacts' ``Stage.DurationInMinutes`` is 0..30, and 0 would engage the next stage
before anyone could acknowledge), every contact a stage names has at least one channel, and
staging and prod give every paging tier at least one stage.
"""

from __future__ import annotations

import re
from typing import Final

from delivery.config.model import (
    ChannelType,
    Contact,
    ContactChannel,
    Environment,
    EscalationStage,
    IncidentSettings,
    Slo,
    Tier,
)
from delivery.config.reader import ConfigReader, shown

MAX_STAGE_MINUTES: Final = 30  # SSM Contacts API, Stage.DurationInMinutes: 0..30
CONTACT_NAME: Final = re.compile(r"[a-z][a-z0-9-]{0,39}\Z", re.ASCII)
_CHANNEL: Final = re.compile(r"(?P<name>[^:]*):(?P<type>[^:]*):(?P<address>.*)\Z", re.DOTALL)
_STAGE: Final = re.compile(r"(?P<minutes>[0-9]{1,4}):(?P<contacts>[^:]+)\Z", re.ASCII)
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}\Z", re.ASCII)  # ITU-T E.164, as SSM Contacts wants
_REPLICATION_SET: Final = re.compile(
    r"arn:aws[a-z-]*:ssm-incidents::[0-9]{12}:replication-set/[A-Za-z0-9-]+\Z", re.ASCII
)
ESCALATION_KEYS: Final = {
    Tier.CRITICAL: "criticalEscalation",
    Tier.EMERGENCY: "emergencyEscalation",
}
SLO_RANGE: Final = (90.0, 100.0)  # below 90% is no objective; 100% leaves no budget at all


def _channel_problem(kind: ChannelType, address: str) -> str | None:
    if kind is ChannelType.EMAIL and not _EMAIL.match(address):
        return "an EMAIL channel needs an e-mail address"
    if kind is not ChannelType.EMAIL and not _E164.match(address):
        return f"a {kind} channel needs a phone number in E.164, such as +15555550100"
    return None


def _read_contacts(reader: ConfigReader) -> tuple[Contact, ...]:
    channels: dict[str, list[ContactChannel]] = {}
    for item in reader.listing("incidentContacts") or []:
        found = _CHANNEL.match(str(item))
        kind = next(
            (t for t in ChannelType if found and t.value == found["type"].strip().upper()), None
        )
        if not found or not CONTACT_NAME.match(found["name"]) or kind is None:
            reader.fail(
                "incidentContacts",
                "entries must be '<contact>:<EMAIL|SMS|VOICE>:<address>' with a contact name "
                f"of a-z, 0-9 and - (at most 40), e.g. 'alice:EMAIL:alice@example.com'; got "
                f"{shown(item)}",
            )
            continue
        channel = ContactChannel(kind, found["address"].strip())
        problem = _channel_problem(kind, channel.address)
        if problem:
            reader.fail("incidentContacts", f"{problem}; got {shown(item)}")
            continue
        if channel in channels.get(found["name"], []):
            reader.fail("incidentContacts", f"lists {shown(item)} twice; keep one")
            continue
        channels.setdefault(found["name"], []).append(channel)
    return tuple(Contact(name, tuple(found)) for name, found in channels.items())


def _read_stages(
    reader: ConfigReader, tier: Tier, known: set[str] | None, required: bool
) -> tuple[EscalationStage, ...] | None:
    name = ESCALATION_KEYS[tier]
    raw = reader.listing(name)
    if raw is None:
        return None
    if not raw:
        if required:
            reader.fail(
                name,
                f"has no stage: an incident started by the {tier} alarms would engage nobody; "
                "list at least one stage, each '<minutes>:<contact>[+<contact>...]', "
                "e.g. ['5:alice', '10:bob+carol']",
            )
        return None
    stages = []
    for item in raw:
        found = _STAGE.match(str(item))
        contacts = tuple(found["contacts"].split("+")) if found else ()
        if not found or not all(CONTACT_NAME.match(c) for c in contacts):
            reader.fail(
                name,
                "stages must be '<minutes>:<contact>[+<contact>...]', e.g. '5:alice' or "
                f"'10:bob+carol'; got {shown(item)}",
            )
            return None
        minutes = int(found["minutes"])
        if minutes == 0:
            reader.fail(
                name,
                f"stage {shown(item)} waits 0 minutes: the next stage would be engaged before "
                f"anyone could acknowledge; give it 1..{MAX_STAGE_MINUTES} minutes",
            )
            return None
        if minutes > MAX_STAGE_MINUTES:
            reader.fail(
                name,
                f"stage {shown(item)} waits {minutes} minutes; Incident Manager allows at most "
                f"{MAX_STAGE_MINUTES} per stage: split it into more stages",
            )
            return None
        missing = [c for c in contacts if known is not None and c not in known]
        if missing:
            reader.fail(
                name,
                f"stage {shown(item)} names contact {missing[0]!r}, which has no channel: add "
                f"'{missing[0]}:EMAIL:<address>' (or SMS/VOICE) to incidentContacts",
            )
            return None
        if len(set(contacts)) != len(contacts):
            reader.fail(name, f"stage {shown(item)} names a contact twice; keep one")
            return None
        stages.append(EscalationStage(minutes, contacts))
    return tuple(stages)


def read_incidents(reader: ConfigReader, environment: Environment | None) -> IncidentSettings:
    contacts = _read_contacts(reader)
    # A bad contact entry is reported once, not again by every stage that names it.
    known = None if reader.has_problem("incidentContacts") else {c.name for c in contacts}
    required = environment is not None and environment.pages_people
    escalations = {}
    for tier in ESCALATION_KEYS:
        stages = _read_stages(reader, tier, known, required)
        if stages:
            escalations[tier] = stages
    engaged = {c for stages in escalations.values() for s in stages for c in s.contacts}
    # Judged only when every list read cleanly: a bad stage would make its contacts look unused.
    clean = not any(reader.has_problem(k) for k in ("incidentContacts", *ESCALATION_KEYS.values()))
    for contact in contacts:
        if contact.name not in engaged and clean:
            reader.fail(
                "incidentContacts",
                f"contact {contact.name!r} is in no escalation stage, so nothing engages it: "
                "name it in criticalEscalation or emergencyEscalation, or remove it",
            )
    replication = reader.matching(
        "incidentReplicationSetArn",
        _REPLICATION_SET,
        "the ARN of the account's Incident Manager replication set, "
        "arn:aws:ssm-incidents::<account>:replication-set/<id>",
    )
    return IncidentSettings(contacts, escalations, replication)


def read_slo(reader: ConfigReader) -> Slo | None:
    percent = reader.percent("availabilitySlo", *SLO_RANGE)
    days = reader.integer("sloPeriodDays")
    if percent is None or days is None:
        return None
    return Slo(percent, days)

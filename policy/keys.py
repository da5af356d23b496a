"""KMS keys and Secrets Manager: rotation, customer-managed keys, no public key policies."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator

from policy.baseline import Rule, Stack, Subject, allows, public, sid

KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_ROTATION = "aws:secretsmanager/secretRotation:SecretRotation"
MAX_KEY_ROTATION_DAYS = 365  # CIS: at least yearly
MAX_SECRET_ROTATION_DAYS = 90  # SecretsManager.4's default maxDaysSinceRotation


def _key_rotation(key: Subject) -> Iterator[str]:
    # pulumi-aws 7 names the spec keySpec; customerMasterKeySpec is its deprecated alias. Only
    # symmetric keys can rotate automatically (KMS "Rotate AWS KMS keys"): others are out of
    # scope, not a violation.
    spec = key.get("keySpec") or key.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if spec != "SYMMETRIC_DEFAULT":
        return
    if not key.get("enableKeyRotation"):
        yield "never rotates; set enable_key_rotation=True"
        return
    days = key.get("rotationPeriodInDays")
    if days is not None and int(days) > MAX_KEY_ROTATION_DAYS:
        yield (
            f"rotates every {int(days)} days; rotate at least yearly "
            f"(rotation_period_in_days <= {MAX_KEY_ROTATION_DAYS}, switchyard:keyRotationDays)"
        )


def _key_policy_not_public(key: Subject) -> Iterator[str]:
    for statement in allows(key.get("policy")):
        if public(statement):
            yield (
                f"key policy statement {sid(statement)} allows everyone; name the "
                "account root or specific roles"
            )


def _secret_key(secret: Subject) -> Iterator[str]:
    key = secret.get("kmsKeyId")
    if not key or str(key).endswith("alias/aws/secretsmanager"):
        yield (
            "is encrypted with the AWS managed key; set kms_key_id to the environment's "
            "customer-managed key so its key policy and CloudTrail govern every read"
        )


def _secret_rotation(stack: Stack) -> Iterator[tuple[Subject, str]]:
    for secret in stack.of_type(SECRET):
        if not stack.attached(secret, SECRET_ROTATION, "secretId"):
            yield (
                secret,
                (
                    "never rotates; set switchyard:rotationLambdaArn to a rotation function "
                    "so a SecretRotation is declared"
                ),
            )


_RATE = re.compile(r"^rate\((\d+) (hours?|days?)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")


def _months(field: str) -> set[int] | None:
    """The months a cron month field names (1-12, JAN-DEC, lists, ranges, steps), or None."""
    names = {m: i + 1 for i, m in enumerate(calendar.month_abbr[1:])}
    found: set[int] = set()
    for part in field.upper().split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            low, high = 1, 12
        else:
            first, _, last = base.partition("-")
            try:
                low = names.get(first.title()) or int(first)
                high = (names.get(last.title()) or int(last)) if last else (12 if step else low)
            except ValueError:
                return None
        found.update(range(low, high + 1, int(step) if step.isdigit() else 1))
    return found


def _longest_gap_days(expression: str) -> int | None:
    """The longest wait between two rotations a Secrets Manager schedule allows, in days, or
    None when the expression is not one this rule reads ("Rotation by schedule expressions":
    rate(N hours|days), cron(minutes hours day-of-month month day-of-week year))."""
    rate = _RATE.match(expression.strip())
    if rate:
        amount = int(rate[1])
        return amount if rate[2].startswith("day") else -(-amount // 24)
    cron = _CRON.match(expression.strip())
    fields = cron[1].split() if cron else []
    if len(fields) != 6:
        return None
    if fields[5] not in ("*", "?"):
        return 10_000  # a given year: after it, never again
    months = _months(fields[3])
    if not months:
        return None
    ordered = sorted(months)
    gaps = [(b - a) % 12 or 12 for a, b in zip(ordered, [*ordered[1:], ordered[0]], strict=True)]
    return max(gaps) * 31


def _rotation_interval(rotation: Subject) -> Iterator[str]:
    rules = rotation.get("rotationRules") or {}
    days = rules.get("automaticallyAfterDays")
    expression = rules.get("scheduleExpression")
    if days is None and not expression:
        yield "has no schedule; set rotation_rules.automatically_after_days <= 90"
    elif days is not None and int(days) > MAX_SECRET_ROTATION_DAYS:
        yield (
            f"rotates every {int(days)} days; rotate at least every {MAX_SECRET_ROTATION_DAYS} "
            "days (switchyard:secretRotationDays)"
        )
    elif expression:
        gap = _longest_gap_days(str(expression))
        if gap is None:
            yield (
                f"rotates on {expression!r}, which this rule cannot read; use rate(N days) "
                f"with N <= {MAX_SECRET_ROTATION_DAYS}"
            )
        elif gap > MAX_SECRET_ROTATION_DAYS:
            yield (
                f"rotates on {expression!r}, up to {gap} days apart; rotate at least every "
                f"{MAX_SECRET_ROTATION_DAYS} days"
            )


RULES = [
    Rule(
        "kms-key-rotation",
        "Customer-managed symmetric KMS keys rotate automatically, at least yearly",
        "FSBP KMS.4; CIS 3.8",
        _key_rotation,
        frozenset({KEY}),
    ),
    Rule(
        "kms-key-policy-not-public",
        "KMS key policies grant nothing to everyone",
        "FSBP KMS.5",
        _key_policy_not_public,
        frozenset({KEY}),
    ),
    Rule(
        "secrets-customer-key",
        "Secrets are encrypted with the environment's customer-managed KMS key",
        "baseline (no FSBP control; KMS.1-2 and SecretsManager.1-4 assume it)",
        _secret_key,
        frozenset({SECRET}),
    ),
    Rule(
        "secrets-rotation",
        "Every secret rotates through a rotation function",
        "FSBP SecretsManager.1",
        stack_check=_secret_rotation,
        relaxed={
            "dev": "dev's secrets are throwaway values and dev may run without a rotation function"
        },
    ),
    Rule(
        "secrets-rotation-interval",
        "Secrets rotate at least every 90 days",
        "FSBP SecretsManager.4",
        _rotation_interval,
        frozenset({SECRET_ROTATION}),
    ),
]

"""Dev's PR environment keys: each bad value names its key and how to fix it, in dev; none of
them is accepted in staging or prod."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.config.model import PROJECT
from delivery.config.settings import load_settings
from delivery.config.stackfile import stack_config
from delivery.errors import ConfigError

DEV: dict[str, Any] = stack_config("dev")
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"


def problems(base: dict[str, Any], **overrides: Any) -> dict[str, str]:
    raw = dict(base)
    for key, value in overrides.items():
        if value is ...:
            raw.pop(f"{PROJECT}:{key}", None)
        else:
            raw[f"{PROJECT}:{key}"] = value
    with pytest.raises(ConfigError) as failure:
        load_settings(raw, "dev")
    return {p.key.removeprefix(f"{PROJECT}:"): p.reason for p in failure.value.problems}


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        ({"prDomain": "PR.dev.example.com"}, "prDomain", "lower-case DNS name"),
        ({"prDomain": "pr.dev.example.com."}, "prDomain", "without the final dot"),
        ({"prDomain": "pr..example.com"}, "prDomain", "such as pr.dev.example.com"),
        ({"prDomain": "a" * 60 + "." + "b" * 60 + ".com"}, "prDomain", "host condition (128)"),
        ({"prHostedZoneId": ...}, "prHostedZoneId", "list-hosted-zones-by-name"),
        ({"prHostedZoneId": "/hostedzone/Z0123"}, "prHostedZoneId", "write Z0123, without"),
        ({"prGithubEnvironment": "pr envs"}, "prGithubEnvironment", "a GitHub environment"),
        ({"prGithubEnvironment": "Infrastructure-Dev"}, "prGithubEnvironment", "of their own"),
        ({"prGithubEnvironment": "DEV"}, "prGithubEnvironment", "of their own"),
        ({"prDomain": ...}, "prHostedZoneId", "set prDomain too"),
        ({"prCertificateArn": CERTIFICATE}, "prCertificateArn", "serves HTTP only"),
        (
            {"certificateArn": CERTIFICATE},
            "prCertificateArn",
            "an ACM certificate for *.pr.dev.example.com",
        ),
        (
            {"certificateArn": CERTIFICATE, "prCertificateArn": "arn:aws:acm:x"},
            "prCertificateArn",
            "must be an ACM certificate ARN",
        ),
        (
            {
                "certificateArn": CERTIFICATE,
                "prCertificateArn": CERTIFICATE.replace("eu-west-1", "us-east-1"),
            },
            "prCertificateArn",
            "its own region",
        ),
    ],
)
def test_each_bad_pr_key_names_itself_and_the_fix(
    overrides: dict[str, Any], key: str, reason: str
) -> None:
    found = problems(DEV, **overrides)
    assert list(found) == [key], found
    assert reason in found[key]


def test_https_dev_with_a_pr_certificate_is_read() -> None:
    raw = {
        **DEV,
        f"{PROJECT}:certificateArn": CERTIFICATE,
        f"{PROJECT}:prCertificateArn": CERTIFICATE,
    }
    settings = load_settings(raw, "dev")
    assert settings.pr_environments is not None
    assert settings.pr_environments.certificate_arn == CERTIFICATE


def test_only_dev_may_have_pr_environments() -> None:
    staging = stack_config("staging")
    found = problems(
        staging | {f"{PROJECT}:environment": "staging"},
        prDomain="pr.staging.example.com",
        prHostedZoneId="Z0123456789ABCDEFGHIJ",
    )
    assert "remove prDomain from the staging stack" in found["prDomain"]

"""EnvironmentSecrets: a rotating KMS key, the environment's secrets, and a read-only policy."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.keys import account_output, customer_key, key_policy
from delivery.config.aws_rules import secrets_read_policy
from delivery.config.model import SecretsSettings


@dataclass(frozen=True)
class EnvironmentSecretsArgs:
    settings: SecretsSettings
    name_prefix: str
    region: str
    values: Mapping[str, pulumi.Output[str]]  # Pulumi secrets (infra.config), one per name
    recovery_window_days: int = 30


class EnvironmentSecrets(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EnvironmentSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("switchyard:secrets:EnvironmentSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        # The secrets' own key: IAM policies grant its use (the read policy, through Secrets
        # Manager only); the alert topics have a key of their own (components/alerting.py).
        self.key = customer_key(
            f"{name}-key",
            f"Switchyard {args.name_prefix}: encrypts the environment's secrets",
            settings.key_rotation_days,
            account_output(self, args.region).apply(lambda account: key_policy(account, [])),
            self,
            args.name_prefix,
        )
        self.secrets: dict[str, aws.secretsmanager.Secret] = {}
        for secret_name in settings.names:
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_name}",
                name=f"{args.name_prefix}/{secret_name}",
                kms_key_id=self.key.arn,
                recovery_window_in_days=args.recovery_window_days,
                opts=child,
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{secret_name}",
                secret_id=secret.id,
                secret_string=args.values[secret_name],
                opts=child,
            )
            if settings.rotation_lambda_arn:
                aws.secretsmanager.SecretRotation(
                    f"{name}-{secret_name}",
                    secret_id=secret.id,
                    rotation_lambda_arn=settings.rotation_lambda_arn,
                    rotation_rules={"automatically_after_days": settings.rotation_days},
                    opts=child,
                )
            self.secrets[secret_name] = secret

        arns = [s.arn for s in self.secrets.values()]
        self.read_policy = aws.iam.Policy(
            f"{name}-read",
            name_prefix=f"{args.name_prefix}-read-secrets-",
            description=f"Read exactly the {args.name_prefix} secrets, nothing else",
            policy=pulumi.Output.all(self.key.arn, *arns).apply(
                lambda resolved: json.dumps(
                    secrets_read_policy(resolved[0], resolved[1:], args.region)
                )
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "keyArn": self.key.arn,
                "secretArns": {n: s.arn for n, s in self.secrets.items()},
                "readPolicyArn": self.read_policy.arn,
            }
        )

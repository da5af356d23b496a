"""IAM: no administrator or service-wide wildcards, KMS decryption scoped to named keys, service
principals pinned against the confused deputy, GitHub OIDC trust pinned to repository and
environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from policy.baseline import (
    Rule,
    Stack,
    Subject,
    allows,
    as_list,
    condition_keys,
    principals,
    public,
    sid,
)

ROLE = "aws:iam/role:Role"
POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ATTACHMENTS = {  # what attaches a managed policy to a principal, and the property naming it
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "policyArn",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "policyArn",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": "policyArn",
    "aws:iam/policyAttachment:PolicyAttachment": "policyArn",
}
KEY = "aws:kms/key:Key"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
IDENTITY_POLICIES = frozenset({ROLE, POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY})
RESOURCE_POLICIES = frozenset({ROLE, KEY, BUCKET_POLICY, TOPIC_POLICY})
GITHUB = "token.actions.githubusercontent.com"
# Keys that tie a service principal's request to this account or one of its resources.
DEPUTY_KEYS = frozenset(
    {
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "kms:encryptioncontext:aws:logs:arn",
        "kms:encryptioncontext:aws:cloudtrail:arn",
    }
)
# Trust relationships for which AWS populates none of these keys (the instance or cluster
# service assumes the role directly): a condition there would only break the role.
NO_DEPUTY_KEYS = frozenset({"ec2.amazonaws.com", "eks.amazonaws.com"})
DECRYPT = frozenset({"kms:decrypt", "kms:reencryptfrom", "kms:*", "*"})


def _identity_documents(subject: Subject) -> Iterator[Any]:
    if subject.type == ROLE:
        for inline in as_list(subject.get("inlinePolicies")):
            if isinstance(inline, Mapping):
                yield inline.get("policy")
    else:
        yield subject.get("policy")


def _actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a).lower() for a in as_list(statement.get("Action"))]


def _no_admin(subject: Subject) -> Iterator[str]:
    for doc in _identity_documents(subject):
        for statement in allows(doc):
            if {"*", "*:*"} & set(_actions(statement)) and "*" in as_list(
                statement.get("Resource")
            ):
                yield (
                    f"statement {sid(statement)} allows every action on every "
                    "resource; list the actions and resources the role needs"
                )


def _grants_all_but(subject: Subject) -> Iterator[str]:
    for doc in _identity_documents(subject):
        for statement in allows(doc):
            if statement.get("NotAction") and "*" in as_list(statement.get("Resource")):
                left_out = ", ".join(str(a) for a in as_list(statement["NotAction"]))
                yield (
                    f"statement {sid(statement)} allows every action but {left_out} on every "
                    "resource; list the actions and resources the role needs"
                )


def _boundary_only(stack: Stack, policy: Subject) -> bool:
    """A managed policy that caps roles as their permissions boundary and grants nothing: no
    attachment names it, and some role names it as its boundary."""
    attached = any(stack.attached(policy, kind, prop) for kind, prop in ATTACHMENTS.items())
    return not attached and bool(stack.attached(policy, ROLE, "permissionsBoundary"))


def _beside_boundaries(
    check: Callable[[Subject], Iterator[str]],
) -> Callable[[Stack], Iterator[tuple[Subject, str]]]:
    """``check`` over every identity policy but a permissions boundary, which grants nothing:
    each role it caps is judged by its own policies."""

    def stack_check(stack: Stack) -> Iterator[tuple[Subject, str]]:
        for subject in stack.of_type(*IDENTITY_POLICIES):
            if subject.type == POLICY and _boundary_only(stack, subject):
                continue
            for problem in check(subject):
                yield subject, problem

    return stack_check


def _no_service_wildcard(subject: Subject) -> Iterator[str]:
    for doc in _identity_documents(subject):
        for statement in allows(doc):
            wide = [a for a in _actions(statement) if a.endswith(":*")]
            if wide:
                yield (
                    f"statement {sid(statement)} allows every action of "
                    f"{', '.join(wide)}; list the actions it needs"
                )


def _decrypt_scoped(subject: Subject) -> Iterator[str]:
    for doc in _identity_documents(subject):
        for statement in allows(doc):
            if DECRYPT & set(_actions(statement)) and "*" in as_list(statement.get("Resource")):
                yield (
                    f"statement {sid(statement)} allows decryption with every KMS key; "
                    "name the environment's key ARN as the resource"
                )


def _resource_documents(subject: Subject) -> Iterator[Any]:
    yield subject.get("assumeRolePolicy" if subject.type == ROLE else "policy")


def _confused_deputy(subject: Subject) -> Iterator[str]:
    for doc in _resource_documents(subject):
        for statement in allows(doc):
            services = [p for p in principals(statement, "Service") if p not in NO_DEPUTY_KEYS]
            if services and not DEPUTY_KEYS & condition_keys(statement):
                yield (
                    f"statement {sid(statement)} lets {', '.join(services)} act "
                    "for any account; add an aws:SourceAccount (or aws:SourceArn) condition "
                    "naming this account or resource"
                )


def _github_trust(role: Subject) -> Iterator[str]:
    for statement in allows(role.get("assumeRolePolicy")):
        if not any(p.endswith(f"/{GITHUB}") for p in principals(statement, "Federated")):
            continue
        conditions: dict[str, list[str]] = {}
        for operator, values in (statement.get("Condition") or {}).items():
            if operator.startswith(("StringEquals", "StringLike")) and isinstance(values, Mapping):
                for key, value in values.items():
                    conditions.setdefault(str(key), []).extend(str(v) for v in as_list(value))
        subjects = conditions.get(f"{GITHUB}:sub", [])
        if conditions.get(f"{GITHUB}:aud") != ["sts.amazonaws.com"]:
            yield "trusts GitHub tokens for any audience; require aud sts.amazonaws.com"
        if not subjects or any(
            not s.startswith("repo:") or s.split(":")[1] in ("*", "") or s.endswith(":*:*")
            for s in subjects
        ):
            yield (
                "trusts GitHub tokens from any repository; require sub "
                "repo:<owner>/<name>:environment:<environment> (switchyard:githubRepository)"
            )
        elif wild := [s for s in subjects if "*" in s or "?" in s]:
            yield (
                f"trusts {', '.join(wild)}, a pattern that admits any repository of the owner "
                "or any branch; require each sub exactly, "
                "repo:<owner>/<name>:environment:<environment>"
            )


def _trust_not_public(role: Subject) -> Iterator[str]:
    for statement in allows(role.get("assumeRolePolicy")):
        if public(statement):
            yield (
                f"trust statement {sid(statement)} lets any AWS principal assume the role "
                "(aws:SecureTransport limits how, not who); name the principals"
            )


# AWS managed policies that make a role an administrator of the account, or of its IAM.
ADMIN_EQUIVALENT: Final = frozenset(
    {"AdministratorAccess", "PowerUserAccess", "IAMFullAccess", "AWSOrganizationsFullAccess"}
)


def _no_admin_attachment(attachment: Subject) -> Iterator[str]:
    arn = str(attachment.get("policyArn") or "")
    name = arn.rsplit("/", 1)[-1]
    if ":iam::aws:policy/" in arn and name in ADMIN_EQUIVALENT:
        yield f"attaches {name}, which administers the account; attach scoped policies"


RULES = [
    Rule(
        "iam-no-admin",
        'IAM policies do not allow "*" actions on "*" resources',
        "FSBP IAM.1; CIS 1.16",
        _no_admin,
        IDENTITY_POLICIES,
    ),
    Rule(
        "iam-no-admin-by-negation",
        'IAM policies do not allow every action but a few (NotAction) on "*" resources, except '
        "a permissions boundary",
        "FSBP IAM.1; CIS 1.16",
        stack_check=_beside_boundaries(_grants_all_but),
    ),
    Rule(
        "iam-no-service-wildcards",
        "IAM policies list actions instead of allowing a whole service",
        "FSBP IAM.21",
        _no_service_wildcard,
        IDENTITY_POLICIES,
    ),
    Rule(
        "iam-kms-decrypt-scoped",
        "IAM policies allow KMS decryption only with named keys, except a permissions boundary",
        "FSBP KMS.1, KMS.2",
        stack_check=_beside_boundaries(_decrypt_scoped),
    ),
    Rule(
        "iam-confused-deputy",
        "Service principals are pinned to this account (aws:SourceAccount or aws:SourceArn)",
        "baseline: AWS confused-deputy guidance (no FSBP control)",
        _confused_deputy,
        RESOURCE_POLICIES,
    ),
    Rule(
        "iam-trust-not-public",
        "Role trusts name their principals (no wildcard, not even behind aws:SecureTransport)",
        "FSBP IAM.1 (trust side); baseline",
        _trust_not_public,
        frozenset({ROLE}),
    ),
    Rule(
        "iam-no-admin-attachments",
        "No role gets an administrator-equivalent AWS managed policy",
        "FSBP IAM.1; CIS 1.16",
        _no_admin_attachment,
        frozenset(ATTACHMENTS),
    ),
    Rule(
        "iam-github-oidc-scoped",
        "Roles trusted by GitHub OIDC require the audience and this repository's environments",
        "baseline: GitHub OIDC hardening (no FSBP control)",
        _github_trust,
        frozenset({ROLE}),
    ),
]

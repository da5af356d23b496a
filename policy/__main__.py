"""The policy pack's entry point: ``pulumi preview --policy-pack policy`` runs this module, and
PolicyPack serves the rules to the engine until it is stopped."""

from pulumi_policy import PolicyPack

from policy.pack import NAME, POLICIES

PolicyPack(name=NAME, policies=POLICIES)

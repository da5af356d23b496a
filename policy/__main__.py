"""The policy pack's entry point: ``pulumi preview --policy-pack policy`` runs this module, and
PolicyPack serves the rules to the engine until it is stopped (its first argument is the
engine's address). ``python -m policy report --stack <stack>`` renders the compliance report
instead (policy.report)."""

import sys

if sys.argv[1:2] == ["report"]:
    from policy.report import main

    raise SystemExit(main(sys.argv[2:]))

from pulumi_policy import PolicyPack

from policy.pack import NAME, POLICIES

PolicyPack(name=NAME, policies=POLICIES)

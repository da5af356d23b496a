"""The compliance report: each baseline rule mapped to SOC 2 trust services criteria and PCI DSS
v4.0 requirements, judged on a stack's offline graph, with the release records as the evidence
of change management, and the gaps said.

The mapping is the platform's reading of the criteria (AICPA TSC 2017, revised points of focus
2022; PCI DSS v4.0), not an auditor's: each rule names the criterion its control serves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from policy.baseline import Rule
from policy.frameworks import MAPPING, PCI, SOC2, Criteria
from policy.pack import RULES

# Criteria no rule of the pack judges, with where they are met or why not (the report's gaps).
UNJUDGED: Final[Mapping[str, str]] = {
    "CC8.1": "judged from the release records (change management, below), not only from the "
    "graph's rules",
    "PCI 11": "no rule of the pack judges it; the tests are the pipeline's: OWASP ZAP scans "
    "staging's staged colour before every promote (deploy-staging.yml; a High finding stops "
    "the release) and `make audit` (pip-audit, bandit, zizmor, IAM analysis, checkov) runs on "
    "every pull request; prod has no scan of its own",
    "PCI 8": "people's authentication (SSO, MFA) is the AWS organisation's and GitHub's, "
    "outside this program; the pack judges only workload identities",
}


# The criteria change management answers: the release records decide them as much as the
# rules do.
CHANGE_CRITERIA: Final = ("CC8.1",)


@dataclass(frozen=True)
class Control:
    rule: Rule
    mapping: Criteria
    result: str  # passed, failed, advisory, not applicable
    violations: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()  # the graph's resources of the rule's types: the evidence


@dataclass
class Report:
    stack: str
    controls: list[Control]
    releases: dict[str, Any] = field(default_factory=dict)

    def by_criterion(self) -> dict[str, list[Control]]:
        found: dict[str, list[Control]] = {}
        for control in self.controls:
            for key in (*control.mapping.soc2, *(f"PCI {p}" for p in control.mapping.pci)):
                found.setdefault(key, []).append(control)
        return found

    def gaps(self) -> list[str]:
        gaps = [
            f"{c.rule.name} ({c.rule.controls}) {c.result}: {'; '.join(c.violations[:3])}"
            for c in self.controls
            if c.result in ("failed", "advisory")
        ]
        judged = {k: result_of(v) for k, v in self.by_criterion().items()}
        for criterion in [*SOC2, *(f"PCI {p}" for p in PCI)]:
            requirement = criterion.removeprefix("PCI ")
            # covered only by a rule that passed, not by one that judged nothing
            covered = judged.get(criterion) == "passed" or any(
                k.startswith(f"PCI {requirement}.") and r == "passed" for k, r in judged.items()
            )
            if not covered or criterion in UNJUDGED:
                gaps.append(f"{criterion}: {UNJUDGED.get(criterion, 'no rule judges it')}")
        if not self.releases.get("records"):
            gaps.append("CC8.1: no release records were given, so change management is unproven")
        elif self.change_result() == "unproven":
            gaps.append("CC8.1: no release in the records was promoted, so none shows the gates")
        elif self.change_result() == "failed":
            gaps.append("CC8.1: a release was promoted without stage, smoke and load all passed")
        return gaps

    def change_result(self) -> str:
        """Change management's own result, from the release records: without them it is
        unproven, whatever the rules say of the pipeline's design."""
        return str(self.releases.get("result", "unproven"))

    def result_for(self, criterion: str, controls: Sequence[Control]) -> str:
        worst = result_of(controls)
        if criterion in CHANGE_CRITERIA or criterion.startswith("PCI 6.5"):
            change = self.change_result()
            if worst == "failed" or change == "failed":
                return "failed"
            if change == "unproven":
                return "unproven (no release records)"
        return worst

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "controls": [
                {
                    "rule": c.rule.name,
                    "controls": c.rule.controls,
                    "soc2": list(c.mapping.soc2),
                    "pci_dss_v4": list(c.mapping.pci),
                    "reason": c.mapping.reason,
                    "result": c.result,
                    "resources": list(c.resources),
                    "violations": list(c.violations),
                }
                for c in self.controls
            ],
            "change_management": self.releases,
            "criteria": {
                key: self.result_for(key, rules) for key, rules in self.by_criterion().items()
            },
            "gaps": self.gaps(),
        }

    def json_text(self) -> str:
        return json.dumps(self.as_json(), indent=2) + "\n"

    def markdown(self) -> str:
        counts: dict[str, int] = {}
        for c in self.controls:
            counts[c.result] = counts.get(c.result, 0) + 1
        lines = [
            f"# Compliance report: stack `{self.stack}`",
            "",
            f"{len(self.controls)} rules of the baseline: "
            + ", ".join(f"{n} {r}" for r, n in sorted(counts.items())),
            "",
            "Scope: the SOC 2 criteria and PCI DSS v4.0 requirements below, as far as the "
            "platform's resources serve them; the others (SOC 2 CC1-CC5, CC9, most of A1 and "
            "C1; PCI 5, 9 and the rest of 12) are the organisation's. The rules judge the stack "
            "as declared (its graph under Pulumi's mocks): evidence of design, not of operation, "
            "which the trail, the alarms and the release records show over time.",
            "",
            "## By criterion",
            "",
            "| criterion | what it asks | rules | result |",
            "| --- | --- | --- | --- |",
        ]
        judged = self.by_criterion()
        for key in sorted(judged, key=_criterion_order):
            rules = judged[key]
            worst = self.result_for(key, rules)
            asks = SOC2.get(key) or PCI.get(key.removeprefix("PCI ").split(".")[0], "")
            names = ", ".join(sorted({c.rule.name for c in rules}))
            lines.append(f"| {key} | {asks} | {names} | {worst} |")
        lines += ["", "## Rules", "", "| rule | source controls | SOC 2 | PCI DSS v4.0 | result |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for c in self.controls:
            pci = ", ".join(c.mapping.pci) or f"none: {c.mapping.reason}"
            lines.append(
                f"| {c.rule.name} | {c.rule.controls} | {', '.join(c.mapping.soc2)} | {pci} | "
                f"{c.result} ({_evidence(c.resources)}) |"
            )
        lines += ["", "## Change management (CC8.1, PCI 6.5)", ""]
        lines.append(f"- result: {self.change_result()}")
        lines += [f"- {k}: {v}" for k, v in self.releases.items() if k not in ("records", "result")]
        lines += ["", "## Gaps", ""] + [f"- {g}" for g in self.gaps()]
        return "\n".join(lines) + "\n"


def result_of(controls: Sequence[Control]) -> str:
    """A criterion's result from its rules': failed, advisory, passed, or not applicable when
    none of them judged anything."""
    results = {c.result for c in controls}
    for result in ("failed", "advisory", "passed"):
        if result in results:
            return result
    return "not applicable"


def _evidence(resources: Sequence[str], shown: int = 3) -> str:
    if not resources:
        return "the stack as a whole"
    more = f" and {len(resources) - shown} more" if len(resources) > shown else ""
    return ", ".join(f"`{r}`" for r in resources[:shown]) + more


def _criterion_order(key: str) -> tuple[int, tuple[int, ...], str]:
    """SOC 2's criteria first, then PCI DSS's requirements in their numbers' order."""
    if key.startswith("PCI "):
        return (1, tuple(int(n) for n in key.removeprefix("PCI ").split(".")), key)
    return (0, (), key)


def judge(
    stack: str,
    violations: Sequence[tuple[str, bool, str]],
    types_present: Mapping[str, Sequence[str]],
    releases: dict[str, Any],
    rules: Sequence[Rule] = RULES,
) -> Report:
    """``violations``: (policy name, mandatory, message); ``types_present``: the graph's
    resource names by type."""
    controls = []
    for rule in rules:
        mapping = MAPPING[rule.name]
        found = tuple(
            message for policy, _, message in violations if policy.split("-relaxed")[0] == rule.name
        )
        mandatory = any(
            m for policy, m, _ in violations if policy.split("-relaxed")[0] == rule.name
        )
        resources = tuple(sorted(n for t in rule.types for n in types_present.get(t, ())))
        if found:
            result = "failed" if mandatory else "advisory"
        elif not types_present or (rule.types and not resources and rule.stack_check is None):
            result = "not applicable"  # an empty graph: nothing was judged, nothing passed
        else:
            result = "passed"
        controls.append(Control(rule, mapping, result, found, resources))
    return Report(stack, controls, releases)

"""Deploy-readiness checks: would the first `pulumi up` of this plan work on a real cluster and account?

One module per check (a-f of issue 13): `crd_schema`, `crd_closure`, `kserve_admission`,
`helm_values`, `scheduling`, `storage_access`. `run_readiness` runs them all over the plan's
resources; `inferstack plan` reports the findings in policy.json (as violations with rule ids
`deploy-...`) and in report.md, and, while `ENFORCE_READINESS` is on, mandatory findings make
the plan exit 1 like mandatory policy violations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from inferstack.policy.model import PolicyResource
from inferstack.readiness.catalog import CHECKS, RULE_METADATA
from inferstack.readiness.model import Finding, ReadinessContext
from inferstack.readiness.reference import MISSING_REFERENCE, reference_root

ENFORCE_READINESS: Final[bool] = True
"""Mandatory deploy-readiness findings make `inferstack plan` exit 1 (the one switch; on by default)."""

CATEGORY = "deploy-readiness"
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """What the checks found, which checks ran, and which could not run (and why)."""

    findings: tuple[Finding, ...]
    ran: tuple[str, ...]
    not_run: tuple[str, ...]

    def violations(self) -> list[dict[str, Any]]:
        """The findings as policy.json violations, sorted like the policy report's."""
        items = []
        for finding in self.findings:
            severity, enforcement, _ = RULE_METADATA[finding.check_id]
            items.append(
                {
                    "policy": finding.check_id,
                    "rule_id": finding.check_id,
                    "category": CATEGORY,
                    "severity": severity,
                    "enforcement": enforcement,
                    "urn": finding.urn,
                    "message": finding.message,
                }
            )
        items.sort(key=lambda v: (v["enforcement"] != "mandatory", _SEVERITY_ORDER[v["severity"]], v["rule_id"], v["urn"], v["message"]))
        return items

    @property
    def mandatory(self) -> int:
        """How many findings are mandatory."""
        return sum(1 for finding in self.findings if RULE_METADATA[finding.check_id][1] == "mandatory")

    @property
    def blocks(self) -> bool:
        """Whether the plan must exit 1 for these findings (mandatory ones while the switch is on)."""
        import inferstack.readiness as module

        return module.ENFORCE_READINESS and self.mandatory > 0

    def by_check(self) -> dict[str, int]:
        """Findings per rule id (every rule id listed, zeros included)."""
        counts = {rule_id: 0 for rule_id in RULE_METADATA}
        for finding in self.findings:
            counts[finding.check_id] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """The `readiness` block of policy.json."""
        import inferstack.readiness as module

        return {"enforced": module.ENFORCE_READINESS, "ran": list(self.ran), "not_run": list(self.not_run), "findings": self.by_check()}


def run_readiness(resources: Iterable[PolicyResource], ctx: ReadinessContext) -> ReadinessReport:
    """Every check over the plan's resources (checks needing reference data are skipped, and say so, without it)."""
    resource_list: Sequence[PolicyResource] = list(resources)
    findings: list[Finding] = []
    ran: list[str] = []
    not_run: list[str] = []
    for check in CHECKS:
        if check.needs_reference and ctx.reference is None:
            not_run.append(f"{check.id}: {MISSING_REFERENCE}")
            continue
        findings.extend(check.run(resource_list, ctx))
        ran.append(check.id)
    return ReadinessReport(tuple(findings), tuple(ran), tuple(not_run))


def context_for(config: Any) -> ReadinessContext:
    """The readiness context of one stack, from its validated `EnvironmentConfig`."""
    return ReadinessContext(
        environment=str(config.environment),
        kubernetes_version=str(config.cluster.version),
        region=str(config.region),
        preinstalled_crds=frozenset(getattr(config.cluster, "preinstalled_crds", ()) or ()),
        reference=reference_root(),
        model_store_bucket=config.model_store.bucket,
        model_store_kms_key_arn=config.model_store.kms_key_arn,
        managed_node_group_quota=int(config.cluster.managed_node_group_quota),
    )


__all__ = ["CHECKS", "ENFORCE_READINESS", "ReadinessReport", "context_for", "run_readiness"]

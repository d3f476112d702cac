"""docs/deploy-readiness.md, generated from the checks' metadata (`python -m inferstack.readiness.docs`)."""

from __future__ import annotations

from inferstack.readiness.catalog import CHECKS

HEADER = """# Deploy-readiness checks

Generated from the check metadata by `python -m inferstack.readiness.docs`; do not edit by hand.

`inferstack plan` runs these checks over the whole recorded plan graph (the resources the policy
rules see) and asks whether the first `pulumi up` would work on a real cluster and AWS account:
custom objects against the CRDs of the versions installed, KServe's webhook, Helm values against the
charts, scheduling against the node pools, storage access under IAM's evaluation rules. Findings
appear in policy.json as violations (`category: deploy-readiness`, rule ids below) and in report.md
("Deploy readiness"). Mandatory findings make `plan` exit 1 while `ENFORCE_READINESS` in
`inferstack/readiness/__init__.py` is on (it is). Upstream data is read from `../shared/reference`
(or `INFERSTACK_REFERENCE`); checks that need it report themselves under "Not run" without it.
`inferstack reference fetch [--to DIR]` builds that folder from upstream: the {files} files listed in
`inferstack/readiness/reference_sources.tsv` (repository, tag, path, SHA-256), each verified
before anything is written.
A stack declares custom kinds the cluster already has in `inferstack:cluster: preinstalled_crds`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def readiness_markdown() -> str:
    """The whole docs/deploy-readiness.md."""
    from inferstack.readiness.reference_fetch import load_sources

    lines = [HEADER.format(files=len(load_sources())), "| rule id | check | severity | enforcement | what it checks |", "|---|---|---|---|---|"]
    for check in CHECKS:
        lines.append(f"| `{check.id}` | {check.name} | {check.severity} | {check.enforcement} | {_cell(check.description)} |")
        for rule_id, (severity, enforcement, description) in check.extra_rules.items():
            lines.append(f"| `{rule_id}` | {check.name} (no reference data) | {severity} | {enforcement} | {_cell(description)} |")
    lines += ["", "## Remediation and sources", ""]
    for check in CHECKS:
        lines.append(f"- **`{check.id}`** ({check.name}): {_cell(check.remediation)} Source: {_cell(check.source)}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(readiness_markdown(), end="")

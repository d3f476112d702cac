"""Scan rendered Kubernetes manifests with checkov, isolated and pinned, plus our KServe InferenceService checks.

checkov pins an old `packaging` that conflicts with pulumi, so it never joins our
environment: it runs as `uvx --from checkov==<pinned> checkov ...`. It has no
Pulumi framework and does not know KServe, so it scans the manifests the plan
renders, with the custom checks in policies/checkov_checks/ (CKV_ISVC_*).
A finding can be skipped inline with a justification, checkov's way:
`metadata.annotations: {checkov.io/skip1: CKV_ISVC_3=<reason>}`; skips are
reported with their reasons.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from inferstack.policy.model import Enforcement

CHECKOV_VERSION: Final = "3.3.30"
CUSTOM_CHECKS_DIR: Final = Path(__file__).resolve().parents[2] / "policies" / "checkov_checks"
CUSTOM_CHECK_PREFIX: Final = "CKV_ISVC_"
CUSTOM_SEVERITY: Final[dict[str, str]] = {"CKV_ISVC_1": "high", "CKV_ISVC_2": "high", "CKV_ISVC_3": "medium", "CKV_ISVC_4": "high"}


class CheckovUnavailable(Exception):
    """checkov could not run here (no uvx, or the pinned version cannot be fetched); the reason says which."""


@dataclass(frozen=True, slots=True)
class CheckovFinding:
    """One failed or skipped checkov check on one manifest object."""

    check_id: str
    check_name: str
    resource: str
    file: str
    skip_reason: str | None = None

    @property
    def is_custom(self) -> bool:
        """Whether it is one of our InferenceService checks."""
        return self.check_id.startswith(CUSTOM_CHECK_PREFIX)

    def to_violation(self) -> dict[str, Any]:
        """policy.json form: our checks are mandatory (they mirror the ISP-K8S rules); checkov's own are advisory."""
        enforcement: Enforcement = "mandatory" if self.is_custom else "advisory"
        return {
            "policy": self.check_id,
            "rule_id": self.check_id,
            "category": "security",
            "severity": CUSTOM_SEVERITY.get(self.check_id, "medium"),
            "enforcement": enforcement,
            "urn": f"{self.file}#{self.resource}",
            "message": self.check_name,
        }


@dataclass(frozen=True, slots=True)
class CheckovReport:
    """What one checkov run found."""

    passed: int
    failed: tuple[CheckovFinding, ...]
    skipped: tuple[CheckovFinding, ...]
    resources: int
    checkov_version: str
    seconds: float = 0.0

    def violations(self) -> list[dict[str, Any]]:
        """Failed checks as policy.json violations, sorted."""
        return sorted((f.to_violation() for f in self.failed), key=lambda v: (v["enforcement"], v["rule_id"], v["urn"]))

    @property
    def has_mandatory_violations(self) -> bool:
        """Whether one of our InferenceService checks failed."""
        return any(finding.is_custom for finding in self.failed)


def checkov_command(directory: Path, checks_dir: Path = CUSTOM_CHECKS_DIR) -> list[str]:
    """The pinned, isolated checkov command line over a folder of manifests."""
    return [
        "uvx",
        "--from",
        f"checkov=={CHECKOV_VERSION}",
        "checkov",
        "--directory",
        str(directory),
        "--framework",
        "kubernetes",
        "--external-checks-dir",
        str(checks_dir),
        "--output",
        "json",
        "--skip-download",
    ]


def _findings(results: Mapping[str, Any], key: str) -> list[CheckovFinding]:
    found: list[CheckovFinding] = []
    for item in results.get(key) or []:
        result = item.get("check_result") or {}
        found.append(
            CheckovFinding(
                check_id=str(item.get("check_id")),
                check_name=str(item.get("check_name")),
                resource=str(item.get("resource")),
                file=str(item.get("file_path", "")).lstrip("/"),
                skip_reason=result.get("suppress_comment") if key == "skipped_checks" else None,
            )
        )
    return sorted(found, key=lambda f: (f.check_id, f.file, f.resource))


def parse_checkov_json(text: str, seconds: float = 0.0) -> CheckovReport:
    """checkov's `-o json` output (one report object, a list of them, or a bare summary when nothing was scanned)."""
    document = json.loads(text)
    reports = document if isinstance(document, list) else [document]
    passed = resources = 0
    failed: list[CheckovFinding] = []
    skipped: list[CheckovFinding] = []
    version = CHECKOV_VERSION
    for report in reports:
        summary = report.get("summary", report)
        version = str(summary.get("checkov_version", version))
        resources += int(summary.get("resource_count", 0))
        results = report.get("results") or {}
        passed += len(results.get("passed_checks") or [])
        failed += _findings(results, "failed_checks")
        skipped += _findings(results, "skipped_checks")
    return CheckovReport(passed, tuple(failed), tuple(skipped), resources, version, seconds)


def run_checkov(directory: Path, checks_dir: Path = CUSTOM_CHECKS_DIR, timeout_s: float = 600) -> CheckovReport:
    """Run the pinned checkov over `directory` and parse its findings; CheckovUnavailable when it cannot run."""
    if shutil.which("uvx") is None:
        raise CheckovUnavailable("uvx is not on PATH; install uv to run checkov isolated")
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            checkov_command(directory, checks_dir), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise CheckovUnavailable(f"checkov did not finish within {timeout_s:g} s") from None
    seconds = time.perf_counter() - started
    # checkov exits 1 when a check fails; anything else, or no JSON, means it did not run.
    if completed.returncode not in (0, 1) or not completed.stdout.strip().startswith(("{", "[")):
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise CheckovUnavailable(f"checkov=={CHECKOV_VERSION} did not run (exit {completed.returncode}): {' | '.join(tail)}")
    return parse_checkov_json(completed.stdout, seconds)


def summary_lines(report: CheckovReport) -> Sequence[str]:
    """Human-readable lines: counts, each failure, each justified skip."""
    lines = [
        f"checkov {report.checkov_version}: {report.resources} object(s), {report.passed} passed, "
        f"{len(report.failed)} failed, {len(report.skipped)} skipped ({report.seconds:.1f} s)"
    ]
    lines += [f"FAILED {f.check_id} {f.file} {f.resource}: {f.check_name}" for f in report.failed]
    lines += [f"skipped {f.check_id} {f.file} {f.resource}: {f.skip_reason or '(no reason given)'}" for f in report.skipped]
    return lines

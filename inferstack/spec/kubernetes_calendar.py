"""The Amazon EKS Kubernetes version calendar: when each minor version leaves standard and extended support.

Source: the Amazon EKS User Guide, "Understand the Kubernetes version lifecycle on EKS",
section "Amazon EKS Kubernetes release calendar"
(https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, checked 2026-12-06;
the same dates are on https://endoflife.date/amazon-eks). A minor version has 14 months of
standard support from its EKS release, then 12 months of extended support at an extra
charge per cluster hour (about +$365 a month per cluster), then EKS upgrades it.

A stack whose `cluster.version` has left standard support on the plan date is bad input
(exit 2, with the date); a version this table does not list yet is bad input too, until the
table is updated from the source above. The plan date is today, or INFERSTACK_TODAY
(YYYY-MM-DD) where a test or a reproducible CI run pins it.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

TODAY_ENV = "INFERSTACK_TODAY"
"""Overrides the plan date (YYYY-MM-DD) for the calendar check."""


@dataclass(frozen=True, slots=True)
class SupportWindow:
    """One Kubernetes minor version on EKS: release, end of standard support, end of extended support."""

    version: str
    released: datetime.date
    standard_until: datetime.date
    extended_until: datetime.date


def _window(version: str, released: str, standard: str, extended: str) -> SupportWindow:
    return SupportWindow(
        version, datetime.date.fromisoformat(released), datetime.date.fromisoformat(standard), datetime.date.fromisoformat(extended)
    )


EKS_CALENDAR: dict[str, SupportWindow] = {
    window.version: window
    for window in (
        _window("1.35", "2026-01-27", "2027-03-27", "2028-03-27"),
        _window("1.34", "2025-10-02", "2026-12-02", "2027-12-02"),
        _window("1.33", "2025-05-29", "2026-07-29", "2027-07-29"),
        _window("1.32", "2025-01-23", "2026-03-23", "2027-03-23"),
        _window("1.31", "2024-09-26", "2025-11-26", "2026-11-26"),
        _window("1.30", "2024-05-23", "2025-07-23", "2026-07-23"),
        _window("1.29", "2024-01-23", "2025-03-23", "2026-03-23"),
        _window("1.28", "2023-09-26", "2024-11-26", "2025-11-26"),
        _window("1.27", "2023-05-24", "2024-07-24", "2025-07-24"),
        _window("1.26", "2023-04-11", "2024-06-11", "2025-06-11"),
        _window("1.25", "2023-02-21", "2024-05-01", "2025-05-01"),
        _window("1.24", "2022-11-15", "2024-01-31", "2025-01-31"),
        _window("1.23", "2022-08-11", "2023-10-11", "2024-10-11"),
    )
}
"""Kubernetes minor version -> its EKS support window (dates from the EKS User Guide's release calendar)."""


def plan_date(today: datetime.date | None = None) -> datetime.date:
    """The date versions are judged on: `today` if given, else INFERSTACK_TODAY, else the UTC date."""
    if today is not None:
        return today
    pinned = os.environ.get(TODAY_ENV)
    if pinned:
        try:
            return datetime.date.fromisoformat(pinned)
        except ValueError:
            pass
    return datetime.datetime.now(datetime.timezone.utc).date()


def version_problem(version: str, today: datetime.date) -> str | None:
    """What is wrong with running `version` on `today` (None when it is in standard support)."""
    supported = sorted(
        (window for window in EKS_CALENDAR.values() if window.released <= today < window.standard_until),
        key=lambda window: tuple(int(part) for part in window.version.split(".")),
    )
    choices = ", ".join(f"{window.version} (until {window.standard_until})" for window in supported) or "none listed"
    window = EKS_CALENDAR.get(version)
    if window is None:
        return (
            f"Kubernetes {version} is not in the EKS support calendar (inferstack/spec/kubernetes_calendar.py); "
            f"expected a version in standard support on {today}: {choices}"
        )
    if today < window.released:
        return f"Kubernetes {version} is not released on EKS until {window.released}; expected one of: {choices}"
    if today >= window.extended_until:
        return (
            f"Kubernetes {version} left EKS extended support on {window.extended_until} (EKS upgrades such clusters); "
            f"expected a version in standard support on {today}: {choices}"
        )
    if today >= window.standard_until:
        return (
            f"Kubernetes {version} left EKS standard support on {window.standard_until} and is in paid extended support "
            f"until {window.extended_until}; expected a version in standard support on {today}: {choices}"
        )
    return None

"""Budget rules judge expected spend (mandatory) and peak (advisory); price overrides stay within a bound."""

from __future__ import annotations

import pytest

from inferstack.policy import CostFigures, evaluate
from tests.policy_corpus.baseline import context, secure_stack, stack_config


def _rules(environment: str, cost: CostFigures, **config: object) -> dict[str, tuple[str, ...]]:
    report = evaluate(secure_stack(environment), context(environment, cost, stack_config(environment) | config))
    found: dict[str, list[str]] = {}
    for violation in report.violations:
        found.setdefault(violation.policy, []).append(violation.enforcement)
    return {name: tuple(levels) for name, levels in found.items()}


def _cost(steady: float, expected: float | None, peak: float | None) -> CostFigures:
    return CostFigures(
        monthly_usd=steady,
        by_team={"vision": 1000.0},
        expected_monthly_usd=expected,
        peak_monthly_usd=peak,
        by_team_expected={"vision": 1000.0},
        by_team_peak={"vision": 1000.0},
    )


def test_expected_spend_is_what_the_budget_judges() -> None:
    # Budget 50,000: steady 45,000 passes alone, expected 52,000 fails, mandatory in prod.
    assert "environment-budget" not in _rules("prod", _cost(45_000, 49_000, 49_500))
    assert _rules("prod", _cost(45_000, 52_000, 60_000))["environment-budget"] == ("mandatory",)


def test_peak_over_budget_is_advisory_only() -> None:
    found = _rules("prod", _cost(30_000, 40_000, 65_000))
    assert found == {"peak-budget": ("advisory",)}
    assert "peak-budget" not in _rules("prod", _cost(30_000, 40_000, 50_000))  # exactly at budget passes


def test_without_expected_the_steady_figure_is_judged() -> None:
    assert "environment-budget" in _rules("prod", CostFigures(monthly_usd=51_000, by_team={"vision": 1.0}, peak_monthly_usd=60_000))


@pytest.mark.parametrize(
    ("price", "flagged"),
    [
        (0.46, False),  # g5.xlarge list 1.006, deepest no-upfront commitment 55%: floor 0.4527
        (0.45, True),
        (1.006, False),  # the list price itself
        (1.10, True),  # above list
    ],
)
def test_price_override_bound(price: float, flagged: bool) -> None:
    found = _rules("prod", _cost(1, 1, 1), **{"inferstack:price_overrides": {"g5.xlarge": price}})
    assert ("price-override-bound" in found) == flagged
    if flagged:
        assert found["price-override-bound"] == ("mandatory",)

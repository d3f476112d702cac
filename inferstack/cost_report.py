"""Rich tables of a CostEstimate for `inferstack cost` (presentation only; figures come from inferstack.cost)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from inferstack.cost import CostEstimate


def _money(value: float) -> str:
    return f"${value:,.0f}"


def print_cost_tables(console: Console, estimate: CostEstimate) -> None:
    """Print pools, teams and models, then the totals, reference figures and budget status."""
    pools = Table(title=f"node pools — {estimate.environment} ({estimate.region})", title_justify="left")
    for column in ("pool", "instance type", "capacity", "nodes min-max", "$/hour", "steady $/mo", "peak $/mo", "models"):
        pools.add_column(column, justify="right" if "$" in column or "nodes" in column or column == "models" else "left")
    for name, pool in estimate.by_pool.items():
        pools.add_row(
            name,
            pool.instance_type,
            pool.capacity_type.lower().replace("_", "-"),
            f"{pool.min_nodes}-{pool.max_nodes}",
            f"{pool.hourly_usd:.3f}",
            _money(pool.monthly_usd),
            _money(pool.peak_monthly_usd),
            str(len(pool.models)),
        )
    console.print(pools)

    teams = Table(title="teams", title_justify="left")
    for column in ("team", "steady $/mo", "peak $/mo", "budget $/mo", "status"):
        teams.add_column(column, justify="left" if column in ("team", "status") else "right")
    for team, cost in estimate.by_team.items():
        budget = "-" if cost.budget_usd is None else _money(cost.budget_usd)
        status = Text("over budget", style="red") if cost.over_budget else "ok" if cost.budget_usd is not None else "no budget"
        teams.add_row(team, _money(cost.monthly_usd), _money(cost.peak_monthly_usd), budget, status)
    console.print(teams)

    models = Table(title="models", title_justify="left")
    for column in ("model", "team", "steady $/mo", "peak $/mo", "naive $/mo", "lower bound $/mo"):
        models.add_column(column, justify="left" if column in ("model", "team") else "right")
    for name, cost in estimate.by_model.items():
        models.add_row(
            name,
            cost.team,
            _money(cost.monthly_usd),
            _money(cost.peak_monthly_usd),
            _money(cost.naive_monthly_usd),
            _money(cost.lower_bound_monthly_usd),
        )
    console.print(models)

    naive_ratio = estimate.monthly_usd / estimate.naive_monthly_usd if estimate.naive_monthly_usd else 0.0
    console.print(
        Text.assemble(
            f"steady {_money(estimate.monthly_usd)}/month, peak {_money(estimate.peak_monthly_usd)}/month "
            f"(node pools); platform {_money(estimate.platform_monthly_usd)}/month; "
            f"total {_money(estimate.total_monthly_usd)} of budget {_money(estimate.budget_usd)}",
            (" over budget", "red") if estimate.over_budget else "",
        ),
        highlight=False,
    )
    console.print(
        f"naive {_money(estimate.naive_monthly_usd)}/month (placement is {naive_ratio:.0%} of it); "
        f"lower bound {_money(estimate.lower_bound_monthly_usd)}/month",
        highlight=False,
    )
    exactness = "" if estimate.prices_exact_for_region else " (regional prices approximate)"
    console.print(f"prices as of {estimate.as_of}{exactness}: {estimate.source}", markup=False, highlight=False)

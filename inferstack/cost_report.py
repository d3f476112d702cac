"""Rich tables of a CostEstimate for `inferstack cost` (presentation only; figures come from inferstack.cost)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from inferstack.cost import CostEstimate


def _money(value: float) -> str:
    return f"${value:,.0f}"


MIN_FOLDED_WIDTH = 10
"""A folded identifier column keeps at least this many characters a line."""
IDENTIFIER_WIDTH_CAP = 40
"""Longer names are folded onto a second line rather than widening the table past the console."""


def compact_table(
    title: str | None,
    columns: tuple[str, ...],
    identifiers: tuple[str, ...],
    rows: list[tuple[str, ...]],
    width: int = 80,
    wrapping: tuple[str, ...] = (),
) -> Table:
    """A table that reads at 80 columns: a rule under the header, one space between columns; identifiers are
    never cut (each column is at least as wide as its longest value, folded only past IDENTIFIER_WIDTH_CAP),
    figures never wrap, and headers of figures wrap onto two lines when space is short. `wrapping` columns (free
    text such as "date who") wrap between words."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False, show_edge=False)
    def cell_width(index: int, text: str) -> int:
        plain = Text.from_markup(text).plain
        return max((len(word) for word in plain.split()), default=0) if columns[index] in wrapping else len(plain)

    widths = [
        max(max((cell_width(index, row[index]) for row in rows), default=1), *(len(word) for word in column.split()))
        for index, column in enumerate(columns)
    ]
    values = list(widths)
    # Too wide for the console even so: the widest identifiers are folded onto more lines (never cut), widest first.
    excess = sum(widths) + len(columns) - 1 - width
    while excess > 0:
        candidates = [index for index, column in enumerate(columns) if column in identifiers and widths[index] > MIN_FOLDED_WIDTH]
        if not candidates:
            break
        index = max(candidates, key=lambda i: widths[i])
        cut = min(excess, widths[index] - MIN_FOLDED_WIDTH)
        widths[index] -= cut
        excess -= cut
    for index, column in enumerate(columns):
        # A header longer than its values goes on two lines ("steady\n$/mo"): rich would rather crop a column.
        header = column.replace(" ", "\n", 1) if len(column) > values[index] else column
        if column in wrapping:
            table.add_column(header, overflow="fold", min_width=widths[index])
        elif column in identifiers:
            table.add_column(header, overflow="fold", width=min(widths[index], IDENTIFIER_WIDTH_CAP))
        else:
            table.add_column(header, justify="right", no_wrap=True, min_width=widths[index])
    for row in rows:
        table.add_row(*row)
    return table


def print_cost_tables(console: Console, estimate: CostEstimate) -> None:
    """Print pools, teams and models, then the totals, reference figures and budget status."""
    pool_rows = [
        (
            name,
            pool.instance_type,
            pool.capacity_type.lower().replace("_", "-"),
            f"{pool.min_nodes}-{pool.max_nodes}",
            f"{pool.hourly_usd:.3f}",
            _money(pool.monthly_usd),
            _money(pool.peak_monthly_usd),
            str(len(pool.models)),
        )
        for name, pool in estimate.by_pool.items()
    ]
    console.print(
        compact_table(
            f"node pools — {estimate.environment} ({estimate.region})",
            ("pool", "instance", "capacity", "nodes", "$/hour", "steady $/mo", "peak $/mo", "models"),
            ("pool", "instance", "capacity"),
            pool_rows,
        )
    )

    team_rows = []
    for team, cost in estimate.by_team.items():
        budget = "-" if cost.budget_usd is None else _money(cost.budget_usd)
        status = "[red]over budget[/red]" if cost.over_budget else "ok" if cost.budget_usd is not None else "no budget"
        team_rows.append(
            (team, _money(cost.monthly_usd), _money(cost.expected_monthly_usd), _money(cost.peak_monthly_usd), budget, status)
        )
    console.print(
        compact_table(
            "teams", ("team", "steady $/mo", "expected $/mo", "peak $/mo", "budget $/mo", "status"), ("team", "status"), team_rows
        )
    )

    model_rows = [
        (
            name,
            cost.team,
            _money(cost.monthly_usd),
            _money(cost.peak_monthly_usd),
            _money(cost.naive_monthly_usd),
            _money(cost.lower_bound_monthly_usd),
        )
        for name, cost in estimate.by_model.items()
    ]
    console.print(
        compact_table(
            "models", ("model", "team", "steady $/mo", "peak $/mo", "naive $/mo", "lower bound $/mo"), ("model", "team"), model_rows
        )
    )

    item_rows = [
        (name, _money(item.monthly_usd), _money(item.expected_monthly_usd), _money(item.peak_monthly_usd), item.basis)
        for name, item in (estimate.items or {}).items()
    ]
    if item_rows:
        console.print(
            compact_table(
                "other costs (besides node-pool instance hours)",
                ("item", "steady $/mo", "expected $/mo", "peak $/mo", "basis"),
                ("item",),
                item_rows,
                wrapping=("basis",),
            )
        )

    naive_ratio = estimate.monthly_usd / estimate.naive_monthly_usd if estimate.naive_monthly_usd else 0.0
    fractions = sorted({cost.peak_hours_fraction for cost in estimate.by_model.values()})
    assumption = (
        f"{fractions[0]:.0%} of the time at peak" if len(fractions) == 1 else "each model's cost.peak_hours_fraction at peak"
    )
    console.print(
        Text.assemble(
            f"node pools: steady {_money(estimate.monthly_usd)}/month, expected {_money(estimate.expected_monthly_usd)} "
            f"({assumption}), peak {_money(estimate.peak_monthly_usd)}; other costs {_money(estimate.platform_monthly_usd)} steady",
        ),
        highlight=False,
    )
    console.print(
        Text.assemble(
            f"total: steady {_money(estimate.total_monthly_usd)}, expected {_money(estimate.total_expected_monthly_usd)}, "
            f"peak {_money(estimate.total_peak_monthly_usd)}/month; budget {_money(estimate.budget_usd)} "
            "(judged: expected, peak advisory)",
            (" over budget", "red") if estimate.over_budget else "",
            (" (peak over budget)", "yellow") if not estimate.over_budget and estimate.total_peak_monthly_usd > estimate.budget_usd else "",
        ),
        highlight=False,
    )
    console.print(
        f"naive {_money(estimate.naive_monthly_usd)}/month (placement is {naive_ratio:.0%} of it); "
        f"lower bound {_money(estimate.lower_bound_monthly_usd)}/month",
        highlight=False,
    )
    plan = estimate.savings_plan
    if plan is not None:
        if plan.recommended is None:
            console.print("savings plan: no steady on-demand base to commit to", highlight=False)
        else:
            best = plan.options[plan.recommended]
            others = ", ".join(
                f"{kind.replace('_', ' ')} {_money(option.monthly_saving_usd)}"
                for kind, option in plan.options.items()
                if kind != plan.recommended
            )
            console.print(
                f"savings plan: {plan.recommended.replace('_', ' ')} (no upfront) on the {_money(plan.base_monthly_usd)}/month "
                f"steady on-demand base: commit {best.commitment_usd_hour:.2f} USD/hour, save {_money(best.monthly_saving_usd)}/month "
                f"(others: {others}; rates {plan.as_of}, unverified: {plan.source})",
                markup=False,
                highlight=False,
            )
    exactness = "" if estimate.prices_exact_for_region else " (regional prices approximate)"
    console.print(f"prices as of {estimate.as_of}{exactness}: {estimate.source}", markup=False, highlight=False)

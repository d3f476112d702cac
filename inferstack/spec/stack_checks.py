"""Checks of a validated stack configuration that need more than its own fields: the price catalogue,
the rule catalogue, the EKS version calendar, the region's zones, and Pulumi secrets.

They run wherever a stack file is read (`validate`, `plan`, `cost`, the policy pack and the
Pulumi program itself, through `environment_from_config`), so every entry point refuses the
same stacks, and each problem names the stack file and the `config.` path of the setting.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from inferstack.problems import Problem
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.kubernetes_calendar import plan_date, version_problem

PRICE_OVERRIDE_RANGE = (0.05, 2.0)
"""A negotiated on-demand price must lie between these fractions of the catalogue's list price."""

SECURE_KEY = "secure"
"""Pulumi writes a secret config value as `{secure: <ciphertext>}` in the stack file."""

SECRET_SETTINGS = frozenset({"alerts.slack_webhook", "monitoring.grafana_admin_password"})
"""Settings (below `inferstack:`) that may hold Pulumi secrets; any other secret is bad input."""
SECRET_SETTING_MAPS = frozenset({"alerts.credentials"})
"""Settings whose every entry is a Pulumi secret (`alerts.credentials.<route>`)."""


def _secret_path(path: str) -> bool:
    return path in SECRET_SETTINGS or any(
        path.startswith(f"{mapping}.") and "." not in path[len(mapping) + 1 :].split(":", 1)[0] for mapping in SECRET_SETTING_MAPS
    )


class EncryptedSecret(SecretStr):
    """A Pulumi secret read from a stack file without decrypting it (the offline plan has no key).

    Never printed: str() and repr() show asterisks, and redaction replaces it in plan.json.
    """


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get(SECURE_KEY), str)


def extract_secrets(values: dict[str, Any], label: str) -> tuple[dict[str, Any], list[Problem]]:
    """`values` (EnvironmentConfig fields) with each `{secure: ...}` turned into an EncryptedSecret.

    A secret anywhere but SECRET_SETTINGS is a problem: the offline tools cannot read it,
    and a setting that is not secret has no reason to be encrypted.
    """
    problems: list[Problem] = []

    def walk(value: Any, path: str) -> Any:
        if _is_secure(value):
            if _secret_path(path):
                return EncryptedSecret(value[SECURE_KEY])
            problems.append(
                Problem(
                    label,
                    _config_path(path),
                    "is a Pulumi secret (secure:), which the offline plan cannot read and this setting does not need; "
                    f"expected a plain value (settings that may be secrets: {', '.join(sorted(SECRET_SETTINGS | {f'{m}.<key>' for m in SECRET_SETTING_MAPS}))})",
                )
            )
            return None
        if isinstance(value, dict):
            return {key: walk(item, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return value

    cleaned = {key: walk(value, key) for key, value in values.items()}
    return cleaned, problems


def plain_secret_problems(config: Mapping[str, Any], label: str) -> list[Problem]:
    """Secret settings written in plain text in a stack file (which git keeps): each must be `{secure: ...}`.

    Only the stack file is judged: the Pulumi program receives these values decrypted from `pulumi.Config`.
    """
    problems: list[Problem] = []
    for path in sorted(SECRET_SETTINGS | SECRET_SETTING_MAPS):
        section, _, rest = path.partition(".")
        value: Any = config.get(f"inferstack:{section}")
        for part in rest.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        entries = (
            {f"{path}.{key}": item for key, item in value.items()} if path in SECRET_SETTING_MAPS and isinstance(value, Mapping)
            else {path: value}
        )
        for where, item in entries.items():
            if isinstance(item, str):
                problems.append(
                    Problem(
                        label,
                        _config_path(where),
                        "is a credential in plain text in the stack file; expected a Pulumi secret "
                        f"(`pulumi config set --secret --path 'inferstack:{where}' ...`, stored as secure:)",
                    )
                )
    return problems


def _config_path(path: str) -> str:
    if path == "region":
        return "config.aws:region"
    return f"config.inferstack:{path}"


def secret_values(config: EnvironmentConfig) -> list[str]:
    """The values of every secret setting of `config` (to redact them wherever they reach a plan)."""
    found: list[str] = []
    for path in sorted(SECRET_SETTINGS):
        value: Any = config
        for part in path.split("."):
            value = getattr(value, part, None)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
    for path in sorted(SECRET_SETTING_MAPS):
        mapping: Any = config
        for part in path.split("."):
            mapping = getattr(mapping, part, None)
        if isinstance(mapping, Mapping):
            found.extend(value.get_secret_value() for value in mapping.values() if isinstance(value, SecretStr))
    return [value for value in found if value]


def _zone_problems(config: EnvironmentConfig, label: str) -> list[Problem]:
    problems: list[Problem] = []
    for index, zone in enumerate(config.network.availability_zones):
        if not (zone.startswith(config.region) and len(zone) == len(config.region) + 1 and zone[-1].isalpha()):
            problems.append(
                Problem(
                    label,
                    f"config.inferstack:network.availability_zones[{index}]",
                    f"zone {zone} is not in region {config.region}; expected a zone of {config.region} "
                    f"such as {config.region}a",
                )
            )
    return problems


def _price_problems(config: EnvironmentConfig, label: str) -> list[Problem]:
    from inferstack.pricing.catalog import raw_catalog_instances

    problems: list[Problem] = []
    known = raw_catalog_instances()
    low, high = PRICE_OVERRIDE_RANGE
    for name in sorted(config.price_overrides):
        price = config.price_overrides[name]
        path = f"config.inferstack:price_overrides.{name}"
        listed = known.get(name)
        if listed is None:
            problems.append(
                Problem(label, path, f"unknown instance type '{name}'; expected one of the catalogue's types ({', '.join(sorted(known))})")
            )
        elif not math.isfinite(price) or not low * listed <= price <= high * listed:
            problems.append(
                Problem(
                    label,
                    path,
                    f"{price:g} USD/hour is implausible for {name} (list price {listed:g}); expected a negotiated price "
                    f"from {low * listed:.4g} to {high * listed:.4g} USD/hour ({low:g}x to {high:g}x the list price)",
                )
            )
    families = {name.split(".", 1)[0] for name in known}
    for family in sorted(config.spot_discount_overrides):
        if family not in families:
            problems.append(
                Problem(
                    label,
                    f"config.inferstack:spot_discount_overrides.{family}",
                    f"unknown instance family '{family}'; expected one of: {', '.join(sorted(families))}",
                )
            )
    return problems


def _rule_problems(overrides: Mapping[str, str], label: str) -> list[Problem]:
    from inferstack.policy.catalog import check_override_names
    from inferstack.problems import InputError

    try:
        check_override_names(overrides, label)
    except InputError as error:
        return list(error.problems)
    return []


def stack_problems(config: EnvironmentConfig, label: str, today: datetime.date | None = None) -> list[Problem]:
    """Every problem of a validated stack configuration that its own fields cannot show (see the module docstring)."""
    problems = _zone_problems(config, label)
    reason = version_problem(config.cluster.version, plan_date(today))
    if reason is not None:
        problems.append(Problem(label, "config.inferstack:cluster.version", reason))
    problems.extend(_price_problems(config, label))
    problems.extend(_rule_problems(config.policy.enforcement, label))
    return problems

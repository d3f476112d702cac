"""Labels and AWS tags that identify who owns a resource: team, model, environment, cost centre.

Kubernetes labels use the LABEL_* keys, AWS tags the TAG_* keys, so cost and
policy reports can join both sides.
"""

from __future__ import annotations

from inferstack.blueprint import ModelDeployment, TeamPlan
from inferstack.constants import (
    LABEL_COST_CENTER,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_MODEL,
    LABEL_TEAM,
    MANAGED_BY_VALUE,
    TAG_COST_CENTER,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_MODEL,
    TAG_TEAM,
)

PLATFORM_TEAM = "platform"
"""Team value of shared platform resources (cluster, node pools, monitoring)."""


def platform_labels(environment: str, cost_center: str) -> dict[str, str]:
    """Labels of shared platform objects."""
    return {
        LABEL_TEAM: PLATFORM_TEAM,
        LABEL_ENVIRONMENT: environment,
        LABEL_COST_CENTER: cost_center,
        LABEL_MANAGED_BY: MANAGED_BY_VALUE,
    }


def team_labels(team: TeamPlan, environment: str) -> dict[str, str]:
    """Labels of a team's namespace-level objects."""
    return {
        LABEL_TEAM: team.name,
        LABEL_ENVIRONMENT: environment,
        LABEL_COST_CENTER: team.cost_center,
        LABEL_MANAGED_BY: MANAGED_BY_VALUE,
    }


def model_labels(deployment: ModelDeployment, environment: str) -> dict[str, str]:
    """Labels of one model's objects (and its pods)."""
    return {
        LABEL_TEAM: deployment.team,
        LABEL_MODEL: deployment.name,
        LABEL_ENVIRONMENT: environment,
        LABEL_COST_CENTER: deployment.spec.effective_cost_center,
        LABEL_MANAGED_BY: MANAGED_BY_VALUE,
    }


def platform_tags(environment: str, cost_center: str) -> dict[str, str]:
    """AWS tags of shared platform resources."""
    return {
        TAG_TEAM: PLATFORM_TEAM,
        TAG_ENVIRONMENT: environment,
        TAG_COST_CENTER: cost_center,
        TAG_MANAGED_BY: MANAGED_BY_VALUE,
    }


def team_tags(team: TeamPlan, environment: str) -> dict[str, str]:
    """AWS tags of a team's resources (its IRSA role)."""
    return {
        TAG_TEAM: team.name,
        TAG_ENVIRONMENT: environment,
        TAG_COST_CENTER: team.cost_center,
        TAG_MANAGED_BY: MANAGED_BY_VALUE,
    }


def pool_tags(environment: str, cost_center: str, models: tuple[str, ...]) -> dict[str, str]:
    """AWS tags of a node pool: platform-owned, listing the models it carries (tag values max 256 chars)."""
    tags = platform_tags(environment, cost_center)
    joined = " ".join(models)
    tags[TAG_MODEL] = joined if len(joined) <= 256 else f"{len(models)} models"
    return tags

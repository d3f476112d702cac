"""Labels and AWS tags that identify who owns a resource: team, model, environment, cost centre.

Kubernetes labels use the LABEL_* keys, AWS tags the TAG_* keys, so cost and
policy reports can join both sides.
"""

from __future__ import annotations

from inferstack.blueprint import ModelDeployment, TeamPlan
from inferstack.constants import (
    PLATFORM_TEAM,
    LABEL_COST_CENTER,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_MODEL,
    LABEL_TEAM,
    MANAGED_BY_VALUE,
    TAG_COST_CENTER,
    TAG_ENVIRONMENT,
    TAG_MANAGED_BY,
    TAG_TEAM,
)



_LABEL_KEYS = (LABEL_TEAM, LABEL_ENVIRONMENT, LABEL_COST_CENTER, LABEL_MANAGED_BY)
_TAG_KEYS = (TAG_TEAM, TAG_ENVIRONMENT, TAG_COST_CENTER, TAG_MANAGED_BY)


def _ownership(keys: tuple[str, str, str, str], team: str, environment: str, cost_center: str) -> dict[str, str]:
    """Who owns a resource and who pays for it, under the given label or tag keys."""
    return dict(zip(keys, (team, environment, cost_center, MANAGED_BY_VALUE), strict=True))


def platform_labels(environment: str, cost_center: str) -> dict[str, str]:
    """Labels of shared platform objects."""
    return _ownership(_LABEL_KEYS, PLATFORM_TEAM, environment, cost_center)


def team_labels(team: TeamPlan, environment: str) -> dict[str, str]:
    """Labels of a team's namespace-level objects."""
    return _ownership(_LABEL_KEYS, team.name, environment, team.cost_center)


def model_labels(deployment: ModelDeployment, environment: str) -> dict[str, str]:
    """Labels of one model's objects (and its pods)."""
    labels = _ownership(_LABEL_KEYS, deployment.team, environment, deployment.spec.effective_cost_center)
    return {LABEL_MODEL: deployment.name, **labels}


def platform_tags(environment: str, cost_center: str) -> dict[str, str]:
    """AWS tags of shared platform resources."""
    return _ownership(_TAG_KEYS, PLATFORM_TEAM, environment, cost_center)


def team_tags(team: TeamPlan, environment: str) -> dict[str, str]:
    """AWS tags of a team's resources (its IRSA role)."""
    return _ownership(_TAG_KEYS, team.name, environment, team.cost_center)


def pool_tags(environment: str, cost_center: str) -> dict[str, str]:
    """AWS tags of a node pool and its launch template: platform-owned, and nothing about the models it carries.

    Which models a pool carries changes with every model added or removed; a launch
    template change makes a new template version, and a managed node group replaces
    every node when its template version changes. The scheduler places models by the
    pool's node labels (`inferstack.io/node-pool`), so no tag lists them.
    """
    return platform_tags(environment, cost_center)

"""Names shared by the detector and the platform that provisions it: store keys, topic names, the event source.

Standalone (no numpy, no boto3, not the registry package), so rendering the
platform imports neither the AWS SDK nor numpy. The `models/` layout is the
registry's (inferstack/registry/records.py); a test checks both agree.
"""

from __future__ import annotations

PROFILE_FILE = "reference-profile.json"
MODELS_ROOT = "models/"

REPORTS_ROOT = "drift-reports"
TRIGGERS_DIR = "triggers"
EVENT_SOURCE = "inferstack.drift"
"""Source of the retraining events the detector puts on the default EventBridge bus."""
GITHUB_TOKEN_ENV = "INFERSTACK_GITHUB_TOKEN"
"""Environment variable holding the GitHub token (the CronJob fills it from the spec's Secret)."""


def model_prefix(team: str, name: str) -> str:
    """Key prefix of every version of one model in the registry: models/<team>/<name>/."""
    return f"{MODELS_ROOT}{team}/{name}/"


def profile_key(team: str, name: str, version: str) -> str:
    """Key of a version's reference profile, next to its metadata.json (models/<team>/<name>/<version>/)."""
    return f"{model_prefix(team, name)}{version}/{PROFILE_FILE}"


def reports_prefix(team: str, name: str) -> str:
    """Key prefix of a model's drift reports and trigger markers."""
    return f"{REPORTS_ROOT}/{team}/{name}/"


def triggers_prefix(team: str, name: str) -> str:
    """Key prefix of a model's trigger markers."""
    return f"{reports_prefix(team, name)}{TRIGGERS_DIR}/"


def trigger_marker_key(team: str, name: str, window_start: str) -> str:
    """Key of the marker that says a window's trigger fired."""
    return f"{triggers_prefix(team, name)}{window_start}.json"


def retraining_topic_name(environment: str, model: str) -> str:
    """Name of the SNS topic the platform creates for a model's sns trigger."""
    return f"inferstack-{environment}-{model}-retraining"

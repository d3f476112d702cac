"""The drift job: which model, version, store and drift watch one detector run is about.

The CronJob mounts it as JSON (rendered by the platform from the spec and the
stack config); on a workstation `inferstack drift run --model --stack` builds
the same object from the spec and the stack file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inferstack.constants import Environment
from inferstack.problems import InputError, Problem, display_path
from inferstack.spec.drift import DriftSpec
from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.model import ModelSpec, Signature

JOB_FORMAT = "inferstack.drift.job/v1"


class DriftJob(BaseModel):
    """Everything one detector run needs: the model, its deployed version, its store and its drift watch."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(default=JOB_FORMAT, pattern=r"^inferstack\.drift\.job/v1$", description="Job file format.")
    model: str = Field(description="Model name.")
    team: str = Field(description="Team (the store prefix of its models and logs).")
    version: str = Field(description="The deployed version whose reference profile drift is measured against.")
    environment: Environment = Field(description="dev, staging or prod.")
    bucket: str = Field(description="The environment's model store bucket.")
    region: str = Field(description="AWS region of the bucket.")
    kms_key_id: str | None = Field(default=None, description="KMS key for report writes; default: the bucket's default key.")
    signature: Signature = Field(description="The model's declared signature (where features are in the payloads).")
    drift: DriftSpec = Field(description="The drift watch.")

    @classmethod
    def for_spec(cls, spec: ModelSpec, config: EnvironmentConfig) -> DriftJob:
        """The job of a spec in one environment; InputError when drift is off there."""
        environment = config.environment
        where = f"spec {spec.name}"
        if spec.monitoring.drift is None or spec.signature is None:
            raise InputError([Problem(where, "monitoring.drift", "is not set; expected a drift watch to run the detector for")])
        override = spec.environments.get(environment)
        if override is not None and not override.enabled:
            raise InputError([Problem(where, f"environments.{environment}.enabled", f"is false; the model is not deployed in {environment}")])
        version = (override.artifact_version if override is not None else None) or spec.artifact.version
        return cls(
            model=spec.name,
            team=spec.team,
            version=version,
            environment=environment,
            bucket=config.model_store.bucket,
            region=config.region,
            kms_key_id=config.model_store.kms_key_arn,
            signature=spec.signature,
            drift=spec.monitoring.drift,
        )

    @classmethod
    def load(cls, path: Path) -> DriftJob:
        """A job file (the CronJob's ConfigMap); InputError when unreadable."""
        label = display_path(path)
        try:
            return cls.model_validate_json(path.read_bytes())
        except OSError as error:
            raise InputError([Problem(label, "--job", f"cannot read the job file ({error.strerror}); expected a drift job JSON file")]) from None
        except ValidationError as error:
            raise InputError(
                [Problem(label, ".".join(str(part) for part in item["loc"]) or "--job", item["msg"]) for item in error.errors()]
            ) from None


def detector_config_problems(specs: list[tuple[ModelSpec, str]], config: EnvironmentConfig) -> list[Problem]:
    """A model that watches drift needs the stack's detector image (`inferstack:drift.image`)."""
    if config.drift.image is not None:
        return []
    return [
        Problem(
            source,
            "monitoring.drift",
            f"model {spec.name} watches drift but stack {config.environment} sets no detector image; expected "
            "inferstack:drift.image in the stack file (built from docker/drift/Dockerfile)",
        )
        for spec, source in specs
        if spec.monitoring.drift is not None
    ]

"""The drift watch of a model (`monitoring.drift`): what to watch, how to measure it, when to alert, what to trigger.

Self-contained: model.py imports `DriftSpec` from here; the check that watched
features exist in the model's declared signature lives in `check_drift_features`,
which ModelSpec's validator calls.

Statistics and their scales (higher always means more drift):

- numeric features: `psi` (Population Stability Index over the reference's
  quantile bins, 0..inf; 0.1 is usually "some", 0.25 "significant") or `ks`
  (Kolmogorov-Smirnov distance between the binned distributions, 0..1);
- categorical features: `jensen-shannon` (Jensen-Shannon distance, base 2,
  0..1) or `chi-square` (the chi-square statistic expressed as Cramer's V,
  0..1, so thresholds do not depend on the sample size).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from inferstack.spec.model import Signature

FeatureType = Literal["numeric", "categorical"]
NumericStatistic = Literal["psi", "ks"]
CategoricalStatistic = Literal["chi-square", "jensen-shannon"]
Statistic = Literal["psi", "ks", "chi-square", "jensen-shannon"]

DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {
    "psi": (0.1, 0.25),
    "ks": (0.1, 0.2),
    "chi-square": (0.1, 0.25),
    "jensen-shannon": (0.1, 0.2),
}
"""(warn, page) per statistic when the spec sets none."""
BOUNDED_STATISTICS = frozenset({"ks", "chi-square", "jensen-shannon"})
"""Statistics on a 0..1 scale; PSI is unbounded (the spec caps its thresholds at 10)."""

CATEGORICAL_DTYPES = frozenset({"string", "bool"})
FEATURE_NAME = r"^[A-Za-z_][A-Za-z0-9_.:-]*$"
CRON_FIELD = r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$"
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
CRON_NAMES = ("minute", "hour", "day of month", "month", "day of week")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DriftFeature(_Strict):
    """One watched input feature: an input tensor of one value per row, or a named column of a tabular input."""

    name: str = Field(
        min_length=1,
        max_length=128,
        pattern=FEATURE_NAME,
        description="An input tensor name, or a column named in an input's `columns` (signature.inputs).",
    )
    type: FeatureType = Field(description="numeric (continuous or ordinal values) or categorical (labels, codes, booleans).")


class StatisticChoice(_Strict):
    """The statistic for one feature type and its warn and page thresholds (page above warn)."""

    statistic: Statistic = Field(description="psi or ks for numeric features; chi-square or jensen-shannon for categorical.")
    warn: float | None = Field(default=None, gt=0, le=10, description="Value that raises a warning; default per statistic.")
    page: float | None = Field(default=None, gt=0, le=10, description="Value that pages and fires the trigger; default per statistic.")

    @property
    def thresholds(self) -> tuple[float, float]:
        """(warn, page), defaults filled in."""
        default_warn, default_page = DEFAULT_THRESHOLDS[self.statistic]
        return (self.warn if self.warn is not None else default_warn, self.page if self.page is not None else default_page)

    @model_validator(mode="after")
    def _ordered_and_in_scale(self) -> StatisticChoice:
        warn, page = self.thresholds
        if self.statistic in BOUNDED_STATISTICS:
            for name, value in (("warn", warn), ("page", page)):
                if value > 1:
                    raise ValueError(f"{name} is {value:g} for statistic {self.statistic}, which ranges 0..1; expected at most 1")
        if warn >= page:
            raise ValueError(f"warn {warn:g} is not below page {page:g}; expected warn < page")
        return self


def _numeric_default() -> StatisticChoice:
    return StatisticChoice(statistic="psi")


def _categorical_default() -> StatisticChoice:
    return StatisticChoice(statistic="jensen-shannon")


class NoTrigger(_Strict):
    """No retraining trigger: drift only alerts."""

    kind: Literal["none"] = Field(description="none.")


class GithubDispatchTrigger(_Strict):
    """A GitHub `repository_dispatch` event (POST /repos/{owner}/{repo}/dispatches) that starts a retraining workflow.

    The token is never in the spec: the detector reads it from a Kubernetes Secret in the team namespace.
    """

    kind: Literal["github"] = Field(description="github.")
    repository: str = Field(
        pattern=r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$", description="owner/name of the repository that retrains."
    )
    event_type: str = Field(
        min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$", description="The dispatch event_type its workflow listens for."
    )
    token_secret: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Name of the Kubernetes Secret (team namespace) holding the GitHub token; never the token itself.",
    )
    token_key: str = Field(default="token", max_length=253, pattern=r"^[-._a-zA-Z0-9]+$", description="Key of the token in that Secret.")


class EventBridgeTrigger(_Strict):
    """An event on the account's default EventBridge bus; the platform adds a rule matching it."""

    kind: Literal["eventbridge"] = Field(description="eventbridge.")
    detail_type: str = Field(
        default="inferstack.drift.RetrainingRequested", min_length=1, max_length=128, description="The event's detail-type."
    )


class SnsTrigger(_Strict):
    """A message on an SNS topic the platform creates for the model (`<model>-retraining`)."""

    kind: Literal["sns"] = Field(description="sns.")


RetrainingTrigger = Annotated[
    NoTrigger | GithubDispatchTrigger | EventBridgeTrigger | SnsTrigger, Field(discriminator="kind")
]


def _no_trigger() -> NoTrigger:
    return NoTrigger(kind="none")


def check_cron(schedule: str) -> str:
    """A five-field cron schedule (minute hour day-of-month month day-of-week), numbers, ranges, steps and lists."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"schedule '{schedule}' has {len(fields)} field(s); expected 5 (minute hour day-of-month month day-of-week)")
    for text, (low, high), name in zip(fields, CRON_RANGES, CRON_NAMES, strict=True):
        if not re.fullmatch(CRON_FIELD, text):
            raise ValueError(f"schedule field {name} '{text}' is not a cron field; expected *, N, N-M, */S or lists of them")
        for part in text.split(","):
            base = part.split("/")[0]
            for value in (int(item) for item in base.split("-") if item != "*"):
                if not low <= value <= high:
                    raise ValueError(f"schedule field {name} has {value}; expected {low}..{high}")
    return schedule


class DriftSpec(_Strict):
    """What drift to watch for one model, how to measure it, when to warn and page, and what retraining to trigger."""

    features: list[DriftFeature] | Literal["all"] = Field(
        default="all",
        description="The watched input features with their types, or `all`: every input of the signature "
        "(string and bool inputs categorical, the rest numeric).",
    )
    predictions: bool = Field(default=True, description="Also watch the distribution of the first output (the prediction).")
    numeric: StatisticChoice = Field(default_factory=_numeric_default, description="Statistic and thresholds of numeric features.")
    categorical: StatisticChoice = Field(
        default_factory=_categorical_default, description="Statistic and thresholds of categorical features."
    )
    window_minutes: int = Field(default=60, ge=5, le=10_080, description="Window of logged traffic one run compares with the reference.")
    schedule: str = Field(
        default="*/15 * * * *", max_length=100, description="Cron schedule (UTC) of the detector's CronJob, five fields."
    )
    min_samples: int = Field(
        default=500, ge=30, le=100_000_000, description="Fewest logged rows in the window for a verdict; fewer gives no alert."
    )
    trigger: RetrainingTrigger = Field(
        default_factory=_no_trigger, description="What a page-level breach fires once per window: none, github, eventbridge or sns."
    )

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str) -> str:
        return check_cron(schedule)

    @model_validator(mode="after")
    def _consistent(self) -> DriftSpec:
        if self.numeric.statistic not in ("psi", "ks"):
            raise ValueError(f"numeric.statistic is {self.numeric.statistic}; expected psi or ks for numeric features")
        if self.categorical.statistic not in ("chi-square", "jensen-shannon"):
            raise ValueError(
                f"categorical.statistic is {self.categorical.statistic}; expected chi-square or jensen-shannon for categorical features"
            )
        if isinstance(self.features, list):
            names = [feature.name for feature in self.features]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                raise ValueError(f"features repeat {', '.join(repeated)}; expected each feature once")
            if not self.features and not self.predictions:
                raise ValueError("features is empty and predictions is false; expected something to watch")
        return self

    def resolved_features(self, signature: Signature | None) -> list[DriftFeature]:
        """The watched features (with `all` expanded from the signature)."""
        if isinstance(self.features, list):
            return list(self.features)
        if signature is None:
            return []
        return [DriftFeature(name=name, type="categorical" if dtype in CATEGORICAL_DTYPES else "numeric") for name, dtype in signature_features(signature)]

    def statistic_for(self, feature_type: FeatureType) -> StatisticChoice:
        """The statistic choice of a feature type."""
        return self.numeric if feature_type == "numeric" else self.categorical


def one_value_per_row(shape: list[int | None]) -> bool:
    """Whether a tensor of this shape holds one value per row: [batch] or [batch, 1]."""
    return len(shape) <= 1 or (len(shape) == 2 and shape[1] == 1)


def signature_features(signature: Signature) -> list[tuple[str, str]]:
    """(feature name, dtype) of every drift-watchable input: a tensor's named columns, or a tensor of one value per row."""
    found: list[tuple[str, str]] = []
    for tensor in signature.inputs:
        if tensor.columns:
            found.extend((column, tensor.dtype) for column in tensor.columns)
        elif one_value_per_row(tensor.shape):
            found.append((tensor.name, tensor.dtype))
    return found


def check_drift_features(drift: DriftSpec, signature: Signature | None) -> None:
    """Watched features must exist in the declared input signature; ValueError naming what is missing and what exists."""
    if signature is None:
        raise ValueError(
            "monitoring.drift is set but the spec declares no signature; expected signature.inputs "
            "(with `columns` for tabular inputs) so the detector knows where each feature is"
        )
    available = dict(signature_features(signature))
    if not isinstance(drift.features, list):
        if not available and not drift.predictions:
            raise ValueError(
                "monitoring.drift.features is all but no input has one value per row or named columns; expected "
                "signature.inputs[].columns for tabular inputs, or predictions: true"
            )
        return
    unknown = [feature.name for feature in drift.features if feature.name not in available]
    if unknown:
        raise ValueError(
            f"monitoring.drift.features names {', '.join(unknown)}, not a watchable input in signature.inputs; expected one of: "
            f"{', '.join(available) or 'none declared'} (an input of one value per row, or a column listed in an input's columns)"
        )
    for feature in drift.features:
        if feature.type == "numeric" and available[feature.name] == "string":
            raise ValueError(
                f"monitoring.drift.features {feature.name} is numeric but its input is a string tensor; expected type categorical"
            )


IMAGE_REFERENCE = r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$"


class DriftPlatformConfig(_Strict):
    """Stack config `inferstack:drift`: how the platform runs drift detectors (one CronJob per model that watches drift)."""

    image: str | None = Field(
        default=None,
        max_length=512,
        pattern=IMAGE_REFERENCE,
        description="Detector image (built from docker/drift/Dockerfile), registry/repository pinned by tag or digest; "
        "required when a model watches drift.",
    )
    pushgateway_url: str | None = Field(
        default=None,
        max_length=256,
        pattern=r"^https?://[a-z0-9.-]+(:\d+)?/?$",
        description="Prometheus Pushgateway the detector pushes its metrics to (Prometheus scrapes it); "
        "without it the metrics stay in the stored reports and the drift alerts cannot fire.",
    )
    cpu: float = Field(default=1.0, ge=0.1, le=16, description="CPU cores of the detector container (requests = limits).")
    memory_gib: float = Field(default=2.0, ge=0.25, le=64, description="Memory of the detector container in GiB (requests = limits).")
    deadline_minutes: int = Field(default=30, ge=1, le=1440, description="A run longer than this is stopped (the Job's activeDeadlineSeconds).")

    @field_validator("image")
    @classmethod
    def _pinned(cls, image: str | None) -> str | None:
        if image is not None and image.endswith(":latest"):
            raise ValueError(f"image {image} uses the tag latest; expected a pinned tag or @sha256 digest")
        return image

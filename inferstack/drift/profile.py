"""The reference profile: per-feature distributions of the training (or validation) data a version was gated with.

Numeric features keep quantile bin edges of the reference and the counts per
bin (plus a missing-value bin); categorical features keep the most frequent
categories and their counts (plus one bin for every other category, seen or
unseen). The prediction distribution is profiled the same way. The detector
later bins the logged traffic on the very same edges and categories.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from inferstack.drift.keys import PROFILE_FILE
from inferstack.spec.drift import FeatureType

__all__ = ["PROFILE_FILE", "FeatureProfile", "ReferenceProfile", "build_profile", "profile_feature"]

PROFILE_FORMAT = "inferstack.drift.profile/v1"
NUMERIC_BINS = 20
"""Quantile bins per numeric feature (ventiles: PSI's usual 10 would blur KS to 10% steps)."""
MAX_CATEGORIES = 100
"""Categories kept per categorical feature; the rest share the `other` bin."""
PREDICTION_FEATURE = "__prediction__"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class FeatureProfile(BaseModel):
    """The reference distribution of one feature (or of the prediction)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="Feature name, or __prediction__.")
    type: FeatureType = Field(description="numeric or categorical.")
    rows: int = Field(ge=0, description="Reference rows, missing values included.")
    edges: list[float] = Field(default_factory=list, description="Numeric: interior bin edges (ascending); bins are left-closed.")
    categories: list[str] = Field(default_factory=list, description="Categorical: the kept categories, most frequent first.")
    counts: list[int] = Field(
        description="Reference counts per bin: numeric len(edges)+1 bins then missing; categorical one per category then other, then missing."
    )

    def bin_counts(self, values: npt.NDArray[np.generic]) -> IntArray:
        """Counts of `values` in this profile's bins (the reference's own edges or categories)."""
        if self.type == "numeric":
            return numeric_counts(np.asarray(values, dtype=np.float64), np.asarray(self.edges, dtype=np.float64))
        return categorical_counts(category_keys(values), self.categories)


class ReferenceProfile(BaseModel):
    """Every watched feature's reference distribution, and the prediction's, for one model version."""

    model_config = ConfigDict(extra="ignore")

    format: Literal["inferstack.drift.profile/v1"] = PROFILE_FORMAT
    model: str
    version: str | None = Field(default=None, description="Model version; set when the registry stores it.")
    rows: int = Field(ge=1, description="Rows of reference data.")
    source: str = Field(description="File the profile was computed from.")
    source_sha256: str = Field(description="SHA-256 of that file.")
    created_at: str
    features: list[FeatureProfile]
    prediction: FeatureProfile | None = None

    def feature(self, name: str) -> FeatureProfile | None:
        """The profile of one feature."""
        return next((feature for feature in self.features if feature.name == name), None)


def numeric_edges(values: FloatArray, bins: int = NUMERIC_BINS) -> FloatArray:
    """Interior quantile edges of the finite values (duplicates dropped, so a discrete feature gets fewer bins)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.empty(0, dtype=np.float64)
    quantiles = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    edges = np.unique(quantiles)
    # Left-closed bins: an edge equal to the minimum would leave its first bin empty.
    return edges[edges > finite.min()]


def numeric_counts(values: FloatArray, edges: FloatArray) -> IntArray:
    """Counts per bin (len(edges)+1 bins, left-closed) and a last bin of missing (NaN, inf) values."""
    finite = np.isfinite(values)
    index = np.searchsorted(edges, values[finite], side="right")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(np.int64)
    return np.append(counts, np.int64(values.size - int(finite.sum())))


def category_keys(values: npt.NDArray[np.generic] | list[object]) -> npt.NDArray[np.str_]:
    """Values as category strings: integral numbers without a decimal point (3.0 -> "3"), booleans lowercase, text as is."""
    array = np.asarray(values)
    if array.dtype.kind == "b":
        return np.where(array, "true", "false")
    if array.dtype.kind in "iu":
        return array.astype(np.int64).astype(np.str_)
    if array.dtype.kind == "f":
        integral = np.isfinite(array) & (np.floor(array) == array)
        if bool(integral.all()):
            return array.astype(np.int64).astype(np.str_)
        text = array.astype(np.str_)
        text[integral] = array[integral].astype(np.int64).astype(np.str_)
        text[~np.isfinite(array)] = ""
        return text
    if array.dtype.kind == "U":
        return array
    if array.dtype.kind == "O" and all(isinstance(value, str) for value in array.ravel().tolist()):
        return array.astype(np.str_)
    return np.asarray([_category_key(value) for value in array.ravel().tolist()], dtype=np.str_)


def _category_key(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


HASH_MULTIPLIER = np.uint64(0x100000001B3)
"""FNV-1a 64-bit prime: the multiplier of the string hash that factorizes large arrays of short strings."""


def factorize(keys: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.str_], IntArray]:
    """(distinct values, index of each key's value), like np.unique(return_inverse=True) but in linear time.

    np.unique sorts the strings themselves (a million string comparisons per level of the sort);
    here each string's UTF-32 code points are hashed to one uint64 in a few vectorised passes and
    the integers are sorted instead. The mapping is verified element by element; on a hash
    collision (never seen, but possible) it falls back to np.unique.
    """
    keys = np.ascontiguousarray(keys)
    width = keys.dtype.itemsize // 4
    if keys.size < 4096 or width == 0:
        unique, inverse = np.unique(keys, return_inverse=True)
        return unique, inverse.ravel().astype(np.int64)
    points = keys.view(np.uint32).reshape(keys.size, width)
    hashes = np.zeros(keys.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(width):
            hashes = (hashes ^ points[:, column].astype(np.uint64)) * HASH_MULTIPLIER
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    unique = keys[first]
    inverse = inverse.ravel().astype(np.int64)
    if not np.array_equal(unique[inverse], keys):
        unique, inverse = np.unique(keys, return_inverse=True)
        return unique, inverse.ravel().astype(np.int64)
    return unique, inverse


def categorical_counts(keys: npt.NDArray[np.str_], categories: list[str]) -> IntArray:
    """Counts per kept category, then `other` (any other non-empty value), then missing (empty)."""
    unique, inverse = factorize(keys)
    position = {category: index for index, category in enumerate(categories)}
    other, missing = len(categories), len(categories) + 1
    slots = np.asarray([missing if value == "" else position.get(str(value), other) for value in unique.tolist()], dtype=np.int64)
    if unique.size == 0:
        return np.zeros(len(categories) + 2, dtype=np.int64)
    return np.bincount(slots[inverse.ravel()], minlength=len(categories) + 2).astype(np.int64)


def profile_feature(name: str, feature_type: FeatureType, values: npt.NDArray[np.generic]) -> FeatureProfile:
    """The reference profile of one column."""
    if feature_type == "numeric":
        numbers = np.asarray(values, dtype=np.float64)
        edges = numeric_edges(numbers)
        counts = numeric_counts(numbers, edges)
        return FeatureProfile(name=name, type="numeric", rows=int(numbers.size), edges=edges.tolist(), counts=counts.tolist())
    keys = category_keys(values)
    distinct, inverse = factorize(keys)
    frequency_all = np.bincount(inverse, minlength=distinct.size)
    present = distinct != ""
    unique, frequency = distinct[present], frequency_all[present]
    order = np.lexsort((unique, -frequency))[:MAX_CATEGORIES]
    categories = [str(value) for value in unique[order].tolist()]
    counts = categorical_counts(keys, categories)
    return FeatureProfile(name=name, type="categorical", rows=int(keys.size), categories=categories, counts=counts.tolist())


def build_profile(
    model: str,
    columns: dict[str, tuple[FeatureType, npt.NDArray[np.generic]]],
    prediction: tuple[FeatureType, npt.NDArray[np.generic]] | None,
    source: str,
    source_sha256: str,
) -> ReferenceProfile:
    """Profile every column (name -> (type, values)) and the prediction column, if any."""
    rows = max((values.shape[0] for _, values in columns.values()), default=0)
    if prediction is not None:
        rows = max(rows, prediction[1].shape[0])
    return ReferenceProfile(
        model=model,
        rows=rows,
        source=source,
        source_sha256=source_sha256,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        features=[profile_feature(name, kind, values) for name, (kind, values) in columns.items()],
        prediction=profile_feature(PREDICTION_FEATURE, prediction[0], prediction[1]) if prediction is not None else None,
    )

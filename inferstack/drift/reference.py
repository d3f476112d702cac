"""Reference data (`--reference-data FILE`): a CSV sample of training or validation data, profiled for a spec's drift watch.

CSV only, read with the standard library and numpy, so the base install needs
nothing more (Parquet would need pyarrow; export Parquet to CSV first). The
header names the columns: one per watched feature (`monitoring.drift.features`,
or every watchable input with `features: all`), and, when predictions are
watched, a column named like the model's first output holding the model's
predictions on those rows (for a vector output: the predicted class index).
Other columns are ignored.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from inferstack.drift.profile import ReferenceProfile, build_profile
from inferstack.problems import InputError, Problem, display_path
from inferstack.spec.drift import FeatureType
from inferstack.spec.model import ModelSpec

FLAG = "--reference-data"
MAX_PROBLEMS = 20


def read_reference_csv(path: Path, wanted: dict[str, FeatureType]) -> dict[str, npt.NDArray[Any]]:
    """Columns (name -> values: float for numeric, text for categorical) of the wanted names; InputError per problem."""
    label = display_path(path)
    if not path.is_file():
        raise InputError([Problem(label, FLAG, "no such file; expected a CSV file with a header row")])
    if path.suffix.lower() in (".parquet", ".pq"):
        raise InputError(
            [Problem(label, FLAG, "Parquet is not read (it would need pyarrow in the base install); expected a CSV export of the same data")]
        )
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header:
                raise InputError([Problem(label, FLAG, "the file is empty; expected a header row and data rows")])
            names = [name.strip() for name in header]
            missing = [name for name in wanted if name not in names]
            if missing:
                raise InputError(
                    [
                        Problem(label, "header", f"no column '{name}'; expected a column per watched feature and, with predictions "
                                f"watched, the first output's column (found: {', '.join(names)})")
                        for name in missing
                    ]
                )
            positions = {name: names.index(name) for name in wanted}
            raw: dict[str, list[str]] = {name: [] for name in wanted}
            width = len(names)
            problems: list[Problem] = []
            for line, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != width:
                    problems.append(Problem(label, f"line {line}", f"{len(row)} fields; expected {width} like the header"))
                    if len(problems) >= MAX_PROBLEMS:
                        break
                    continue
                for name, index in positions.items():
                    raw[name].append(row[index].strip())
    except UnicodeDecodeError as error:
        raise InputError([Problem(label, FLAG, f"not UTF-8 text ({error.reason}); expected a UTF-8 CSV file")]) from None
    except csv.Error as error:
        raise InputError([Problem(label, FLAG, f"not a readable CSV file ({error}); expected comma-separated values")]) from None
    except OSError as error:
        raise InputError([Problem(label, FLAG, f"cannot read the file ({error.strerror}); expected a readable CSV file")]) from None
    columns: dict[str, npt.NDArray[Any]] = {}
    for name, kind in wanted.items():
        values = raw[name]
        if kind == "categorical":
            columns[name] = np.asarray(values, dtype=np.str_)
            continue
        try:
            columns[name] = np.asarray([float(value) if value else np.nan for value in values], dtype=np.float64)
        except ValueError:
            bad = next(index for index, value in enumerate(values) if value and not _is_number(value))
            problems.append(
                Problem(label, f"line {bad + 2}, column {name}", f"'{values[bad]}' is not a number; expected a numeric value (or empty for missing)")
            )
    if problems:
        raise InputError(problems[:MAX_PROBLEMS])
    rows = len(next(iter(raw.values()), []))
    if rows == 0:
        raise InputError([Problem(label, FLAG, "the file has a header but no data rows; expected a sample of training data")])
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def profile_for_spec(path: Path, spec: ModelSpec, digest: str) -> ReferenceProfile:
    """The reference profile of a spec's drift watch from a CSV sample; InputError naming the flag when drift is off."""
    drift = spec.monitoring.drift
    if drift is None:
        raise InputError(
            [Problem(f"spec {spec.name}", "monitoring.drift", f"is not set, so {FLAG} has nothing to profile; expected a drift watch in the spec")]
        )
    features = drift.resolved_features(spec.signature)
    wanted: dict[str, FeatureType] = {feature.name: feature.type for feature in features}
    prediction_name: str | None = None
    prediction_type: FeatureType = "numeric"
    if drift.predictions and spec.signature is not None:
        from inferstack.drift.payloads import PayloadLayout

        layout = PayloadLayout.of(spec.signature, features, predictions=True)
        prediction_name = layout.output
        prediction_type = "numeric" if layout.output_per_row else "categorical"
        if prediction_name is not None and prediction_name in wanted:
            raise InputError([Problem(f"spec {spec.name}", "signature.outputs", f"output '{prediction_name}' has an input's name; expected distinct names")])
        if prediction_name is not None:
            wanted[prediction_name] = prediction_type
    columns = read_reference_csv(path, wanted)
    prediction = (prediction_type, columns.pop(prediction_name)) if prediction_name is not None else None
    return build_profile(
        spec.name,
        {feature.name: (feature.type, columns[feature.name]) for feature in features},
        prediction,
        path.name,
        digest,
    )

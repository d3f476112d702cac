"""What the gate, publish and promote commands do for drift, kept out of their own modules (one call each from the CLI).

- `gate --reference-data FILE` profiles the CSV for the spec's drift watch and writes the profile
  to `--profile-out` (default: beside the model, `<model>.reference-profile.json`);
- `publish --reference-data FILE` (or `--reference-profile` from the gate) checks the profile before
  anything is uploaded, then stores it next to the version's metadata.json. A spec that watches
  drift cannot be published without one (exit 2 naming the flag);
- `promote` carries the profile to the next environment's store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from inferstack.drift.profile import ReferenceProfile
from inferstack.drift.reference import FLAG, profile_for_spec
from inferstack.gate import file_sha256
from inferstack.problems import InputError, Problem, display_path
from inferstack.registry.store import ModelRegistry
from inferstack.spec.model import ModelSpec

PROFILE_FLAG = "--reference-profile"


def default_profile_path(model: Path) -> Path:
    """Where `gate --reference-data` writes the profile when --profile-out is not given."""
    return model.with_name(model.stem + ".reference-profile.json")


def compute_profile(reference_data: Path, spec: ModelSpec) -> ReferenceProfile:
    """The profile of a CSV sample for the spec's drift watch (InputError on bad data)."""
    if not reference_data.is_file():
        raise InputError([Problem(display_path(reference_data), FLAG, "no such file; expected a CSV sample of training or validation data")])
    return profile_for_spec(reference_data, spec, file_sha256(reference_data))


def gate_profile(reference_data: Path | None, spec: ModelSpec, model: Path, profile_out: Path | None) -> str | None:
    """`gate --reference-data`: profile and write it; a one-line summary, or None without the flag."""
    if reference_data is None:
        return None
    profile = compute_profile(reference_data, spec)
    out = profile_out or default_profile_path(model)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(profile.model_dump_json(indent=2), encoding="utf-8")
    except OSError as error:
        raise InputError([Problem(display_path(out), "--profile-out", f"cannot write the profile ({error.strerror}); expected a writable path")]) from None
    watched = len(profile.features) + (1 if profile.prediction else 0)
    return (
        f"reference profile: {profile.rows:,} rows, {watched} distribution(s) from {display_path(reference_data)} -> {display_path(out)} "
        f"(publish it with --reference-profile {display_path(out)})"
    )


@dataclass(frozen=True, slots=True)
class PendingProfile:
    """A checked profile waiting for its version to be published."""

    profile: ReferenceProfile | None


def prepare_publish_profile(spec: ModelSpec, reference_data: Path | None, reference_profile: Path | None) -> PendingProfile:
    """Before publish uploads anything: the profile to store, or InputError (a drift spec without one, both flags, a foreign profile)."""
    if reference_data is not None and reference_profile is not None:
        raise InputError([Problem(FLAG, FLAG, f"both {FLAG} and {PROFILE_FLAG} given; expected one of them")])
    if reference_data is not None:
        return PendingProfile(compute_profile(reference_data, spec))
    if reference_profile is not None:
        label = display_path(reference_profile)
        try:
            profile = ReferenceProfile.model_validate_json(reference_profile.read_bytes())
        except OSError as error:
            raise InputError([Problem(label, PROFILE_FLAG, f"cannot read the profile ({error.strerror}); expected `gate --reference-data` output")]) from None
        except ValidationError as error:
            raise InputError([Problem(label, PROFILE_FLAG, f"not a reference profile ({error.error_count()} problems); expected `gate --reference-data` output")]) from None
        if profile.model != spec.name:
            raise InputError([Problem(label, PROFILE_FLAG, f"the profile is of model {profile.model}; expected one of {spec.name}")])
        return PendingProfile(profile)
    if spec.monitoring.drift is not None:
        raise InputError(
            [
                Problem(
                    f"spec {spec.name}",
                    "monitoring.drift",
                    f"watches drift but no reference data was given, and a version without a reference profile cannot enable drift; "
                    f"expected {FLAG} FILE (a CSV sample of training data) or {PROFILE_FLAG} FILE; nothing was uploaded",
                )
            ]
        )
    return PendingProfile(None)


def store_publish_profile(registry: ModelRegistry, spec: ModelSpec, version: str, pending: PendingProfile) -> str | None:
    """After publish: store the checked profile next to the version's metadata; its URI, or None when there is none."""
    if pending.profile is None:
        return None
    from inferstack.drift.store import store_profile

    return store_profile(registry, spec.team, spec.name, version, pending.profile)


def promote_profile(source: ModelRegistry, target: ModelRegistry, name: str, version: str) -> bool:
    """After promote: copy the version's profile into the target store; False when the version has none."""
    from inferstack.drift.store import carry_profile

    team = source.find_team(name, version)
    if team is None:
        return False
    return carry_profile(source, target, team, name, version)

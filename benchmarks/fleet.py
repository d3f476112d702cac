"""Generate a varied, valid fleet of model specs for benchmarks and offline-plan tests.

`generate_fleet(n, seed)` returns spec documents (plain dicts the spec language
accepts); `write_fleet(documents, out)` writes them as YAML files and, for every
`python_every`-th model, a Python spec module. The mix (by share of models):

- 30% CPU models (sklearn / xgboost / lightgbm), 0.5-4 vCPU;
- 30% small GPU models that may share a GPU (embedders, classifiers) on T4 / L4 / A10G;
- 22% single-GPU models with the GPU to themselves (vision, speech) on T4 / L4 / A10G / L40S;
- 8% large single-GPU models on L40S or H100;
- 10% multi-GPU LLMs: 2-4 x L40S or 2-8 x H100 per replica.

Teams, replica ranges, spot preferences, rollout strategies and per-environment
overrides vary; H100 models move to L40S (or are disabled) in dev, which
offers no H100. Deterministic for a given seed.

Every model respects each environment's caps and mandatory capacity rules
(`_respect_environments`, after the draws, so the mix stays the same): per-environment
scaling overrides keep every InferenceService under `gpu.max_replicas_per_model` and all of
a model's InferenceServices under `gpu.max_gpus_per_model` (`TIER_CAPS`, the shipped stacks'
values; a test keeps them in step), prod keeps at least two replicas (prod-min-replicas)
and an on-demand base (no `capacity.spot: required` there), a spec requiring spot is a CPU
model elsewhere (GPU classes have one instance type each, which a spot-only pool fails
spot diversification with), dev GPU models never say `never` (dev GPU pools are spot), and
every model claims the prod approval stage (the registry is authoritative at plan time).

    uv run python benchmarks/fleet.py --models 200 --out /tmp/fleet [--seed 7]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import yaml

TIER_CAPS = {"dev": (4, 8), "staging": (8, 16), "prod": (20, 32)}
"""(gpu.max_replicas_per_model, gpu.max_gpus_per_model) of stacks/Pulumi.<tier>.yaml."""
TEAMS = ("risk", "vision", "genai", "search", "ads", "speech", "fraud", "recsys")
GPU_MEMORY = {"t4": 16, "l4": 24, "a10g": 24, "l40s": 48, "h100": 80}


def _replicas(rng: random.Random, low: int, high: int, burst: int) -> dict[str, Any]:
    minimum = rng.randint(low, high)
    return {"min_replicas": minimum, "max_replicas": minimum + rng.randint(0, burst)}


def _rollout(rng: random.Random, version: str) -> dict[str, Any]:
    strategy = rng.choices(["direct", "canary", "blue-green", "shadow", "ab"], weights=[40, 25, 15, 10, 10])[0]
    stable = "0.9.0" if version != "0.9.0" else "0.8.0"
    if strategy == "canary":
        return {"strategy": strategy, "stable_version": stable, "canary_percent": rng.choice([5, 10, 20])}
    if strategy == "blue-green":
        return {"strategy": strategy, "stable_version": stable, "active_color": rng.choice(["blue", "green"])}
    if strategy == "shadow":
        return {"strategy": strategy, "stable_version": stable, "mirror_percent": rng.choice([10, 50, 100])}
    if strategy == "ab":
        first = rng.choice([50, 70, 90])
        return {
            "strategy": strategy,
            "variants": [{"name": "a", "version": stable, "weight": first}, {"name": "b", "version": version, "weight": 100 - first}],
        }
    return {"strategy": "direct"}


def _model(rng: random.Random, index: int) -> dict[str, Any]:
    kind = rng.choices(["cpu", "shared", "single", "large", "llm"], weights=[30, 30, 22, 8, 10])[0]
    team = TEAMS[index % len(TEAMS)]
    version = f"1.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
    document: dict[str, Any] = {
        "name": f"{kind}-model-{index:04d}",
        "team": team,
        "owner": f"{team}-ml@example.com",
        "description": f"Benchmark {kind} model number {index} of team {team}.",
        "monitoring": {
            "runbook_url": f"https://runbooks.example.com/{team}/{index}",
            "alert_route": f"slack:#{team}-alerts",
            "latency_p95_ms": rng.choice([20, 50, 100, 250, 1000, 4000]),
        },
        "rollout": _rollout(rng, version),
    }
    if kind == "cpu":
        document["artifact"] = {"format": rng.choice(["sklearn", "xgboost", "lightgbm"]), "version": version}
        document["serving"] = {"resources": {"cpu": rng.choice([0.5, 1, 1, 2, 2, 4]), "memory_gib": rng.choice([1, 2, 4, 8])}}
        document["scaling"] = _replicas(rng, 1, 4, 6)
    elif kind == "shared":
        gpu = rng.choice(["t4", "l4", "a10g"])
        document["artifact"] = {"format": "onnx", "version": version}
        document["serving"] = {"resources": {"cpu": rng.choice([0.5, 1, 1, 2]), "memory_gib": rng.choice([2, 3, 4])}}
        document["accelerator"] = {
            "gpu_type": gpu,
            "gpus_per_replica": 1,
            "gpu_memory_gib": rng.choice([1, 2, 3, 4, 6, GPU_MEMORY[gpu] // 2 - 1]),
            "shareable": True,
        }
        document["scaling"] = _replicas(rng, 1, 6, 10)
    elif kind == "single":
        gpu = rng.choice(["t4", "l4", "a10g", "l40s"])
        document["artifact"] = {"format": rng.choice(["onnx", "pytorch", "triton"]), "version": version}
        document["serving"] = {"resources": {"cpu": rng.choice([2, 3, 6]), "memory_gib": rng.choice([8, 12, 24])}}
        document["accelerator"] = {
            "gpu_type": gpu,
            "gpus_per_replica": 1,
            "gpu_memory_gib": round(GPU_MEMORY[gpu] * rng.uniform(0.5, 0.95), 1),
        }
        document["scaling"] = _replicas(rng, 1, 4, 6)
    elif kind == "large":
        gpu = rng.choice(["l40s", "h100"])
        document["artifact"] = {"format": rng.choice(["pytorch", "huggingface"]), "version": version}
        document["serving"] = {"resources": {"cpu": rng.choice([6, 12]), "memory_gib": rng.choice([48, 96])}}
        document["accelerator"] = {"gpu_type": gpu, "gpus_per_replica": 1, "gpu_memory_gib": round(GPU_MEMORY[gpu] * 0.85, 1)}
        document["scaling"] = _replicas(rng, 1, 2, 3)
    else:
        gpu = rng.choice(["l40s", "h100"])
        gpus = rng.choice([2, 4]) if gpu == "l40s" else rng.choice([2, 4, 8])
        document["artifact"] = {"format": "huggingface", "version": version}
        document["serving"] = {"resources": {"cpu": 10 * gpus, "memory_gib": 80 * gpus}}
        document["accelerator"] = {
            "gpu_type": gpu,
            "gpus_per_replica": gpus,
            "gpu_memory_gib": round(GPU_MEMORY[gpu] * gpus * rng.uniform(0.6, 0.9), 1),
        }
        document["scaling"] = _replicas(rng, 1, 2, 2)
    spot = rng.choices(["preferred", "never", "required"], weights=[85, 8, 7])[0]
    if spot != "preferred":
        document["capacity"] = {"spot": spot}
    dev: dict[str, Any] = {}
    if rng.random() < 0.3:
        # One warm replica, not scale-to-zero: the platform serves in standard mode, which has no wake-up path.
        dev["scaling"] = {"min_replicas": 1, "max_replicas": 1}
    accelerator = document.get("accelerator", {})
    if accelerator.get("gpu_type") == "h100":
        # dev offers no H100 (stacks/Pulumi.dev.yaml): L40S where the model fits on up to 4, else off.
        need = accelerator["gpu_memory_gib"]
        gpus = next((count for count in (1, 2, 4) if count * GPU_MEMORY["l40s"] >= need), None)
        if gpus is None:
            dev = {"enabled": False}
        else:
            dev["accelerator"] = {"gpu_type": "l40s", "gpus_per_replica": gpus, "gpu_memory_gib": need}
    if dev:
        document["environments"] = {"dev": dev}
    _respect_environments(document)
    return document


def _services(rollout: dict[str, Any]) -> int:
    """InferenceServices a rollout runs at once (a blue-green idle colour counted at full size, to stay safe)."""
    strategy = rollout["strategy"]
    if strategy == "ab":
        return len(rollout["variants"])
    return 1 if strategy == "direct" else 2


def _respect_environments(document: dict[str, Any]) -> None:
    """Add per-environment overrides so the model meets each tier's caps and mandatory capacity rules."""
    environments: dict[str, dict[str, Any]] = document.setdefault("environments", {})
    is_gpu = "accelerator" in document
    spot = document.get("capacity", {}).get("spot", "preferred")
    if spot == "required" and is_gpu:
        document["capacity"] = {"spot": "preferred"}
        spot = "preferred"
    for tier, (max_replicas, max_gpus) in TIER_CAPS.items():
        override = environments.get(tier, {})
        if override.get("enabled") is False:
            continue
        scaling = {**document["scaling"], **override.get("scaling", {})}
        low, high = scaling["min_replicas"], scaling["max_replicas"]
        accelerator = {**document.get("accelerator", {}), **override.get("accelerator", {})}
        gpus = accelerator.get("gpus_per_replica", 0) if is_gpu else 0
        rollout = override.get("rollout", document["rollout"])
        if gpus and gpus * _services(rollout) > max_gpus:
            override["rollout"] = rollout = {"strategy": "direct"}
        if tier == "prod":
            low = max(low, 2)
        cap = max_replicas if not gpus else min(max_replicas, max_gpus // (gpus * _services(rollout)))
        if cap < 1 or (tier == "prod" and cap < 2):
            environments[tier] = {"enabled": False}
            continue
        high = min(max(high, low), cap)
        low = min(low, high)
        if (low, high) != (scaling["min_replicas"], scaling["max_replicas"]):
            override["scaling"] = {**override.get("scaling", {}), "min_replicas": low, "max_replicas": high}
        if tier == "prod" and spot == "required":
            override["capacity"] = {"spot": "preferred"}
        if tier == "dev" and spot == "never" and is_gpu:
            override["capacity"] = {"spot": "preferred"}
        if override:
            environments[tier] = override
    if not environments:
        del document["environments"]
    document.setdefault("registry", {})["stage"] = "prod"


def generate_fleet(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` valid, varied spec documents, the same for the same seed."""
    rng = random.Random(seed)
    return [_model(rng, index) for index in range(count)]


def write_fleet(documents: list[dict[str, Any]], out: Path, python_every: int = 5) -> list[Path]:
    """Write each document to OUT as `<name>.yaml`, or every `python_every`-th as a Python spec module."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for index, document in enumerate(documents):
        stem = document["name"].replace("-", "_")
        if python_every and index % python_every == python_every - 1:
            path = out / f"{stem}.py"
            path.write_text(
                f'"""Benchmark spec {document["name"]} (generated by benchmarks/fleet.py)."""\n\n'
                "from inferstack.spec import ModelSpec\n\n"
                f"{stem} = ModelSpec.model_validate({document!r})\n",
                encoding="utf-8",
            )
        else:
            path = out / f"{stem}.yaml"
            path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    """Command line: write a generated fleet to a folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", type=int, required=True, help="How many model specs to write.")
    parser.add_argument("--out", type=Path, required=True, help="Folder to write them to.")
    parser.add_argument("--seed", type=int, default=7, help="Random seed (same seed, same fleet).")
    arguments = parser.parse_args()
    paths = write_fleet(generate_fleet(arguments.models, arguments.seed), arguments.out)
    print(f"wrote {len(paths)} spec files to {arguments.out}")


if __name__ == "__main__":
    main()

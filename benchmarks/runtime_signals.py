"""Count the models of a generated fleet whose scaling signal exists on the runtime they run on.

For each model and each environment it is enabled in (its overrides applied, the
environment's deployment mode), the runtime catalogue says whether the runtime exports
the model's `scaling.metric` (or Knative measures it, in serverless mode). A model counts
when its signal exists in every environment. Also reported: how many would have had a
signal under the old rule (every query on KServe's `request_predict_seconds`, which only
KServe's own Python servers export), and the same count for the error SLI (the runtime's
error counter, or the shared Gateway's 5xx in standard mode; `error_sli_source`), against
the runtime's error counter alone.

    uv run python benchmarks/runtime_signals.py --models 200 [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fleet import generate_fleet  # noqa: E402
from inferstack.runtimes import available_signals, scaling_problem, select_runtime  # noqa: E402
from inferstack.runtimes.catalogue import error_sli_source  # noqa: E402
from inferstack.spec import ModelSpec, load_environment  # noqa: E402
from inferstack.spec.resolve import resolve_for_environment  # noqa: E402

ENVIRONMENTS = ("dev", "staging", "prod")
KSERVE_PYTHON_RUNTIMES = frozenset({"kserve-sklearnserver", "kserve-xgbserver", "kserve-lgbserver"})


def count(models: int, seed: int, stacks: Path) -> dict[str, object]:
    """Models with a scaling signal in every environment, against the total, with a breakdown per runtime."""
    configs = {environment: load_environment(stacks, environment) for environment in ENVIRONMENTS}
    with_signal = 0
    old_rule = 0
    per_runtime: Counter[str] = Counter()
    missing: list[str] = []
    with_error_sli = 0
    runtime_error_counter = 0
    error_sources: Counter[str] = Counter()
    no_error_sli: list[str] = []
    documents = generate_fleet(models, seed)
    for document in documents:
        spec = ModelSpec.model_validate(document)
        ok = True
        old_ok = True
        error_ok = True
        runtime_errors_ok = True
        for environment, config in configs.items():
            resolved = resolve_for_environment(spec, environment)
            if resolved is None:
                continue
            mode = resolved.serving.deployment_mode or config.serving.deployment_mode
            problem = scaling_problem(
                resolved.artifact.format,
                resolved.serving.protocol,
                resolved.serving.runtime,
                resolved.scaling.metric,
                resolved.accelerator.gpu_type != "none",
                knative=mode == "serverless",
            )
            if problem:
                ok = False
                missing.append(f"{spec.name} ({environment}): {problem}")
            entry = select_runtime(resolved.artifact.format, resolved.serving.protocol, resolved.serving.runtime)
            knative_native = mode == "serverless" and resolved.scaling.metric in ("concurrency", "rps")
            gpu_signal = resolved.scaling.metric == "gpu-utilization" and "gpu-utilization" in available_signals(entry, True)
            if not (knative_native or gpu_signal or entry.name in KSERVE_PYTHON_RUNTIMES):
                old_ok = False
            source = error_sli_source(entry, mode)
            error_sources[f"{environment}:{source}"] += 1
            if source == "none":
                error_ok = False
                no_error_sli.append(f"{spec.name} ({environment}): {entry.name} exports no error counter and runs {mode}")
            runtime_errors_ok = runtime_errors_ok and source == "runtime"
        entry = select_runtime(spec.artifact.format, spec.serving.protocol, spec.serving.runtime)
        per_runtime[entry.name] += 1
        with_signal += ok
        old_rule += old_ok
        with_error_sli += error_ok
        runtime_error_counter += runtime_errors_ok
    return {
        "models": len(documents),
        "with_signal": with_signal,
        "with_signal_under_request_predict_seconds": old_rule,
        "per_runtime": dict(sorted(per_runtime.items())),
        "missing": missing,
        "with_error_sli": with_error_sli,
        "with_error_sli_from_runtime_only": runtime_error_counter,
        "error_sli_sources": dict(sorted(error_sources.items())),
        "no_error_sli": no_error_sli,
    }


def main() -> None:
    """Command line: print the count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--stacks", type=Path, default=Path("stacks"))
    arguments = parser.parse_args()
    result = count(arguments.models, arguments.seed, arguments.stacks)
    print(
        f"{result['with_signal']}/{result['models']} models have their scaling signal on their runtime "
        f"(under the old request_predict_seconds queries: {result['with_signal_under_request_predict_seconds']}/{result['models']})"
    )
    print(f"models per runtime: {result['per_runtime']}")
    for line in result["missing"]:  # type: ignore[union-attr]
        print(f"  no signal: {line}")
    print(
        f"{result['with_error_sli']}/{result['models']} models have an error SLI in every environment they run in "
        f"(from the runtime's own error counter alone: {result['with_error_sli_from_runtime_only']}/{result['models']})"
    )
    print(f"error SLI source per (environment, model): {result['error_sli_sources']}")
    for line in result["no_error_sli"]:  # type: ignore[union-attr]
        print(f"  no error SLI: {line}")


if __name__ == "__main__":
    main()

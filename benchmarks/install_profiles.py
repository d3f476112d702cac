"""Installed size and cold-install time of the install profiles (needs PyPI; not part of the test suite).

Each profile is installed from uv.lock into a fresh virtual environment with an empty uv cache,
so the time includes downloading every wheel. `--record` writes benchmarks/results/install_profiles.json,
from which README.md's table is generated (`uv run python -m inferstack.docs_sections --write`).

    uv run python benchmarks/install_profiles.py [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILES: dict[str, tuple[str, ...]] = {
    "preview (plan, policy pack, `pulumi up`)": ("--no-dev",),
    "preview + registry (the deploy job)": ("--no-dev", "--extra", "registry"),
    "full (default `uv sync`: gate, registry, test tools)": (),
}


def _size_bytes(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def measure(arguments: tuple[str, ...]) -> tuple[float, int]:
    """(seconds, bytes) of one cold install of a profile."""
    uv = shutil.which("uv")
    assert uv is not None, "uv is not on PATH"
    with tempfile.TemporaryDirectory(prefix="inferstack-profile-") as folder:
        env = dict(os.environ, UV_CACHE_DIR=f"{folder}/cache", UV_PROJECT_ENVIRONMENT=f"{folder}/venv")
        start = time.perf_counter()
        subprocess.run([uv, "sync", "--locked", "--quiet", *arguments], cwd=REPO_ROOT, env=env, check=True)
        seconds = time.perf_counter() - start
        return seconds, _size_bytes(Path(folder) / "venv")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--record", action="store_true", help="write benchmarks/results/install_profiles.json")
    options = parser.parse_args()
    rows = []
    for name, arguments in PROFILES.items():
        seconds, size = measure(arguments)
        command = " ".join(("uv sync --locked", *arguments))
        rows.append({"profile": name, "command": command, "bytes": size, "seconds": round(seconds, 1)})
        print(f"{name:55} {size / 1e6:8,.0f} MB {seconds:6.1f} s   ({command})")
    if options.record:
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{os.cpu_count()}-core {platform.machine()} {platform.system()}, Python {platform.python_version()}",
            "command": "uv run python benchmarks/install_profiles.py --record",
            "profiles": rows,
        }
        path = REPO_ROOT / "benchmarks" / "results" / "install_profiles.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()

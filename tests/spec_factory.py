"""Builders of valid spec documents for tests; each test changes what it needs."""

from __future__ import annotations

import copy
from typing import Any

BASE_SPEC: dict[str, Any] = {
    "name": "demo-model",
    "team": "demo",
    "owner": "demo@example.com",
    "description": "A model used by tests.",
    "artifact": {"format": "onnx", "version": "1.0.0"},
    "accelerator": {"gpu_type": "l4", "gpus_per_replica": 1, "gpu_memory_gib": 8},
    "scaling": {"min_replicas": 1, "max_replicas": 3},
    "monitoring": {"runbook_url": "https://runbooks.example.com/demo", "alert_route": "slack:#demo"},
}


def spec_document(**changes: Any) -> dict[str, Any]:
    """A valid spec document with top-level keys replaced by `changes`."""
    document = copy.deepcopy(BASE_SPEC)
    document.update(changes)
    return document

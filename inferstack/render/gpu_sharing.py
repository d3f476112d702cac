"""NVIDIA device plugin configuration: GPU time-slicing for pools that share GPUs.

The device plugin chart takes a map of named configs; each node picks one by
its `nvidia.com/device-plugin.config` label (set on the node group), falling
back to `default` (whole GPUs).
"""

from __future__ import annotations

from typing import Any

import yaml

from inferstack.blueprint import Blueprint, NodePool
from inferstack.constants import DEVICE_PLUGIN_DEFAULT_CONFIG, GPU_RESOURCE, LABEL_GPU_TYPE


def sharing_config_name(replicas: int) -> str:
    """Name of the time-slicing config with that many replicas per GPU."""
    return f"time-sliced-{replicas}"


def pool_device_plugin_config(pool: NodePool) -> str:
    """The config a pool's nodes use."""
    return sharing_config_name(pool.time_slicing_replicas) if pool.time_slicing_replicas > 1 else DEVICE_PLUGIN_DEFAULT_CONFIG


def _config(replicas: int) -> dict[str, Any]:
    config: dict[str, Any] = {"version": "v1", "flags": {"migStrategy": "none"}}
    if replicas > 1:
        config["sharing"] = {
            "timeSlicing": {
                "renameByDefault": False,
                "failRequestsGreaterThanOne": True,
                "resources": [{"name": GPU_RESOURCE, "replicas": replicas}],
            }
        }
    return config


def device_plugin_configs(blueprint: Blueprint) -> dict[str, str]:
    """Config name -> YAML document, for the chart's `config.map`."""
    configs = {DEVICE_PLUGIN_DEFAULT_CONFIG: _config(1)}
    for pool in blueprint.node_pools:
        if pool.is_gpu and pool.time_slicing_replicas > 1:
            configs[sharing_config_name(pool.time_slicing_replicas)] = _config(pool.time_slicing_replicas)
    return {name: yaml.safe_dump(config, sort_keys=True) for name, config in sorted(configs.items())}


def gpu_node_affinity() -> dict[str, Any]:
    """Required node affinity onto GPU pools only (nodes labelled with a GPU type other than none)."""
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": LABEL_GPU_TYPE, "operator": "Exists"},
                            {"key": LABEL_GPU_TYPE, "operator": "NotIn", "values": ["none"]},
                        ]
                    }
                ]
            }
        }
    }


GPU_TOLERATIONS: tuple[dict[str, str], ...] = ({"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"},)
"""Tolerations of GPU-only agents: the taint every GPU pool carries."""


def device_plugin_values(blueprint: Blueprint) -> dict[str, Any]:
    """Helm values of the NVIDIA device plugin: the configs, and scheduling onto GPU nodes only."""
    return {
        "config": {"map": device_plugin_configs(blueprint), "default": DEVICE_PLUGIN_DEFAULT_CONFIG},
        "tolerations": [dict(item) for item in GPU_TOLERATIONS],
        "affinity": gpu_node_affinity(),
    }


def dcgm_exporter_values() -> dict[str, Any]:
    """Helm values of dcgm-exporter (chart 4.1.1): on GPU nodes only, where NVML exists.

    The chart has no default nodeSelector or affinity (NVIDIA/dcgm-exporter tag 4.2.3-4.1.1,
    deployment/values.yaml: `nodeSelector: {}`, `affinity: {}`, `tolerations: []`), so without these keys the DaemonSet
    lands on every node, fails on CPU nodes, and the atomic release times out.
    """
    return {
        "serviceMonitor": {"enabled": False},  # Monitoring renders its own, with honorLabels
        "tolerations": [dict(item) for item in GPU_TOLERATIONS],
        "affinity": gpu_node_affinity(),
        "kubeletPath": "/var/lib/kubelet/pod-resources",
    }

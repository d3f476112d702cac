"""The Blueprint: everything one environment needs, resolved, as plain frozen data.

Compile produces it from specs and the environment config; components only
render it. It holds no Pulumi objects, so most logic and tests live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from inferstack.spec.environment import EnvironmentConfig
from inferstack.spec.model import DeploymentMode, ModelSpec

CapacityType = Literal["SPOT", "ON_DEMAND"]


@dataclass(frozen=True, slots=True)
class Taint:
    """A node taint (Kubernetes form); workloads on the pool carry the matching toleration."""

    key: str
    value: str
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


@dataclass(frozen=True, slots=True)
class NodePool:
    """One node group: an accelerator class bought one way, with its instance types and size bounds."""

    name: str
    gpu_type: str
    capacity_type: CapacityType
    instance_types: tuple[str, ...]
    gpus_per_node: int
    min_size: int
    max_size: int
    desired_size: int
    time_slicing_replicas: int
    labels: tuple[tuple[str, str], ...]
    taints: tuple[Taint, ...]
    models: tuple[str, ...]
    hourly_usd: float
    """Price of one node of the first (preferred) instance type, after the spot discount where spot."""
    replicas: tuple[tuple[str, int, int], ...] = ()
    """(model, steady replicas, peak replicas) the pool was sized for, per member model."""
    fallback_for: str | None = None
    """On an on-demand fallback pool: the thinly diversified spot pool whose pods it takes when spot runs out."""
    peak_size: int | None = None
    """Nodes the allocation needs at peak (every model at max replicas); `max_size` may be higher (EKS's floor of 1 on a
    fit-class pool no replica was allocated to). None: `max_size`."""

    @property
    def peak_nodes(self) -> int:
        """Nodes the pool runs at peak: `peak_size` where placement set it, else `max_size`."""
        return self.max_size if self.peak_size is None else self.peak_size

    @property
    def is_gpu(self) -> bool:
        """Whether the pool carries GPUs."""
        return self.gpu_type != "none"


@dataclass(frozen=True, slots=True)
class ModelDeployment:
    """One model as it runs in this environment."""

    spec: ModelSpec
    """The spec with this environment's overrides applied."""
    source: str
    namespace: str
    storage_uri: str
    deployment_mode: DeploymentMode
    node_pools: tuple[str, ...]
    """Pools the model's replicas may run on (base pool first)."""
    replicas_per_gpu: int
    """1, or the time-slicing factor when the replica shares a GPU."""
    sized_gpu_memory_gib: float = 0.0
    """GPU memory one replica was sized for (need plus headroom); 0 on CPU."""
    measured_gpu_memory_gib: float | None = None
    """The model gate's measured peak GPU memory, when it replaced the spec's figure."""
    registry_stages: tuple[tuple[str, str], ...] = ()
    """(version, approved stage) from the registry for every version the model serves; empty without a registry."""

    def approved_stage(self, version: str) -> str:
        """The approval stage of a served version: the registry's when known, else the spec's claim."""
        for known, stage in self.registry_stages:
            if known == version:
                return stage
        return self.spec.registry.stage

    @property
    def name(self) -> str:
        """The model's name."""
        return self.spec.name

    @property
    def team(self) -> str:
        """The owning team."""
        return self.spec.team


@dataclass(frozen=True, slots=True)
class TeamPlan:
    """A team's serving footprint: its namespace and the model-store prefix its identity may read."""

    name: str
    namespace: str
    cost_center: str
    models: tuple[str, ...]
    model_prefix: str


@dataclass(frozen=True, slots=True)
class Blueprint:
    """All resolved inputs of one environment's platform."""

    environment: str
    config: EnvironmentConfig
    models: tuple[ModelDeployment, ...]
    teams: tuple[TeamPlan, ...]
    node_pools: tuple[NodePool, ...]
    disabled_models: tuple[str, ...] = field(default=())
    _models_by_name: dict[str, ModelDeployment] = field(init=False, repr=False, compare=False)
    _pools_by_name: dict[str, NodePool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lookups by name happen per model and per pool reference; index them once.
        object.__setattr__(self, "_models_by_name", {deployment.name: deployment for deployment in self.models})
        object.__setattr__(self, "_pools_by_name", {pool.name: pool for pool in self.node_pools})

    def model(self, name: str) -> ModelDeployment:
        """The deployment of the named model."""
        return self._models_by_name[name]

    def pool(self, name: str) -> NodePool:
        """The node pool of that name."""
        return self._pools_by_name[name]

    @property
    def gpu_sharing(self) -> bool:
        """Whether any pool time-slices its GPUs."""
        return any(pool.time_slicing_replicas > 1 for pool in self.node_pools)

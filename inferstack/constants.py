"""Names shared by every layer: environments, type tokens, label and tag keys.

Keeping them in one module means the compiler, the components, the policies and
the plan all agree on spelling.
"""

from typing import Final, Literal

Environment = Literal["dev", "staging", "prod"]
ENVIRONMENTS: Final[tuple[Environment, ...]] = ("dev", "staging", "prod")

# Component type tokens: inferstack:<area>:<Type>.
TYPE_PLATFORM: Final = "inferstack:platform:Platform"
TYPE_CLUSTER: Final = "inferstack:cluster:Cluster"
TYPE_GPU_NODE_POOL: Final = "inferstack:compute:GpuNodePool"
TYPE_CLUSTER_ADDONS: Final = "inferstack:compute:ClusterAddons"
TYPE_MODEL_STORE: Final = "inferstack:storage:ModelStore"
TYPE_SERVING_IDENTITY: Final = "inferstack:identity:ServingIdentity"
TYPE_TEAM_NAMESPACE: Final = "inferstack:serving:TeamNamespace"
TYPE_INFERENCE_SERVICE: Final = "inferstack:serving:ModelService"
TYPE_MONITORING: Final = "inferstack:monitoring:Monitoring"

# Kubernetes label / annotation keys and AWS tag keys. The same keys are used on
# both sides so that cost and policy reports can join them.
LABEL_PREFIX: Final = "inferstack.io"
LABEL_TEAM: Final = "inferstack.io/team"
LABEL_MODEL: Final = "inferstack.io/model"
LABEL_ENVIRONMENT: Final = "inferstack.io/environment"
LABEL_COST_CENTER: Final = "inferstack.io/cost-center"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_NODE_POOL: Final = "inferstack.io/node-pool"
LABEL_GPU_TYPE: Final = "inferstack.io/gpu-type"
LABEL_CAPACITY_TYPE: Final = "inferstack.io/capacity-type"
LABEL_ROLLOUT_ROLE: Final = "inferstack.io/rollout-role"
MANAGED_BY_VALUE: Final = "inferstack"

TAG_TEAM: Final = "inferstack:team"
TAG_MODEL: Final = "inferstack:model"
TAG_ENVIRONMENT: Final = "inferstack:environment"
TAG_COST_CENTER: Final = "inferstack:cost-center"
TAG_MANAGED_BY: Final = "inferstack:managed-by"

# GPU scheduling.
GPU_RESOURCE: Final = "nvidia.com/gpu"
GPU_TAINT_KEY: Final = "nvidia.com/gpu"
GPU_TAINT_EFFECT: Final = "NoSchedule"
EKS_CAPACITY_TYPE_LABEL: Final = "eks.amazonaws.com/capacityType"

# KServe.
KSERVE_API_VERSION: Final = "serving.kserve.io/v1beta1"
KSERVE_DEPLOYMENT_MODE_ANNOTATION: Final = "serving.kserve.io/deploymentMode"
KSERVE_AUTOSCALER_CLASS_ANNOTATION: Final = "serving.kserve.io/autoscalerClass"
KSERVE_METRIC_ANNOTATION: Final = "serving.kserve.io/metric"
KSERVE_TARGET_ANNOTATION: Final = "serving.kserve.io/targetUtilizationPercentage"

"""Names shared by every layer: environments, type tokens, label and tag keys.

Keeping them in one module means the compiler, the components, the policies and
the plan all agree on spelling.
"""

from typing import Final, Literal

Environment = Literal["dev", "staging", "prod"]
"""An environment tier: it decides policy defaults and the promotion order."""
ENVIRONMENTS: Final[tuple[Environment, ...]] = ("dev", "staging", "prod")
"""The tiers in promotion order."""
STACK_NAME_PATTERN: Final = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
"""Stack names are free (e.g. prod-eu-west-1); stacks/Pulumi.<stack>.yaml names its tier with `inferstack:tier`."""
STACK_NAME_MAX_LENGTH: Final = 40

# Component type tokens: inferstack:<area>:<Type>.
TYPE_PLATFORM: Final = "inferstack:platform:Platform"
TYPE_CLUSTER: Final = "inferstack:cluster:Cluster"
TYPE_GPU_NODE_POOL: Final = "inferstack:compute:GpuNodePool"
TYPE_CLUSTER_ADDONS: Final = "inferstack:compute:ClusterAddons"
TYPE_MODEL_STORE: Final = "inferstack:storage:ModelStore"
TYPE_SERVING_IDENTITY: Final = "inferstack:identity:ServingIdentity"
TYPE_TEAM_NAMESPACE: Final = "inferstack:serving:TeamNamespace"
TYPE_MONITORING: Final = "inferstack:monitoring:Monitoring"
TYPE_DRIFT_DETECTOR: Final = "inferstack:monitoring:DriftDetector"

# Kubernetes label / annotation keys and AWS tag keys. The same keys are used on
# both sides so that cost and policy reports can join them.
LABEL_PREFIX: Final = "inferstack.io"
LABEL_TEAM: Final = "inferstack.io/team"
PLATFORM_TEAM: Final = "platform"
"""Team value of shared platform resources (cluster, node pools, monitoring)."""
LABEL_MODEL: Final = "inferstack.io/model"
LABEL_ENVIRONMENT: Final = "inferstack.io/environment"
LABEL_COST_CENTER: Final = "inferstack.io/cost-center"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_NODE_POOL: Final = "inferstack.io/node-pool"
LABEL_GPU_TYPE: Final = "inferstack.io/gpu-type"
LABEL_CAPACITY_TYPE: Final = "inferstack.io/capacity-type"
LABEL_ROLLOUT_ROLE: Final = "inferstack.io/rollout-role"
LABEL_MODEL_VERSION: Final = "inferstack.io/model-version"
"""Pod label of a rollout predictor's artifact version (lets alerts tell Knative revisions apart)."""
LABEL_RUNTIME: Final = "inferstack.io/runtime"
"""The ClusterServingRuntime a predictor runs on (runtime catalogue); the team PodMonitor keeps pods by it."""
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
KSERVE_VISIBILITY_LABEL: Final = "networking.kserve.io/visibility"
KSERVE_CLUSTER_LOCAL: Final = "cluster-local"
"""Visibility of InferenceServices whose public hostname belongs to an inferstack route instead."""

# Annotations inferstack sets on InferenceServices.
ANNOTATION_APPROVED_STAGE: Final = "inferstack.io/approved-stage"
ANNOTATION_TRAFFIC_SPLIT: Final = "inferstack.io/traffic-split"
ANNOTATION_MODEL_VERSION: Final = "inferstack.io/model-version"
KNATIVE_AUTOSCALING_CLASS_ANNOTATION: Final = "autoscaling.knative.dev/class"
KNATIVE_KPA_CLASS: Final = "kpa.autoscaling.knative.dev"
KSERVE_ISVC_POD_LABEL: Final = "serving.kserve.io/inferenceservice"
KSERVE_PREDICTOR_DEPLOYMENT_SUFFIX: Final = "-predictor"
"""KServe (standard mode) names the predictor Deployment <isvc>-predictor; KEDA scales that Deployment."""

# Component type tokens added with the components.
TYPE_TEAM_MODEL_SERVICES: Final = "inferstack:serving:TeamModelServices"
"""One component per team namespace holding every object of the team's served models (was one ModelService per model)."""
LEGACY_TYPE_MODEL_SERVICE: Final = "inferstack:serving:ModelService"
"""The per-model component of the first releases; today's objects carry aliases to their URNs under it."""

# Kubernetes custom resources inferstack renders.
PROMETHEUS_OPERATOR_API_VERSION: Final = "monitoring.coreos.com/v1"

# Per-team serving identity and namespace conventions.
SERVING_SERVICE_ACCOUNT: Final = "model-serving"
"""Name of the ServiceAccount (one per team namespace) whose IRSA role reads the team's model prefix."""
IRSA_ROLE_ARN_ANNOTATION: Final = "eks.amazonaws.com/role-arn"
POD_SECURITY_ENFORCE_LABEL: Final = "pod-security.kubernetes.io/enforce"
POD_SECURITY_WARN_LABEL: Final = "pod-security.kubernetes.io/warn"

# NVIDIA device plugin: nodes pick a named sharing config through this label.
DEVICE_PLUGIN_CONFIG_LABEL: Final = "nvidia.com/device-plugin.config"
DEVICE_PLUGIN_DEFAULT_CONFIG: Final = "default"

# Cluster Autoscaler auto-discovery tags (k8s.io/cluster-autoscaler/<cluster> is added per cluster).
CLUSTER_AUTOSCALER_ENABLED_TAG: Final = "k8s.io/cluster-autoscaler/enabled"
CLUSTER_AUTOSCALER_LABEL_TAG_PREFIX: Final = "k8s.io/cluster-autoscaler/node-template/label/"
CLUSTER_AUTOSCALER_TAINT_TAG_PREFIX: Final = "k8s.io/cluster-autoscaler/node-template/taint/"
CLUSTER_AUTOSCALER_NAMESPACE: Final = "kube-system"
CLUSTER_AUTOSCALER_SERVICE_ACCOUNT: Final = "cluster-autoscaler"

# Grafana's dashboard sidecar (kube-prometheus-stack) loads ConfigMaps with this label.
GRAFANA_DASHBOARD_LABEL: Final = "grafana_dashboard"
PROMETHEUS_RELEASE_NAME: Final = "kube-prometheus-stack"
PROMETHEUS_FULLNAME: Final = "kps"
"""fullnameOverride of kube-prometheus-stack: Prometheus is then served at kps-prometheus.<ns>.svc:9090."""
PLATFORM_RUNBOOK_BASE_URL: Final = "https://github.com/inferstack/inferstack/blob/main/docs/runbooks"
"""Runbooks of platform-level alerts (spot interruption, node-group health): <base>/<alert>.md."""

# The serving gateway: Gateway API CRDs (standard channel), Istio as the implementation, one shared Gateway.
GATEWAY_API_RELEASE: Final = "v1.3.0"
GATEWAY_API_CRDS_URL: Final = (
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.3.0/standard-install.yaml"
)
"""The standard-channel install manifest of the Gateway API release (CRDs only: GatewayClass, Gateway, HTTPRoute,
GRPCRoute, ReferenceGrant; kubernetes-sigs/gateway-api v1.3.0 release asset, built from config/crd/standard)."""
GATEWAY_API_GROUP: Final = "gateway.networking.k8s.io"
ISTIO_VERSION: Final = "1.30.3"
ISTIO_CHART_REPO: Final = "https://istio-release.storage.googleapis.com/charts"
ISTIO_NAMESPACE: Final = "istio-system"
ISTIO_GATEWAY_CLASS: Final = "istio"
"""GatewayClass istiod creates and serves (Gateway API support is on by default: PILOT_ENABLE_GATEWAY_API, istio 1.30.3
pilot/pkg/features/experimental.go)."""
# Karpenter (cluster.node_autoscaler: karpenter); versions of ../shared/reference/crds/karpenter-v1.14.1.
KARPENTER_API_VERSION: Final = "karpenter.sh/v1"
KARPENTER_AWS_API_VERSION: Final = "karpenter.k8s.aws/v1"
KARPENTER_NAMESPACE: Final = "kube-system"
KARPENTER_SERVICE_ACCOUNT: Final = "karpenter"
TYPE_KARPENTER: Final = "inferstack:compute:KarpenterCapacity"

# Gateway security (issue 15): Istio policy objects on the shared Gateway and cert-manager's certificate for it.
ISTIO_SECURITY_API_VERSION: Final = "security.istio.io/v1"
"""RequestAuthentication and AuthorizationPolicy (served versions v1 and v1beta1 in ../shared/reference/crds/istio-1.30.3)."""
ISTIO_ENVOY_FILTER_API_VERSION: Final = "networking.istio.io/v1alpha3"
"""EnvoyFilter: the only served version in istio 1.30.3 (crd-all.gen.yaml); Istio has no rate-limit API of its own."""
ENVOY_LOCAL_RATE_LIMIT_FILTER: Final = "envoy.filters.http.local_ratelimit"
"""Envoy's local rate-limit HTTP filter: what render/gateway_security.py inserts and ISP-GW-002 looks for."""
CERT_MANAGER_API_VERSION: Final = "cert-manager.io/v1"
CERT_MANAGER_NAMESPACE: Final = "cert-manager"
"""Namespace of the cert-manager release; a ClusterIssuer's CA Secret lives here (its cluster resource namespace)."""
GATEWAY_CA_SECRET: Final = "inferstack-gateway-ca"
"""Secret (in cert-manager's namespace) holding the private CA that signs the gateway certificate (tls.issuer private-ca)."""
KNATIVE_VISIBILITY_LABEL: Final = "networking.knative.dev/visibility"
"""Serverless mode's cluster-local label (kserve/kserve v0.20.0 pkg/constants/constants.go VisibilityLabel, read by
pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/ingress_reconciler.go); Standard mode reads
networking.kserve.io/visibility (NetworkVisibility, httproute_reconciler.go: no HTTPRoute for a cluster-local isvc)."""
# Data classification (issue 15, engineer 15b): what a model's payloads carry, on its InferenceService.
ANNOTATION_DATA_CLASSIFICATION: Final = "inferstack.io/data-classification"
"""Set to the spec's data.classification when it is not the default (internal); the payload rule reads it."""

"""Every deploy-readiness check, in report order, with the metadata its documentation is generated from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from inferstack.policy.model import Severity
from inferstack.readiness import crd_closure, crd_schema, helm_values, kserve_admission, scheduling, service_quotas, storage_access
from inferstack.readiness.model import ReadinessCheck, ReadinessEnforcement

CHECKS: Final[tuple[ReadinessCheck, ...]] = (
    ReadinessCheck(
        id=crd_schema.CHECK_ID,
        name="CRD schemas",
        severity="high",
        description="Every object of a custom kind validates against the openAPIV3Schema of the served version of the CRD the "
        "platform installs (the installer's version, else the contract version); a field the schema does not declare is an "
        "error because the API server prunes it silently.",
        remediation="Render the field the installed CRD declares (check `kubectl explain` for that version), or install the "
        "CRD version that has it.",
        source="../shared/reference/crds (README.md); Kubernetes structural schemas and pruning",
        run=crd_schema.check_crd_schemas,
        needs_reference=True,
        extra_rules={
            crd_schema.UNVERIFIED_ID: ("low", "advisory", "A custom object whose CRD has no reference data; lists the missing folder."),
        },
    ),
    ReadinessCheck(
        id=crd_closure.CHECK_ID,
        name="CRD closure and order",
        severity="high",
        description="Every custom kind is installed by a resource of the plan (a Helm release whose chart ships the CRD, a "
        "CRD resource, the upstream YAML bundle) that the object depends on directly or transitively, or the stack declares "
        "it in `inferstack:cluster: preinstalled_crds`.",
        remediation="Add depends_on on the installing release (or install the CRDs), or list `Kind.group` (or the group) in "
        "`inferstack:cluster: preinstalled_crds` when the cluster already has it.",
        source="plan.json parent and dependencies",
        run=crd_closure.check_crd_closure,
    ),
    ReadinessCheck(
        id=kserve_admission.CHECK_ID,
        name="KServe admission",
        severity="critical",
        description="InferenceService and InferenceGraph pass the rules KServe's validating webhook enforces and its CRD "
        "cannot express (kserve/kserve v0.20.0): no `name` on a predictor format, exactly one predictor implementation, "
        "logger storage path/parameters/key together, replicas, scaling metric/target rules per autoscaler class, allowed "
        "autoscaler classes, canary only in Standard mode, InferenceGraph root/step/splitter rules.",
        remediation="Change the rendered object as the message (the webhook's own error text) says.",
        source="kserve/kserve v0.20.0 pkg/apis/serving/v1beta1/inference_service_validation.go, component.go, predictor.go; "
        "pkg/apis/serving/v1alpha1/inference_graph_validation.go",
        run=kserve_admission.check_kserve_admission,
    ),
    ReadinessCheck(
        id=helm_values.CHECK_ID,
        name="Helm values and versions",
        severity="high",
        description="Every value key path set on a helm.v3.Release exists in that chart version's values.yaml or "
        "values.schema.json, and the chart version fits the cluster's Kubernetes version (Chart.yaml kubeVersion; for "
        "cluster-autoscaler the CA README's Kubernetes/chart table); EKS add-ons pin an addonVersion; no chart keeps a published default password (Grafana's).",
        remediation="Use the key the pinned chart version reads (see its values.yaml), or pin a chart version that fits the "
        "cluster's Kubernetes minor.",
        source="../shared/reference/charts/<chart>-<version>; kubernetes/autoscaler cluster-autoscaler/README.md "
        "(cluster-autoscaler-chart-9.59.0)",
        run=helm_values.check_helm_values,
        needs_reference=True,
        extra_rules={
            helm_values.UNVERIFIED_ID: ("low", "advisory", "A chart without reference data (values and Kubernetes fit unverified); lists the missing files."),
        },
    ),
    ReadinessCheck(
        id=scheduling.CHECK_ID,
        name="Scheduling",
        severity="high",
        description="Every workload rendered or configured through chart values (chart defaults included) can land on some "
        "node pool of the plan (taints vs tolerations, nodeSelector and required node affinity vs pool labels, requests vs "
        "the largest instance), GPU-only agents (dcgm-exporter, NVIDIA device plugin) land only on GPU pools, and a Helm "
        "release whose pods need nodes depends on a node group they can run on that has nodes from the start.",
        remediation="Add the toleration / fix the selector or affinity, or add a pool that fits; give GPU-only agents a "
        "nodeSelector or required affinity on the GPU label.",
        source="Kubernetes scheduling (taints and tolerations, node affinity); chart values.yaml defaults",
        run=scheduling.check_scheduling,
        extra_rules={
            scheduling.DUPLICATE_ID: ("medium", "advisory", "The CloudWatch observability add-on's own DCGM exporter runs beside our dcgm-exporter release on every GPU node."),
        },
    ),
    ReadinessCheck(
        id=storage_access.CHECK_ID,
        name="Storage access",
        severity="critical",
        description="The model store's bucket policy, KMS key policy and the IRSA roles' policies allow each reader and "
        "writer the platform runs (model puller, KServe payload logger with no SSE header, registry publish and promote) "
        "for the request it actually sends, and deny an unrelated role, another account and another team.",
        remediation="Fix the bucket/key/role policy the message names; remember a negated condition or an ...IfExists "
        "condition on a missing key is true (guard Deny statements with Null).",
        source="AWS IAM User Guide: condition operators; policy evaluation logic; AWS KMS key policies",
        run=storage_access.check_storage_access,
    ),
    ReadinessCheck(
        id=service_quotas.CHECK_ID,
        name="Service quotas",
        severity="high",
        description="The plan's managed node groups fit the account's EKS quota of managed node groups per cluster (AWS "
        "default 30, or the raised value the stack declares in `cluster.managed_node_group_quota`), and no node group may "
        "grow past 450 nodes (the default quota of nodes per managed node group); past either, `pulumi up` stops with "
        "LimitExceeded half-way through.",
        remediation="Request the increase in Service Quotas (Amazon EKS: 'Managed node groups per cluster') and set "
        "`inferstack:cluster.managed_node_group_quota` to the granted value; or need fewer node groups with a narrower "
        "`inferstack:gpu.fit_classes` (docs/cost-model.md, 'Fit classes and node groups'); or run the stack with "
        "`cluster.node_autoscaler: karpenter`.",
        source="AWS EKS User Guide, service quotas (https://docs.aws.amazon.com/eks/latest/userguide/service-quotas.html)",
        run=service_quotas.check_service_quotas,
    ),
)

RULE_METADATA: Final[Mapping[str, tuple[Severity, ReadinessEnforcement, str]]] = {
    **{check.id: (check.severity, check.enforcement, check.description) for check in CHECKS},
    **{rule_id: meta for check in CHECKS for rule_id, meta in check.extra_rules.items()},
}

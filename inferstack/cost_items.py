"""What a stack pays besides its model node pools' instance hours (issue #19: "every cost counted").

Each item is priced from the catalogue's `services:` prices (source and date there) and the
platform the stack actually renders:

- **node root volumes**: every node's root EBS volume, of the size and type its launch template
  (components/node_pool.py) or EC2NodeClass (render/karpenter.py) gives it: GPU_ROOT_VOLUME_GIB or
  CPU_ROOT_VOLUME_GIB of ROOT_VOLUME_TYPE; the system node group's CPU_ROOT_VOLUME_GIB too.
- **EKS control plane**: priced by the Kubernetes version's support window on the plan date
  (inferstack/spec/kubernetes_calendar.py): standard or extended support.
- **system nodes**: the system node group, on-demand, 24/7.
- **NAT gateways** (created VPC only): one, or one per zone, each with its Elastic IP (public IPv4).
- **VPC interface endpoints** (created VPC only): components/cluster.py's INTERFACE_ENDPOINT_SERVICES,
  one endpoint network interface per zone each.
- **model traffic**: each model's `cost.monthly_transfer_gib` (artifact downloads + payload logs). In a
  created VPC, S3 traffic resolves to the S3 interface endpoint (private DNS), so it is priced at the
  endpoint's data rate; other schemes (hf://, https://, gs://) and adopted VPCs go through NAT.
- **gateway load balancer**: the Gateway's Service is an internal NLB (render/gateway.py), when the stack
  installs the Gateway: its hour plus the capacity units the models' request bytes use.
- **CloudWatch logs**: control-plane log types, VPC flow logs (created VPC) and Container Insights'
  container logs (the amazon-cloudwatch-observability add-on ships them with Fluent Bit: its chart's
  `containerLogs.enabled: true`), at ASSUMED volumes (constants below), ingestion plus retained storage.
- **Container Insights**: enhanced observability observations per node, ASSUMED per node-month.
- **cross-AZ traffic**: the requests' share that crosses zones (gateway pod and replica in different
  zones: (zones - 1) / zones of the bytes), charged in each direction.
- **KMS keys**: the customer managed keys the stack creates (logs and alert topic always; Kubernetes
  secrets with a created cluster; the model store's with a created bucket, and its audit trail's with
  `model_store.access_audit`), per key-month.
- **monitoring volumes**: Prometheus' gp3 volume (`monitoring.storage_gib`) and Alertmanager's when the stack
  installs kube-prometheus-stack (components/monitoring.py).

Not counted: KMS requests, CloudWatch alarms (0.10 USD each), S3 storage and requests of the model store, and the
model-store audit trail's CloudTrail data events (0.10 USD per 100,000 object reads and model writes).

Items that scale with nodes have a steady (min nodes), expected and peak (max nodes) figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inferstack.blueprint import Blueprint, NodePool
from inferstack.pricing.catalog import Catalog
from inferstack.render.karpenter import CPU_ROOT_VOLUME_GIB, GPU_ROOT_VOLUME_GIB, ROOT_VOLUME_TYPE
from inferstack.spec.kubernetes_calendar import EKS_CALENDAR, plan_date

GIB_TO_GB = 1.073741824
"""AWS bills data in GB (10^9 bytes); model traffic settings are GiB."""
INTERFACE_ENDPOINT_COUNT = 5
"""Interface endpoints a created VPC gets (components/cluster.py INTERFACE_ENDPOINT_SERVICES: s3, sts, ecr.api,
ecr.dkr, logs); tests/test_cost_items.py checks the two agree."""
CONTROL_PLANE_LOG_GIB_PER_TYPE_MONTH = 5.0
"""ASSUMED GiB a month each enabled control-plane log type writes (audit dominates on busy clusters)."""
CONTROL_PLANE_LOG_RETENTION_DAYS = 90
"""components/cluster.py CONTROL_PLANE_LOG_RETENTION_DAYS (checked by a test)."""
FLOW_LOG_GIB_PER_NODE_MONTH = 1.0
"""ASSUMED GiB of VPC flow-log records a node's traffic produces a month."""
CONTAINER_LOG_GIB_PER_NODE_MONTH = 2.0
"""ASSUMED GiB of container logs Fluent Bit ships from a node a month."""
CONTAINER_LOG_RETENTION_MONTHS = 1.0
"""Container logs counted as stored for one month (the add-on's log groups never expire by default: the stored
volume keeps growing; set a retention on /aws/containerinsights/<cluster>/application)."""
CONTAINER_INSIGHTS_MILLION_OBSERVATIONS_PER_NODE_MONTH = 20.0
"""ASSUMED observations per node a month under Container Insights with enhanced observability (about 450 node, pod
and container metrics a minute)."""
ALERTMANAGER_VOLUME_GIB = 10
"""Alertmanager's volume claim in components/monitoring.py (checked by a test)."""
NLB_GB_PER_LCU_HOUR = 1.0
"""An NLB capacity unit covers 1 GB processed an hour (TCP); the models' request bytes set how many are used."""


@dataclass(frozen=True, slots=True)
class CostItem:
    """One cost besides the node pools' instance hours, per month: steady, expected and peak, with how it was priced."""

    monthly_usd: float
    expected_monthly_usd: float
    peak_monthly_usd: float
    basis: str

    def to_json(self) -> dict[str, Any]:
        """The item in cost.json."""
        return {
            "monthly_usd": round(self.monthly_usd, 2),
            "expected_monthly_usd": round(self.expected_monthly_usd, 2),
            "peak_monthly_usd": round(self.peak_monthly_usd, 2),
            "basis": self.basis,
        }


def _fixed(monthly: float, basis: str) -> CostItem:
    return CostItem(monthly, monthly, monthly, basis)


def root_volume_gib(pool: NodePool) -> int:
    """The root volume of one of the pool's nodes, GiB (as its launch template or EC2NodeClass sets it)."""
    return GPU_ROOT_VOLUME_GIB if pool.is_gpu else CPU_ROOT_VOLUME_GIB


def root_volume_usd_month(gib: float, catalog: Catalog) -> float:
    """One node's root volume a month: size x the volume type's USD per GB-month."""
    return gib * catalog.service(f"ebs_{ROOT_VOLUME_TYPE}_usd_gb_month")


def control_plane_usd_hour(version: str, catalog: Catalog) -> tuple[float, str]:
    """The EKS cluster-hour price of `version` on the plan date, and the support window it falls in."""
    window = EKS_CALENDAR.get(version)
    today = plan_date()
    if window is not None and window.standard_until <= today < window.extended_until:
        return catalog.service("eks_extended_usd_hour"), f"extended support (standard ended {window.standard_until})"
    until = f" until {window.standard_until}" if window is not None else ""
    return catalog.service("eks_standard_usd_hour"), f"standard support{until}"


@dataclass(frozen=True, slots=True)
class NodeCounts:
    """Nodes of the model pools at steady state, expected and at peak (fractional where expected)."""

    steady: float
    expected: float
    peak: float


def platform_items(blueprint: Blueprint, catalog: Catalog, nodes: NodeCounts, root_volumes: CostItem) -> dict[str, CostItem]:
    """Every cost item besides the model pools' instance hours, keyed by a stable name (cost.json's `items`)."""
    config = blueprint.config
    hours = catalog.hours_per_month
    zones = max(len(config.network.availability_zones), 1)
    vpc_created = not config.network.vpc_id
    items: dict[str, CostItem] = {"node-root-volumes": root_volumes}

    rate, window = control_plane_usd_hour(config.cluster.version, catalog)
    items["eks-control-plane"] = _fixed(rate * hours, f"Kubernetes {config.cluster.version}, {window}: {rate:g} USD/hour")

    system = catalog.instances.get(config.cluster.system_instance_type)
    system_nodes = config.cluster.system_nodes
    if system is not None:
        items["system-nodes"] = _fixed(
            system_nodes * system.on_demand_usd_hour * hours,
            f"{system_nodes} x {system.name} on-demand at {system.on_demand_usd_hour:g} USD/hour",
        )

    if vpc_created:
        gateways = zones if config.network.nat_gateway_per_zone else 1
        per_hour = catalog.service("nat_gateway_usd_hour") + catalog.service("public_ipv4_usd_hour")
        items["nat-gateways"] = _fixed(
            gateways * per_hour * hours, f"{gateways} NAT gateway(s) with an Elastic IP at {per_hour:g} USD/hour each"
        )
        endpoints = INTERFACE_ENDPOINT_COUNT * zones
        items["vpc-interface-endpoints"] = _fixed(
            endpoints * catalog.service("interface_endpoint_usd_hour") * hours,
            f"{INTERFACE_ENDPOINT_COUNT} interface endpoints x {zones} zone(s)",
        )

    through_nat = through_endpoint = 0.0
    request_gib = 0.0
    for deployment in blueprint.models:
        assumptions = deployment.spec.cost
        if vpc_created and deployment.storage_uri.startswith("s3://"):
            through_endpoint += assumptions.monthly_transfer_gib
        else:
            through_nat += assumptions.monthly_transfer_gib
        request_gib += assumptions.monthly_request_gib
    items["nat-data-processing"] = _fixed(
        through_nat * GIB_TO_GB * catalog.service("nat_data_usd_gb"),
        f"{through_nat:g} GiB/month of model downloads and payload logs through NAT (spec cost.monthly_transfer_gib)",
    )
    if vpc_created:
        items["vpc-endpoint-data"] = _fixed(
            through_endpoint * GIB_TO_GB * catalog.service("interface_endpoint_data_usd_gb"),
            f"{through_endpoint:g} GiB/month of S3 downloads and payload logs through the S3 interface endpoint",
        )

    if config.serving.gateway_create:
        lcus = request_gib * GIB_TO_GB / hours / NLB_GB_PER_LCU_HOUR
        per_hour = catalog.service("nlb_usd_hour") + lcus * catalog.service("nlb_lcu_usd_hour")
        items["gateway-load-balancer"] = _fixed(
            per_hour * hours, f"one internal NLB for the Gateway, {lcus:.3g} NLCU from {request_gib:g} GiB/month of requests"
        )

    items["cross-az-traffic"] = _fixed(
        request_gib * GIB_TO_GB * (zones - 1) / zones * 2 * catalog.service("cross_az_usd_gb"),
        f"{zones - 1}/{zones} of {request_gib:g} GiB/month of requests cross zones, charged both ways",
    )

    audited = config.model_store.create and config.model_store.access_audit
    keys = 2 + int(config.cluster.create) + int(config.model_store.create) + int(audited)
    items["kms-keys"] = _fixed(
        keys * catalog.service("kms_key_usd_month"),
        f"{keys} customer managed keys (logs, alert topic" + (", secrets" if config.cluster.create else "")
        + (", model store" if config.model_store.create else "") + (", model-store audit trail" if audited else "") + ")",
    )
    if config.monitoring.create:
        volume = config.monitoring.storage_gib
        items["monitoring-volumes"] = _fixed(
            (volume + ALERTMANAGER_VOLUME_GIB) * catalog.service(f"ebs_{ROOT_VOLUME_TYPE}_usd_gb_month"),
            f"Prometheus' {volume} GiB and Alertmanager's {ALERTMANAGER_VOLUME_GIB} GiB {ROOT_VOLUME_TYPE} volumes",
        )

    ingest = catalog.service("logs_ingest_usd_gb")
    stored = catalog.service("logs_storage_usd_gb_month")
    if config.cluster.create:
        control_plane_gib = len(config.cluster.log_types) * CONTROL_PLANE_LOG_GIB_PER_TYPE_MONTH
        retained_months = CONTROL_PLANE_LOG_RETENTION_DAYS / 30
        items["control-plane-logs"] = _fixed(
            control_plane_gib * GIB_TO_GB * (ingest + retained_months * stored),
            f"{len(config.cluster.log_types)} log type(s) x {CONTROL_PLANE_LOG_GIB_PER_TYPE_MONTH:g} GiB/month (assumed), "
            f"kept {CONTROL_PLANE_LOG_RETENTION_DAYS} days",
        )
    all_nodes = NodeCounts(nodes.steady + system_nodes, nodes.expected + system_nodes, nodes.peak + system_nodes)

    def per_node(usd_per_node: float, basis: str) -> CostItem:
        return CostItem(all_nodes.steady * usd_per_node, all_nodes.expected * usd_per_node, all_nodes.peak * usd_per_node, basis)

    if vpc_created:
        retained = config.network.flow_log_retention_days / 30
        items["vpc-flow-logs"] = per_node(
            FLOW_LOG_GIB_PER_NODE_MONTH * GIB_TO_GB * (ingest + retained * stored),
            f"{FLOW_LOG_GIB_PER_NODE_MONTH:g} GiB/node-month (assumed), kept {config.network.flow_log_retention_days} days",
        )
    if config.cluster.create:
        items["container-logs"] = per_node(
            CONTAINER_LOG_GIB_PER_NODE_MONTH * GIB_TO_GB * (ingest + CONTAINER_LOG_RETENTION_MONTHS * stored),
            f"{CONTAINER_LOG_GIB_PER_NODE_MONTH:g} GiB/node-month of container logs (assumed; Container Insights' Fluent Bit)",
        )
        items["container-insights"] = per_node(
            CONTAINER_INSIGHTS_MILLION_OBSERVATIONS_PER_NODE_MONTH * catalog.service("container_insights_usd_million_observations"),
            f"{CONTAINER_INSIGHTS_MILLION_OBSERVATIONS_PER_NODE_MONTH:g} million observations/node-month (assumed)",
        )
    return items

"""Monitoring: kube-prometheus-stack (or an existing Prometheus), platform alerts and dashboards, and cloud alarms.

Team-level monitors and alerts live in TeamNamespace (one PrometheusRule per
team); this component holds what is shared: the stack itself, the DCGM
ServiceMonitor, the GPU-fleet rules and dashboards, and an SNS topic (KMS
encrypted) fed by CloudWatch alarms on node health and EC2 spot interruption
warnings.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa_role import irsa_role
from components.team_namespace import custom_resource
from inferstack.blueprint import Blueprint
from inferstack.constants import (
    LABEL_CAPACITY_TYPE,
    LABEL_GPU_TYPE,
    LABEL_MODEL,
    LABEL_MODEL_VERSION,
    LABEL_NODE_POOL,
    LABEL_TEAM,
    PROMETHEUS_FULLNAME,
    PROMETHEUS_RELEASE_NAME,
    TYPE_MONITORING,
)
from inferstack.render.alert_routing import (
    ALERT_RECEIVERS_SECRET,
    ALERTMANAGER_SERVICE_ACCOUNT,
    alert_routing,
    alertmanager_values,
    sns_publish_policy,
    sns_topic_arn,
)
from inferstack.render.labels import platform_labels, platform_tags
from inferstack.render.pushgateway import render_pushgateway
from inferstack.render.monitoring import (
    render_dcgm_service_monitor,
    render_gateway_pod_monitor,
    render_gpu_fleet_dashboard,
    render_platform_rules,
    render_team_dashboard,
)

KUBE_PROMETHEUS_STACK_VERSION = "75.15.1"
KUBE_PROMETHEUS_STACK_REPO = "https://prometheus-community.github.io/helm-charts"
ENCRYPTED_GP3_CLASS = "gp3-encrypted"
GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN_USER = "admin"
GRAFANA_PASSWORD_BYTES = 32
"""Entropy of the generated Grafana admin password (secrets.token_urlsafe: 256 bits, 43 characters)."""


def grafana_admin_values() -> dict[str, Any]:
    """`grafana.admin` values: credentials from our Secret instead of the chart's default password (prom-operator).

    kube-prometheus-stack 75.15.1 depends on grafana chart 9.3.0, whose values.yaml has
    `admin: {existingSecret: "", userKey: admin-user, passwordKey: admin-password}` (grafana/helm-charts
    tag grafana-9.3.0, charts/grafana/values.yaml); `grafana.adminPassword` is then ignored.
    """
    return {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"}


@dataclass(frozen=True, slots=True)
class MonitoringArgs:
    """The Blueprint, the cluster (for alarms) and the Kubernetes provider."""

    blueprint: Blueprint
    cluster_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    provider: k8s.Provider
    nodes_ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the Helm release waits for: the system node group (empty for an adopted cluster)."""
    gateway_ready: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What the Gateway's PodMonitor waits for besides the stack: the Gateway's namespace (ClusterAddons.gateway_ready)."""
    oidc_provider_arn: pulumi.Input[str] | None = None
    """The cluster's IAM OIDC provider: Alertmanager's IRSA role (SNS routes) trusts it."""
    oidc_issuer_url: pulumi.Input[str] | None = None


def alerts_key_policy(account_id: str) -> str:
    """Key policy of the alert topic's key: the account administers it; CloudWatch and EventBridge may publish through it.

    In a key policy, Resource "*" means this key.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "AlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    # Only on behalf of this account's alarms (confused-deputy guard).
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
                {
                    # EventBridge's KMS requests carry no aws:SourceAccount/aws:SourceArn (EventBridge User Guide,
                    # "Amazon SNS permissions" for encrypted topics), so a source condition here would drop every
                    # event; the topic policy pins EventBridge to this account instead.
                    "Sid": "EventsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                },
            ],
        },
        sort_keys=True,
    )


def topic_policy(topic_arn: str, account_id: str) -> str:
    """Who may publish to the alert topic: this account's CloudWatch alarms and EventBridge rules."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AlarmServicesPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        },
        sort_keys=True,
    )


class Monitoring(pulumi.ComponentResource):
    """The monitoring stack and platform-level alerting.

    `ready` is what team PodMonitors / PrometheusRules wait for (the CRDs come with
    kube-prometheus-stack); with `monitoring.create: false` an existing stack is assumed.
    """

    ready: pulumi.Resource | None
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_MONITORING, name, None, opts)
        blueprint = args.blueprint
        config = blueprint.config.monitoring
        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self.ready = None
        if config.create:
            storage_class = k8s.storage.v1.StorageClass(
                f"{name}-gp3-encrypted",
                metadata={"name": ENCRYPTED_GP3_CLASS},
                provisioner="ebs.csi.aws.com",
                parameters={"type": "gp3", "encrypted": "true"},
                reclaim_policy="Retain",
                volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True,
                opts=k8s_child,
            )
            namespace, admin_secret = self._grafana_admin_secret(name, args)
            receivers_secret = self._alert_receivers_secret(name, args, namespace)
            alertmanager = self._alertmanager_values(name, args)
            self.ready = k8s.helm.v3.Release(
                f"{name}-kube-prometheus-stack",
                name=PROMETHEUS_RELEASE_NAME,
                chart="kube-prometheus-stack",
                version=KUBE_PROMETHEUS_STACK_VERSION,
                namespace=config.namespace,
                create_namespace=True,
                repository_opts={"repo": KUBE_PROMETHEUS_STACK_REPO},
                values={
                    "fullnameOverride": PROMETHEUS_FULLNAME,
                    "prometheus": {
                        "prometheusSpec": {
                            "retention": f"{config.retention_days}d",
                            # Pick up PodMonitors / rules from team namespaces, not only this release's.
                            "podMonitorSelectorNilUsesHelmValues": False,
                            "serviceMonitorSelectorNilUsesHelmValues": False,
                            "ruleSelectorNilUsesHelmValues": False,
                            "storageSpec": {
                                "volumeClaimTemplate": {
                                    "spec": {
                                        "storageClassName": ENCRYPTED_GP3_CLASS,
                                        "accessModes": ["ReadWriteOnce"],
                                        "resources": {"requests": {"storage": f"{config.storage_gib}Gi"}},
                                    }
                                }
                            },
                            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 2000},
                        }
                    },
                    "kube-state-metrics": {
                        "metricLabelsAllowlist": [
                            f"nodes=[{LABEL_NODE_POOL},{LABEL_CAPACITY_TYPE},{LABEL_GPU_TYPE}]",
                            # The version label tells a serverless canary's two revisions apart (rollout alerts).
                            f"pods=[{LABEL_TEAM},{LABEL_MODEL},{LABEL_MODEL_VERSION}]",
                        ]
                    },
                    "grafana": {
                        "admin": grafana_admin_values(),
                        "sidecar": {"dashboards": {"enabled": True, "searchNamespace": config.namespace}},
                    },
                    "alertmanager": alertmanager,
                },
                atomic=True,
                cleanup_on_fail=True,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=args.provider, depends_on=[*args.nodes_ready, storage_class, admin_secret, *receivers_secret]
                ),
            )
        after_stack = pulumi.ResourceOptions(
            parent=self, provider=args.provider, depends_on=[self.ready] if self.ready else []
        )
        custom_resource(f"{name}-dcgm-monitor", render_dcgm_service_monitor(blueprint), after_stack)
        custom_resource(
            f"{name}-gateway-monitor",
            render_gateway_pod_monitor(blueprint),
            pulumi.ResourceOptions.merge(after_stack, pulumi.ResourceOptions(depends_on=list(args.gateway_ready))),
        )
        self._pushgateway(name, blueprint, args, after_stack)
        custom_resource(f"{name}-platform-alerts", render_platform_rules(blueprint), after_stack)
        for manifest in [render_gpu_fleet_dashboard(blueprint), *(render_team_dashboard(team, blueprint) for team in blueprint.teams)]:
            k8s.core.v1.ConfigMap(
                f"{name}-{manifest['metadata']['name']}", metadata=manifest["metadata"], data=manifest["data"], opts=after_stack
            )
        self.topic_arn = self._cloud_alarms(name, args)
        self.register_outputs({"topic_arn": self.topic_arn})

    def _pushgateway(
        self, name: str, blueprint: Blueprint, args: MonitoringArgs, after_stack: pulumi.ResourceOptions
    ) -> None:
        """The Pushgateway drift detectors push to (inferstack/render/pushgateway.py), on the system nodes."""
        on_nodes = pulumi.ResourceOptions.merge(after_stack, pulumi.ResourceOptions(depends_on=list(args.nodes_ready)))
        for manifest in render_pushgateway(blueprint):
            kind = manifest["kind"]
            if kind == "Deployment":
                k8s.apps.v1.Deployment(
                    f"{name}-pushgateway", metadata=manifest["metadata"], spec=manifest["spec"], opts=on_nodes
                )
            elif kind == "Service":
                k8s.core.v1.Service(
                    f"{name}-pushgateway-service", metadata=manifest["metadata"], spec=manifest["spec"], opts=after_stack
                )
            else:
                custom_resource(f"{name}-pushgateway-monitor", manifest, after_stack)

    def _alertmanager_values(self, name: str, args: MonitoringArgs) -> pulumi.Output[dict[str, Any]]:
        """`alertmanager` values: routes and receivers (render/alert_routing.py), storage, and the IRSA role for SNS."""
        blueprint = args.blueprint
        routing = alert_routing(blueprint)
        role_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if routing.sns_topics and args.oidc_provider_arn is not None and args.oidc_issuer_url is not None:
            role_arn = self._sns_publisher(name, args, routing.sns_topics, args.oidc_provider_arn, args.oidc_issuer_url)

        def values(inputs: list[Any]) -> dict[str, Any]:
            account_id, arn = inputs
            rendered = alertmanager_values(blueprint, str(account_id), arn)
            rendered["alertmanagerSpec"]["storage"] = {
                "volumeClaimTemplate": {
                    "spec": {
                        "storageClassName": ENCRYPTED_GP3_CLASS,
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "10Gi"}},
                    }
                }
            }
            return rendered

        return pulumi.Output.all(args.account_id, role_arn).apply(values)

    def _sns_publisher(
        self,
        name: str,
        args: MonitoringArgs,
        topics: tuple[str, ...],
        oidc_provider_arn: pulumi.Input[str],
        oidc_issuer_url: pulumi.Input[str],
    ) -> pulumi.Output[str | None]:
        """Alertmanager's IRSA role: trusts only its ServiceAccount, may only publish to the routed topics."""
        blueprint = args.blueprint
        namespace = blueprint.config.monitoring.namespace
        role = irsa_role(
            f"{name}-alertmanager-sns",
            description=f"Alertmanager publishes alerts to SNS ({blueprint.environment})",
            oidc_provider_arn=oidc_provider_arn,
            oidc_issuer_url=oidc_issuer_url,
            namespace=namespace,
            service_account=ALERTMANAGER_SERVICE_ACCOUNT,
            max_session_duration=3600,
            tags=platform_tags(blueprint.environment, blueprint.config.cost_center),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-alertmanager-sns-publish",
            role=role.id,
            policy=pulumi.Output.from_input(args.account_id).apply(
                lambda account: json.dumps(
                    sns_publish_policy([sns_topic_arn(topic, blueprint.config.region, account) for topic in topics])
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role.arn.apply(lambda arn: arn)

    def _alert_receivers_secret(
        self, name: str, args: MonitoringArgs, namespace: k8s.core.v1.Namespace
    ) -> list[k8s.core.v1.Secret]:
        """The receivers' credentials (Pulumi secrets of the stack file) as the Secret Alertmanager mounts; none: no Secret."""
        credentials = alert_routing(args.blueprint).credentials
        if not credentials:
            return []
        config = args.blueprint.config
        labels = platform_labels(args.blueprint.environment, config.cost_center)
        return [
            k8s.core.v1.Secret(
                f"{name}-alert-receivers",
                metadata={"name": ALERT_RECEIVERS_SECRET, "namespace": config.monitoring.namespace, "labels": labels},
                type="Opaque",
                string_data={key: pulumi.Output.secret(value.get_secret_value()) for key, value in sorted(credentials.items())},
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=args.provider,
                    depends_on=[namespace],
                    additional_secret_outputs=["stringData", "data"],
                ),
            )
        ]

    def _grafana_admin_secret(self, name: str, args: MonitoringArgs) -> tuple[k8s.core.v1.Namespace, k8s.core.v1.Secret]:
        """The Grafana admin Secret, with a password from the OS's CSPRNG, held as a Pulumi secret.

        pulumi_random is not a dependency, so the password is drawn here; `ignore_changes` keeps the value of
        the first deployment (Grafana stores the admin password in its database at first start, so a new value on
        every run would only break the login). The value is a Pulumi secret: encrypted in state, shown as
        [secret] in previews and in plan.json. Read it with
        `kubectl -n <monitoring namespace> get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d`.
        """
        namespace_name = args.blueprint.config.monitoring.namespace
        labels = platform_labels(args.blueprint.environment, args.blueprint.config.cost_center)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": namespace_name, "labels": labels},
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.nodes_ready)),
        )
        configured = args.blueprint.config.monitoring.grafana_admin_password
        # The stack's own secret when it sets one (monitoring.grafana_admin_password), else a generated one.
        password = pulumi.Output.secret(
            configured.get_secret_value() if configured is not None else secrets.token_urlsafe(GRAFANA_PASSWORD_BYTES)
        )
        return namespace, k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": namespace_name, "labels": labels},
            type="Opaque",
            string_data={"admin-user": GRAFANA_ADMIN_USER, "admin-password": password},
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=args.provider,
                depends_on=[namespace],
                ignore_changes=["stringData", "data"],
                additional_secret_outputs=["stringData", "data"],
            ),
        )

    def _cloud_alarms(self, name: str, args: MonitoringArgs) -> pulumi.Output[str]:
        blueprint = args.blueprint
        child = pulumi.ResourceOptions(parent=self)
        tags = platform_tags(blueprint.environment, blueprint.config.cost_center)
        key = aws.kms.Key(
            f"{name}-alerts-key",
            description=f"Encrypts the inferstack {blueprint.environment} alert topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.from_input(args.account_id).apply(alerts_key_policy),
            tags=tags,
            opts=child,
        )
        topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id=key.arn, tags=tags, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(lambda values: topic_policy(values[0], values[1])),
            opts=child,
        )
        if blueprint.config.alerts.sns_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email", topic=topic.arn, protocol="email", endpoint=blueprint.config.alerts.sns_email, opts=child
            )
        aws.cloudwatch.MetricAlarm(
            f"{name}-failed-nodes",
            alarm_description="Nodes of the inferstack cluster are failing (Container Insights cluster_failed_node_count)",
            namespace="ContainerInsights",
            metric_name="cluster_failed_node_count",
            dimensions={"ClusterName": args.cluster_name},
            statistic="Maximum",
            period=300,
            evaluation_periods=2,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags=tags,
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-spot-interruptions",
            description="EC2 spot interruption warnings (GPU pools run on spot)",
            event_pattern=json.dumps({"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]}),
            tags=tags,
            opts=child,
        )
        aws.cloudwatch.EventTarget(f"{name}-spot-interruptions-topic", rule=rule.name, arn=topic.arn, opts=child)
        return topic.arn

"""ServingIdentity: a team's namespace, ServiceAccount and IRSA role that reads only the team's model prefix.

While a model of the team logs payloads (canary, shadow and A/B rollouts, or a drift watch), the
role may also write, and only write, under the team's payload-log prefix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa_role import irsa_role
from inferstack.blueprint import Blueprint, TeamPlan
from inferstack.constants import SERVING_SERVICE_ACCOUNT, TYPE_SERVING_IDENTITY
from inferstack.render.iam import POLICY_VERSION, model_reader_policy
from inferstack.render.labels import team_tags
from inferstack.render.payload_logging import payload_log_writer_statements
from inferstack.render.rollout import logs_payloads as model_logs_payloads
from inferstack.render.team import render_namespace, render_service_account, team_models


@dataclass(frozen=True, slots=True)
class ServingIdentityArgs:
    """The team, the model store it reads, the cluster's OIDC provider and the Kubernetes provider."""

    team: TeamPlan
    blueprint: Blueprint
    bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer_url: pulumi.Input[str]
    provider: k8s.Provider


def logs_payloads(team: TeamPlan, blueprint: Blueprint) -> bool:
    """Whether any of the team's models logs payloads to the model store (a compared rollout, or a drift watch)."""
    return any(model_logs_payloads(deployment) for deployment in team_models(team, blueprint))


class ServingIdentity(pulumi.ComponentResource):
    """Namespace + ServiceAccount + IRSA role for one team.

    The role trusts exactly `system:serviceaccount:<namespace>:model-serving` with audience
    sts.amazonaws.com; its inline policy reads the team's prefix and decrypts with the
    store's key through S3 only. While one of the team's models logs payloads, a second inline
    policy lets it put objects under `payload-logs/<team>/` and generate data keys of the store's key.
    """

    namespace: k8s.core.v1.Namespace
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ServingIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_SERVING_IDENTITY, name, None, opts)
        team, blueprint = args.team, args.blueprint
        region = blueprint.config.region
        tags = team_tags(team, blueprint.environment)
        role = irsa_role(
            f"{name}-role",
            description=f"Model serving identity of team {team.name} ({blueprint.environment})",
            oidc_provider_arn=args.oidc_provider_arn,
            oidc_issuer_url=args.oidc_issuer_url,
            namespace=team.namespace,
            service_account=SERVING_SERVICE_ACCOUNT,
            max_session_duration=3600,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-read-models",
            role=role.id,
            policy=pulumi.Output.all(args.bucket_arn, args.kms_key_arn).apply(
                lambda values: json.dumps(model_reader_policy(values[0], team.model_prefix, values[1], region))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if logs_payloads(team, blueprint):
            aws.iam.RolePolicy(
                f"{name}-write-payload-logs",
                role=role.id,
                policy=pulumi.Output.all(args.bucket_arn, args.kms_key_arn).apply(
                    lambda values: json.dumps(
                        {"Version": POLICY_VERSION, "Statement": payload_log_writer_statements(values[0], team.name, values[1])}
                    )
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        namespace_manifest = render_namespace(team, blueprint)
        self.namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=namespace_manifest["metadata"], opts=k8s_child)
        account = role.arn.apply(lambda arn: render_service_account(team, blueprint, arn))
        k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=account.apply(lambda manifest: manifest["metadata"]),
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[self.namespace]),
        )
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn, "namespace": team.namespace})

"""Cluster: the EKS control plane (created or adopted), its network, IAM roles, OIDC provider and a Kubernetes provider."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.irsa_role import irsa_role
from components.node_pool import launch_template_for
from inferstack.constants import TYPE_CLUSTER
from inferstack.render.iam import service_trust_policy
from inferstack.render.karpenter import CPU_ROOT_VOLUME_GIB
from inferstack.render.labels import platform_tags
from inferstack.spec.environment import ClusterConfig, NetworkConfig

CLUSTER_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",)
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    # Container Insights agent (amazon-cloudwatch-observability add-on) feeds the node-health alarm.
    "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
)
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
CONTROL_PLANE_LOG_RETENTION_DAYS = 90
INTERFACE_ENDPOINT_SERVICES = ("s3", "sts", "ecr.api", "ecr.dkr", "logs")
"""Interface endpoints of a created VPC: S3 (models, payload logs), STS (IRSA), ECR (images), CloudWatch Logs."""


def logs_key_policy(account_id: str, region: str) -> dict[str, object]:
    """Key policy of the cluster's log key: the account administers it; CloudWatch Logs may use it for this account's
    log groups only (CloudWatch Logs User Guide, "Encrypt log data in CloudWatch Logs using AWS KMS")."""
    return {
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
                "Sid": "CloudWatchLogsEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:log-group:*"}},
            },
        ],
    }


def flow_logs_trust_policy(account_id: str) -> dict[str, object]:
    """The VPC flow-log service may assume the role, on behalf of this account only (VPC User Guide, flow logs IAM role)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def flow_logs_write_policy(log_group_arn: str) -> dict[str, object]:
    """What the flow-log service writes: streams and events of its one log group."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            }
        ],
    }
CLUSTER_ADMIN_ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EKS_ADDON_VERSIONS: dict[str, str] = {
    # Pinned; `aws eks describe-addon-versions --kubernetes-version <minor> --addon-name <name>` lists what a minor offers.
    "aws-ebs-csi-driver": "v1.66.0-eksbuild.1",
    "amazon-cloudwatch-observability": "v6.2.0-eksbuild.1",
}
CONTAINER_INSIGHTS_CONFIGURATION = {
    # The add-on's own DCGM exporter DaemonSet is on by default (aws-observability helm-charts
    # amazon-cloudwatch-observability values.yaml: `dcgmExporter.enabled: true`, scheduled on NVIDIA instance
    # types); ours (components/addons.py) already runs on every GPU node, so two would compete for the GPUs' NVML.
    "dcgmExporter": {"enabled": False},
}


@dataclass(frozen=True, slots=True)
class ClusterArgs:
    """What the Cluster needs: the stack's cluster and network settings and the tags to apply."""

    cluster: ClusterConfig
    network: NetworkConfig
    environment: str
    cost_center: str
    region: str


def kubeconfig_json(name: str, endpoint: str, certificate_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (no static credentials)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_data}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
                        }
                    },
                }
            ],
        },
        sort_keys=True,
    )


class Cluster(pulumi.ComponentResource):
    """An EKS cluster with KMS-encrypted secrets, control-plane logging and a private endpoint by default.

    With `cluster.create: false` the named cluster is adopted instead: nothing is created
    for the control plane, its endpoint and OIDC issuer are looked up. Either way the
    component offers a Kubernetes provider, the node role, the subnets and the IRSA
    OIDC provider every other component needs.
    """

    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_issuer_url: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]
    subnet_ids: pulumi.Output[list[str]]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    account_id: pulumi.Output[str]
    system_nodes: list[pulumi.Resource]
    """The system node group (empty for an adopted cluster): Helm releases wait for it."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_CLUSTER, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = platform_tags(args.environment, args.cost_center)
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self.account_id = caller.account_id
        self._caller_arn = caller.arn
        self.system_nodes = []
        self._access: list[pulumi.Resource] = []

        self.node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(service_trust_policy("ec2.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        for index, policy in enumerate(NODE_POLICIES):
            aws.iam.RolePolicyAttachment(
                f"{name}-node-policy-{index}", role=self.node_role.name, policy_arn=policy, opts=child
            )
        self.node_role_arn = self.node_role.arn

        self.logs_key = aws.kms.Key(
            f"{name}-logs-key",
            description=f"Encryption of the CloudWatch log groups of {args.cluster.name} (control plane, VPC flow logs)",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=self.account_id.apply(lambda account: json.dumps(logs_key_policy(account, args.region), sort_keys=True)),
            tags=tags,
            opts=child,
        )
        if args.network.vpc_id:
            self.subnet_ids = pulumi.Output.from_input(list(args.network.private_subnet_ids))
        else:
            self.subnet_ids = self._network(name, args, tags)

        if args.cluster.create:
            self._create(name, args, tags)
        else:
            self._adopt(name, args)

        self.kubeconfig = pulumi.Output.secret(self.kubeconfig)
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            # Nothing reaches the API before the deploy role's access entry and policy exist.
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._access),
        )
        self.register_outputs(
            {
                "name": self.name,
                "endpoint": self.endpoint,
                "oidc_provider_arn": self.oidc_provider_arn,
                "node_role_arn": self.node_role_arn,
            }
        )

    def _network(self, name: str, args: ClusterArgs, tags: dict[str, str]) -> pulumi.Output[list[str]]:
        """A VPC with a public and a private subnet per zone and one NAT gateway; returns the private subnet ids."""
        child = pulumi.ResourceOptions(parent=self)
        cluster_tag = f"kubernetes.io/cluster/{args.cluster.name}"
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.network.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{args.cluster.name}-vpc"},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}],
            tags=tags,
            opts=child,
        )
        octets = args.network.vpc_cidr.split("/")[0].split(".")
        private_ids: list[pulumi.Output[str]] = []
        public_subnets: list[aws.ec2.Subnet] = []
        for index, zone in enumerate(args.network.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=f"{octets[0]}.{octets[1]}.{index * 16}.0/20",
                map_public_ip_on_launch=False,
                tags={**tags, cluster_tag: "shared", "kubernetes.io/role/elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_routes.id, opts=child)
            public_subnets.append(public)
        # One NAT gateway (first zone) keeps the existing names; per-zone NAT adds one per further zone, so a zone outage
        # leaves the other zones' egress (model downloads through the endpoints still need none) working.
        zones = args.network.availability_zones
        nat_zones = zones if args.network.nat_gateway_per_zone else zones[:1]
        route_tables: list[aws.ec2.RouteTable] = []
        for index, zone in enumerate(nat_zones):
            suffix = "" if index == 0 else f"-{zone}"
            address = aws.ec2.Eip(f"{name}-nat-ip{suffix}", domain="vpc", tags=tags, opts=child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat{suffix}", subnet_id=public_subnets[index].id, allocation_id=address.id, tags=tags, opts=child
            )
            route_tables.append(
                aws.ec2.RouteTable(
                    f"{name}-private-rt{suffix}",
                    vpc_id=vpc.id,
                    routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                    tags=tags,
                    opts=child,
                )
            )
        for index, zone in enumerate(args.network.availability_zones):
            private_routes = route_tables[index if args.network.nat_gateway_per_zone else 0]
            private = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                availability_zone=zone,
                cidr_block=f"{octets[0]}.{octets[1]}.{128 + index * 32}.0/19",
                tags={**tags, cluster_tag: "shared", "kubernetes.io/role/internal-elb": "1"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=private.id, route_table_id=private_routes.id, opts=child)
            private_ids.append(private.id)
        self._endpoints(name, args, vpc, private_ids, route_tables, tags)
        self._flow_logs(name, args, vpc, tags)
        return pulumi.Output.all(*private_ids).apply(lambda ids: [str(item) for item in ids])

    def _endpoints(
        self,
        name: str,
        args: ClusterArgs,
        vpc: aws.ec2.Vpc,
        subnet_ids: list[pulumi.Output[str]],
        route_tables: list[aws.ec2.RouteTable],
        tags: dict[str, str],
    ) -> None:
        """Private endpoints for what model pods call (S3, STS) and nodes pull (ECR), so egress can stay inside the VPC.

        The S3 gateway endpoint serves nodes for free; the S3 interface endpoint answers the regional S3 name inside
        the VPC (private DNS), so pods reach S3 at VPC addresses and their NetworkPolicy allows HTTPS to the VPC only.
        """
        child = pulumi.ResourceOptions(parent=self)
        aws.ec2.VpcEndpoint(
            f"{name}-s3-gateway",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in route_tables],
            tags=tags,
            opts=child,
        )
        endpoint_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to the interface endpoints",
            ingress=[{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": [args.network.vpc_cidr]}],
            tags=tags,
            opts=child,
        )
        for service in INTERFACE_ENDPOINT_SERVICES:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=subnet_ids,
                security_group_ids=[endpoint_group.id],
                private_dns_enabled=True,
                dns_options={"private_dns_only_for_inbound_resolver_endpoint": False} if service == "s3" else None,
                tags=tags,
                opts=child,
            )

    def _flow_logs(self, name: str, args: ClusterArgs, vpc: aws.ec2.Vpc, tags: dict[str, str]) -> None:
        """Every accepted and rejected flow of the VPC, to an encrypted log group the flow-log service writes through a role."""
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/inferstack/{args.cluster.name}/vpc-flow-logs",
            retention_in_days=args.network.flow_log_retention_days,
            kms_key_id=self.logs_key.arn,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=self.account_id.apply(lambda account: json.dumps(flow_logs_trust_policy(account))),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=log_group.arn.apply(lambda arn: json.dumps(flow_logs_write_policy(arn))),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags=tags,
            opts=child,
        )

    def _create(self, name: str, args: ClusterArgs, tags: dict[str, str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        config = args.cluster
        self.secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes secrets in {config.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=json.dumps(service_trust_policy("eks.amazonaws.com")),
            tags=tags,
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-cluster-policy-{index}", role=role.name, policy_arn=policy, opts=child)
            for index, policy in enumerate(CLUSTER_POLICIES)
        ]
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{config.name}/cluster",
            retention_in_days=CONTROL_PLANE_LOG_RETENTION_DAYS,
            kms_key_id=self.logs_key.arn,
            tags=tags,
            opts=child,
        )
        self.eks = aws.eks.Cluster(
            f"{name}-eks",
            name=config.name,
            version=config.version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": self.subnet_ids,
                "endpoint_private_access": True,
                # Public only with configured CIDRs (ClusterConfig refuses a public endpoint without them).
                "endpoint_public_access": config.endpoint_public_access and bool(config.public_access_cidrs),
                "public_access_cidrs": list(config.public_access_cidrs) if config.endpoint_public_access else None,
            },
            encryption_config={"provider": {"key_arn": self.secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=list(config.log_types),
            # Access entries only (no aws-auth ConfigMap), and no implicit admin for whoever created the cluster:
            # the deploy role and the named admins get explicit entries below.
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            tags=tags,
            # EKS sets bootstrapClusterCreatorAdminPermissions only at creation (the provider replaces the cluster to
            # change it): a cluster created with the old setting keeps it rather than being rebuilt.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[log_group, *attachments],
                ignore_changes=["accessConfig.bootstrapClusterCreatorAdminPermissions"],
            ),
        )
        self.name = self.eks.name
        self.endpoint = self.eks.endpoint
        self.oidc_issuer_url = self.eks.identities.apply(lambda identities: identities[0].oidcs[0].issuer or "")  # type: ignore[index]
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.oidc_issuer_url,
            client_id_lists=["sts.amazonaws.com"],
            tags=tags,
            opts=child,
        )
        self.oidc_provider_arn = oidc.arn
        certificate = self.eks.certificate_authority.apply(lambda authority: authority.data or "")
        self.kubeconfig = pulumi.Output.all(self.eks.name, self.eks.endpoint, certificate).apply(
            lambda values: kubeconfig_json(values[0], values[1], values[2], args.region)
        )
        self._access_entries(name, args, tags)
        template = launch_template_for(
            f"{name}-system", volume_gib=CPU_ROOT_VOLUME_GIB, tags=tags, parent=self
        )
        system = aws.eks.NodeGroup(
            f"{name}-system-nodes",
            cluster_name=self.eks.name,
            node_role_arn=self.node_role_arn,
            subnet_ids=self.subnet_ids,
            capacity_type="ON_DEMAND",
            instance_types=[config.system_instance_type],
            ami_type="AL2023_x86_64_STANDARD",
            scaling_config={"min_size": config.system_nodes, "max_size": config.system_nodes + 2, "desired_size": config.system_nodes},
            update_config={"max_unavailable": 1},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            labels={"inferstack.io/node-pool": "system"},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.system_nodes = [system]
        self._eks_addons(name, tags)

    def _access_entries(self, name: str, args: ClusterArgs, tags: dict[str, str]) -> None:
        """Cluster-admin EKS access entries for the deploy role and each named admin role.

        The deploy role defaults to the issuer of the running credentials: for an assumed role,
        `aws.iam.get_session_context` turns the STS session ARN into the IAM role ARN an access entry needs.
        """
        deploy_role: pulumi.Input[str]
        if args.cluster.deploy_role_arn:
            deploy_role = args.cluster.deploy_role_arn
        else:
            deploy_role = aws.iam.get_session_context_output(
                arn=self._caller_arn, opts=pulumi.InvokeOutputOptions(parent=self)
            ).issuer_arn
        principals: list[tuple[str, pulumi.Input[str]]] = [("deploy", deploy_role)]
        principals.extend((f"admin-{index}", arn) for index, arn in enumerate(args.cluster.admin_role_arns))
        for key, principal in principals:
            entry = aws.eks.AccessEntry(
                f"{name}-access-{key}",
                cluster_name=self.eks.name,
                principal_arn=principal,
                type="STANDARD",
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            association = aws.eks.AccessPolicyAssociation(
                f"{name}-access-{key}-admin",
                cluster_name=self.eks.name,
                principal_arn=entry.principal_arn,
                policy_arn=CLUSTER_ADMIN_ACCESS_POLICY,
                access_scope={"type": "cluster"},
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._access.extend([entry, association])

    def _eks_addons(self, name: str, tags: dict[str, str]) -> None:
        """EBS CSI driver (encrypted gp3 volumes for Prometheus; IRSA, since pods cannot reach IMDS) and Container Insights.

        Pinned versions, created after the system node group (an add-on without nodes stays degraded).
        """
        child = pulumi.ResourceOptions(parent=self)
        after_nodes = pulumi.ResourceOptions(parent=self, depends_on=self.system_nodes)
        ebs_role = irsa_role(
            f"{name}-ebs-csi-role",
            oidc_provider_arn=self.oidc_provider_arn,
            oidc_issuer_url=self.oidc_issuer_url,
            namespace="kube-system",
            service_account="ebs-csi-controller-sa",
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-ebs-csi-policy", role=ebs_role.name, policy_arn=EBS_CSI_POLICY, opts=child)
        aws.eks.Addon(
            f"{name}-ebs-csi",
            cluster_name=self.eks.name,
            addon_name="aws-ebs-csi-driver",
            addon_version=EKS_ADDON_VERSIONS["aws-ebs-csi-driver"],
            service_account_role_arn=ebs_role.arn,
            tags=tags,
            opts=after_nodes,
        )
        aws.eks.Addon(
            f"{name}-container-insights",
            cluster_name=self.eks.name,
            addon_name="amazon-cloudwatch-observability",
            addon_version=EKS_ADDON_VERSIONS["amazon-cloudwatch-observability"],
            configuration_values=json.dumps(CONTAINER_INSIGHTS_CONFIGURATION, sort_keys=True),
            tags=tags,
            opts=after_nodes,
        )

    def _adopt(self, name: str, args: ClusterArgs) -> None:
        existing = aws.eks.get_cluster_output(name=args.cluster.name, opts=pulumi.InvokeOutputOptions(parent=self))
        self.name = existing.name
        self.endpoint = existing.endpoint
        self.oidc_issuer_url = existing.identities.apply(lambda identities: identities[0].oidcs[0].issuer)
        self.oidc_provider_arn = pulumi.Output.all(self.account_id, self.oidc_issuer_url).apply(
            lambda values: f"arn:aws:iam::{values[0]}:oidc-provider/{values[1].removeprefix('https://')}"
        )
        if not args.network.vpc_id:
            self.subnet_ids = existing.vpc_config.apply(lambda vpc: list(vpc.subnet_ids))
        certificate = existing.certificate_authorities.apply(lambda authorities: authorities[0].data)
        self.kubeconfig = pulumi.Output.all(existing.name, existing.endpoint, certificate).apply(
            lambda values: kubeconfig_json(values[0], values[1], values[2], args.region)
        )

"""Run the real Pulumi program without an engine or a cloud: realistic provider mocks and a recording monitor.

`InferstackMocks` answers resource registrations and provider functions with
outputs shaped like AWS's (ARNs in account 123456789012 and the stack's region,
ids, bucket names, the EKS endpoint / CA / OIDC issuer). `run_under_mocks`
runs `inferstack.program.program()` for one stack under those mocks and
returns every registered resource (urn, type, name, parent, dependencies,
inputs) in URN order. The offline plan uses the same function.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime import settings as pulumi_settings
from pulumi import _types
from pulumi.runtime import resource as pulumi_resource_runtime
from pulumi.runtime import rpc as pulumi_rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2, resource_pb2, source_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from inferstack import sdk_imports
from inferstack.blueprint import Blueprint
from inferstack.problems import InputError, Problem, display_path
from inferstack.spec.loader import stack_file

MOCK_ACCOUNT_ID = "123456789012"
PROJECT_NAME = "inferstack"
STACK_TYPE = "pulumi:pulumi:Stack"


def _digest(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def _uuid(*parts: str) -> str:
    text = _digest(*parts, length=32)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class InferstackMocks(pulumi.runtime.Mocks):
    """Provider stand-ins whose outputs look like AWS's and Kubernetes's, deterministically derived from names."""

    def __init__(self, region: str = "us-east-1", account_id: str = MOCK_ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id

    def _arn(self, service: str, resource: str, *, regional: bool = True, account: bool = True) -> str:
        region = self.region if regional else ""
        owner = self.account_id if account else ""
        return f"arn:aws:{service}:{region}:{owner}:{resource}"

    def _physical_name(self, args: MockResourceArgs, key: str = "name") -> str:
        given = args.inputs.get(key)
        if isinstance(given, str) and given:
            return given
        prefix = args.inputs.get(f"{key}Prefix")
        base = prefix if isinstance(prefix, str) and prefix else f"{args.name}-"
        return f"{base}{_digest(args.typ, args.name, length=7)}"

    def eks_cluster_outputs(self, name: str) -> dict[str, Any]:
        """What EKS reports for a cluster: endpoint, CA data, OIDC issuer."""
        oidc_id = _digest("oidc", name, length=32).upper()
        certificate = base64.b64encode(f"-----BEGIN CERTIFICATE-----\nmock-ca-{name}\n-----END CERTIFICATE-----\n".encode()).decode()
        return {
            "name": name,
            "arn": self._arn("eks", f"cluster/{name}"),
            "endpoint": f"https://{_digest('endpoint', name, length=32).upper()}.gr7.{self.region}.eks.amazonaws.com",
            "certificateAuthority": {"data": certificate},
            "certificateAuthorities": [{"data": certificate}],
            "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/{oidc_id}"}]}],
            "platformVersion": "eks.1",
            "status": "ACTIVE",
            "vpcConfig": {"clusterSecurityGroupId": f"sg-{_digest('cluster-sg', name)}", "vpcId": f"vpc-{_digest('vpc', name)}"},
        }

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        """Id and output state of a new resource: its inputs plus what the provider would compute."""
        typ = args.typ
        inputs = dict(args.inputs)
        if not args.custom and not typ.startswith("pulumi:providers:"):
            return None, inputs
        if typ.startswith("kubernetes:"):
            metadata = inputs.get("metadata") or {}
            name = metadata.get("name") if isinstance(metadata, dict) else None
            namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
            resource_id = f"{namespace}/{name}" if namespace else str(name or args.name)
            if typ == "kubernetes:helm.sh/v3:Release":
                release_name = inputs.get("name") or args.name
                inputs["status"] = {"name": release_name, "namespace": inputs.get("namespace", "default"), "status": "deployed"}
                resource_id = f"{inputs.get('namespace', 'default')}/{release_name}"
                return resource_id, inputs
            # Nothing reads the outputs of the Kubernetes objects, and echoing large manifests back
            # through the monitor would double the serialisation work of a thousand-model plan.
            return resource_id, {}
        if typ.startswith("pulumi:providers:"):
            return _uuid(typ, args.name), inputs
        outputs = self._aws_outputs(typ, args, inputs)
        resource_id = outputs.pop("__id", None) or f"{args.name}-{_digest(typ, args.name, length=8)}"
        return resource_id, {**inputs, **outputs}

    def _aws_outputs(self, typ: str, args: MockResourceArgs, inputs: dict[str, Any]) -> dict[str, Any]:
        if typ == "aws:kms/key:Key":
            key_id = _uuid(typ, args.name)
            return {"__id": key_id, "keyId": key_id, "arn": self._arn("kms", f"key/{key_id}")}
        if typ == "aws:kms/alias:Alias":
            return {"arn": self._arn("kms", str(inputs.get("name", "alias/x")))}
        if typ == "aws:s3/bucket:Bucket":
            bucket = self._physical_name(args, "bucket")
            return {
                "__id": bucket,
                "bucket": bucket,
                "arn": f"arn:aws:s3:::{bucket}",
                "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                "bucketRegionalDomainName": f"{bucket}.s3.{self.region}.amazonaws.com",
                "region": self.region,
            }
        if typ == "aws:iam/role:Role":
            name = self._physical_name(args)
            return {"__id": name, "name": name, "arn": self._arn("iam", f"role/{name}", regional=False), "uniqueId": f"AROA{_digest(name).upper()}"}
        if typ == "aws:iam/policy:Policy":
            name = self._physical_name(args)
            return {"name": name, "arn": self._arn("iam", f"policy/{name}", regional=False)}
        if typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            host = str(inputs.get("url", "")).removeprefix("https://")
            arn = self._arn("iam", f"oidc-provider/{host}", regional=False)
            return {"__id": arn, "arn": arn}
        if typ == "aws:eks/cluster:Cluster":
            name = self._physical_name(args)
            return {"__id": name, **self.eks_cluster_outputs(name)}
        if typ == "aws:eks/nodeGroup:NodeGroup":
            cluster = str(inputs.get("clusterName", "cluster"))
            name = self._physical_name(args, "nodeGroupName")
            asg = f"eks-{name}-{_uuid('asg', cluster, name)}"
            return {
                "__id": f"{cluster}:{name}",
                "nodeGroupName": name,
                "arn": self._arn("eks", f"nodegroup/{cluster}/{name}/{_uuid('ng', cluster, name)}"),
                "status": "ACTIVE",
                "resources": [{"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}],
            }
        if typ == "aws:ec2/vpc:Vpc":
            vpc = f"vpc-{_digest(typ, args.name)}"
            return {"__id": vpc, "arn": self._arn("ec2", f"vpc/{vpc}"), "defaultSecurityGroupId": f"sg-{_digest('default', vpc)}"}
        if typ.startswith("aws:ec2/"):
            kind = typ.split(":")[-1]
            prefixes = {
                "Subnet": "subnet",
                "InternetGateway": "igw",
                "NatGateway": "nat",
                "Eip": "eipalloc",
                "RouteTable": "rtb",
                "SecurityGroup": "sg",
                "LaunchTemplate": "lt",
                "FlowLog": "fl",
            }
            prefix = prefixes.get(kind, kind.lower())
            resource_id = f"{prefix}-{_digest(typ, args.name)}"
            outputs: dict[str, Any] = {"__id": resource_id, "arn": self._arn("ec2", f"{kind.lower()}/{resource_id}")}
            if kind == "LaunchTemplate":
                outputs["latestVersion"] = 1
                outputs["defaultVersion"] = 1
            if kind == "Eip":
                outputs["publicIp"] = "198.51.100.10"
            return outputs
        if typ == "aws:sns/topic:Topic":
            name = self._physical_name(args)
            arn = self._arn("sns", name)
            return {"__id": arn, "name": name, "arn": arn}
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            name = self._physical_name(args)
            return {"__id": name, "name": name, "arn": self._arn("logs", f"log-group:{name}")}
        if typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            name = self._physical_name(args)
            return {"__id": name, "name": name, "arn": self._arn("cloudwatch", f"alarm:{name}")}
        if typ == "aws:cloudwatch/eventRule:EventRule":
            name = self._physical_name(args)
            return {"__id": name, "name": name, "arn": self._arn("events", f"rule/{name}")}
        service = typ.split(":")[1].split("/")[0]
        return {"arn": self._arn(service, f"{typ.split(':')[-1].lower()}/{args.name}")}

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]]]:
        """Provider functions the program calls: caller identity, partition, region, zones, an existing cluster."""
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:user/inferstack-ci",
                "userId": "AIDAMOCKUSER",
                "id": self.account_id,
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}, []
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in "abc"]
            return {"names": names, "zoneIds": [f"use1-az{index}" for index in range(1, 4)], "id": self.region}, []
        if token == "aws:iam/getSessionContext:getSessionContext":
            # For a user (or an IAM role ARN) the issuer is the ARN itself; for an STS assumed-role session, its role.
            arn = str(args.args.get("arn", ""))
            return {"arn": arn, "issuerArn": arn, "id": arn}, []
        if token == "aws:eks/getCluster:getCluster":
            name = str(args.args.get("name", "cluster"))
            return {**self.eks_cluster_outputs(name), "id": name, "version": "1.35"}, []
        return {}, []


def _mock_style_urn(urn: str) -> str:
    """An engine-style URN (the whole chain of parent types) in the form this monitor makes URNs.

    Like the SDK's MockMonitor.make_urn, the monitor qualifies a type with its parent's own
    type only; aliases, given as the engine would compute them, are recorded in that form
    so a plan's baseline matches them.
    """
    parts = urn.split("::")
    if len(parts) < 4:
        return urn
    stack, project, chain = parts[0], parts[1], parts[2]
    return "::".join([stack, project, "$".join(chain.split("$")[-2:]), *parts[3:]])


@dataclass(slots=True)
class RecordedResource:
    """One RegisterResource call as the plan sees it."""

    urn: str
    type: str
    name: str
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any] = field(default_factory=dict)
    custom: bool = True
    aliases: list[str] = field(default_factory=list)
    """Former URNs of the resource (ResourceOptions.aliases given as full URNs), sorted."""

    def as_json(self) -> dict[str, Any]:
        """The plan.json form of the record."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "dependencies": self.dependencies,
            "inputs": self.inputs,
            **({"aliases": self.aliases} if self.aliases else {}),
        }


class PlainInputs:
    """Plain-JSON Kubernetes inputs handed from the serializer to the monitor of one mocked run.

    Both ends of the SDK's registration request are ours during a mocked run (the
    serializer patch of run_under_mocks and RecordingMonitor), so a Kubernetes object
    whose inputs are plain JSON travels as a one-field Struct holding a token, and the
    monitor takes the dict itself: no protobuf Struct built field by field and read
    back (~10% of a 1,000-model plan). In preview the SDK never reads the serialised
    inputs back into outputs, and the mocks give Kubernetes objects no outputs.
    """

    TOKEN_FIELD = "__inferstack_plain_inputs__"

    def __init__(self) -> None:
        self._waiting: dict[str, dict[str, Any]] = {}
        self._next = 0

    def put(self, inputs: dict[str, Any]) -> Any:
        """The Struct that stands for `inputs` (plain JSON, keys sorted, not shared) in the registration request."""
        self._next += 1
        token = str(self._next)
        self._waiting[token] = inputs
        struct = struct_pb2.Struct()
        struct[self.TOKEN_FIELD] = token
        return struct

    def take(self, struct: Any) -> dict[str, Any] | None:
        """The inputs a token Struct stands for (handed out once), or None for an ordinary Struct."""
        fields = struct.fields
        if len(fields) != 1 or self.TOKEN_FIELD not in fields:
            return None
        return self._waiting.pop(fields[self.TOKEN_FIELD].string_value)


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also records type, name, URN, parent and dependencies of every registration."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.records: list[RecordedResource] = []
        self.plain_inputs = PlainInputs()
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Record the registration and answer it with the mocks' state.

        Same answer as MockMonitor.RegisterResource, without its async (de)serialisation
        round trip: the inputs are read with protobuf's own JSON conversion (values the
        SDK marked secret keep their signature wrapper, which the plan redacts) and the
        state is written back with Struct.update. That round trip was ~60% of a mocked
        run (12 of 19.5 s at 1,000 models).
        """
        urn = self.make_urn(request.parent, request.type, request.name)
        record = RecordedResource(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            dependencies=sorted(set(request.dependencies)),
            custom=bool(request.custom),
        )
        if request.aliases or request.aliasURNs:
            given = {alias.urn for alias in request.aliases if alias.urn} | set(request.aliasURNs)
            record.aliases = sorted(_mock_style_urn(alias) for alias in given)
        if request.type == STACK_TYPE:
            response = resource_pb2.RegisterResourceResponse(urn=urn)
        else:
            # Keys sorted at every level, so manifests do not follow protobuf's map order.
            inputs = self.plain_inputs.take(request.object)
            if inputs is None:
                inputs = _plain_json_copy(json_format.MessageToDict(request.object))
            record.inputs = dict(inputs)
            args = MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
            resource_id, state = self.mocks.new_resource(args)
            state_proto = struct_pb2.Struct()
            state_proto.update(state)
            self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id or "", state)
            response = resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=state_proto)
        with self._lock:
            self.records.append(record)
        return response


    def Invoke(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        """Provider functions answered by the mocks, without the SDK's async serialisation (see RegisterResource)."""
        if request.tok == "pulumi:pulumi:getResource":
            return super().Invoke(request)
        args: dict[str, Any] = json_format.MessageToDict(request.args)
        answer = self.mocks.call(MockCallArgs(token=request.tok, args=args, provider=request.provider))
        values, failures = (answer, None) if isinstance(answer, dict) else answer
        result = struct_pb2.Struct()
        result.update(values)
        checks = [provider_pb2.CheckFailure(property=name, reason=reason) for name, reason in failures or []]
        response = resource_pb2.ResourceInvokeResponse(failures=checks or None)
        getattr(response, "return").CopyFrom(result)  # the field is named "return", a Python keyword
        return response


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each submitted call at once in the calling thread (asyncio needs a ThreadPoolExecutor instance).

    The SDK hands every registration to an executor thread; with the monitor answering
    in plain Python (no event loop of its own), the thread hand-off is pure overhead.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting coroutine, as a pool would
            future.set_exception(error)
        return future


def _config_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def stack_config(stacks_dir: Path, stack: str) -> dict[str, Any]:
    """The `config:` mapping of stacks/Pulumi.<stack>.yaml (bad input as InputError)."""
    from inferstack.yaml_loader import YamlLoadError, load_file

    path = stack_file(stacks_dir, stack)
    label = display_path(path)
    if not path.is_file():
        raise InputError([Problem(label, "", "stack file not found; expected stacks/Pulumi.<env>.yaml")])
    try:
        documents = load_file(path)
    except YamlLoadError as error:
        raise InputError([Problem(label, issue.where, issue.message) for issue in error.issues]) from None
    document = documents[0] if documents else None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise InputError([Problem(label, "config", "missing or not a mapping; expected a `config:` mapping of settings")])
    return dict(document["config"])


_run_lock = threading.Lock()


def run_under_mocks(
    stack: str,
    specs_dir: Path,
    stacks_dir: Path,
    mocks: pulumi.runtime.Mocks | None = None,
    blueprint: Blueprint | None = None,
) -> list[RecordedResource]:
    """Run the inferstack program for `stack` under mocks; every registered resource, in URN order.

    Safe to call repeatedly in one process: each run gets fresh runtime settings,
    a fresh root stack and its own config. A `blueprint` the caller already
    compiled from the same specs and stack file saves the program compiling again.
    """
    # Before the program imports pulumi_aws / pulumi_kubernetes: build only the SDK classes it uses.
    sdk_imports.install()
    from inferstack.program import program

    config = stack_config(stacks_dir, stack)
    region = str(config.get("aws:region", "us-east-1"))
    with _run_lock:
        monitor = RecordingMonitor(mocks or InferstackMocks(region=region))
        pulumi_settings.reset_options(project=PROJECT_NAME, stack=stack, preview=True)
        pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT_NAME, stack=stack, preview=True, monitor=monitor)
        pulumi.runtime.set_all_config({key: _config_value(value) for key, value in config.items()})

        original_stack_trace = pulumi_resource_runtime._get_stack_trace
        original_create_urn = pulumi_resource_runtime.create_urn
        # Source positions are not part of the plan, and capturing one costs ~1 ms per resource.
        pulumi_resource_runtime._get_stack_trace = _no_stack_trace
        # The SDK computes a fallback URN for every registration through an Output chain
        # (used only when no monitor exists); with plain strings it is a string join.
        pulumi_resource_runtime.create_urn = _plain_create_urn(original_create_urn)
        original_serialize = pulumi_rpc.serialize_properties
        pulumi_rpc.serialize_properties = _plain_kubernetes_serializer(original_serialize, monitor.plain_inputs)
        # The SDK logs ~4 debug lines per resource, each a protobuf request (and, for a resource,
        # a task awaiting its URN); the mock engine hands them to a logger at DEBUG level,
        # which nothing reads during a plan.
        original_debug = pulumi.log.debug
        pulumi.log.debug = _no_debug_log
        loop = _ensure_event_loop()
        original_executor = getattr(loop, "_default_executor", None)
        loop.set_default_executor(_InlineExecutor())
        try:
            _sync_await(_run_program(lambda: program(specs_dir=specs_dir, blueprint=blueprint)))
        finally:
            pulumi_resource_runtime._get_stack_trace = original_stack_trace
            pulumi_resource_runtime.create_urn = original_create_urn
            pulumi_rpc.serialize_properties = original_serialize
            pulumi.log.debug = original_debug
            loop._default_executor = original_executor  # type: ignore[attr-defined]  # no public setter for "none"
            pulumi.runtime.set_all_config({})
        records = sorted(monitor.records, key=lambda record: record.urn)
    return records


def _no_debug_log(msg: str, resource: Any = None, stream_id: int | None = None, ephemeral: bool | None = None) -> None:
    """Stands in for `pulumi.log.debug` during a mocked run (see run_under_mocks)."""


class _NotPlainJson(Exception):
    """A value holds something other than JSON (an Output, a secret, an asset...)."""


def _plain_json_copy(value: Any) -> Any:
    """A copy of plain JSON with every mapping's keys sorted; raises _NotPlainJson for anything else."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        if not all(type(key) is str for key in value):
            raise _NotPlainJson
        return {key: _plain_json_copy(value[key]) for key in sorted(value)}
    if kind is list:
        return [_plain_json_copy(item) for item in value]
    if isinstance(value, (str, int, float)):  # str and int enums, as the Struct would take them
        return value
    raise _NotPlainJson


def _plain_kubernetes_serializer(original: Callable[..., Any], plain_inputs: PlainInputs) -> Callable[..., Any]:
    """serialize_properties with a direct path for Kubernetes objects whose inputs are plain JSON.

    The SDK serialises every input value through an awaited recursion, the largest
    share of a mocked run. The render layer builds Kubernetes objects as plain dicts
    with the API's own camelCase keys, so below the top level (whose Python names are
    translated here as the SDK does) the SDK's name translation leaves every key as it
    is: the serialised inputs are that dict, handed to the monitor through
    `plain_inputs`. Anything else (Outputs, secrets, every non-Kubernetes resource)
    goes the SDK's way. Plans are byte-identical either way (checked on the shipped
    stacks and a 1,000-model fleet).
    """

    async def serialize_properties(
        inputs: Any,
        property_deps: dict[str, list[Any]],
        resource_obj: Any = None,
        input_transformer: Any = None,
        typ: Any = None,
        **options: Any,
    ) -> Any:
        resource_type = str(getattr(resource_obj, "_type", ""))
        renames = _types.input_type_py_to_pulumi_names(typ) if typ is not None and _types.is_input_type(typ) else {}
        if resource_type.startswith("kubernetes:") and resource_type != "kubernetes:helm.sh/v3:Release" and type(inputs) is dict:
            try:
                serialized = {
                    renames.get(key) or key: _plain_json_copy(value) for key, value in inputs.items() if value is not None
                }
            except _NotPlainJson:
                pass
            else:
                for name in serialized:
                    property_deps[name] = []
                return plain_inputs.put({name: serialized[name] for name in sorted(serialized)})
        return await original(inputs, property_deps, resource_obj, input_transformer, typ, **options)

    return serialize_properties


def _plain_create_urn(original: Callable[..., Any]) -> Callable[..., Any]:
    """create_urn that joins plain strings directly and defers to the SDK for anything else."""

    def create_urn(
        name: Any, type_: Any, parent: Any = None, project: str | None = None, stack: str | None = None
    ) -> Any:
        if not (isinstance(name, str) and isinstance(type_, str) and (parent is None or isinstance(parent, str))):
            return original(name, type_, parent, project, stack)
        if parent:
            prefix = parent[: parent.rfind("::")] + "$"
        else:
            prefix = f"urn:pulumi:{stack or pulumi_settings.get_stack()}::{project or pulumi_settings.get_project()}::"
        return pulumi.Output.from_input(f"{prefix}{type_}::{name}")

    return create_urn


def _no_stack_trace() -> Any:
    return source_pb2.StackTrace()


async def _run_program(body: Callable[[], object]) -> None:
    """Run `body`, then wait until every registration and every output has settled.

    Like pulumi.runtime.test, but drains outstanding outputs with one gather per round
    instead of the SDK's wait-for-first-completed loop, which is quadratic in the number
    of outputs (seconds for a thousand models).
    """
    settings: Any = pulumi_settings.SETTINGS  # context-var backed attributes pyright cannot see
    settings.rpc_manager.clear()
    settings.outputs.clear()
    body()
    manager = pulumi_settings._get_rpc_manager()
    while True:
        while manager.rpcs:
            await manager.rpcs.pop()
        if manager.unhandled_exception is not None:
            raise manager.unhandled_exception.with_traceback(manager.exception_traceback)
        with settings.lock:
            pending = list(settings.outputs)
            settings.outputs.clear()
        if pending:
            await asyncio.gather(*pending)
        if not manager.rpcs and not settings.outputs:
            break

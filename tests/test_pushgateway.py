"""The Pushgateway drift detectors push to: installed where a model watches drift, at the address the detectors use."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate

from inferstack.compiler import compile_blueprint
from inferstack.mocks import InferstackMocks, run_under_mocks
from inferstack.render.pushgateway import PUSHGATEWAY_IMAGE, pushgateway_service, render_pushgateway
from inferstack.spec.loader import load_environment, load_specs

REPO = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.33.0"


def _blueprint(stack: str, **drift: object):  # noqa: ANN202
    config = load_environment(REPO / "stacks", stack)
    if drift:
        config = config.model_copy(update={"drift": config.drift.model_copy(update=drift)})
    return compile_blueprint(load_specs([REPO / "model_specs"]), config)


def test_installed_at_the_address_the_detectors_push_to() -> None:
    blueprint = _blueprint("prod")
    assert blueprint.config.drift.pushgateway_url == "http://prometheus-pushgateway.monitoring.svc:9091"
    assert pushgateway_service(blueprint) == ("prometheus-pushgateway", "monitoring", 9091)
    deployment, service, monitor = render_pushgateway(blueprint)
    for manifest in (deployment, service):
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    assert (service["metadata"]["name"], service["metadata"]["namespace"]) == ("prometheus-pushgateway", "monitoring")
    assert service["spec"]["ports"][0]["port"] == 9091
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == PUSHGATEWAY_IMAGE and container["securityContext"]["readOnlyRootFilesystem"] is True
    # Pushed series keep their own model/feature labels.
    assert monitor["kind"] == "ServiceMonitor" and monitor["spec"]["endpoints"][0]["honorLabels"] is True


def test_not_installed_without_drift_or_for_an_outside_pushgateway() -> None:
    outside = _blueprint("prod", pushgateway_url="https://pushgateway.example.com")
    assert render_pushgateway(outside) == []
    config = load_environment(REPO / "stacks", "prod")
    without_drift = [item for item in load_specs([REPO / "model_specs"]) if item.spec.monitoring.drift is None]
    no_drift = compile_blueprint(without_drift, config)
    assert render_pushgateway(no_drift) == []


def test_the_plan_runs_it_on_the_system_nodes_after_the_monitoring_stack() -> None:
    records = run_under_mocks("prod", REPO / "model_specs", REPO / "stacks", InferstackMocks(region="us-east-1"))
    by_name = {record.name: record for record in records}
    deployment = by_name["inferstack-prod-monitoring-pushgateway"]
    assert deployment.type == "kubernetes:apps/v1:Deployment"
    assert deployment.inputs["spec"]["template"]["spec"]["nodeSelector"] == {"inferstack.io/node-pool": "system"}
    system_nodes = next(record.urn for record in records if record.name.endswith("system-nodes"))
    assert system_nodes in deployment.dependencies
    assert by_name["inferstack-prod-monitoring-pushgateway-monitor"].inputs["kind"] == "ServiceMonitor"

"""Check d: Helm values exist in the chart version they are set on, and chart versions fit the cluster's Kubernetes version.

Helm ignores a value key the chart does not read, so a misspelt or moved key silently keeps the
chart default. Every key path we set on a helm.v3.Release must exist in that chart version's
`values.yaml` (or be admitted by its `values.schema.json`), read from
`../shared/reference/charts/<chart>-<version>`. Below a default that is an empty map or null,
anything goes (the chart passes it through). A chart without reference data is reported as
`deploy-helm-unverified` (not mandatory), naming the missing file.

Kubernetes fit: the chart's `kubeVersion` constraint (Chart.yaml), and for cluster-autoscaler
the compatibility table of kubernetes/autoscaler `cluster-autoscaler/README.md`
(tag cluster-autoscaler-chart-9.59.0, "Releases": Kubernetes 1.33 -> chart 9.47.0+, ...): the
CA minor must match the cluster's minor, so a chart also must be below the next minor's first chart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from inferstack.policy.model import PolicyResource
from inferstack.readiness.graph import chart_name, chart_version, helm_releases
from inferstack.readiness.model import Finding, ReadinessContext, props_of
from inferstack.readiness.reference import ChartReference, load_chart

CHECK_ID = "deploy-helm-values"
UNVERIFIED_ID = "deploy-helm-unverified"

# Chart names whose reference folder uses another prefix.
REFERENCE_PREFIX: Mapping[str, str] = {"kserve-resources": "kserve", "keda-add-ons-http": "keda-http-add-on"}

# Maps whose keys the chart's templates iterate over (`range $key, $value := .Values.<map>`), so any key is read.
# cluster-autoscaler: kubernetes/autoscaler charts/cluster-autoscaler/templates/deployment.yaml (cluster-autoscaler-chart-9.46.6).
FREE_FORM_MAPS: Mapping[str, frozenset[str]] = {
    "cluster-autoscaler": frozenset({"extraArgs", "extraEnv", "extraEnvConfigMaps", "extraEnvSecrets", "extraVolumeSecrets"}),
}

# kubernetes/autoscaler cluster-autoscaler/README.md at cluster-autoscaler-chart-9.59.0, "Releases" table:
# Kubernetes minor -> first chart version shipping that CA minor.
CLUSTER_AUTOSCALER_FIRST_CHART: Mapping[int, tuple[int, int, int]] = {
    34: (9, 51, 0),
    33: (9, 47, 0),
    32: (9, 45, 0),
    31: (9, 38, 0),
    30: (9, 37, 0),
    29: (9, 35, 0),
    28: (9, 34, 0),
    27: (9, 29, 0),
    26: (9, 28, 0),
}


def parse_version(text: str) -> tuple[int, int, int] | None:
    """A semantic version as (major, minor, patch); pre-release suffixes are dropped."""
    match = re.match(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0)


def satisfies(version: tuple[int, int, int], constraint: str) -> bool:
    """Whether a version meets a Helm/semver constraint (`>= 1.19.0-0`, `>=1.23 <1.34`, `a || b`); unknown operators pass."""
    for alternative in constraint.split("||"):
        ok = True
        for operator, operand in re.findall(r"(>=|<=|!=|>|<|=|\^|~)?\s*(v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.]+)?)", alternative):
            bound = parse_version(operand)
            if bound is None:
                continue
            results = {">=": version >= bound, "<=": version <= bound, ">": version > bound, "<": version < bound,
                       "!=": version != bound, "=": version == bound, "": version == bound}
            ok = ok and results.get(operator, True)
        if ok:
            return True
    return False


def chart_reference(root: Path, chart: str, version: str) -> ChartReference:
    prefix = REFERENCE_PREFIX.get(chart, chart)
    found = load_chart(root, prefix, version)
    if found.values is None and found.chart is None:
        # Folders named by something other than the version (e.g. `-latest`): match on Chart.yaml's version.
        for folder in sorted((root / "charts").glob(f"{prefix}-*")):
            other = load_chart(root, prefix, folder.name[len(prefix) + 1 :])
            if other.chart is not None and str(other.chart.get("version")).lstrip("v") == version.lstrip("v"):
                return other
    return found


def _resolve_local_ref(schema: Mapping[str, Any], node: Any) -> Any:
    """`node` with local references ("#/$defs/...", "#/definitions/...") followed; None for a reference we cannot follow.

    cert-manager's values.schema.json (v1.17.2, v1.21.1) is all references: its root is
    {"$ref": "#/$defs/helm-values"}, and each property refers to "#/$defs/helm-values.<path>".
    """
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node:
        reference = str(node["$ref"])
        if not reference.startswith("#/") or reference in seen:
            return None
        seen.add(reference)
        target: Any = schema
        for part in reference[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        node = target
    return node


def _schema_admits(schema: Mapping[str, Any] | None, path: Sequence[str]) -> bool:
    """Whether a values.schema.json admits a key path (properties, patternProperties, additionalProperties;
    local $ref followed)."""
    node: Any = schema
    for key in path:
        if schema is not None and isinstance(node, Mapping) and "$ref" in node:
            node = _resolve_local_ref(schema, node)
            if node is None:
                return True  # a reference outside this document: the schema does not constrain keys here for us
        if not isinstance(node, Mapping):
            return False
        if node.get("type") not in (None, "object") or any(word in node for word in ("allOf", "anyOf", "oneOf")):
            return True  # a non-object, or a combination: the schema does not constrain keys here (for this check)
        properties = node.get("properties") or {}
        if key in properties:
            node = properties[key]
            continue
        pattern = next((sub for regex, sub in (node.get("patternProperties") or {}).items() if re.search(regex, key)), None)
        if pattern is not None:
            node = pattern
            continue
        additional = node.get("additionalProperties", True if not properties else None)
        if additional is True or isinstance(additional, Mapping):
            return True
        return False
    return True


def subcharts(chart: Mapping[str, Any] | None) -> frozenset[str]:
    """Top-level value keys that belong to the chart's dependencies (their name or alias in Chart.yaml)."""
    names = set()
    for dependency in (chart or {}).get("dependencies") or []:
        if isinstance(dependency, Mapping):
            names.add(str(dependency.get("alias") or dependency.get("name")))
    return frozenset(names)


def unknown_value_paths(
    values: Mapping[str, Any],
    defaults: Mapping[str, Any],
    schema: Mapping[str, Any] | None,
    free_form: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """Dotted key paths set in `values` that neither the chart's defaults nor its schema know.

    Below a dotted path in `free_form` (a map the templates iterate over) any key is read.
    """

    def walk(given: Mapping[str, Any], default: Any, path: tuple[str, ...]) -> Iterator[str]:
        if ".".join(path) in free_form:
            return
        for key, value in given.items():
            here = (*path, str(key))
            if isinstance(default, Mapping) and key in default:
                below = default[key]
                if isinstance(value, Mapping) and isinstance(below, Mapping) and below:
                    yield from walk(value, below, here)
                continue
            if schema is not None and _schema_admits(schema, here):
                if isinstance(value, Mapping):
                    yield from walk(value, None, here)  # keys below a schema-only map: the schema alone decides
                continue
            yield ".".join(here)

    yield from walk(values, defaults, ())


def _fits_kubernetes(chart: str, version: str, reference: ChartReference, cluster: tuple[int, int, int]) -> Iterator[str]:
    constraint = str((reference.chart or {}).get("kubeVersion") or "")
    if constraint and not satisfies(cluster, constraint):
        yield f"chart {chart} {version} requires Kubernetes {constraint} (Chart.yaml kubeVersion); the cluster runs {cluster[0]}.{cluster[1]}"
    if chart != "cluster-autoscaler":
        return
    parsed = parse_version(version)
    minor = cluster[1]
    first = CLUSTER_AUTOSCALER_FIRST_CHART.get(minor)
    following = CLUSTER_AUTOSCALER_FIRST_CHART.get(minor + 1)
    app = parse_version(str((reference.chart or {}).get("appVersion") or ""))
    if app is not None and app[:2] != cluster[:2]:
        yield (
            f"chart cluster-autoscaler {version} ships Cluster Autoscaler {app[0]}.{app[1]} (Chart.yaml appVersion) on a "
            f"{cluster[0]}.{cluster[1]} cluster; the CA README's table wants CA {cluster[0]}.{cluster[1]}"
            + (f" (chart {'.'.join(map(str, first))}+)" if first else "")
        )
    elif parsed is not None and first is not None and (parsed < first or (following is not None and parsed >= following)):
        upper = f" and below {'.'.join(map(str, following))}" if following else ""
        yield (
            f"chart cluster-autoscaler {version} does not match Kubernetes {cluster[0]}.{cluster[1]}: the CA README's table "
            f"wants chart {'.'.join(map(str, first))}+{upper}"
        )


def _get(values: Any, path: str) -> Any:
    for key in path.split("."):
        values = values.get(key) if isinstance(values, Mapping) else None
    return values


# Chart defaults that are well-known credentials: (password path, a secret-reference path that replaces it, switch path).
# kube-prometheus-stack values.yaml (75.15.1) `grafana.adminPassword: prom-operator`; the grafana subchart reads
# `admin.existingSecret` instead when it is set (grafana/helm-charts charts/grafana values.yaml).
DEFAULT_CREDENTIALS: Mapping[str, tuple[tuple[str, str, str], ...]] = {
    "kube-prometheus-stack": (("grafana.adminPassword", "grafana.admin.existingSecret", "grafana.enabled"),),
}


def _default_credentials(chart: str, values: Mapping[str, Any], defaults: Mapping[str, Any] | None) -> Iterator[str]:
    for password, secret, switch in DEFAULT_CREDENTIALS.get(chart, ()):
        if _get(values, switch) is False or _get(values, secret):
            continue
        default = _get(defaults or {}, password)
        given = _get(values, password)
        if given is None or given == default:
            yield (
                f"values.{password}: keeps the chart's default ({default!r}), a published password; expected "
                f"values.{secret} naming a Secret (or a generated secret password)"
            )


def check_helm_values(resources: Sequence[PolicyResource], ctx: ReadinessContext) -> Iterable[Finding]:
    """Every Helm value key path against its chart version, every chart version against the cluster's Kubernetes,
    and every EKS add-on pinned to a version (unpinned, EKS picks its default for the cluster, which changes under you)."""
    for resource in resources:
        if resource.type == "aws:eks/addon:Addon" and not props_of(resource).get("addonVersion"):
            yield Finding(
                CHECK_ID,
                resource.urn,
                f"EKS add-on {props_of(resource).get('addonName')} has no addonVersion; expected a pinned version "
                "(`aws eks describe-addon-versions --kubernetes-version "
                f"{ctx.kubernetes_version} --addon-name {props_of(resource).get('addonName')}`)",
            )
    if ctx.reference is None:
        return
    cluster = parse_version(ctx.kubernetes_version) or (0, 0, 0)
    for release in helm_releases(resources):
        chart, version = chart_name(release), chart_version(release)
        if not version:
            yield Finding(CHECK_ID, release.urn, f"chart {chart} has no pinned version; expected an exact chart version")
            continue
        reference = chart_reference(ctx.reference, chart, version)
        values = props_of(release).get("values")
        values = values if isinstance(values, Mapping) else {}
        missing = ", ".join(str(Path(name).relative_to(ctx.reference)) for name in reference.missing())
        values_unchecked = reference.values is None and bool(values)
        if values_unchecked and reference.chart is None:
            unchecked = "no reference data to check values and Kubernetes fit"
        elif values_unchecked:
            unchecked = "values not checked"
        elif reference.chart is None and values:
            # values.yaml is there (the values are checked below); Chart.yaml's kubeVersion is not.
            unchecked = "values checked, Kubernetes fit (Chart.yaml kubeVersion) not checked"
        elif reference.chart is None:
            unchecked = "no values set; Kubernetes fit (Chart.yaml kubeVersion) not checked"
        else:
            unchecked = ""
        if unchecked:
            yield Finding(UNVERIFIED_ID, release.urn, f"chart {chart} {version}: {unchecked}; missing {missing}")
        if reference.values is not None:
            dependencies = subcharts(reference.chart) & set(values)
            if dependencies:
                yield Finding(
                    UNVERIFIED_ID,
                    release.urn,
                    f"chart {chart} {version}: values for subcharts {', '.join(sorted(dependencies))} are not checked; "
                    "missing their values.yaml at the versions this chart pins (Chart.yaml dependencies)",
                )
            checked = {key: value for key, value in values.items() if key not in dependencies}
            for path in unknown_value_paths(checked, reference.values, reference.schema, FREE_FORM_MAPS.get(chart, frozenset())):
                # With a values.schema.json Helm validates the values before installing: a key the schema does not
                # admit fails the release. Without one Helm passes the key to templates that never read it.
                consequence = (
                    "the chart's values.schema.json rejects it, so the Helm release fails"
                    if reference.schema is not None
                    else "Helm ignores it silently"
                )
                yield Finding(
                    CHECK_ID,
                    release.urn,
                    f"values.{path}: not a value of chart {chart} {version} (values.yaml"
                    + (", values.schema.json" if reference.schema is not None else "")
                    + f"); {consequence}. Expected a key the chart reads",
                )
        for message in _default_credentials(chart, values, reference.values):
            yield Finding(CHECK_ID, release.urn, message)
        for message in _fits_kubernetes(chart, version, reference, cluster):
            yield Finding(CHECK_ID, release.urn, message)

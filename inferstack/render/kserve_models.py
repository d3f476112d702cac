"""The kserve SDK's typed API models, loaded without KServe's Python model server.

`import kserve` runs the package's `__init__`, which loads the model server
(fastapi, pandas, grpc, ...): about 1.4 s on our 2-core CI machines, half of a
100-model plan. The generated API models that InferenceServices are built from
live in `kserve.models` and need none of it. So, unless the full package is
already imported, this module registers a bare `kserve` package (its `__init__`
not run; inferstack/render/bare_packages.py) and loads `kserve.models` alone. Import
the models from here, not from `kserve`, so the order of imports never matters.
"""

from __future__ import annotations

from inferstack.render.bare_packages import register_bare_package

register_bare_package("kserve", exports_from="models")

from kserve.models import (  # noqa: E402 - needs the bare package registered first
    V1alpha1InferenceGraph as V1alpha1InferenceGraph,
    V1alpha1InferenceGraphSpec as V1alpha1InferenceGraphSpec,
    V1alpha1InferenceRouter as V1alpha1InferenceRouter,
    V1alpha1InferenceStep as V1alpha1InferenceStep,
    V1beta1AutoScalingSpec as V1beta1AutoScalingSpec,
    V1beta1Batcher as V1beta1Batcher,
    V1beta1ExternalMetrics as V1beta1ExternalMetrics,
    V1beta1ExternalMetricSource as V1beta1ExternalMetricSource,
    V1beta1InferenceService as V1beta1InferenceService,
    V1beta1InferenceServiceSpec as V1beta1InferenceServiceSpec,
    V1beta1LoggerSpec as V1beta1LoggerSpec,
    V1beta1MetricsSpec as V1beta1MetricsSpec,
    V1beta1MetricTarget as V1beta1MetricTarget,
    V1beta1ModelFormat as V1beta1ModelFormat,
    V1beta1ModelSpec as V1beta1ModelSpec,
    V1beta1PredictorSpec as V1beta1PredictorSpec,
)
from kserve.models.v1beta1_logger_storage_spec import (  # noqa: E402
    V1beta1LoggerStorageSpec as V1beta1LoggerStorageSpec,
)
import kserve.models as models  # noqa: E402
from kserve.configuration import Configuration  # noqa: E402

KSERVE_CONFIGURATION = Configuration()
"""One client configuration shared by every model object we build (client-side validation on).

Each kserve model otherwise builds its own Configuration (logging setup included): ~40 us a
model object, most of the cost of building an InferenceService."""

__all__ = [
    "KSERVE_CONFIGURATION",
    "V1alpha1InferenceGraph",
    "V1alpha1InferenceGraphSpec",
    "V1alpha1InferenceRouter",
    "V1alpha1InferenceStep",
    "V1beta1AutoScalingSpec",
    "V1beta1Batcher",
    "V1beta1ExternalMetricSource",
    "V1beta1ExternalMetrics",
    "V1beta1InferenceService",
    "V1beta1InferenceServiceSpec",
    "V1beta1LoggerSpec",
    "V1beta1LoggerStorageSpec",
    "V1beta1MetricTarget",
    "V1beta1MetricsSpec",
    "V1beta1ModelFormat",
    "V1beta1ModelSpec",
    "V1beta1PredictorSpec",
    "models",
]

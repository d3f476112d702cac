"""A single-GPU vision model, written as a Python spec."""

from inferstack.spec import (
    Accelerator,
    Artifact,
    Batching,
    EnvironmentOverride,
    Lineage,
    ModelSpec,
    Monitoring,
    RegistryMetadata,
    Resources,
    Rollout,
    Scaling,
    Serving,
    Signature,
    TensorSpec,
)
from inferstack.spec.model import Endpoint, ScalingOverride

product_vision = ModelSpec(
    name="product-vision",
    team="vision",
    owner="vision-team@example.com",
    description="Classifies catalogue photos into 2,400 product categories (ViT-B/16, ONNX, fp16).",
    artifact=Artifact(format="onnx", version="5.0.1"),
    signature=Signature(
        inputs=[TensorSpec(name="pixel_values", dtype="float32", shape=[None, 3, 224, 224])],
        outputs=[TensorSpec(name="logits", dtype="float32", shape=[None, 2400])],
    ),
    serving=Serving(
        protocol="v2",
        batching=Batching(max_batch_size=32, max_latency_ms=20),
        resources=Resources(cpu=4, memory_gib=16),
    ),
    accelerator=Accelerator(gpu_type="l4", gpus_per_replica=1, gpu_memory_gib=14),
    scaling=Scaling(min_replicas=2, max_replicas=8, metric="gpu-utilization", target=70),
    rollout=Rollout(strategy="canary", stable_version="5.0.0", canary_percent=20),
    # The catalogue service calls it through the gateway (with a token of serving.jwt where the stack requires one).
    endpoint=Endpoint(exposure="gateway", max_request_kib=2048),
    monitoring=Monitoring(
        latency_p95_ms=120,
        error_rate_percent=0.5,
        runbook_url="https://runbooks.example.com/vision/product-vision",
        alert_route="slack:#vision-alerts",
    ),
    registry=RegistryMetadata(
        lineage=Lineage(dataset="s3://vision-data/catalogue-photos", dataset_version="v14", training_run="mlflow://runs/7721"),
        metrics={"top1": 0.912, "top5": 0.987},
        stage="prod",
    ),
    environments={
        "dev": EnvironmentOverride(
            scaling=ScalingOverride(min_replicas=1, max_replicas=2),
            rollout=Rollout(strategy="direct"),
        ),
    },
)

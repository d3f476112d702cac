"""A small embedding model that shares a GPU with others (time-slicing), written as a Python spec."""

from inferstack.spec import (
    Accelerator,
    Artifact,
    Batching,
    Capacity,
    EnvironmentOverride,
    Lineage,
    ModelSpec,
    Monitoring,
    RegistryMetadata,
    Resources,
    Scaling,
    Serving,
    Signature,
    TensorSpec,
)
from inferstack.spec.model import ScalingOverride

query_embedder = ModelSpec(
    name="query-embedder",
    team="search",
    owner="search-relevance@example.com",
    description="Embeds search queries into 384-dimensional vectors (MiniLM, ONNX) for retrieval.",
    artifact=Artifact(format="onnx", version="1.8.0"),
    signature=Signature(
        inputs=[
            TensorSpec(name="input_ids", dtype="int64", shape=[None, 128]),
            TensorSpec(name="attention_mask", dtype="int64", shape=[None, 128]),
        ],
        outputs=[TensorSpec(name="embeddings", dtype="float32", shape=[None, 384])],
    ),
    serving=Serving(
        protocol="v2",
        batching=Batching(max_batch_size=128, max_latency_ms=10),
        resources=Resources(cpu=2, memory_gib=4),
    ),
    accelerator=Accelerator(gpu_type="t4", gpus_per_replica=1, gpu_memory_gib=3, shareable=True),
    capacity=Capacity(spot="preferred", instance_families=["g4dn"]),
    scaling=Scaling(min_replicas=2, max_replicas=10, metric="concurrency", target=32),
    monitoring=Monitoring(
        latency_p95_ms=30,
        error_rate_percent=0.5,
        runbook_url="https://runbooks.example.com/search/query-embedder",
        alert_route="slack:#search-alerts",
    ),
    registry=RegistryMetadata(
        lineage=Lineage(dataset="s3://search-data/query-logs", dataset_version="2026-09", code_ref="search-ml@9c1d20f"),
        metrics={"ndcg_at_10": 0.443},
        stage="prod",
    ),
    environments={
        "dev": EnvironmentOverride(scaling=ScalingOverride(min_replicas=1, max_replicas=2)),
        "staging": EnvironmentOverride(scaling=ScalingOverride(max_replicas=6)),
    },
)

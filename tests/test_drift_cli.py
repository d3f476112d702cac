"""gate --reference-data -> publish -> `inferstack drift run` on synthetic KServe payload logs in moto (127.0.0.1).

The logs are written where KServe v0.20.0's blob-store logger puts them for the
platform's logger settings (render/payload_logging.py), as its JSON marshaller
writes them (a LogRequest with the body base64-encoded).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.drift.payloads import REQUEST_TYPE, RESPONSE_TYPE
from inferstack.drift.store import profile_key, reports_prefix
from inferstack.render.payload_logging import payload_log_object_key
from tests.aws_fixtures import ModelStores
from tests.onnx_models import FEATURES, save, scorer_model, scorer_spec_document

COLUMNS = ["amount", "hour", "merchant", *[f"x{index:02d}" for index in range(FEATURES - 3)]]
TEAM, MODEL = "risk", "fraud-scorer"


def drift_spec_document(trigger: dict[str, Any], version: str = "1.0.0") -> dict[str, Any]:
    """The test scorer with named columns and a drift watch (two numeric features, one categorical, the predictions)."""
    document = scorer_spec_document(artifact={"format": "onnx", "version": version})
    document["signature"]["inputs"][0]["columns"] = COLUMNS
    document["monitoring"]["drift"] = {
        "features": [
            {"name": "amount", "type": "numeric"},
            {"name": "hour", "type": "numeric"},
            {"name": "merchant", "type": "categorical"},
        ],
        "predictions": True,
        "numeric": {"statistic": "psi", "warn": 0.1, "page": 0.5},
        "categorical": {"statistic": "jensen-shannon", "warn": 0.1, "page": 0.3},
        "window_minutes": 60,
        "min_samples": 300,
        "trigger": trigger,
    }
    return document


def rows(rng: np.random.Generator, count: int, shift: float) -> dict[str, np.ndarray]:
    """Synthetic traffic: `shift` moves amount (log scale) and hour, and skews merchants towards code 5."""
    weights = np.asarray([0.3, 0.25, 0.2, 0.15, 0.1]) + np.asarray([0, 0, 0, 0, 1.0]) * shift
    return {
        "amount": rng.lognormal(3 + shift, 1, count),
        "hour": np.clip(rng.normal(14 + 4 * shift, 4, count), 0, 23).round(),
        "merchant": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], count, p=weights / weights.sum()),
        "probability": rng.beta(2 + 3 * shift, 8, count),
    }


def write_reference_csv(path: Path, data: dict[str, np.ndarray]) -> Path:
    lines = ["amount,hour,merchant,probability,ignored"]
    lines += [f"{a:.5f},{h:.0f},{m:.0f},{p:.5f},x" for a, h, m, p in zip(data["amount"], data["hour"], data["merchant"], data["probability"], strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _log_request(identifier: str, kind: str, body: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "id": identifier,
            "reqType": kind,
            "contentType": "application/json",
            "bytes": base64.b64encode(json.dumps(body).encode()).decode(),
            "inferenceService": MODEL,
            "namespace": TEAM,
            "component": "predictor",
            "endpoint": "default",
            "occurrenceTime": "2026-12-06T10:00:00Z",
        }
    ).encode()


def put_traffic(stores: ModelStores, environment: str, data: dict[str, np.ndarray], batch: int = 50, prefix: str = "r", extra: bytes | None = None) -> None:
    """v2 requests of `batch` rows and their responses, one object each, at the keys KServe's blob store uses."""
    s3, bucket = stores.s3(environment), stores.buckets[environment]
    count = len(data["amount"])
    for index, start in enumerate(range(0, count, batch)):
        stop = min(count, start + batch)
        matrix = np.zeros((stop - start, FEATURES), dtype=np.float64)
        matrix[:, 0], matrix[:, 1], matrix[:, 2] = data["amount"][start:stop], data["hour"][start:stop], data["merchant"][start:stop]
        request = {"inputs": [{"name": "features", "shape": [stop - start, FEATURES], "datatype": "FP32", "data": matrix.ravel().tolist()}]}
        response = {"outputs": [{"name": "probability", "shape": [stop - start, 1], "datatype": "FP32", "data": data["probability"][start:stop].tolist()}]}
        identifier = f"{prefix}-{index}"
        for side, kind, body in (("request", REQUEST_TYPE, request), ("response", RESPONSE_TYPE, response)):
            key = payload_log_object_key(TEAM, TEAM, MODEL, "predictor", MODEL, "primary", identifier, side)
            s3.put_object(Bucket=bucket, Key=key, Body=_log_request(identifier, kind, body))
    if extra is not None:
        key = payload_log_object_key(TEAM, TEAM, MODEL, "predictor", MODEL, "primary", f"{prefix}-junk", "request")
        s3.put_object(Bucket=bucket, Key=key, Body=extra)


def clear_traffic(stores: ModelStores, environment: str) -> None:
    """Forget the logged traffic (the next window's logs replace it)."""
    s3, bucket = stores.s3(environment), stores.buckets[environment]
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"payload-logs/{TEAM}/")
    for item in listing.get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])


class GithubStandIn:
    """A local stand-in of GitHub's REST API: records repository_dispatch calls; answers 204 (or `status`)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str]] = []
        self.status = 204
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls.append((self.path, body, self.headers.get("Authorization", "")))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[GithubStandIn]:
    stand_in = GithubStandIn()
    monkeypatch.setenv("INFERSTACK_GITHUB_API_URL", stand_in.url)
    monkeypatch.setenv("INFERSTACK_GITHUB_TOKEN", "test-token")
    try:
        yield stand_in
    finally:
        stand_in.stop()


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


def setup(tmp_path: Path, trigger: dict[str, Any]) -> tuple[Path, Path]:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "scorer.yaml").write_text(yaml.safe_dump(drift_spec_document(trigger)), encoding="utf-8")
    model = save(scorer_model(), tmp_path / "model.onnx")
    return specs, model


GITHUB_TRIGGER = {"kind": "github", "repository": "example-org/risk-models", "event_type": "retrain-fraud-scorer", "token_secret": "github-dispatch"}


def drift_run(specs: Path, stores: ModelStores, textfile: Path) -> tuple[int, str, str]:
    return invoke("drift", "run", "--model", MODEL, "--stack", "dev", "--specs", str(specs), "--stacks", str(stores.stacks_dir), "--textfile", str(textfile))


def latest_report(stores: ModelStores) -> dict[str, Any]:
    s3, bucket = stores.s3(), stores.buckets["dev"]
    keys = sorted(
        item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=reports_prefix(TEAM, MODEL)).get("Contents", []) if item["Key"].endswith("/report.json")
    )
    return json.loads(s3.get_object(Bucket=bucket, Key=keys[-1])["Body"].read())


def test_gate_publish_then_no_drift_warn_page_and_exactly_one_trigger(model_stores: ModelStores, github: GithubStandIn, tmp_path: Path) -> None:
    specs, model = setup(tmp_path, GITHUB_TRIGGER)
    rng = np.random.default_rng(7)
    reference = write_reference_csv(tmp_path / "reference.csv", rows(rng, 4000, 0.0))
    common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
    textfile = tmp_path / "metrics" / "drift.prom"

    # 1. gate with reference data writes the profile; publish carries it next to the version's metadata.
    code, _, err = invoke("gate", str(model), "--spec", MODEL, "--specs", str(specs), "--iterations", "100", "--reference-data", str(reference))
    assert code == 0, err
    profile_file = tmp_path / "model.reference-profile.json"
    assert "reference profile: 4,000 rows, 4 distribution(s)" in err and profile_file.is_file()
    code, out, err = invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", "--reference-profile", str(profile_file), *common)
    assert code == 0, err
    assert "reference profile stored at s3://" in out
    stored = json.loads(model_stores.s3().get_object(Bucket=model_stores.buckets["dev"], Key=profile_key(TEAM, MODEL, "1.0.0"))["Body"].read())
    assert stored["version"] == "1.0.0" and [feature["name"] for feature in stored["features"]] == ["amount", "hour", "merchant"]

    # 2. Traffic like the reference: no alert, no trigger.
    put_traffic(model_stores, "dev", rows(rng, 1500, 0.0))
    code, out, err = drift_run(specs, model_stores, textfile)
    assert code == 0, err
    assert "level ok" in out.replace("\n", " ")
    report = latest_report(model_stores)
    assert report["level"] == "ok" and report["rows"] == 1500 and report["matched"] == 30
    assert 'inferstack_drift_level{model="fraud-scorer",environment="dev",version="1.0.0",feature="amount",kind="input"} 0' in textfile.read_text()
    assert github.calls == []

    # 3. A moderate shift: warn, still no trigger.
    clear_traffic(model_stores, "dev")
    put_traffic(model_stores, "dev", rows(rng, 1500, 0.35), prefix="w")
    code, out, err = drift_run(specs, model_stores, textfile)
    assert code == 0, err
    report = latest_report(model_stores)
    assert report["level"] == "warn", report["results"]
    assert github.calls == []

    # 4. A strong shift: page, and the trigger fires once for the window, however often the detector runs.
    clear_traffic(model_stores, "dev")
    put_traffic(model_stores, "dev", rows(rng, 1500, 1.0), prefix="p")
    for _ in range(3):
        code, out, err = drift_run(specs, model_stores, textfile)
        assert code == 0, err
    assert latest_report(model_stores)["level"] == "page"
    assert len(github.calls) == 1
    path, body, authorization = github.calls[0]
    assert path == "/repos/example-org/risk-models/dispatches" and authorization == "Bearer test-token"
    assert body["event_type"] == "retrain-fraud-scorer" and body["client_payload"]["model"] == MODEL
    assert "already fired this window" in latest_report(model_stores)["trigger_outcome"]
    markdown = model_stores.s3().list_objects_v2(Bucket=model_stores.buckets["dev"], Prefix=reports_prefix(TEAM, MODEL))
    assert any(item["Key"].endswith("/report.md") for item in markdown["Contents"])


def test_a_failed_trigger_is_released_for_the_next_run(model_stores: ModelStores, github: GithubStandIn, tmp_path: Path) -> None:
    specs, model = setup(tmp_path, GITHUB_TRIGGER)
    rng = np.random.default_rng(8)
    reference = write_reference_csv(tmp_path / "reference.csv", rows(rng, 3000, 0.0))
    common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
    code, _, err = invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", "--reference-data", str(reference), *common)
    assert code == 0, err
    put_traffic(model_stores, "dev", rows(rng, 1000, 1.0))
    github.status = 401
    code, out, err = drift_run(specs, model_stores, tmp_path / "m.prom")
    assert code == 1 and "failed: github:" in out.replace("\n", " ") and "401" in out.replace("\n", " ")
    github.status = 204
    code, out, err = drift_run(specs, model_stores, tmp_path / "m.prom")
    assert code == 0, err
    assert len(github.calls) == 2 and "fired: github" in latest_report(model_stores)["trigger_outcome"]


def test_malformed_log_lines_are_counted_and_skipped(model_stores: ModelStores, github: GithubStandIn, tmp_path: Path) -> None:
    specs, model = setup(tmp_path, {"kind": "none"})
    rng = np.random.default_rng(9)
    reference = write_reference_csv(tmp_path / "reference.csv", rows(rng, 3000, 0.0))
    common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
    code, _, err = invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", "--reference-data", str(reference), *common)
    assert code == 0, err
    junk = b"\n".join([b"{truncated", b"", json.dumps({"id": "q", "reqType": "org.example.other", "bytes": ""}).encode(), b"\xff\xfe not utf-8"])
    put_traffic(model_stores, "dev", rows(rng, 600, 0.0), extra=junk)
    textfile = tmp_path / "m.prom"
    code, out, err = drift_run(specs, model_stores, textfile)
    assert code == 0, err
    report = latest_report(model_stores)
    assert report["rows"] == 600 and report["level"] == "ok"
    assert report["malformed"] == {"malformed JSON line": 2, "record: unknown type": 1}
    assert 'inferstack_drift_malformed_records{model="fraud-scorer",environment="dev",version="1.0.0"} 3' in textfile.read_text()


def test_report_markdown_has_plots_only_with_the_plots_extra(model_stores: ModelStores, tmp_path: Path) -> None:
    specs, model = setup(tmp_path, {"kind": "none"})
    rng = np.random.default_rng(10)
    reference = write_reference_csv(tmp_path / "reference.csv", rows(rng, 2000, 0.0))
    common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
    code, _, err = invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", "--reference-data", str(reference), *common)
    assert code == 0, err
    put_traffic(model_stores, "dev", rows(rng, 400, 0.0))
    code, _, err = drift_run(specs, model_stores, tmp_path / "m.prom")
    assert code == 0, err
    s3, bucket = model_stores.s3(), model_stores.buckets["dev"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=reports_prefix(TEAM, MODEL))["Contents"]]
    [markdown_key] = [key for key in keys if key.endswith("/report.md")]
    text = s3.get_object(Bucket=bucket, Key=markdown_key)["Body"].read().decode()
    assert "| amount | input (numeric) | psi |" in text
    plots = sorted(key.rsplit("/", 1)[1] for key in keys if "/plots/" in key)
    try:
        import matplotlib  # noqa: F401  # pyright: ignore[reportMissingImports]
    except ImportError:
        assert plots == [] and "matplotlib is not installed" in text and "drift-plots" in text
    else:
        assert plots == ["amount.png", "hour.png", "merchant.png", "prediction.png"]
        assert "![amount](plots/amount.png)" in text


def test_missing_reference_profile_is_a_clear_error(model_stores: ModelStores, tmp_path: Path) -> None:
    specs, model = setup(tmp_path, {"kind": "none"})
    common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
    # A spec that watches drift cannot be published without reference data; nothing is uploaded.
    code, _, err = invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", *common)
    assert code == 2
    assert "expected --reference-data FILE" in err and len(err.strip().splitlines()) == 1
    assert "Contents" not in model_stores.s3().list_objects_v2(Bucket=model_stores.buckets["dev"])
    # A version published before the drift watch (no profile in the store): the detector names the flag.
    code, _, err = drift_run(specs, model_stores, tmp_path / "m.prom")
    assert code == 2
    assert f"{profile_key(TEAM, MODEL, '1.0.0')}: --reference-data: version 1.0.0 of {MODEL} has no reference profile" in err
    assert not (tmp_path / "m.prom").exists()


def test_reference_data_problems_get_one_line_each(model_stores: ModelStores, tmp_path: Path) -> None:
    specs, model = setup(tmp_path, {"kind": "none"})
    bad = tmp_path / "bad.csv"
    bad.write_text("amount,hour,probability\n1.0,2,0.1\nabc,3,0.2\n", encoding="utf-8")
    code, _, err = invoke("gate", str(model), "--spec", MODEL, "--specs", str(specs), "--reference-data", str(bad))
    assert code == 2
    assert "bad.csv: header: no column 'merchant'" in err
    bad.write_text("amount,hour,merchant,probability\n1.0,2,3,0.1\nabc,3,1,0.2\n", encoding="utf-8")
    code, _, err = invoke("gate", str(model), "--spec", MODEL, "--specs", str(specs), "--reference-data", str(bad))
    assert code == 2 and "bad.csv: line 3, column amount: 'abc' is not a number" in err
    code, _, err = invoke("gate", str(model), "--spec", MODEL, "--specs", str(specs), "--reference-data", str(tmp_path / "x.parquet"))
    assert code == 2 and "--reference-data" in err


def _queue_for(stores: ModelStores) -> tuple[object, str, str]:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="retraining")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs, url, arn


def _messages(sqs: Any, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return found
        found.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.mark.parametrize("kind", ["sns", "eventbridge"])
def test_sns_and_eventbridge_triggers_deliver_once_per_window(model_stores: ModelStores, tmp_path: Path, kind: str) -> None:
    import boto3

    from inferstack.drift.keys import EVENT_SOURCE, retraining_topic_name

    sqs, queue_url, queue_arn = _queue_for(model_stores)
    if kind == "sns":
        sns = boto3.client("sns", region_name="us-east-1")
        topic = sns.create_topic(Name=retraining_topic_name("dev", MODEL))["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    else:
        events = boto3.client("events", region_name="us-east-1")
        pattern = {"source": [EVENT_SOURCE], "detail": {"model": [MODEL]}}
        events.put_rule(Name="retrain", EventPattern=json.dumps(pattern), EventBusName="default")
        events.put_targets(Rule="retrain", EventBusName="default", Targets=[{"Id": "queue", "Arn": queue_arn}])
    specs, model = setup(tmp_path, {"kind": kind})
    rng = np.random.default_rng(11)
    reference = write_reference_csv(tmp_path / "reference.csv", rows(rng, 3000, 0.0))
    common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
    code, _, err = invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", "--reference-data", str(reference), *common)
    assert code == 0, err
    put_traffic(model_stores, "dev", rows(rng, 1000, 1.0))
    for _ in range(2):
        code, out, err = drift_run(specs, model_stores, tmp_path / "m.prom")
        assert code == 0, out + err
    messages = _messages(sqs, queue_url)
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    payload = json.loads(body["Message"]) if kind == "sns" else body["detail"]
    assert payload["model"] == MODEL and payload["level"] == "page" and payload["version"] == "1.0.0"


def test_metrics_are_pushed_to_the_pushgateway(model_stores: ModelStores, tmp_path: Path) -> None:
    received: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server's naming
            received.append((self.command, self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        specs, model = setup(tmp_path, {"kind": "none"})
        rng = np.random.default_rng(12)
        reference = write_reference_csv(tmp_path / "reference.csv", rows(rng, 2000, 0.0))
        common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
        assert invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", "--reference-data", str(reference), *common)[0] == 0
        put_traffic(model_stores, "dev", rows(rng, 400, 0.0))
        gateway = f"http://127.0.0.1:{server.server_address[1]}"
        code, _, err = invoke("drift", "run", "--model", MODEL, "--stack", "dev", *common, "--pushgateway", gateway)
        assert code == 0, err
    finally:
        server.shutdown()
        server.server_close()
    [(method, path, body)] = received
    assert path == "/metrics/job/inferstack-drift/model/fraud-scorer/environment/dev"
    assert b"# TYPE inferstack_drift_level gauge" in body and b"inferstack_drift_samples" in body


def test_promote_carries_the_reference_profile(model_stores: ModelStores, tmp_path: Path) -> None:
    specs, model = setup(tmp_path, {"kind": "none"})
    reference = write_reference_csv(tmp_path / "reference.csv", rows(np.random.default_rng(13), 1000, 0.0))
    common = ["--specs", str(specs), "--stacks", str(model_stores.stacks_dir)]
    assert invoke("publish", str(model), "--spec", MODEL, "--version", "1.0.0", "--reference-data", str(reference), *common)[0] == 0
    code, _, err = invoke("promote", MODEL, "1.0.0", "--to", "staging", "--stacks", str(model_stores.stacks_dir))
    assert code == 0, err
    staged = model_stores.s3("staging").get_object(Bucket=model_stores.buckets["staging"], Key=profile_key(TEAM, MODEL, "1.0.0"))["Body"].read()
    dev = model_stores.s3().get_object(Bucket=model_stores.buckets["dev"], Key=profile_key(TEAM, MODEL, "1.0.0"))["Body"].read()
    assert staged == dev

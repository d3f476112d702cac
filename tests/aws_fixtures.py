"""AWS stand-ins for tests: a moto server on 127.0.0.1 (free port), fake credentials, KMS key and model store buckets.

The server answers one request at a time. Real S3 applies conditional writes
(If-None-Match: *) atomically; moto's threaded server checks and then writes in
two steps, so two requests racing inside it could both pass. Serving requests
one at a time gives the atomicity the registry relies on, while two publishing
threads still interleave freely between requests.
"""

from __future__ import annotations

import logging
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from inferstack.constants import ENVIRONMENTS
from inferstack.spec.loader import load_environment

REPO_STACKS = Path(__file__).resolve().parents[1] / "stacks"


class _OneRequestPerConnection(MotoRequestHandler):
    """HTTP/1.0: the connection closes after each response, so a single-threaded server never waits on an idle client."""

    protocol_version = "HTTP/1.0"


class LocalAwsServer:
    """A moto server on 127.0.0.1 that can be stopped (to simulate an outage) and started again on the same port."""

    def __init__(self) -> None:
        self.port = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving (on a free port the first time, the same port afterwards)."""
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", self.port, app, threaded=False, request_handler=_OneRequestPerConnection)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the port (clients then get 'connection refused'). moto's state stays in memory."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    def reset(self) -> None:
        """Forget every bucket, key and object (moto's reset API)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local test server
            response.read()


@dataclass
class ModelStores:
    """The KMS key and the model store bucket of each environment, created on the local server."""

    server: LocalAwsServer
    kms_key_arn: str
    buckets: dict[str, str]
    regions: dict[str, str]
    stacks_dir: Path = REPO_STACKS

    def s3(self, environment: str = "dev") -> Any:
        """A boto3 S3 client for the environment's region (standard settings, pointed at the local server)."""
        return boto3.client("s3", region_name=self.regions[environment])


@pytest.fixture
def aws_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LocalAwsServer]:
    """A fresh moto server on 127.0.0.1 with fake credentials and AWS_ENDPOINT_URL set; stopped afterwards."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = LocalAwsServer()
    server.start()
    server.reset()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("USER", "test-user")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def model_stores(aws_server: LocalAwsServer) -> ModelStores:
    """One KMS key and the dev/staging/prod model store buckets named in the repository's stack files, each encrypting with the key."""
    regions = {env: load_environment(REPO_STACKS, env).region for env in ENVIRONMENTS}
    buckets = {env: load_environment(REPO_STACKS, env).model_store.bucket for env in ENVIRONMENTS}
    key_arn = str(boto3.client("kms", region_name="us-east-1").create_key(Description="model store")["KeyMetadata"]["Arn"])
    for env in ENVIRONMENTS:
        s3 = boto3.client("s3", region_name=regions[env])
        if regions[env] == "us-east-1":
            s3.create_bucket(Bucket=buckets[env])
        else:
            s3.create_bucket(Bucket=buckets[env], CreateBucketConfiguration={"LocationConstraint": regions[env]})
        s3.put_bucket_encryption(
            Bucket=buckets[env],
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]
            },
        )
    return ModelStores(server=aws_server, kms_key_arn=key_arn, buckets=buckets, regions=regions)

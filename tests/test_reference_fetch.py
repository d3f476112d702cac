"""`inferstack reference fetch`: the readiness checks' upstream data, downloaded and verified, all or nothing.

The mirror is an HTTP server on 127.0.0.1 that answers `<repository>/<tag>/<path>` from the
shared reference folder, as raw.githubusercontent.com would from upstream.
"""

from __future__ import annotations

import csv
import hashlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inferstack.cli import app
from inferstack.readiness.reference import load_crd
from inferstack.readiness.reference_fetch import ReferenceSource, load_sources

pytestmark = pytest.mark.usefixtures("no_progress_lines")


Tamper = Callable[[ReferenceSource, bytes], bytes | None]
"""What the mirror serves for a listed file, given its true bytes (None: 404)."""


def _mirror(reference: Path, tamper: Tamper) -> Iterator[str]:
    by_url_path = {f"/{s.repository}/{s.ref}/{s.path}": s for s in load_sources()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
            source = by_url_path.get(self.path)
            body = tamper(source, (reference / source.file).read_bytes()) if source is not None else None
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mirror(reference: Path) -> Iterator[str]:
    """A faithful mirror of the listed upstream files."""
    yield from _mirror(reference, lambda _source, data: data)


def test_the_manifest_lists_every_shared_reference_file_with_its_hash(reference: Path) -> None:
    with (reference / "SOURCES.tsv").open(encoding="utf-8", newline="") as handle:
        shared = [(row["file"], row["repository"], row["ref"], row["path"]) for row in csv.DictReader(handle, delimiter="\t")]
    listed = load_sources()
    assert [(s.file, s.repository, s.ref, s.path) for s in listed] == shared
    for source in listed:
        assert hashlib.sha256((reference / source.file).read_bytes()).hexdigest() == source.sha256, source.file


def test_fetch_builds_the_folder_the_checks_read(tmp_path: Path, reference: Path, mirror: str) -> None:
    target = tmp_path / "reference"
    result = CliRunner().invoke(app, ["reference", "fetch", "--to", str(target), "--base-url", mirror])
    assert result.exit_code == 0, result.output
    sources = load_sources()
    assert f"wrote {len(sources)} reference files" in result.stdout
    for source in sources:
        assert (target / source.file).read_bytes() == (reference / source.file).read_bytes(), source.file
    assert (target / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[0] == "file\trepository\tref\tpath"
    assert not [path for path in target.iterdir() if path.name.startswith(".inferstack-reference-")]  # no staging left
    assert load_crd(target / "crds" / "kserve-v0.20.0", "serving.kserve.io", "InferenceService") is not None
    # The folder is usable as INFERSTACK_REFERENCE; a second fetch into it needs --replace.
    again = CliRunner().invoke(app, ["reference", "fetch", "--to", str(target), "--base-url", mirror])
    assert again.exit_code == 2 and "already holds reference data (crds/); expected an empty folder, or --replace" in again.stderr
    replaced = CliRunner().invoke(app, ["reference", "fetch", "--to", str(target), "--base-url", mirror, "--replace"])
    assert replaced.exit_code == 0, replaced.output


def test_a_changed_or_missing_upstream_file_writes_nothing(tmp_path: Path, reference: Path) -> None:
    changed, missing = "charts/keda-2.20.2/values.yaml", "crds/istio-1.30.3/crd-all.gen.yaml"

    def tamper(source: ReferenceSource, data: bytes) -> bytes | None:
        if source.file == missing:
            return None
        return data + b"\n# changed\n" if source.file == changed else data

    target = tmp_path / "reference"
    for base in _mirror(reference, tamper):
        result = CliRunner().invoke(app, ["reference", "fetch", "--to", str(target), "--base-url", base])
        assert result.exit_code == 1, result.output
        lines = result.stderr.splitlines()
        assert any(line.startswith(f"{changed}: ") and "has SHA-256" in line and "(upstream changed at v2.20.2); not written" in line for line in lines), lines
        assert any(line.startswith(f"{missing}: could not fetch {base}/istio/istio/1.30.3/") for line in lines), lines
        assert lines[-1] == f"reference fetch: nothing written to {target}"
        assert "Traceback" not in result.output
    assert not target.exists()  # the folder it would have created is not left behind


def test_a_plain_http_base_url_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["reference", "fetch", "--to", str(tmp_path / "r"), "--base-url", "http://mirror.example.com"])
    assert result.exit_code == 2
    assert "reference fetch: --base-url: 'http://mirror.example.com' is not https; expected an https:// mirror" in result.stderr
    assert not (tmp_path / "r").exists()


def test_a_plain_http_base_url_from_the_environment_is_refused_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERSTACK_REFERENCE_BASE_URL", "http://mirror.example.com")
    result = CliRunner().invoke(app, ["reference", "fetch", "--to", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "reference fetch: INFERSTACK_REFERENCE_BASE_URL: 'http://mirror.example.com' is not https" in result.stderr
    assert not (tmp_path / "r").exists()


def test_the_manifest_stays_inside_crds_and_charts(tmp_path: Path) -> None:
    manifest = tmp_path / "sources.tsv"
    manifest.write_text("file\trepository\tref\tpath\tsha256\n../../etc/x\to/r\tv1\tp\t00\n", encoding="utf-8")
    with pytest.raises(ValueError, match="outside crds/ and charts/"):
        load_sources(manifest)

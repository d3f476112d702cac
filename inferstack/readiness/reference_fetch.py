"""Download the upstream reference data (CRDs, chart defaults) the deploy-readiness checks read.

The checks look for `../shared/reference` beside the repository (or the folder named by
INFERSTACK_REFERENCE). Outside the environment that provides it, `inferstack reference fetch`
builds the same folder from upstream: every file listed in `reference_sources.tsv` (the
folder's file name, the upstream repository, tag and path, and the file's SHA-256) is read
from `<base>/<repository>/<tag>/<path>` (raw.githubusercontent.com by default), checked
against its SHA-256, and only when every file arrived intact is the folder written, with a
SOURCES.tsv like the original's. A file whose upstream content changed (a moved tag, the one
entry that follows a branch head) is reported, never written.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from inferstack.problems import InputError, Problem

SOURCES_FILE = Path(__file__).with_name("reference_sources.tsv")
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
BASE_URL_ENV = "INFERSTACK_REFERENCE_BASE_URL"
MAX_FILE_BYTES = 32 * 1024 * 1024
"""Largest file accepted (the largest listed, a KServe CRD, is about 2.2 MB)."""
TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class ReferenceSource:
    """One reference file: where it goes in the folder, where it comes from upstream, and its SHA-256."""

    file: str
    repository: str
    ref: str
    path: str
    sha256: str

    def url(self, base_url: str) -> str:
        """The file's raw URL under `base_url`."""
        return f"{base_url.rstrip('/')}/{self.repository}/{self.ref}/{self.path}"


class ReferenceFetchError(Exception):
    """Files that could not be fetched or verified: one message per file; nothing was written."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def load_sources(path: Path = SOURCES_FILE) -> list[ReferenceSource]:
    """The listed reference files, in the listed order."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    sources = [ReferenceSource(row["file"], row["repository"], row["ref"], row["path"], row["sha256"]) for row in rows]
    for source in sources:
        parts = PurePosixPath(source.file).parts
        if PurePosixPath(source.file).is_absolute() or ".." in parts or parts[0] not in ("crds", "charts"):
            raise ValueError(f"{path.name}: file {source.file!r} is outside crds/ and charts/")
    return sources


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "inferstack-reference-fetch"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - https by default; the base is the caller's
        data = response.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data


LOCAL_HTTP_PREFIXES = ("http://127.0.0.1", "http://localhost")
"""Plain-HTTP bases accepted: a mirror on this machine (tests, an air-gapped cache); anything else must be https."""


def resolve_base_url(base_url: str | None) -> str:
    """The base the files are read from: `base_url`, else INFERSTACK_REFERENCE_BASE_URL, else raw.githubusercontent.com.

    Raises InputError for a base that is neither https nor on this machine, whichever way it was given.
    """
    named = os.environ.get(BASE_URL_ENV)
    base = base_url or named or DEFAULT_BASE_URL
    if not base.startswith(("https://", *LOCAL_HTTP_PREFIXES)):
        field = "--base-url" if base_url else BASE_URL_ENV
        raise InputError([Problem("reference fetch", field, f"{base!r} is not https; expected an https:// mirror")])
    return base


def fetch_reference(
    destination: Path,
    *,
    base_url: str | None = None,
    sources: Sequence[ReferenceSource] | None = None,
    download: Callable[[str], bytes] = _download,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Fetch every listed file into `destination` (crds/, charts/, SOURCES.tsv); return how many were written.

    All files are downloaded and verified into a temporary folder first. Raises
    ReferenceFetchError, writing nothing, when any file cannot be fetched or its SHA-256
    differs from the listed one, and InputError for a base URL that is not https
    (resolve_base_url). Files already in `destination` are replaced.
    """
    base = resolve_base_url(base_url)
    listed = list(sources if sources is not None else load_sources())
    created = not destination.exists()
    destination.mkdir(parents=True, exist_ok=True)
    try:
        return _fetch_into(destination, base, listed, download, progress)
    except ReferenceFetchError:
        if created:
            destination.rmdir()  # the staging folder is gone already: leave no trace of a failed fetch
        raise


def _fetch_into(
    destination: Path,
    base: str,
    listed: Sequence[ReferenceSource],
    download: Callable[[str], bytes],
    progress: Callable[[str], None] | None,
) -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix=".inferstack-reference-", dir=destination) as staging_name:
        staging = Path(staging_name)
        for index, source in enumerate(listed, start=1):
            if progress is not None:
                progress(f"{index}/{len(listed)} {source.file}")
            url = source.url(base)
            try:
                data = download(url)
            except (urllib.error.URLError, OSError, ValueError) as error:
                reason = getattr(error, "reason", None) or error
                problems.append(f"{source.file}: could not fetch {url} ({reason}); expected the file at that tag")
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != source.sha256:
                problems.append(
                    f"{source.file}: {url} has SHA-256 {digest[:16]}…, expected {source.sha256[:16]}… "
                    f"(upstream changed at {source.ref}); not written"
                )
                continue
            target = staging / source.file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if problems:
            raise ReferenceFetchError(problems)
        lines = ["file\trepository\tref\tpath"] + [f"{s.file}\t{s.repository}\t{s.ref}\t{s.path}" for s in listed]
        (staging / "SOURCES.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for source in listed:
            target = destination / source.file
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / source.file, target)
        os.replace(staging / "SOURCES.tsv", destination / "SOURCES.tsv")
    return len(listed)

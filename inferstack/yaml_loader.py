"""Hardened YAML loading for every YAML file inferstack reads (specs, stack files, the price catalogue).

libyaml parses, and this module builds the Python values from its event stream,
without recursion, so that no input can hang, exhaust memory or crash the process:

- a size limit, checked before the file is read;
- a nesting-depth limit, checked event by event while parsing (libyaml's scanner
  is quadratic in nesting depth and PyYAML's composer recursive in C: 100,000
  nested lists took minutes and then segfaulted), so parsing stops at the limit;
- aliases bounded: the count of nodes including every alias expansion is limited
  ("billion laughs" stops at the limit), and recursive aliases are refused;
- duplicate keys are errors naming the key's path and both line numbers;
- only the YAML 1.1 core tags of PyYAML's safe loader (no `!!python/...`, no
  `!!set`/`!!omap`).

Values are what `yaml.safe_load` gives for the same text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import Mark, MarkedYAMLError
from yaml.resolver import Resolver

SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader, or PyYAML's pure-Python one where libyaml is missing (the parser only)."""

MAX_BYTES = 4 * 1024 * 1024
"""Largest YAML file read (4 MiB; a 200-model fleet's largest spec file is a few KiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences (a spec nests about 6 levels)."""
MAX_NODES = 50_000
"""Most values in one file, counting every alias expansion (bounds what any consumer walks; a spec has about 60)."""

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_TAGS = frozenset(
    {
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:binary",
        "tag:yaml.org,2002:timestamp",
        _STR,
    }
)


class UnsafeYamlError(MarkedYAMLError):
    """YAML refused by the hardened loader (too large, too deep, alias bomb, duplicate key, unsupported tag)."""

    def __init__(self, problem: str, mark: Mark | None = None, path: str = "") -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.path = path


@dataclass(frozen=True, slots=True)
class YamlIssue:
    """One problem with a YAML text: where (field path or line/column) and what."""

    where: str
    message: str


class YamlLoadError(Exception):
    """Every problem found in one YAML text (duplicate keys are all collected; a limit stops at once)."""

    def __init__(self, issues: list[YamlIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{issue.where}: {issue.message}" for issue in issues))


def _where(mark: Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


@dataclass(slots=True)
class _Frame:
    """A mapping or sequence being built."""

    value: Any
    is_map: bool
    anchor: str | None
    mark: Mark | None
    path: str
    size: int = 1
    key: Any = None
    has_key: bool = False
    key_line: int = 0
    key_lines: dict[Any, int] = field(default_factory=dict)
    merges: list[dict[Any, Any]] = field(default_factory=list)


class _Merge:
    """The `<<` merge key."""


_MERGE_KEY = _Merge()
_resolver = Resolver()
_constructor = SafeConstructor()


def _key_text(key: Any) -> str:
    text = key if isinstance(key, str) else repr(key)
    return text if len(text) <= 60 else text[:57] + "..."


def _child_path(frame: _Frame) -> str:
    if frame.is_map:
        part = _key_text(frame.key)
        return f"{frame.path}.{part}" if frame.path else part
    return f"{frame.path}[{len(frame.value)}]"


def _scalar(event: Any) -> Any:
    tag = event.tag
    if tag is None or tag == "!":
        tag = _resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STR:
        return event.value
    if tag == _MERGE:
        return _MERGE_KEY
    if tag not in _SCALAR_TAGS:
        raise UnsafeYamlError(f"unsupported tag {_key_text(tag)}; expected plain YAML values", event.start_mark)
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return SafeConstructor.yaml_constructors[tag](_constructor, node)
    except (ConstructorError, ValueError, TypeError) as error:
        raise UnsafeYamlError(f"cannot read {_key_text(event.value)} as {tag.rsplit(':', 1)[-1]} ({error})", event.start_mark) from None


def _collection_tag(event: Any, node_class: type[yaml.Node], expected: str) -> None:
    tag = event.tag
    if tag is None or tag == "!":
        return
    if tag != expected:
        raise UnsafeYamlError(f"unsupported tag {_key_text(tag)}; expected plain YAML mappings and lists", event.start_mark)
    del node_class


def _events(text: str | IO[str]) -> Any:
    loader = SafeLoader(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def load_all(
    text: str | IO[str], *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> list[Any]:
    """Every document of `text` (None for empty documents), as `yaml.safe_load_all` would give them.

    Raises YamlLoadError with every duplicate key, or the first limit or syntax problem met
    (a syntax error comes as a YamlIssue at its line and column).
    """
    issues: list[YamlIssue] = []
    documents: list[Any] = []
    try:
        _build(text, documents, issues, max_depth, max_nodes)
    except UnsafeYamlError as error:
        issues.append(YamlIssue(error.path or _where(error.problem_mark), str(error.problem)))
    except yaml.MarkedYAMLError as error:
        reason = error.problem or str(error).splitlines()[0]
        issues.append(YamlIssue(_where(error.problem_mark) or "YAML", f"invalid YAML: {reason}; expected well-formed YAML"))
    except yaml.YAMLError as error:
        issues.append(YamlIssue("YAML", f"invalid YAML: {str(error).splitlines()[0] if str(error) else type(error).__name__}; expected well-formed YAML"))
    if issues:
        raise YamlLoadError(issues)
    return documents


def _build(text: str | IO[str], documents: list[Any], issues: list[YamlIssue], max_depth: int, max_nodes: int) -> None:
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    building: set[str] = set()
    nodes = 0
    root: Any = None

    def add(value: Any, size: int, anchor: str | None, mark: Mark | None) -> None:
        nonlocal root
        if anchor is not None:
            anchors[anchor] = (value, size)
        if not stack:
            root = value
            return
        frame = stack[-1]
        frame.size += size
        if not frame.is_map:
            frame.value.append(value)
            return
        if not frame.has_key:
            if isinstance(value, (dict, list)):
                raise UnsafeYamlError("a mapping or list used as a key; expected plain keys", mark, frame.path)
            frame.key, frame.has_key = value, True
            frame.key_line = mark.line + 1 if mark is not None else 0
            return
        key = frame.key
        frame.has_key = False
        if key is _MERGE_KEY:
            sources = value if isinstance(value, list) else [value]
            if not all(isinstance(source, dict) for source in sources):
                raise UnsafeYamlError("'<<' merges a non-mapping; expected a mapping or a list of mappings", mark, frame.path)
            frame.merges.extend(sources)
            return
        try:
            earlier = frame.key_lines.get(key)
        except TypeError:
            raise UnsafeYamlError("an unhashable key; expected plain keys", mark, frame.path) from None
        if earlier is not None:
            path = f"{frame.path}.{_key_text(key)}" if frame.path else _key_text(key)
            issues.append(
                YamlIssue(path, f"duplicate key '{_key_text(key)}' at lines {earlier} and {frame.key_line}; expected each key once")
            )
            return
        frame.key_lines[key] = frame.key_line
        frame.value[key] = value

    for event in _events(text):
        kind = type(event)
        if kind is yaml.ScalarEvent:
            nodes += 1
            add(_scalar(event), 1, event.anchor, event.start_mark)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            nodes += 1
            if len(stack) >= max_depth:
                raise UnsafeYamlError(
                    f"nesting deeper than {max_depth} levels; expected a shallower document", event.start_mark
                )
            is_map = kind is yaml.MappingStartEvent
            _collection_tag(event, yaml.MappingNode if is_map else yaml.SequenceNode, _MAP if is_map else _SEQ)
            path = _child_path(stack[-1]) if stack else ""
            if event.anchor is not None:
                building.add(event.anchor)
            stack.append(_Frame({} if is_map else [], is_map, event.anchor, event.start_mark, path))
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            frame = stack.pop()
            value = frame.value
            if frame.merges:
                merged: dict[Any, Any] = {}
                for source in frame.merges:
                    for key, item in source.items():
                        merged.setdefault(key, item)
                merged.update(value)
                value = merged
            if frame.anchor is not None:
                building.discard(frame.anchor)
            add(value, frame.size, frame.anchor, frame.mark)
        elif kind is yaml.AliasEvent:
            if event.anchor in building:
                raise UnsafeYamlError(f"alias *{_key_text(event.anchor)} refers to itself; expected no recursive aliases", event.start_mark)
            found = anchors.get(event.anchor)
            if found is None:
                raise UnsafeYamlError(f"alias *{_key_text(event.anchor)} has no anchor; expected &{_key_text(event.anchor)} before it", event.start_mark)
            value, size = found
            nodes += size
            if nodes > max_nodes:
                raise UnsafeYamlError(
                    f"aliases expand to more than {max_nodes:,} values; expected a document without alias bombs", event.start_mark
                )
            add(value, size, None, event.start_mark)
        elif kind is yaml.DocumentStartEvent:
            anchors.clear()
            root = None
        elif kind is yaml.DocumentEndEvent:
            documents.append(root)
        if nodes > max_nodes:
            raise UnsafeYamlError(f"more than {max_nodes:,} values; expected a smaller document", getattr(event, "start_mark", None))


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of `path`, refusing files over `max_bytes` before reading them.

    Raises YamlLoadError (too large, unreadable, not UTF-8).
    """
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise YamlLoadError(
                [YamlIssue("", f"the file is {size:,} bytes; expected at most {max_bytes:,} bytes of YAML")]
            )
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise YamlLoadError([YamlIssue("", f"cannot read the file ({error.strerror or error}); expected a readable file")]) from None
    if len(data) > max_bytes:
        raise YamlLoadError([YamlIssue("", f"the file is over {max_bytes:,} bytes; expected at most {max_bytes:,} bytes of YAML")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise YamlLoadError([YamlIssue("", f"not UTF-8 text (byte {error.start}); expected UTF-8 YAML")]) from None


def load_file(path: Path, *, max_bytes: int = MAX_BYTES) -> list[Any]:
    """Every document of the YAML file at `path` (see `load_all`); YamlLoadError on any problem."""
    return load_all(read_text(path, max_bytes=max_bytes))


def safe_load(source: str | IO[str]) -> Any:
    """The first document of `source`, like `yaml.safe_load`, through the hardened loader.

    Raises UnsafeYamlError (a `yaml.YAMLError`) on any problem, so callers catching
    `yaml.YAMLError` keep working.
    """
    try:
        documents = load_all(source)
    except YamlLoadError as error:
        first = error.issues[0]
        raise UnsafeYamlError(f"{first.where}: {first.message}" if first.where else first.message) from None
    return documents[0] if documents else None

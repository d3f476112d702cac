"""A small PromQL parser and evaluator for the subset inferstack emits, so its queries are proven offline.

Parses: numbers, strings, vector selectors (metric names with ':' too, `{...}` matchers
=, !=, =~, !~), range selectors `[5m]`, `offset`, aggregations (sum, avg, max, min,
count with `by`/`without`, before or after the argument), functions (rate, increase,
histogram_quantile, clamp_min, clamp_max, scalar, vector, abs, absent, time), unary minus,
arithmetic (+ - * / %), comparisons (== != > < >= <=, with `bool`), set operators
(and, or, unless) and vector matching (`on`, `ignoring`, `group_left`, `group_right`),
with Prometheus' operator precedence. Anything else is a `PromQLError`: an expression we
emit that this parser rejects is a bug to look at, not something to wave through.

Evaluates instant queries at a time `t` over an in-memory `SeriesStore`. Differences from
Prometheus, kept small on purpose: `rate`/`increase` take the slope between the first and
last sample in the window (counter resets handled, no extrapolation to the window's edges);
the instant lookback is 5 minutes. That is exact for the evenly sampled synthetic series
the tests build.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Union

LOOKBACK_SECONDS = 300.0
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
AGGREGATIONS = frozenset({"sum", "avg", "max", "min", "count"})
FUNCTIONS = frozenset({"rate", "increase", "histogram_quantile", "clamp_min", "clamp_max", "scalar", "vector", "abs", "absent", "time"})
COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
SET_OPERATORS = ("and", "or", "unless")
KEYWORDS = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", *SET_OPERATORS})


class PromQLError(ValueError):
    """The expression is outside the supported subset, or malformed."""


# --- AST ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    """A scalar literal."""

    value: float


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher."""

    name: str
    op: str
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether a series' labels satisfy the matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        full = re.fullmatch(self.value, actual) is not None
        return full if self.op == "=~" else not full


@dataclass(frozen=True, slots=True)
class Selector:
    """A vector selector, optionally a range (`range_seconds`) and an offset."""

    matchers: tuple[Matcher, ...]
    range_seconds: float | None = None
    offset_seconds: float = 0.0

    def metric_names(self) -> set[str]:
        """Metric names the selector can match: its name, or the alternatives of a `__name__=~"a|b"` matcher."""
        names: set[str] = set()
        for matcher in self.matchers:
            if matcher.name != "__name__":
                continue
            if matcher.op == "=":
                names.add(matcher.value)
            elif matcher.op == "=~" and re.fullmatch(r"[A-Za-z0-9_:|]+", matcher.value):
                names.update(matcher.value.split("|"))
            else:
                raise PromQLError(f"metric name matcher {matcher.op}{matcher.value!r} is not a plain list of names")
        return names


@dataclass(frozen=True, slots=True)
class Call:
    """A function call."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Aggregate:
    """An aggregation, grouped `by` or `without` labels."""

    op: str
    expr: Node
    grouping: tuple[str, ...] = ()
    without: bool = False


@dataclass(frozen=True, slots=True)
class Unary:
    """Unary minus."""

    expr: Node


@dataclass(frozen=True, slots=True)
class Binary:
    """A binary operation with its vector matching."""

    op: str
    left: Node
    right: Node
    return_bool: bool = False
    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] = ()
    group: str | None = None
    include: tuple[str, ...] = ()


Node = Union[Number, Selector, Call, Aggregate, Unary, Binary]


# --- Lexer -------------------------------------------------------------------------------------

TOKEN = re.compile(
    r"""\s*(?:
    (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_:\d])|[Nn]a[Nn]\b|[Ii]nf\b)
  | (?P<duration>\d+(?:ms|s|m|h|d|w|y))
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}\[\],])
    )""",
    re.VERBOSE,
)


@dataclass(slots=True)
class _Tokens:
    items: list[tuple[str, str]]
    position: int = 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.position + offset
        return self.items[index] if index < len(self.items) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.position += 1
        return token

    def accept(self, value: str) -> bool:
        if self.peek()[1] == value and self.peek()[0] in ("op", "ident"):
            self.position += 1
            return True
        return False

    def expect(self, value: str) -> None:
        kind, text = self.take()
        if text != value:
            raise PromQLError(f"expected {value!r}, found {text or kind!r}")


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise PromQLError(f"cannot read {text[position:position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse_duration(text: str) -> float:
    """Seconds of a PromQL duration such as 5m or 1h."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w|y)", text)
    if match is None:
        raise PromQLError(f"bad duration {text!r}")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda match: {"n": "\n", "t": "\t"}.get(match.group(1), match.group(1)), body)


# --- Parser ------------------------------------------------------------------------------------


def parse(text: str) -> Node:
    """The AST of an expression; PromQLError when it is outside the subset or malformed."""
    tokens = _Tokens(_tokenize(text))
    node = _parse_or(tokens)
    if tokens.peek()[0] != "end":
        raise PromQLError(f"unexpected {tokens.peek()[1]!r} after a complete expression")
    return node


def _labels(tokens: _Tokens) -> tuple[str, ...]:
    tokens.expect("(")
    names: list[str] = []
    while not tokens.accept(")"):
        kind, text = tokens.take()
        if kind != "ident":
            raise PromQLError(f"expected a label name, found {text!r}")
        names.append(text)
        if not tokens.accept(","):
            tokens.expect(")")
            break
    return tuple(names)


def _matching(tokens: _Tokens, op: str, left: Node, parse_right: Callable[[_Tokens], Node]) -> Binary:
    return_bool = tokens.accept("bool")
    on: tuple[str, ...] | None = None
    ignoring: tuple[str, ...] = ()
    group: str | None = None
    include: tuple[str, ...] = ()
    if tokens.accept("on"):
        on = _labels(tokens)
    elif tokens.accept("ignoring"):
        ignoring = _labels(tokens)
    for side in ("group_left", "group_right"):
        if tokens.accept(side):
            group = side
            if tokens.peek()[1] == "(":
                include = _labels(tokens)
    return Binary(op, left, parse_right(tokens), return_bool, on, ignoring, group, include)


def _parse_or(tokens: _Tokens) -> Node:
    node = _parse_and(tokens)
    while tokens.peek() == ("ident", "or"):
        tokens.take()
        node = _matching(tokens, "or", node, _parse_and)
    return node


def _parse_and(tokens: _Tokens) -> Node:
    node = _parse_comparison(tokens)
    while tokens.peek()[0] == "ident" and tokens.peek()[1] in ("and", "unless"):
        op = tokens.take()[1]
        node = _matching(tokens, op, node, _parse_comparison)
    return node


def _parse_comparison(tokens: _Tokens) -> Node:
    node = _parse_additive(tokens)
    while tokens.peek()[0] == "op" and tokens.peek()[1] in COMPARISONS:
        op = tokens.take()[1]
        node = _matching(tokens, op, node, _parse_additive)
    return node


def _parse_additive(tokens: _Tokens) -> Node:
    node = _parse_multiplicative(tokens)
    while tokens.peek()[0] == "op" and tokens.peek()[1] in ("+", "-"):
        op = tokens.take()[1]
        node = _matching(tokens, op, node, _parse_multiplicative)
    return node


def _parse_multiplicative(tokens: _Tokens) -> Node:
    node = _parse_unary(tokens)
    while tokens.peek()[0] == "op" and tokens.peek()[1] in ("*", "/", "%"):
        op = tokens.take()[1]
        node = _matching(tokens, op, node, _parse_unary)
    return node


def _parse_unary(tokens: _Tokens) -> Node:
    if tokens.peek() == ("op", "-"):
        tokens.take()
        inner = _parse_unary(tokens)
        return Number(-inner.value) if isinstance(inner, Number) else Unary(inner)
    if tokens.peek() == ("op", "+"):
        tokens.take()
        return _parse_unary(tokens)
    return _parse_postfix(tokens)


def _parse_postfix(tokens: _Tokens) -> Node:
    node = _parse_primary(tokens)
    if tokens.peek() == ("op", "["):
        if not isinstance(node, Selector) or node.range_seconds is not None:
            raise PromQLError("a range [..] follows only a vector selector (subqueries are not supported)")
        tokens.take()
        kind, text = tokens.take()
        if kind != "duration":
            raise PromQLError(f"expected a duration in [..], found {text!r}")
        tokens.expect("]")
        node = Selector(node.matchers, parse_duration(text), node.offset_seconds)
    if tokens.peek() == ("ident", "offset"):
        tokens.take()
        kind, text = tokens.take()
        if kind != "duration" or not isinstance(node, Selector):
            raise PromQLError("offset takes a duration after a selector")
        node = Selector(node.matchers, node.range_seconds, parse_duration(text))
    return node


def _selector_body(tokens: _Tokens, name: str | None) -> Selector:
    matchers: list[Matcher] = [Matcher("__name__", "=", name)] if name else []
    if tokens.accept("{"):
        while not tokens.accept("}"):
            kind, label = tokens.take()
            if kind != "ident":
                raise PromQLError(f"expected a label name in {{..}}, found {label!r}")
            op_kind, op = tokens.take()
            if op not in ("=", "!=", "=~", "!~"):
                raise PromQLError(f"expected a label matcher operator, found {op!r}")
            value_kind, value = tokens.take()
            if value_kind != "string":
                raise PromQLError(f"expected a quoted label value, found {value!r}")
            matchers.append(Matcher(label, op, _unquote(value)))
            if not tokens.accept(","):
                tokens.expect("}")
                break
    if not matchers:
        raise PromQLError("a selector needs a metric name or a matcher")
    return Selector(tuple(matchers))


def _parse_primary(tokens: _Tokens) -> Node:
    kind, text = tokens.peek()
    if kind == "number":
        tokens.take()
        return Number(float(text))
    if kind == "string":
        raise PromQLError("string literals are not supported")
    if (kind, text) == ("op", "("):
        tokens.take()
        node = _parse_or(tokens)
        tokens.expect(")")
        return node
    if (kind, text) == ("op", "{"):
        return _selector_body(tokens, None)
    if kind != "ident":
        raise PromQLError(f"unexpected {text or kind!r}")
    if text in AGGREGATIONS:
        tokens.take()
        return _parse_aggregation(tokens, text)
    if text in FUNCTIONS and tokens.peek(1) == ("op", "("):
        tokens.take()
        tokens.expect("(")
        args: list[Node] = []
        while not tokens.accept(")"):
            args.append(_parse_or(tokens))
            if not tokens.accept(","):
                tokens.expect(")")
                break
        return Call(text, tuple(args))
    if tokens.peek(1) == ("op", "(") or text in KEYWORDS:
        raise PromQLError(f"{text} is not a supported function or aggregation")
    tokens.take()
    return _selector_body(tokens, text)


def _parse_aggregation(tokens: _Tokens, op: str) -> Aggregate:
    grouping: tuple[str, ...] = ()
    without = False
    if tokens.peek()[1] in ("by", "without"):
        without = tokens.take()[1] == "without"
        grouping = _labels(tokens)
    tokens.expect("(")
    expr = _parse_or(tokens)
    tokens.expect(")")
    if tokens.peek()[1] in ("by", "without"):
        without = tokens.take()[1] == "without"
        grouping = _labels(tokens)
    return Aggregate(op, expr, grouping, without)


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first."""
    yield node
    if isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Aggregate | Unary):
        yield from walk(node.expr)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)


def metric_names(node: Node) -> set[str]:
    """Every metric name the expression reads."""
    names: set[str] = set()
    for item in walk(node):
        if isinstance(item, Selector):
            names |= item.metric_names()
    return names


# --- Evaluation --------------------------------------------------------------------------------

Labels = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class SeriesStore:
    """Synthetic time series: label set -> sorted (time, value) samples."""

    series: dict[Labels, tuple[list[float], list[float]]] = field(default_factory=dict)

    def add(self, name: str, labels: dict[str, str], time: float, value: float) -> None:
        """Append one sample (times must increase per series; a second sample at the same time replaces the first)."""
        key = tuple(sorted({**labels, "__name__": name}.items()))
        times, values = self.series.setdefault(key, ([], []))
        if times and times[-1] == time:
            values[-1] = value
            return
        times.append(time)
        values.append(value)


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector."""

    labels: Labels
    value: float


Value = Union[float, list[Sample]]


def _drop_name(labels: Labels) -> Labels:
    return tuple(item for item in labels if item[0] != "__name__")


def evaluate(node: Node | str, store: SeriesStore, time: float) -> Value:
    """The value of an instant query at `time`: a scalar (float) or an instant vector (list of Sample)."""
    tree = parse(node) if isinstance(node, str) else node
    return _eval(tree, store, time)


def _select(selector: Selector, store: SeriesStore) -> Iterator[tuple[Labels, list[float], list[float]]]:
    for labels, (times, values) in store.series.items():
        as_dict = dict(labels)
        if all(matcher.matches(as_dict) for matcher in selector.matchers):
            yield labels, times, values


def _instant(selector: Selector, store: SeriesStore, time: float) -> list[Sample]:
    at = time - selector.offset_seconds
    found: list[Sample] = []
    for labels, times, values in _select(selector, store):
        index = bisect.bisect_right(times, at) - 1
        if index >= 0 and at - times[index] <= LOOKBACK_SECONDS:
            found.append(Sample(labels, values[index]))
    return found


def _rate(selector: Selector, store: SeriesStore, time: float, per_second: bool) -> list[Sample]:
    if selector.range_seconds is None:
        raise PromQLError("rate/increase need a range vector")
    end = time - selector.offset_seconds
    start = end - selector.range_seconds
    found: list[Sample] = []
    for labels, times, values in _select(selector, store):
        low = bisect.bisect_right(times, start)
        high = bisect.bisect_right(times, end)
        if high - low < 2:
            continue
        increase = 0.0
        for index in range(low + 1, high):
            delta = values[index] - values[index - 1]
            increase += delta if delta >= 0 else values[index]
        elapsed = times[high - 1] - times[low]
        value = increase / elapsed if per_second else increase / elapsed * selector.range_seconds
        found.append(Sample(_drop_name(labels), value))
    return found


def _vector(value: Value, context: str) -> list[Sample]:
    if isinstance(value, list):
        return value
    raise PromQLError(f"{context} needs an instant vector, got a scalar")


def _scalar(value: Value, context: str) -> float:
    if isinstance(value, float | int):
        return float(value)
    raise PromQLError(f"{context} needs a scalar, got a vector")


def _eval(node: Node, store: SeriesStore, time: float) -> Value:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Selector):
        if node.range_seconds is not None:
            raise PromQLError("a range vector cannot be the value of an expression")
        return _instant(node, store, time)
    if isinstance(node, Unary):
        inner = _eval(node.expr, store, time)
        if isinstance(inner, list):
            return [Sample(_drop_name(sample.labels), -sample.value) for sample in inner]
        return -inner
    if isinstance(node, Call):
        return _call(node, store, time)
    if isinstance(node, Aggregate):
        return _aggregate(node, _vector(_eval(node.expr, store, time), node.op))
    return _binary(node, _eval(node.left, store, time), _eval(node.right, store, time))


def _call(node: Call, store: SeriesStore, time: float) -> Value:
    name, args = node.name, node.args
    if name == "time":
        if args:
            raise PromQLError("time() takes no argument")
        return time  # a scalar: the evaluation time in Unix seconds
    if name in ("rate", "increase"):
        (selector,) = args
        if not isinstance(selector, Selector):
            raise PromQLError(f"{name} takes a range selector")
        return _rate(selector, store, time, name == "rate")
    if name == "histogram_quantile":
        quantile = _scalar(_eval(args[0], store, time), name)
        return _histogram_quantile(quantile, _vector(_eval(args[1], store, time), name))
    if name in ("clamp_min", "clamp_max"):
        vector = _vector(_eval(args[0], store, time), name)
        bound = _scalar(_eval(args[1], store, time), name)
        pick = max if name == "clamp_min" else min
        return [Sample(_drop_name(sample.labels), pick(sample.value, bound)) for sample in vector]
    if name == "scalar":
        vector = _vector(_eval(args[0], store, time), name)
        return vector[0].value if len(vector) == 1 else math.nan
    if name == "vector":
        return [Sample((), _scalar(_eval(args[0], store, time), name))]
    if name == "abs":
        return [Sample(_drop_name(sample.labels), abs(sample.value)) for sample in _vector(_eval(args[0], store, time), name)]
    # absent
    vector = _vector(_eval(args[0], store, time), name)
    return [] if vector else [Sample((), 1.0)]


def _histogram_quantile(quantile: float, vector: list[Sample]) -> list[Sample]:
    groups: dict[Labels, list[tuple[float, float]]] = {}
    for sample in vector:
        labels = dict(_drop_name(sample.labels))
        bound = labels.pop("le", None)
        if bound is None:
            continue
        groups.setdefault(tuple(sorted(labels.items())), []).append((float(bound), sample.value))
    result: list[Sample] = []
    for labels, buckets in groups.items():
        buckets.sort()
        if not buckets or buckets[-1][0] != math.inf:
            result.append(Sample(labels, math.nan))
            continue
        total = buckets[-1][1]
        if total <= 0:
            result.append(Sample(labels, math.nan))
            continue
        rank = quantile * total
        index = next(position for position, (_, count) in enumerate(buckets) if count >= rank)
        if index == len(buckets) - 1:
            result.append(Sample(labels, buckets[-2][0] if len(buckets) > 1 else math.nan))
            continue
        upper, count = buckets[index]
        lower, lower_count = (0.0, 0.0) if index == 0 else buckets[index - 1]
        if count == lower_count:
            result.append(Sample(labels, upper))
            continue
        result.append(Sample(labels, lower + (upper - lower) * (rank - lower_count) / (count - lower_count)))
    return result


def _group_key(labels: Labels, grouping: tuple[str, ...], without: bool) -> Labels:
    if without:
        return tuple(item for item in labels if item[0] not in grouping and item[0] != "__name__")
    return tuple(item for item in labels if item[0] in grouping)


def _aggregate(node: Aggregate, vector: list[Sample]) -> list[Sample]:
    groups: dict[Labels, list[float]] = {}
    for sample in vector:
        groups.setdefault(_group_key(sample.labels, node.grouping, node.without), []).append(sample.value)
    reduce: dict[str, Callable[[list[float]], float]] = {
        "sum": lambda values: math.fsum(values),
        "avg": lambda values: math.fsum(values) / len(values),
        "max": max,
        "min": min,
        "count": lambda values: float(len(values)),
    }
    return [Sample(key, reduce[node.op](values)) for key, values in groups.items()]


def _arith(op: str, left: float, right: float) -> float:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        if right == 0:
            return math.nan if left == 0 or math.isnan(left) else math.copysign(math.inf, left)
        return left / right
    if op == "%":
        return math.fmod(left, right) if right != 0 else math.nan
    raise PromQLError(f"unknown operator {op}")


def _compare(op: str, left: float, right: float) -> bool:
    return {
        "==": left == right,
        "!=": left != right,
        ">": left > right,
        "<": left < right,
        ">=": left >= right,
        "<=": left <= right,
    }[op]


def _signature(labels: Labels, node: Binary) -> Labels:
    if node.on is not None:
        return tuple(item for item in labels if item[0] in node.on)
    return tuple(item for item in labels if item[0] != "__name__" and item[0] not in node.ignoring)


def _binary(node: Binary, left: Value, right: Value) -> Value:
    op = node.op
    if op in SET_OPERATORS:
        lvec, rvec = _vector(left, op), _vector(right, op)
        right_keys = {_signature(sample.labels, node) for sample in rvec}
        if op == "and":
            return [sample for sample in lvec if _signature(sample.labels, node) in right_keys]
        if op == "unless":
            return [sample for sample in lvec if _signature(sample.labels, node) not in right_keys]
        left_keys = {_signature(sample.labels, node) for sample in lvec}
        return lvec + [sample for sample in rvec if _signature(sample.labels, node) not in left_keys]
    comparison = op in COMPARISONS
    if not isinstance(left, list) and not isinstance(right, list):
        if comparison:
            if not node.return_bool:
                raise PromQLError("comparisons between scalars need bool")
            return 1.0 if _compare(op, left, right) else 0.0
        return _arith(op, left, right)
    if not isinstance(left, list) or not isinstance(right, list):
        vector_on_left = isinstance(left, list)
        vector = _vector(left if vector_on_left else right, op)
        scalar = _scalar(right if vector_on_left else left, op)
        result: list[Sample] = []
        for sample in vector:
            a, b = (sample.value, scalar) if vector_on_left else (scalar, sample.value)
            labels = _drop_name(sample.labels)
            if comparison:
                keep = _compare(op, a, b)
                if node.return_bool:
                    result.append(Sample(labels, 1.0 if keep else 0.0))
                elif keep:
                    result.append(Sample(sample.labels, sample.value))
            else:
                result.append(Sample(labels, _arith(op, a, b)))
        return result
    return _vector_binary(node, left, right, comparison)


def _vector_binary(node: Binary, left: list[Sample], right: list[Sample], comparison: bool) -> list[Sample]:
    one_side, many_side, many_is_left = right, left, True
    if node.group == "group_right":
        one_side, many_side, many_is_left = left, right, False
    index: dict[Labels, Sample] = {}
    for sample in one_side:
        key = _signature(sample.labels, node)
        if key in index:
            raise PromQLError(f"many-to-many matching on {dict(key)}: the 'one' side has duplicate series")
        index[key] = sample
    seen: set[Labels] = set()
    result: list[Sample] = []
    for sample in many_side:
        key = _signature(sample.labels, node)
        match = index.get(key)
        if match is None:
            continue
        if node.group is None:
            if key in seen:
                raise PromQLError(f"one-to-one matching found duplicate series for {dict(key)}; expected group_left/right")
            seen.add(key)
        a, b = (sample.value, match.value) if many_is_left else (match.value, sample.value)
        labels = dict(_drop_name(sample.labels)) if node.group else dict(_drop_name(key if node.on is not None else sample.labels))
        if node.group is None and node.on is not None:
            labels = dict(key)
        for name in node.include:
            value = dict(match.labels).get(name)
            if value is not None:
                labels[name] = value
        out = tuple(sorted(labels.items()))
        if comparison:
            keep = _compare(node.op, a, b)
            if node.return_bool:
                result.append(Sample(out, 1.0 if keep else 0.0))
            elif keep:
                result.append(Sample(sample.labels if node.group or node.on is None else out, sample.value))
        else:
            result.append(Sample(out, _arith(node.op, a, b)))
    return result

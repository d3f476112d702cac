"""Hardened inputs: the YAML loader's guards, crashes as exit 3, plain text output, Pulumi secrets in stack
files, the EKS version calendar, and Python specs loaded in a scrubbed child process."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from inferstack import yaml_loader
from inferstack.cli import EXIT_INTERNAL, app
from inferstack.plan.redact import REDACTED, redact_inputs, register_secret_values
from inferstack.problems import _short_repr
from inferstack.spec import python_loader
from inferstack.spec.kubernetes_calendar import EKS_CALENDAR, version_problem
from inferstack.spec.loader import environment_from_config
from inferstack.problems import InputError
from tests.spec_factory import spec_document

REPO = Path(__file__).resolve().parents[1]


def _dev_config() -> dict[str, object]:
    return yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]


# --- the loader ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: [1, 2.5, true, null, ~, 0x10, 1_000, '1', 2024-01-02]\nc: {d: e}\n",
        "x: &x {a: 1, b: 2}\ny:\n  <<: *x\n  b: 3\nz: *x\n",
        "- a\n- - b\n  - c\n---\nsecond: doc\n",
        "s: !!str 12\nf: .inf\nn: .nan\nbin: !!binary aGk=\n",
    ],
)
def test_loader_gives_what_safe_load_gives(text: str) -> None:
    ours = yaml_loader.load_all(text)
    theirs = list(yaml.safe_load_all(text))
    assert repr(ours) == repr(theirs)


def test_duplicate_keys_name_both_lines_and_the_path() -> None:
    with pytest.raises(yaml_loader.YamlLoadError) as raised:
        yaml_loader.load_all("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    issues = {(issue.where, issue.message) for issue in raised.value.issues}
    assert ("b.c", "duplicate key 'c' at lines 3 and 4; expected each key once") in issues
    assert ("a", "duplicate key 'a' at lines 1 and 5; expected each key once") in issues


class CountingReader(io.StringIO):
    """A text stream that counts the characters the parser has read from it."""

    consumed = 0

    def read(self, size: int | None = -1) -> str:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_depth_limit_stops_the_parse_early() -> None:
    # libyaml alone took minutes on such input (quadratic in depth); the guard stops at level 65,
    # after reading one buffer of a 2,000,000-character document.
    stream = CountingReader("[" * 1_000_000 + "]" * 1_000_000)
    with pytest.raises(yaml_loader.YamlLoadError, match="nesting deeper than 64") as raised:
        yaml_loader.load_all(stream)
    assert raised.value.issues[0].where == "line 1, column 65"
    assert stream.consumed <= 65_536


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 100 + "\n")
    with pytest.raises(yaml_loader.YamlLoadError, match="expected at most 50 bytes"):
        yaml_loader.load_file(big, max_bytes=50)


def test_safe_load_raises_a_yaml_error_for_callers_catching_those() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml_loader.safe_load("a: !!python/object:os.system x\n")


class CountingList(list[object]):
    """A list that counts the items iterated over, across every CountingList."""

    visited = [0]

    def __iter__(self) -> Iterator[object]:
        for item in super().__iter__():
            CountingList.visited[0] += 1
            yield item


def test_short_repr_never_builds_the_whole_value() -> None:
    bomb: object = CountingList(["lol"] * 9)
    for _ in range(9):
        bomb = CountingList([bomb] * 9)  # 9**10 strings if expanded
    CountingList.visited[0] = 0
    text = _short_repr(bomb)
    assert len(text) <= 60 and text.startswith("[[[[")
    assert CountingList.visited[0] <= 60  # items looked at, not 9**10
    assert _short_repr(10**5000) == "<int>"
    assert len(_short_repr("x" * 10_000_000)) == 60


# --- the CLI: crashes, plain text -----------------------------------------------------------------------------


def test_a_crash_is_an_internal_error_with_exit_3_and_a_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import inferstack.validation

    def broken(paths: object) -> object:
        raise ZeroDivisionError("deliberate")

    monkeypatch.setattr(inferstack.validation, "validate_paths", broken)
    monkeypatch.setenv("INFERSTACK_LOG_DIR", str(tmp_path / "logs"))
    result = CliRunner().invoke(app, ["validate", "x.yaml"])
    assert result.exit_code == EXIT_INTERNAL == 3
    assert "Traceback" not in result.output
    assert result.stderr.startswith("internal error: ZeroDivisionError: deliberate")
    (log,) = (tmp_path / "logs").glob("inferstack-internal-error-*.log")
    assert str(log) in result.stderr
    assert "Traceback" in log.read_text() and "deliberate" in log.read_text()


def test_adopted_cluster_without_vpc_is_bad_input_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = _dev_config()
    config["inferstack:cluster"]["create"] = False  # type: ignore[index]
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(yaml.safe_dump(spec_document()))
    result = CliRunner().invoke(app, ["plan", "--stack", "dev", "--specs", "specs", "--stacks", "stacks", "--out", "out"])
    assert result.exit_code == 2, result.output
    assert "stacks/Pulumi.dev.yaml: config.inferstack:cluster.create: cluster.create is false without network.vpc_id" in result.stderr


def test_user_text_is_never_rendered_as_markup_or_emoji(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ":fire: [bold]x.yaml").write_text("name: [\n")
    result = CliRunner().invoke(app, ["validate", ":fire: [bold]x.yaml"])
    assert result.exit_code == 2
    assert result.stderr.startswith(":fire: [bold]x.yaml: line 2, column 1: invalid YAML")
    assert "\N{FIRE}" not in result.output


# --- Pulumi secrets in stack files ----------------------------------------------------------------------------


def _stack_with_secrets() -> dict[str, object]:
    config = _dev_config()
    config["inferstack:alerts"]["slack_webhook"] = {"secure": "v1:AAAAwebhookciphertext"}  # type: ignore[index]
    config["inferstack:monitoring"]["grafana_admin_password"] = {"secure": "v1:BBBBgrafanaciphertext"}  # type: ignore[index]
    return config


def test_secrets_are_read_as_secrets_and_never_printed() -> None:
    config = environment_from_config(_stack_with_secrets(), "dev", "stacks/Pulumi.dev.yaml")
    assert config.alerts.slack_webhook is not None
    assert config.alerts.slack_webhook.get_secret_value() == "v1:AAAAwebhookciphertext"
    assert "AAAAwebhook" not in repr(config) and "AAAAwebhook" not in str(config)
    assert "BBBBgrafana" not in config.model_dump_json()


def test_a_secret_in_a_plain_setting_is_bad_input_without_echoing_it() -> None:
    config = _dev_config()
    config["inferstack:cluster"]["name"] = {"secure": "v1:CCCCciphertext"}  # type: ignore[index]
    with pytest.raises(InputError) as raised:
        environment_from_config(config, "dev", "stacks/Pulumi.dev.yaml")
    (problem,) = raised.value.problems
    assert problem.path == "config.inferstack:cluster.name" and "is a Pulumi secret" in problem.message
    assert "CCCC" not in str(raised.value)


def test_secrets_pass_validate_plan_and_the_pack_and_stay_out_of_the_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inferstack.policy.crossguard import PackContext

    monkeypatch.chdir(tmp_path)
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": _stack_with_secrets()}))
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(yaml.safe_dump(spec_document()))
    runner = CliRunner()
    validated = runner.invoke(app, ["validate", "specs", "stacks/Pulumi.dev.yaml"])
    assert validated.exit_code == 0, validated.output
    planned = runner.invoke(app, ["plan", "--stack", "dev", "--specs", "specs", "--stacks", "stacks", "--out", "out"])
    assert planned.exit_code == 0, planned.output
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            assert "AAAAwebhook" not in text and "BBBBgrafana" not in text, path
    assert "AAAAwebhook" not in planned.output
    context = PackContext(tmp_path / "stacks", "dev").context("dev")
    assert context.environment == "dev"


def test_registered_secret_values_are_redacted_wherever_they_appear() -> None:
    register_secret_values(["hunter2-secret"])
    try:
        inputs = {"values": {"grafana": {"adminPassword": "x", "note": "pw is hunter2-secret"}}, "list": ["hunter2-secret"]}
        cleaned = redact_inputs("kubernetes:helm.sh/v3:Release", inputs)
        assert cleaned["values"]["grafana"]["note"] == REDACTED and cleaned["list"] == [REDACTED]
    finally:
        register_secret_values([])
    assert redact_inputs("x", {"a": "hunter2-secret"}) == {"a": "hunter2-secret"}


# --- the EKS version calendar ---------------------------------------------------------------------------------


def test_calendar_dates_and_verdicts() -> None:
    assert EKS_CALENDAR["1.33"].standard_until == datetime.date(2026, 7, 29)
    assert EKS_CALENDAR["1.34"].standard_until == datetime.date(2026, 12, 2)
    assert EKS_CALENDAR["1.35"].standard_until == datetime.date(2027, 3, 27)
    assert version_problem("1.33", datetime.date(2026, 7, 28)) is None
    late = version_problem("1.33", datetime.date(2026, 7, 29))
    assert late is not None and "left EKS standard support on 2026-07-29" in late and "1.35" in late
    gone = version_problem("1.23", datetime.date(2026, 12, 6))
    assert gone is not None and "left EKS extended support on 2024-10-11" in gone
    assert version_problem("1.35", datetime.date(2027, 3, 26)) is None
    assert "not in the EKS support calendar" in (version_problem("1.40", datetime.date(2026, 12, 6)) or "")


def test_today_is_injectable() -> None:
    config = _dev_config()
    config["inferstack:cluster"]["version"] = "1.34"  # type: ignore[index]
    assert environment_from_config(config, "dev", "s.yaml", today=datetime.date(2026, 12, 1)).cluster.version == "1.34"
    with pytest.raises(InputError, match="left EKS standard support on 2026-12-02"):
        environment_from_config(config, "dev", "s.yaml", today=datetime.date(2026, 12, 2))


def test_shipped_stacks_are_in_standard_support_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real date, not the suite's pinned one: this fails once the shipped version leaves standard support."""
    monkeypatch.delenv("INFERSTACK_TODAY", raising=False)
    for stack in sorted((REPO / "stacks").glob("Pulumi.*.yaml")):
        version = yaml.safe_load(stack.read_text())["config"]["inferstack:cluster"]["version"]
        assert version_problem(version, datetime.datetime.now(datetime.timezone.utc).date()) is None, stack


# --- Python specs in a child process ----------------------------------------------------------------------------


def test_child_environment_has_no_credentials() -> None:
    parent = {"AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t", "GITHUB_TOKEN": "g", "PULUMI_ACCESS_TOKEN": "p",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/creds", "PATH": "/bin", "HOME": "/root"}
    child = python_loader.scrubbed_environment(parent)
    assert child["PATH"] == "/bin"
    assert not {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "PULUMI_ACCESS_TOKEN",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "HOME"} & set(child)
    assert child["AWS_SHARED_CREDENTIALS_FILE"] == child["AWS_CONFIG_FILE"] == "/dev/null"


def test_one_child_process_for_all_python_spec_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(python_loader, "_cache", {})
    for name in ("a", "b", "c"):
        text = (REPO / "model_specs" / "product_vision.py").read_text().replace("product-vision", f"vision-{name}")
        (tmp_path / f"{name}.py").write_text(text)
    calls: list[object] = []
    real_run = subprocess.run

    def counting_run(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(python_loader.subprocess, "run", counting_run)
    from inferstack.spec.loader import load_specs

    loaded = load_specs([tmp_path])
    assert sorted(item.spec.name for item in loaded) == ["vision-a", "vision-b", "vision-c"]
    assert len(calls) == 1


def test_the_child_hands_back_json_data(tmp_path: Path) -> None:
    described = python_loader.describe_module(REPO / "model_specs" / "product_vision.py", "product_vision.py")
    assert described["problems"] == []
    (spec,) = described["specs"]
    assert spec["variable"] == "product_vision" and spec["line"] > 0
    json.dumps(described)

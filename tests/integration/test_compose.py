"""docker-compose.yml cannot run here (no Docker engine): check what can be checked."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.main import get_command

from reminders.cli import app
from reminders.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_database_web_and_two_workers():
    services = compose()["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert "healthcheck" in services["db"]
    assert any("pgdata" in volume for volume in services["db"]["volumes"])
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_every_service_command_is_a_real_cli_command():
    cli = get_command(app)
    for name in ("web", "worker"):
        command = compose()["services"][name]["command"]
        assert command[0] == "reminders"
        sub = cli.commands[command[1]]  # KeyError if the command does not exist
        options = {opt for param in sub.params for opt in getattr(param, "opts", [])}
        for word in command[2:]:
            if word.startswith("--"):
                assert word in options, f"{name}: {word} is not an option of {command[1]}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r'^CMD \[(.*)\]$', dockerfile, re.M).group(1)
    assert cmd.split(",")[1].strip().strip('"') in cli.commands


def test_environment_names_match_the_settings():
    known = {f"REMINDERS_{name.upper()}" for name in Settings.model_fields}
    known |= {field.validation_alias for field in Settings.model_fields.values() if field.validation_alias}
    for name in ("web", "worker"):
        environment = compose()["services"][name]["environment"]
        assert set(environment) <= known, set(environment) - known
    assert "REMINDERS_DATABASE_URL" in compose()["services"]["worker"]["environment"]


def test_workers_have_a_healthcheck_that_is_a_real_cli_command():
    cli = get_command(app)
    test = compose()["services"]["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "reminders"
    sub = cli.commands[test[2]]
    options = {opt for param in sub.params for opt in getattr(param, "opts", [])}
    assert all(word in options for word in test[3:] if word.startswith("--"))


def test_the_web_app_leaves_the_passes_to_workers_that_yield_the_cpu():
    """As the runbook and bench/bench_capacity.py: the web process replays only its own
    spool; the two workers triage, dispatch and follow up, with less CPU weight."""
    services = compose()["services"]
    command = services["web"]["command"]
    assert command[command.index("--passes") + 1] == "spool"
    assert "--no-scheduler" not in command  # its spool must still be replayed
    assert services["worker"]["command"][:2] == ["reminders", "worker"]
    assert services["worker"]["cpu_shares"] < services["web"].get("cpu_shares", 1024)

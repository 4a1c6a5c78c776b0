"""The GitHub Actions workflow: its structure, and its `hatch run` steps equal to .ci/run's.

It cannot run here, and actionlint cannot be installed here: this is the check that remains.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CI_RUN = ROOT / ".ci" / "run"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def job(workflow: dict[Any, Any]) -> dict[str, Any]:
    assert list(workflow["jobs"]) == ["ci"]
    ci: dict[str, Any] = workflow["jobs"]["ci"]
    return ci


def ci_run_steps() -> list[str]:
    """The commands .ci/run passes to its step() helper, in order."""
    return re.findall(r"^step (hatch run .+?)\s*$", CI_RUN.read_text(), re.MULTILINE)


def workflow_steps(job: dict[str, Any]) -> list[str]:
    return [step["run"].strip() for step in job["steps"] if step.get("run", "").startswith("hatch run")]


def test_it_runs_on_every_push_and_pull_request(workflow: dict[Any, Any]) -> None:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1).
    triggers = workflow.get("on", workflow.get(True)) or {}
    assert {"push", "pull_request"} <= set(triggers)


def test_every_server_is_a_service_container_with_a_health_check(job: dict[str, Any]) -> None:
    services = job["services"]

    assert set(services) == {"postgres", "redis", "mongo"}
    for name, service in services.items():
        assert "--health-cmd" in service["options"], name
        assert service["ports"], name
    assert services["postgres"]["env"]["POSTGRES_DB"] == "test"  # the suites' default database


def test_hatch_is_installed_before_it_is_used(job: dict[str, Any]) -> None:
    runs = [step.get("run", "") for step in job["steps"]]
    install = next(i for i, run in enumerate(runs) if "pip install" in run and "hatch" in run)

    assert install < next(i for i, run in enumerate(runs) if run.startswith("hatch run"))
    assert "hatch==1.18" in runs[install]
    assert any(step.get("uses", "").startswith("actions/checkout@") for step in job["steps"])


def test_its_hatch_steps_are_the_ci_scripts_steps_in_the_same_order(job: dict[str, Any]) -> None:
    assert ci_run_steps(), "no `step hatch run ...` lines found in .ci/run"
    assert workflow_steps(job) == ci_run_steps()


def test_the_real_suites_reach_the_mongodb_container(job: dict[str, Any]) -> None:
    real = next(step for step in job["steps"] if step.get("run", "").startswith("hatch run test-real"))

    assert real["env"]["TESTKIT_MONGO_URL"] == "mongodb://127.0.0.1:27017"
    assert "27017:27017" in job["services"]["mongo"]["ports"]

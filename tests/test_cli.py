"""The catalog command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import catalog

CLI = [sys.executable, "-m", "catalog.cli.main"]


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CATALOG_HOME", None) if env is None or "CATALOG_HOME" not in env else None
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env, input=stdin, timeout=120)


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    setup = """
        CREATE CATALOG main;
        CREATE SCHEMA main.ml COMMENT 'churn work';
        CREATE TABLE main.ml.t AS SELECT * FROM VALUES (1, 'a'), (2, 'b') AS v(id, name);
        CREATE USER alice;
        CREATE USER bob;
        CREATE GROUP analysts;
        ALTER GROUP analysts ADD USER alice;
        GRANT USE CATALOG ON CATALOG main TO analysts;
        GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO analysts
    """
    result = run("--home", str(home), "--user", "admin", "sql", "-f", "-", stdin=setup)
    assert result.returncode == 0, result.stderr
    return home


def test_show_grants_as_a_table(cli_home):
    result = run("--home", str(cli_home), "--user", "alice", "sql", "SHOW GRANTS ON SCHEMA main.ml")
    assert result.returncode == 0, result.stderr
    assert "| principal" in result.stdout and "| analysts" in result.stdout
    assert "(3 rows)" in result.stdout


def test_environment_variables_replace_options(cli_home):
    env = {"CATALOG_HOME": str(cli_home), "CATALOG_USER": "alice"}
    result = run("--format", "json", "sql", "SELECT id, name FROM main.ml.t ORDER BY id", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def test_script_file_prints_each_result(cli_home, tmp_path):
    script = tmp_path / "q.sql"
    script.write_text("SELECT count(*) AS n FROM main.ml.t;\nSHOW TABLES IN main.ml;\n")
    result = run("--home", str(cli_home), "--user", "alice", "sql", "-f", str(script))
    assert result.returncode == 0, result.stderr
    assert "> SELECT count(*) AS n FROM main.ml.t" in result.stdout
    assert "> SHOW TABLES IN main.ml" in result.stdout
    assert "| tableName" in result.stdout


def test_csv_output(cli_home):
    result = run(
        "--home", str(cli_home), "--user", "alice", "--format", "csv", "sql", "SELECT id FROM main.ml.t ORDER BY id"
    )
    assert result.stdout.splitlines() == ["id", "1", "2"]


def test_denial_exits_non_zero_with_the_error_code(cli_home):
    result = run("--home", str(cli_home), "--user", "bob", "sql", "SELECT * FROM main.ml.t")
    assert result.returncode == 1
    assert "Error [PERMISSION_DENIED]" in result.stderr and "GRANT USE CATALOG ON CATALOG main TO bob" in result.stderr


def test_syntax_error_names_line_and_column(cli_home):
    result = run("--home", str(cli_home), "sql", "SELECT a,\nFROM WHERE")
    assert result.returncode == 1
    assert "PARSE_SYNTAX_ERROR" in result.stderr and "line 2" in result.stderr


def test_unknown_user(cli_home):
    result = run("--home", str(cli_home), "--user", "mallory", "sql", "SHOW CATALOGS")
    assert result.returncode == 1 and "PRINCIPAL_DOES_NOT_EXIST" in result.stderr


def test_usage_errors(cli_home):
    assert run("--home", str(cli_home), "sql").returncode == 2
    assert run().returncode == 2
    assert run("--home", str(cli_home), "policy").returncode == 2


def test_policy_export_plan_apply(cli_home, tmp_path):
    path = tmp_path / "grants.csv"
    exported = run("--home", str(cli_home), "policy", "export", "-o", str(path))
    assert exported.returncode == 0, exported.stderr
    assert "p, analysts, schema:main.ml, SELECT" in path.read_text()
    unchanged = run("--home", str(cli_home), "policy", "plan", str(path))
    assert "no changes" in unchanged.stdout
    path.write_text(path.read_text() + "p, bob, catalog:main, USE CATALOG\n")
    planned = run("--home", str(cli_home), "policy", "plan", str(path))
    assert planned.stdout.strip() == "GRANT USE CATALOG ON CATALOG main TO bob"
    applied = run("--home", str(cli_home), "policy", "apply", str(path))
    assert applied.returncode == 0 and "Applied 1 statement(s)" in applied.stdout
    shown = run("--home", str(cli_home), "--format", "csv", "sql", "SHOW GRANTS bob ON CATALOG main")
    assert "bob,USE CATALOG,CATALOG,main" in shown.stdout


def test_bad_policy_file_is_refused_with_line_numbers(cli_home, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("# header\np, nobody, catalog:main, SELECT\n")
    result = run("--home", str(cli_home), "policy", "apply", str(path))
    assert result.returncode == 1
    assert "INVALID_POLICY_FILE" in result.stderr and "line 2: unknown principal 'nobody'" in result.stderr


def test_a_second_process_is_told_to_use_the_server(cli_home):
    with catalog.connect(cli_home, user="admin"):
        result = run("--home", str(cli_home), "sql", "SHOW CATALOGS")
    assert result.returncode == 1
    assert "HOME_LOCKED" in result.stderr and "catalog --home" in result.stderr and "server" in result.stderr


@pytest.mark.usefixtures("tracking_state")
def test_serving_endpoints_commands(cli_home, tmp_path):
    from sklearn.linear_model import LogisticRegression

    with catalog.connect(cli_home, user="admin") as cat:
        frame = cat.read_table("main.ml.t")
        model = LogisticRegression().fit(frame[["id"]], [0, 1])
        with catalog.tracking.start_run():  # the fluent API uses the latest connection: cat
            catalog.models.log_model(model, "model", input_example=frame[["id"]], registered_model_name="main.ml.m")
    home = ("--home", str(cli_home), "--user", "admin")
    spec = tmp_path / "endpoint.json"
    spec.write_text(json.dumps({"config": {"served_entities": [{"entity_name": "main.ml.m", "entity_version": 1}]}}))
    created = run(*home, "serving-endpoints", "create", "--name", "main.ml.e", "--json", f"@{spec}")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["state"] == {"ready": "READY", "config_update": "NOT_UPDATING"}
    listed = run(*home, "serving-endpoints", "list")
    assert "| main.ml.e " in listed.stdout and "m-1=main.ml.m/1 (100%)" in listed.stdout
    asked = json.dumps({"dataframe_records": [{"id": 1}, {"id": 2}]})
    answered = run(*home, "serving-endpoints", "query", "main.ml.e", "--json", asked)
    assert json.loads(answered.stdout) == {"predictions": model.predict(frame[["id"]]).tolist(), "served_entity": "m-1"}
    bad = run(*home, "serving-endpoints", "query", "main.ml.e", "--json", '{"dataframe_records": [{"x": 1}]}')
    assert bad.returncode == 1 and "Error [BAD_REQUEST]" in bad.stderr and "'id'" in bad.stderr
    update = json.dumps({"served_entities": [{"entity_name": "main.ml.m", "entity_version": "1", "name": "only"}]})
    updated = run(*home, "serving-endpoints", "update-config", "main.ml.e", "--json", update)
    assert json.loads(updated.stdout)["config"]["served_entities"][0]["name"] == "only"
    described = json.loads(run(*home, "serving-endpoints", "get", "main.ml.e").stdout)
    assert described["config"]["config_version"] == 2
    assert (
        run(*home, "serving-endpoints", "delete", "main.ml.e").stdout.strip() == "Deleted serving endpoint main.ml.e."
    )
    gone = run(*home, "serving-endpoints", "get", "main.ml.e")
    assert gone.returncode == 1 and "RESOURCE_DOES_NOT_EXIST" in gone.stderr

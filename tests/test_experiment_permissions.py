"""Permission levels on experiments: CAN READ < CAN EDIT < CAN MANAGE, granted with SQL, decided by
the casbin model, visible in SHOW GRANTS, policy files and the system.mlflow tables.

Every test gets a copy of one prepared home: users alice, bob, carol and dave, carol in the group
``data-scientists``, and ``system.mlflow`` readable by every user (each sees the experiments they
may read). ``churn`` is alice's experiment ``/Shared/churn`` with one run holding a metric, a tag
and an artifact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import build_home, copy_home

import catalog
from catalog.api import Catalog
from catalog.securables import SecurableType
from catalog.store.database import DATABASE_FILE
from catalog.store.metastore import Metastore
from catalog.store.migrations import current_version, migrate
from catalog.tracking import Client

PATH = "/Shared/churn"
ON = f"EXPERIMENT `{PATH}`"
WORLD = (
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE USER carol",
    "CREATE USER dave",
    "CREATE GROUP `data-scientists`",
    "ALTER GROUP `data-scientists` ADD USER carol",
    "GRANT USE SCHEMA, SELECT ON SCHEMA system.mlflow TO `account users`",
)

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_home(tmp_path_factory.mktemp("experiment-permissions"), WORLD)


@pytest.fixture
def home(tmp_path: Path, template: Path) -> Path:
    """Overrides conftest's ``home``: a fresh copy of the prepared world for every test."""
    return copy_home(template, tmp_path)


@pytest.fixture(autouse=True)
def index_decider(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reasons are asserted in the grant index's words (one test switches to casbin itself)."""
    monkeypatch.delenv("CATALOG_AUTHZ", raising=False)


@pytest.fixture
def users(connect: Callable[[str], Catalog]) -> dict[str, Catalog]:
    return {user: connect(user) for user in ("admin", "alice", "bob", "carol", "dave")}


@pytest.fixture
def clients(users: dict[str, Catalog]) -> dict[str, Client]:
    return {user: Client(cat) for user, cat in users.items()}


@dataclass(frozen=True)
class Churn:
    experiment_id: str
    run_id: str


@pytest.fixture
def churn(clients: dict[str, Client]) -> Churn:
    alice = clients["alice"]
    experiment_id = alice.create_experiment(PATH)
    run_id = alice.create_run(experiment_id).info.run_id
    alice.log_metric(run_id, "acc", 0.9)
    alice.set_tag(run_id, "stage", "dev")
    alice.log_bytes(run_id, b"model", "model.bin")
    return Churn(experiment_id, run_id)


def grants(cat: Catalog, on: str = ON, principal: str = "") -> set[tuple[str, str, str, str]]:
    who = f" {principal}" if principal else ""
    frame = cat.sql(f"SHOW GRANTS{who} ON {on}")
    return set(map(tuple, frame[["principal", "action_type", "object_type", "object_key"]].values.tolist()))


def audit_rows(admin: Catalog, user: str, action: str) -> pd.DataFrame:
    return admin.sql(
        "SELECT response.status_code AS status, request_params AS params, decision_reasons "
        "FROM system.access.audit WHERE user_identity.email = ? AND action_name = ? ORDER BY event_time",
        [user, action],
    )


# -- what each level allows ------------------------------------------------------------------------
LEVELS = (None, "CAN READ", "CAN EDIT", "CAN MANAGE")

# (what bob tries, the lowest level that allows it)
TRIES: dict[str, tuple[Callable[[Client, Churn, Path], object], str]] = {
    "get experiment": (lambda c, e, tmp: c.get_experiment(e.experiment_id), "CAN READ"),
    "get experiment by name": (lambda c, e, tmp: c.get_experiment_by_name(PATH), "CAN READ"),
    "get run": (lambda c, e, tmp: c.get_run(e.run_id), "CAN READ"),
    "search runs": (lambda c, e, tmp: c.search_runs([e.experiment_id], "metrics.acc > 0.5"), "CAN READ"),
    "metric history": (lambda c, e, tmp: c.get_metric_history(e.run_id, "acc"), "CAN READ"),
    "list artifacts": (lambda c, e, tmp: c.list_artifacts(e.run_id), "CAN READ"),
    "download artifact": (lambda c, e, tmp: c.download_artifacts(e.run_id, "model.bin", tmp / "out"), "CAN READ"),
    "create run": (lambda c, e, tmp: c.create_run(e.experiment_id), "CAN EDIT"),
    "log metric": (lambda c, e, tmp: c.log_metric(e.run_id, "acc", 0.95, step=1), "CAN EDIT"),
    "set tag": (lambda c, e, tmp: c.set_tag(e.run_id, "reviewed", "yes"), "CAN EDIT"),
    "delete tag": (lambda c, e, tmp: c.delete_tag(e.run_id, "stage"), "CAN EDIT"),
    "end run": (lambda c, e, tmp: c.set_terminated(e.run_id, "FINISHED"), "CAN EDIT"),
    "delete run": (lambda c, e, tmp: c.delete_run(e.run_id), "CAN EDIT"),
    "restore run": (lambda c, e, tmp: c.restore_run(e.run_id), "CAN EDIT"),
    "log artifact": (lambda c, e, tmp: c.log_bytes(e.run_id, b"bob", "bob.txt"), "CAN EDIT"),
    "grant": (lambda c, e, tmp: c.cat.sql(f"GRANT CAN READ ON {ON} TO dave"), "CAN MANAGE"),
    "revoke": (lambda c, e, tmp: c.cat.sql(f"REVOKE CAN READ ON {ON} FROM dave"), "CAN MANAGE"),
    "change owner": (lambda c, e, tmp: c.cat.sql(f"ALTER {ON} OWNER TO dave"), "CAN MANAGE"),
    "delete experiment": (lambda c, e, tmp: c.delete_experiment(e.experiment_id), "CAN MANAGE"),
}


@pytest.mark.parametrize("level", LEVELS, ids=lambda level: level or "no grant")
@pytest.mark.parametrize("action", list(TRIES))
def test_each_level_allows_exactly_what_it_includes(users, clients, churn, tmp_path, level, action):
    if level is not None:
        users["alice"].sql(f"GRANT {level} ON {ON} TO bob")  # the owner grants
    attempt, needed = TRIES[action]
    allowed = level is not None and LEVELS.index(level) >= LEVELS.index(needed)
    if allowed:
        attempt(clients["bob"], churn, tmp_path)
        latest_of_bob = (
            "SELECT response.status_code AS status, decision_reasons FROM system.access.audit "
            "WHERE user_identity.email = 'bob' ORDER BY event_time DESC LIMIT 1"
        )
        (latest,) = users["admin"].sql(latest_of_bob).itertuples(index=False)
        assert latest.status == 200
        assert any(r.startswith(f"allowed {needed} on experiment {PATH}: ") for r in latest.decision_reasons)
        return
    before = clients["alice"].get_run(churn.run_id)
    shown = grants(users["alice"])
    with pytest.raises(catalog.PermissionDenied) as denied:
        attempt(clients["bob"], churn, tmp_path)
    message = denied.value.message
    assert f"User bob does not have {needed} on experiment {PATH}" in message
    assert f"GRANT {needed} ON {ON} TO bob" in message  # what to ask for, as SQL
    after = clients["alice"].get_run(churn.run_id)
    assert (after.info, after.data) == (before.info, before.data)  # nothing changed
    assert grants(users["alice"]) == shown
    assert clients["alice"].get_experiment(churn.experiment_id).owner == "alice"
    assert not (tmp_path / "out").exists()


def test_the_owner_and_the_admin_hold_every_level(users, clients, churn):
    assert grants(users["alice"]) == {("alice", "OWN", "EXPERIMENT", PATH)}
    for user in ("alice", "admin"):
        client = clients[user]
        assert client.get_run(churn.run_id).data.metrics == {"acc": 0.9}
        client.log_metric(client.create_run(churn.experiment_id).info.run_id, "loss", 0.5)
    users["admin"].sql(f"GRANT CAN EDIT ON {ON} TO bob")
    assert grants(users["admin"]) == {("alice", "OWN", "EXPERIMENT", PATH), ("bob", "CAN EDIT", "EXPERIMENT", PATH)}
    reasons = audit_rows(users["admin"], "admin", "logBatch")["decision_reasons"].iloc[-1]
    assert list(reasons) == [f"allowed CAN EDIT on experiment {PATH}: metastore admin of the metastore"]
    reasons = audit_rows(users["admin"], "alice", "logBatch")["decision_reasons"].iloc[-1]
    assert list(reasons) == [f"allowed CAN EDIT on experiment {PATH}: owner of experiment {PATH}"]
    users["admin"].sql(f"ALTER {ON} OWNER TO carol")
    with pytest.raises(catalog.PermissionDenied):  # alice handed it over and kept nothing
        clients["alice"].get_experiment(churn.experiment_id)
    assert clients["carol"].get_experiment(churn.experiment_id).owner == "carol"


def test_can_manage_grants_revokes_changes_owner_and_deletes(users, clients, churn):
    users["alice"].sql(f"GRANT CAN MANAGE ON {ON} TO bob")
    bob = users["bob"]
    bob.sql(f"GRANT CAN READ ON {ON} TO dave")
    assert clients["dave"].get_run(churn.run_id).info.run_id == churn.run_id
    with pytest.raises(catalog.PermissionDenied) as denied:  # CAN READ grants nothing on
        users["dave"].sql(f"GRANT CAN READ ON {ON} TO carol")
    assert f"GRANT CAN MANAGE ON {ON} TO dave" in denied.value.message
    assert "a principal with CAN MANAGE on it" in denied.value.message
    bob.sql(f"REVOKE CAN READ ON {ON} FROM dave")
    with pytest.raises(catalog.PermissionDenied):
        clients["dave"].get_run(churn.run_id)
    bob.sql(f"ALTER {ON} OWNER TO bob")
    assert clients["bob"].get_experiment(churn.experiment_id).owner == "bob"
    clients["bob"].delete_experiment(churn.experiment_id)
    assert clients["admin"].get_experiment(churn.experiment_id).lifecycle_stage == "deleted"
    reasons = audit_rows(users["admin"], "bob", "updatePermissions")["decision_reasons"].iloc[0]
    assert list(reasons) == [f"allowed CAN MANAGE on experiment {PATH}: CAN MANAGE on experiment {PATH} granted to bob"]


def test_a_group_grant_reaches_its_members_until_revoked(users, clients, churn):
    users["alice"].sql(f"GRANT CAN EDIT ON {ON} TO `data-scientists`")
    carol = clients["carol"]
    carol.log_metric(churn.run_id, "acc", 0.97, step=1)
    assert carol.get_run(churn.run_id).data.metrics == {"acc": 0.97}  # CAN EDIT includes CAN READ
    reasons = audit_rows(users["admin"], "carol", "logBatch")["decision_reasons"].iloc[0]
    assert list(reasons) == [
        f"allowed CAN EDIT on experiment {PATH}: CAN EDIT on experiment {PATH} granted to data-scientists"
    ]
    with pytest.raises(catalog.PermissionDenied):  # dave is not in the group
        clients["dave"].get_run(churn.run_id)
    users["alice"].sql(f"REVOKE CAN EDIT ON {ON} FROM `data-scientists`")
    with pytest.raises(catalog.PermissionDenied):
        carol.get_run(churn.run_id)


def test_granting_a_level_to_account_users_opens_the_experiment_to_everyone(users, clients, churn):
    users["alice"].sql(f"GRANT CAN READ ON {ON} TO `account users`")
    for user in ("bob", "carol", "dave"):
        assert clients[user].get_experiment_by_name(PATH).experiment_id == churn.experiment_id
        with pytest.raises(catalog.PermissionDenied):
            clients[user].log_metric(churn.run_id, "acc", 0.1)


# -- SHOW GRANTS -----------------------------------------------------------------------------------
def test_show_grants_lists_the_owner_and_every_level(users, churn):
    alice = users["alice"]
    alice.sql(f"GRANT CAN READ ON EXPERIMENT '{PATH}' TO bob")  # a string literal names it too
    alice.sql(f"GRANT CAN EDIT, CAN READ ON {ON} TO `data-scientists`")
    alice.sql(f"GRANT CAN_MANAGE ON {ON} TO dave")  # the underscore spelling, as for other privileges
    everything = {
        ("alice", "OWN", "EXPERIMENT", PATH),
        ("bob", "CAN READ", "EXPERIMENT", PATH),
        ("data-scientists", "CAN EDIT", "EXPERIMENT", PATH),
        ("data-scientists", "CAN READ", "EXPERIMENT", PATH),
        ("dave", "CAN MANAGE", "EXPERIMENT", PATH),
    }
    frame = alice.sql(f"SHOW GRANTS ON {ON}")
    assert list(frame.columns) == ["principal", "action_type", "object_type", "object_key"]
    assert len(frame) == len(everything) and grants(alice) == everything
    assert grants(users["dave"]) == everything  # CAN MANAGE sees every row, as an owner does
    assert grants(users["admin"]) == everything
    # Those who cannot manage it see the rows that apply to them; a named principal, theirs.
    assert grants(users["bob"]) == {("bob", "CAN READ", "EXPERIMENT", PATH)}
    assert grants(users["carol"]) == {
        ("data-scientists", "CAN EDIT", "EXPERIMENT", PATH),
        ("data-scientists", "CAN READ", "EXPERIMENT", PATH),
    }
    assert grants(alice, principal="carol") == grants(users["carol"])
    assert grants(alice, principal="bob") == {("bob", "CAN READ", "EXPERIMENT", PATH)}
    assert grants(users["carol"], principal="bob") == set()  # carol may not look at bob's
    users["dave"].sql(f"REVOKE CAN MANAGE ON {ON} FROM dave")  # CAN MANAGE may give itself up
    with pytest.raises(catalog.PermissionDenied) as denied:  # no level left: nothing to see
        users["dave"].sql(f"SHOW GRANTS ON {ON}")
    assert f"GRANT CAN READ ON {ON} TO dave" in denied.value.message


# -- statements that are refused -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("statement", "error", "code", "words"),
    [
        (
            "GRANT CAN READ ON EXPERIMENT `/Shared/nope` TO bob",
            catalog.NotFound,
            "RESOURCE_DOES_NOT_EXIST",
            "Experiment '/Shared/nope' does not exist",
        ),
        ("SHOW GRANTS ON EXPERIMENT '/Shared/nope'", catalog.NotFound, "RESOURCE_DOES_NOT_EXIST", "/Shared/nope"),
        (
            "ALTER EXPERIMENT `/shared/churn` OWNER TO bob",
            catalog.NotFound,
            "RESOURCE_DOES_NOT_EXIST",
            "case-sensitive",
        ),
        (
            f"GRANT SELECT ON {ON} TO bob",
            catalog.InvalidRequest,
            "INVALID_PRIVILEGE",
            "SELECT cannot be granted on an experiment (/Shared/churn). Privileges for an experiment: "
            "CAN EDIT, CAN MANAGE, CAN READ.",
        ),
        (
            f"GRANT CAN READ, MANAGE ON {ON} TO bob",
            catalog.InvalidRequest,
            "INVALID_PRIVILEGE",
            "MANAGE cannot be granted on an experiment",
        ),
        (
            "GRANT CAN READ ON TABLE main.default.t TO bob",
            catalog.InvalidRequest,
            "INVALID_PRIVILEGE",
            "CAN READ cannot be granted on a table",
        ),
        (
            "GRANT CAN READ ON CATALOG main TO bob",
            catalog.InvalidRequest,
            "INVALID_PRIVILEGE",
            "CAN READ cannot be granted on a catalog",
        ),
        (
            f"GRANT CAN WRITE ON {ON} TO bob",
            catalog.InvalidRequest,
            "INVALID_PRIVILEGE",
            "Unknown privilege 'CAN WRITE'",
        ),
        (f"GRANT CAN READ ON {ON} TO bob, nobody", catalog.NotFound, "PRINCIPAL_DOES_NOT_EXIST", "'nobody'"),
        (
            "GRANT CAN READ ON EXPERIMENT /Shared/churn TO bob",
            catalog.SqlError,
            "PARSE_SYNTAX_ERROR",
            "Expected an experiment path, backquoted or as a string",
        ),
        (f"COMMENT ON {ON} IS 'x'", catalog.SqlError, "UNSUPPORTED_STATEMENT", "with its tags"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " in value else None,
)
def test_bad_statements_are_refused_clearly_and_change_nothing(users, churn, statement, error, code, words):
    admin = users["admin"]
    admin.sql("CREATE CATALOG main")
    admin.sql("CREATE TABLE main.default.t (x INT)")
    before_experiment = grants(admin)
    before_table = grants(admin, "TABLE main.default.t")
    granted_before = audit_rows(admin, "admin", "updatePermissions")["status"].tolist().count(200)
    with pytest.raises(error) as refused:
        admin.sql(statement)
    assert refused.value.error_code == code
    assert words in refused.value.message
    assert grants(admin) == before_experiment
    assert grants(admin, "TABLE main.default.t") == before_table
    assert audit_rows(admin, "admin", "updatePermissions")["status"].tolist().count(200) == granted_before


# -- experiment names ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["/Shared/a,b", "/Shared/`quoted`", "/Shared/new\nline", "/Shared/tab\there", " /Shared/x", "/Shared/x "]
)
def test_names_that_could_not_be_a_policy_field_or_a_quoted_path_are_refused(clients, name):
    with pytest.raises(catalog.InvalidRequest) as refused:
        clients["alice"].create_experiment(name)
    assert "commas, backticks or control characters" in refused.value.message
    assert clients["alice"].get_experiment_by_name(name) is None


def test_slashes_spaces_dots_and_quotes_stay_usable(users, clients):
    name = "/Users/alice/churn model v1.2 (o'brien: final)"
    experiment_id = clients["alice"].create_experiment(name)
    users["alice"].sql(f"GRANT CAN READ ON EXPERIMENT `{name}` TO bob")
    assert clients["bob"].get_experiment(experiment_id).name == name
    assert grants(users["alice"], f"EXPERIMENT `{name}`") == {
        ("alice", "OWN", "EXPERIMENT", name),
        ("bob", "CAN READ", "EXPERIMENT", name),
    }
    lines = users["admin"].policy.export().splitlines()
    assert f"p, bob, experiment:{name}, CAN READ" in lines
    assert users["admin"].policy.plan(users["admin"].policy.export()) == []


# -- policy files ----------------------------------------------------------------------------------
def test_policy_files_export_plan_and_apply_experiment_lines(users, clients, churn):
    admin = users["admin"]
    users["alice"].sql(f"GRANT CAN READ ON {ON} TO bob")
    text = admin.policy.export()
    lines = text.splitlines()
    for expected in (
        f"p, alice, experiment:{PATH}, OWN",
        f"p, bob, experiment:{PATH}, CAN READ",
        f"g2, experiment:{PATH}, metastore",
    ):
        assert expected in lines
    assert admin.policy.plan(text) == []
    edited = (
        text.replace(f"p, bob, experiment:{PATH}, CAN READ", f"p, bob, experiment:{PATH}, CAN EDIT").replace(
            f"p, alice, experiment:{PATH}, OWN", f"p, carol, experiment:{PATH}, OWN"
        )
        + f"p, data-scientists, experiment:{PATH}, CAN MANAGE\n"
    )
    planned = admin.policy.plan(edited)
    assert planned == [
        f"GRANT CAN EDIT ON {ON} TO bob",
        f"GRANT CAN MANAGE ON {ON} TO `data-scientists`",
        f"ALTER {ON} OWNER TO carol",
        f"REVOKE CAN READ ON {ON} FROM bob",
    ]
    assert admin.policy.apply(edited) == planned
    assert admin.policy.plan(edited) == []
    assert grants(admin) == {
        ("carol", "OWN", "EXPERIMENT", PATH),
        ("bob", "CAN EDIT", "EXPERIMENT", PATH),
        ("data-scientists", "CAN MANAGE", "EXPERIMENT", PATH),
    }
    clients["bob"].log_metric(churn.run_id, "acc", 0.99, step=2)
    assert clients["carol"].get_experiment(churn.experiment_id).owner == "carol"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("p, bob, experiment:/Shared/nope, CAN READ", "unknown securable 'experiment:/Shared/nope'"),
        ("p, bob, experiment:/shared/churn, CAN READ", "unknown securable"),  # paths are case-sensitive
        (f"p, bob, experiment:{PATH}, SELECT", "SELECT cannot be granted on an experiment"),
        ("p, bob, table:/Shared/churn, SELECT", "unknown securable"),
        ("p, bob, schema:main.default, CAN READ", "CAN READ cannot be granted on a schema"),
    ],
)
def test_a_policy_file_with_a_bad_experiment_line_changes_nothing(users, churn, line, problem):
    admin = users["admin"]
    admin.sql("CREATE CATALOG main")
    text = admin.policy.export()
    with pytest.raises(catalog.PolicyError) as refused:
        admin.policy.apply(text + line + "\n")
    assert problem in refused.value.message
    assert admin.policy.plan(text) == []


# -- system tables ---------------------------------------------------------------------------------
def test_system_mlflow_tables_show_each_reader_the_experiments_they_may_read(users, clients, churn):
    alice = clients["alice"]
    private_id = alice.create_experiment("/Users/alice/private")
    private_run = alice.create_run(private_id).info.run_id
    alice.log_metric(private_run, "loss", 0.3)
    users["alice"].sql(f"GRANT CAN READ ON {ON} TO bob")
    users["alice"].sql("GRANT CAN EDIT ON EXPERIMENT `/Users/alice/private` TO `data-scientists`")

    def seen(user: str) -> tuple[set[str], set[str], set[str]]:
        cat = users[user]
        names = set(cat.sql("SELECT name FROM system.mlflow.experiments_latest")["name"])
        runs = set(cat.sql("SELECT run_id FROM system.mlflow.runs_latest")["run_id"])
        history = set(cat.sql("SELECT run_id FROM system.mlflow.run_metrics_history")["run_id"])
        return names, runs, history

    both = {PATH, "/Users/alice/private"}
    assert seen("alice") == (both, {churn.run_id, private_run}, {churn.run_id, private_run})
    assert seen("admin") == seen("alice")
    assert seen("bob") == ({PATH}, {churn.run_id}, {churn.run_id})
    assert seen("carol") == ({"/Users/alice/private"}, {private_run}, {private_run})  # through the group
    assert seen("dave") == (set(), set(), set())
    users["alice"].sql(f"REVOKE CAN READ ON {ON} FROM bob")
    assert seen("bob") == (set(), set(), set())


def test_the_information_schema_lists_no_experiment_grants(users, churn):
    """The information schema's privilege views are Unity Catalog's (catalogs, schemas, tables);
    experiment grants are in SHOW GRANTS ON EXPERIMENT and policy files instead."""
    users["alice"].sql(f"GRANT CAN READ ON {ON} TO bob")
    for view in ("catalog_privileges", "schema_privileges", "table_privileges"):
        frame = users["admin"].sql(f"SELECT * FROM system.information_schema.{view} WHERE grantee = 'bob'")
        assert frame.empty, view


# -- audit -----------------------------------------------------------------------------------------
def test_a_denial_is_audited_with_the_decision_and_the_experiment(users, clients, churn):
    users["alice"].sql(f"GRANT CAN READ ON {ON} TO bob")
    with pytest.raises(catalog.PermissionDenied):
        clients["bob"].log_metric(churn.run_id, "acc", 0.1)
    (row,) = audit_rows(users["admin"], "bob", "logBatch").itertuples(index=False)
    assert row.status == 403
    assert list(row.decision_reasons) == [
        f"denied CAN EDIT on experiment {PATH}: no grant of CAN EDIT on experiment {PATH} or its parents "
        "to bob or their groups"
    ]
    assert dict(row.params)["full_name_arg"] == f"experiment:{PATH}"
    clients["bob"].get_run(churn.run_id)
    (read,) = audit_rows(users["admin"], "bob", "getRun").itertuples(index=False)
    assert read.status == 200
    assert list(read.decision_reasons) == [
        f"allowed CAN READ on experiment {PATH}: CAN READ on experiment {PATH} granted to bob"
    ]
    assert dict(read.params)["full_name_arg"] == f"experiment:{PATH}, run:{churn.run_id}"


def test_casbin_itself_decides_experiments_the_same_way(users, clients, churn, monkeypatch):
    monkeypatch.setenv("CATALOG_AUTHZ", "casbin")
    users["alice"].sql(f"GRANT CAN EDIT ON {ON} TO `data-scientists`")  # a new snapshot: casbin decides
    clients["carol"].log_metric(churn.run_id, "acc", 0.5, step=3)
    with pytest.raises(catalog.PermissionDenied):
        clients["dave"].get_run(churn.run_id)
    reasons = audit_rows(users["admin"], "carol", "logBatch")["decision_reasons"].iloc[0]
    assert list(reasons) == [
        f"allowed CAN EDIT on experiment {PATH}: casbin matched p, data-scientists, experiment:{PATH}, CAN EDIT"
    ]


# -- principals ------------------------------------------------------------------------------------
def test_an_experiment_owner_cannot_be_dropped_before_handing_it_over(users, clients, churn):
    admin = users["admin"]
    with pytest.raises(catalog.InvalidRequest) as refused:
        admin.sql("DROP USER alice")
    assert refused.value.error_code == "PRINCIPAL_OWNS_OBJECTS"
    assert f"experiment {PATH}" in refused.value.message
    assert f"ALTER {ON} OWNER TO `new_owner`" in refused.value.message
    users["alice"].sql(f"GRANT CAN READ ON {ON} TO bob")
    admin.sql(f"ALTER {ON} OWNER TO dave")
    admin.sql("DROP USER bob")  # a grantee goes with its grants
    assert grants(admin) == {("dave", "OWN", "EXPERIMENT", PATH)}


@pytest.mark.embedded_only  # reads the DuckDB file directly
def test_the_owner_is_copied_to_the_tracking_table_in_the_same_transaction(users, clients, churn, home):
    users["alice"].sql(f"ALTER {ON} OWNER TO bob")
    for cat in users.values():
        cat.close()  # DuckDB: one process holds the file; let a plain connection read it
    with duckdb.connect(str(home / DATABASE_FILE), read_only=True) as db:
        owners = db.execute(
            "SELECT e.owner, s.owner FROM meta.experiments e "
            "JOIN meta.securables s ON s.type = 'EXPERIMENT' AND s.full_name = e.name"
        ).fetchall()
    assert owners == [("bob", "bob")]


# -- migration -------------------------------------------------------------------------------------
def test_experiments_of_an_older_home_become_securables_when_it_is_opened(tmp_path):
    """A home as version 3 left it (experiments without securables) is migrated on open: every
    experiment gets its securable, owned by its recorded owner."""
    home = tmp_path / "older"
    home.mkdir()
    with duckdb.connect(str(home / DATABASE_FILE)) as db:
        assert migrate(db, up_to=3) == 3
        store = Metastore(db)
        store.set_info("workspace_id", "older")
        for user in ("admin", "alice", "bob"):
            store.insert_principal(user, "USER", "admin")
        store.insert_securable(SecurableType.METASTORE, None, None, "admin")
        for experiment_id, name, owner in (("1", PATH, "alice"), ("2", "/Users/bob/x, y", "bob")):
            db.execute(
                "INSERT INTO meta.experiments VALUES (?, ?, ?, 'active', ?, 1700000000000, 1700000000000)",
                [experiment_id, name, f"file:///artifacts/{experiment_id}", owner],
            )
    opened = [catalog.connect(home, user=user) for user in ("admin", "alice", "bob")]
    try:
        admin, alice, bob = opened
        assert Client(alice).get_experiment("1").owner == "alice"
        with pytest.raises(catalog.PermissionDenied):
            Client(alice).get_experiment("2")
        assert grants(admin) == {("alice", "OWN", "EXPERIMENT", PATH)}
        # A name made before names were checked (here a comma) is still reachable by SQL.
        assert grants(admin, "EXPERIMENT '/Users/bob/x, y'") == {("bob", "OWN", "EXPERIMENT", "/Users/bob/x, y")}
        admin.sql(f"GRANT CAN READ ON {ON} TO bob")
        assert Client(bob).get_experiment("1").name == PATH
        names = admin.sql("SELECT name FROM system.mlflow.experiments_latest ORDER BY name")["name"].tolist()
        assert names == [PATH, "/Users/bob/x, y"]
    finally:
        for cat in opened:
            cat.close()
    with duckdb.connect(str(home / DATABASE_FILE), read_only=True) as db:
        assert current_version(db) >= 4
        rows = db.execute(
            "SELECT full_name, owner, parent_id FROM meta.securables WHERE type = 'EXPERIMENT'"
        ).fetchall()
        (root,) = db.execute("SELECT id FROM meta.securables WHERE type = 'METASTORE'").fetchall()
    assert sorted(rows) == [(PATH, "alice", root[0]), ("/Users/bob/x, y", "bob", root[0])]

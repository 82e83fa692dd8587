"""The model registry against a real home: registration, versions, aliases, stages, tags,
search, EXECUTE on load, tampering, lineage, audit, SQL and the information schema."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import catalog
from catalog import tracking
from catalog.errors import AlreadyExists, InvalidName, InvalidRequest, NotFound, PermissionDenied
from catalog.models import ModelIntegrityError, save_model
from catalog.models import load_model as load_model_dir
from catalog.tracking import Client

BOTH_BACKENDS = True  # each test that connects runs on the embedded and on the remote client

MODEL = "main.ml.churn_model"


pytestmark = pytest.mark.usefixtures("tracking_state")


@pytest.fixture
def alice(world) -> Client:
    """alice may create models in main.ml (through analysts) and read churn_features."""
    world["admin"].sql("GRANT CREATE MODEL ON SCHEMA main.ml TO analysts")
    return Client(world["alice"])


@pytest.fixture
def bob(world) -> Client:
    return Client(world["bob"])


def features(cat) -> tuple[pd.DataFrame, pd.Series]:
    frame = cat.read_table("main.ml.churn_features")
    return frame[["tenure_months", "avg_session_minutes"]], frame["churned"]


def trained_run(
    client: Client, tmp_path: Path, *, name: str = "model", C: float = 1.0
) -> tuple[str, LogisticRegression]:
    """A finished run that read churn_features and logged a fitted model at ``name``."""
    cat = client.cat
    experiment = cat_experiment(client)
    run = client.create_run(experiment, run_name="lr")
    X, y = features(cat)
    client.log_inputs(run.info.run_id, [tracking.DatasetInput("main.ml.churn_features", "d1", len(X), "training")])
    model = LogisticRegression(C=C).fit(X, y)
    folder = tmp_path / f"saved-{run.info.run_id}"
    save_model(model, folder, input_example=X.head(2))
    client.log_artifacts(run.info.run_id, folder, name)
    client.set_terminated(run.info.run_id)
    return run.info.run_id, model


def cat_experiment(client: Client) -> str:
    found = client.get_experiment_by_name("/Shared/churn")
    return found.experiment_id if found else client.create_experiment("/Shared/churn")


def audit(admin, action: str) -> pd.DataFrame:
    return admin.sql(
        "SELECT user_identity.email AS who, response.status_code AS status, request_params FROM system.access.audit "
        "WHERE action_name = ? ORDER BY event_time",
        [action],
    )


# -- registration ----------------------------------------------------------------------------------
def test_register_creates_the_model_and_numbers_versions(alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    first = alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    second = alice.create_model_version(MODEL, f"runs:/{run_id}/model", description="same again")
    assert (first.version, second.version) == (1, 2)
    assert first.name == MODEL and first.run_id == run_id and first.status == "READY"
    assert first.source == f"runs:/{run_id}/model" and first.user_id == "alice"
    assert len(first.digest) == 64 and first.current_stage == "None"
    assert second.description == "same again"
    model = alice.get_registered_model(MODEL)
    assert model.owner == "alice" and [v.version for v in model.latest_versions] == [2]


def test_fluent_register_model(world, alice, tmp_path, connect):
    run_id, _ = trained_run(alice, tmp_path)
    connect("alice")  # the module-level functions act as alice
    version = tracking.register_model(f"runs:/{run_id}/model", MODEL, tags={"team": "growth"})
    assert version.version == 1 and version.tags == {"team": "growth"}


def test_creating_a_model_needs_create_model_on_the_schema(world, bob, tmp_path):
    world["admin"].sql("GRANT USE CATALOG ON CATALOG main TO bob")
    world["admin"].sql("GRANT USE SCHEMA ON SCHEMA main.ml TO bob")
    with pytest.raises(PermissionDenied, match="CREATE MODEL"):
        bob.create_registered_model(MODEL)
    assert audit(world["admin"], "createRegisteredModel")["status"].tolist() == [403]
    world["admin"].sql("GRANT CREATE MODEL ON SCHEMA main.ml TO bob")
    assert bob.create_registered_model(MODEL, description="churn").description == "churn"
    with pytest.raises(AlreadyExists, match="already exists"):
        bob.create_registered_model(MODEL)


def test_adding_a_version_needs_ownership_or_manage(world, alice, tmp_path, connect):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    world["admin"].sql("CREATE USER carol")
    world["admin"].sql("ALTER GROUP analysts ADD USER carol")
    carol = Client(connect("carol"))
    world["admin"].sql("GRANT CAN READ ON EXPERIMENT `/Shared/churn` TO carol")
    with pytest.raises(PermissionDenied, match="MANAGE"):
        carol.create_model_version(MODEL, f"runs:/{run_id}/model")
    world["admin"].sql(f"GRANT MANAGE ON MODEL {MODEL} TO carol")
    assert carol.create_model_version(MODEL, f"runs:/{run_id}/model").version == 2


def test_registering_from_a_run_one_cannot_read_is_refused(world, alice, bob, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    world["admin"].sql("GRANT USE CATALOG ON CATALOG main TO bob")
    world["admin"].sql("GRANT USE SCHEMA, CREATE MODEL ON SCHEMA main.ml TO bob")
    with pytest.raises(PermissionDenied):
        bob.create_model_version("main.ml.stolen", f"runs:/{run_id}/model", create_model=True)
    # nothing was left behind: not the model bob's registration would have created
    assert bob.search_registered_models() == []
    assert world["admin"].sql("SHOW MODELS IN main.ml")["modelName"].tolist() == []


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("/tmp/some/model", InvalidRequest),
        ("runs:/0123456789abcdef0123456789abcdef/model", NotFound),
    ],
)
def test_bad_sources_are_refused_clearly(alice, source, error):
    with pytest.raises(error):
        alice.create_model_version(MODEL, source, create_model=True)


def test_a_missing_artifact_path_is_refused(alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    with pytest.raises(NotFound, match=r"no artifact|No model"):
        alice.create_model_version(MODEL, f"runs:/{run_id}/nothing-here", create_model=True)


@pytest.mark.parametrize("name", ["churn_model", "ml.churn_model", "a.b.c.d"])
def test_model_names_have_three_parts(alice, name):
    with pytest.raises(InvalidName):
        alice.create_registered_model(name)


def test_a_tampered_logged_model_is_not_registered(world, alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    run = alice.get_run(run_id)
    logged = Path(run.info.artifact_uri.removeprefix("file://")) / "model"
    (logged / "requirements.txt").write_text("evil==1.0\n")
    with pytest.raises(ModelIntegrityError):
        alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    assert world["admin"].sql("SHOW MODELS IN main.ml")["modelName"].tolist() == []


# -- versions are immutable and checked on load ---------------------------------------------------------
def test_a_version_is_a_copy_that_later_changes_to_the_run_do_not_touch(alice, tmp_path):
    run_id, model = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    run = alice.get_run(run_id)
    shutil.rmtree(Path(run.info.artifact_uri.removeprefix("file://")) / "model")
    X, _ = features(alice.cat)
    loaded = load_model_dir(f"models:/{MODEL}/1", cat=alice.cat)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_tampered_version_is_refused_on_load(alice, tmp_path, home):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    (stored(home, alice, 1) / "requirements.txt").write_text("evil==1.0\n")
    with pytest.raises(ModelIntegrityError, match=r"requirements\.txt"):
        load_model_dir(f"models:/{MODEL}/1", cat=alice.cat)


def test_a_rewritten_descriptor_is_refused_by_the_registered_digest(alice, tmp_path, home):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    descriptor = stored(home, alice, 1) / "MLmodel"
    descriptor.write_text(descriptor.read_text() + "\n# edited\n")
    with pytest.raises(ModelIntegrityError, match="changed after it was registered"):
        load_model_dir(f"models:/{MODEL}/1", cat=alice.cat)


def test_loading_needs_execute(world, alice, bob, tmp_path):
    run_id, model = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    world["admin"].sql("GRANT USE CATALOG ON CATALOG main TO bob")
    world["admin"].sql("GRANT USE SCHEMA ON SCHEMA main.ml TO bob")
    with pytest.raises(PermissionDenied, match="EXECUTE"):
        load_model_dir(f"models:/{MODEL}/1", cat=bob.cat)
    denied = audit(world["admin"], "getModelVersionDownloadUri")
    assert denied[denied["who"] == "bob"]["status"].tolist() == [403]
    world["admin"].sql(f"GRANT EXECUTE ON MODEL {MODEL} TO bob")
    X, _ = features(alice.cat)
    np.testing.assert_array_equal(load_model_dir(f"models:/{MODEL}/1", cat=bob.cat).predict(X), model.predict(X))
    assert bob.get_model_version_download_uri(MODEL, 1).startswith("file://")
    downloaded = bob.download_model_version(MODEL, 1, tmp_path / "download")
    assert downloaded == tmp_path / "download" / "1"
    np.testing.assert_array_equal(load_model_dir(downloaded).predict(X), model.predict(X))


# -- aliases ---------------------------------------------------------------------------------------------
def test_aliases(alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    for _ in range(2):
        alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.set_registered_model_alias(MODEL, "Champion", 1)
    alice.set_registered_model_alias(MODEL, "challenger", "2")
    assert alice.get_model_version_by_alias(MODEL, "champion").version == 1
    assert alice.get_registered_model(MODEL).aliases == {"challenger": 2, "champion": 1}
    assert alice.get_model_version(MODEL, 1).aliases == ("champion",)
    alice.set_registered_model_alias(MODEL, "champion", 2)  # moving an alias
    assert alice.get_model_version(MODEL, 2).aliases == ("challenger", "champion")
    alice.delete_registered_model_alias(MODEL, "challenger")
    with pytest.raises(NotFound, match="no alias 'challenger'"):
        alice.get_model_version_by_alias(MODEL, "challenger")
    with pytest.raises(NotFound, match="no alias"):
        alice.delete_registered_model_alias(MODEL, "challenger")
    with pytest.raises(NotFound, match="no version 7"):
        alice.set_registered_model_alias(MODEL, "champion", 7)
    assert located(alice, alias="champion") == 2


def located(client: Client, **selector: str | int) -> int:
    """The version a load by ``version``, ``alias`` or ``stage`` gets its files from."""
    return client.cat.invoke("getModelVersionDownloadUri", name=MODEL, **selector).version


def stored(home: Path, client: Client, version: int) -> Path:
    """The folder of the home that holds a version's files."""
    return home / client.get_model_version(MODEL, version).storage_location


@pytest.mark.parametrize("alias", ["latest", "v3", "", "has space", "-dash-first", "x" * 300])
def test_reserved_and_malformed_aliases_are_refused(alice, tmp_path, alias):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    with pytest.raises(InvalidRequest, match="not valid"):
        alice.set_registered_model_alias(MODEL, alias, 1)


def test_a_version_an_alias_points_to_cannot_be_deleted(world, alice, tmp_path, home):
    run_id, _ = trained_run(alice, tmp_path)
    for _ in range(2):
        alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.set_registered_model_alias(MODEL, "champion", 2)
    with pytest.raises(InvalidRequest, match="alias 'champion' points to it") as raised:
        alice.delete_model_version(MODEL, 2)
    assert raised.value.error_code == "INVALID_STATE"
    assert alice.get_model_version(MODEL, 2).version == 2  # still there
    folder = stored(home, alice, 2)
    alice.set_registered_model_alias(MODEL, "champion", 1)
    alice.delete_model_version(MODEL, 2)
    assert not folder.exists()  # its files went with it, after the commit
    with pytest.raises(NotFound):
        alice.get_model_version(MODEL, 2)
    # numbers are never reused
    assert alice.create_model_version(MODEL, f"runs:/{run_id}/model").version == 3


# -- stages (legacy) ---------------------------------------------------------------------------------------
def test_stages_and_archiving_existing_versions(alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    for _ in range(3):
        alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.transition_model_version_stage(MODEL, 1, "production")
    alice.transition_model_version_stage(MODEL, 2, "Staging")
    moved = alice.transition_model_version_stage(MODEL, 3, "Production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    assert alice.get_model_version(MODEL, 1).current_stage == "Archived"
    assert alice.get_model_version(MODEL, 2).current_stage == "Staging"
    latest = {v.current_stage: v.version for v in alice.get_latest_versions(MODEL)}
    assert latest == {"Staging": 2, "Production": 3, "Archived": 1}
    assert [v.version for v in alice.get_latest_versions(MODEL, stages=["Production"])] == [3]
    assert located(alice, stage="production") == 3
    with pytest.raises(InvalidRequest, match="not one of"):
        alice.transition_model_version_stage(MODEL, 1, "Prod")


# -- tags and descriptions -----------------------------------------------------------------------------------
def test_tags_and_descriptions(alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.set_registered_model_tag(MODEL, "team", "growth")
    alice.set_model_version_tag(MODEL, 1, "validated", True)
    alice.update_registered_model(MODEL, description="Predicts churn")
    alice.update_model_version(MODEL, 1, description="first cut")
    model = alice.get_registered_model(MODEL)
    assert model.tags == {"team": "growth"} and model.description == "Predicts churn"
    version = alice.get_model_version(MODEL, 1)
    assert version.tags == {"validated": "True"} and version.description == "first cut"
    alice.delete_registered_model_tag(MODEL, "team")
    alice.delete_model_version_tag(MODEL, 1, "validated")
    assert alice.get_registered_model(MODEL).tags == {} and alice.get_model_version(MODEL, 1).tags == {}
    with pytest.raises(NotFound, match="no tag 'team'"):
        alice.delete_registered_model_tag(MODEL, "team")


def test_changing_a_model_needs_manage(world, alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    world["admin"].sql(f"GRANT EXECUTE ON MODEL {MODEL} TO bob")
    world["admin"].sql("GRANT USE CATALOG ON CATALOG main TO bob")
    world["admin"].sql("GRANT USE SCHEMA ON SCHEMA main.ml TO bob")
    bob = Client(world["bob"])
    assert bob.get_model_version(MODEL, 1).version == 1  # EXECUTE lets bob see it
    for attempt in (
        lambda: bob.set_registered_model_alias(MODEL, "champion", 1),
        lambda: bob.update_registered_model(MODEL, "mine"),
        lambda: bob.transition_model_version_stage(MODEL, 1, "Production"),
        lambda: bob.delete_model_version(MODEL, 1),
        lambda: bob.delete_registered_model(MODEL),
        lambda: bob.set_model_version_tag(MODEL, 1, "k", "v"),
    ):
        with pytest.raises(PermissionDenied, match="MANAGE"):
            attempt()
    assert alice.get_registered_model(MODEL).aliases == {}


# -- search ----------------------------------------------------------------------------------------------------
@pytest.fixture
def three_models(world, alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    for name, versions, team in [
        ("main.ml.churn_model", 2, "growth"),
        ("main.ml.ltv_model", 1, "finance"),
        ("main.ml.churn_v2", 3, "growth"),
    ]:
        for _ in range(versions):
            alice.create_model_version(name, f"runs:/{run_id}/model", create_model=True)
        alice.set_registered_model_tag(name, "team", team)
    return run_id


def test_search_registered_models(alice, three_models):
    names = lambda found: [m.name for m in found]  # noqa: E731
    assert names(alice.search_registered_models()) == ["main.ml.churn_model", "main.ml.churn_v2", "main.ml.ltv_model"]
    assert names(alice.search_registered_models("name LIKE 'main.ml.churn%'")) == [
        "main.ml.churn_model",
        "main.ml.churn_v2",
    ]
    assert names(alice.search_registered_models("name ILIKE 'MAIN.ML.LTV%'")) == ["main.ml.ltv_model"]
    assert names(alice.search_registered_models("tags.team = 'growth' AND name != 'main.ml.churn_v2'")) == [
        "main.ml.churn_model"
    ]
    assert names(alice.search_registered_models(order_by=["name DESC"])) == [
        "main.ml.ltv_model",
        "main.ml.churn_v2",
        "main.ml.churn_model",
    ]
    page = alice.search_registered_models(max_results=2)
    assert len(page) == 2 and page.token is not None
    rest = alice.search_registered_models(max_results=2, page_token=page.token)
    assert names(rest) == ["main.ml.ltv_model"] and rest.token is None


def test_search_model_versions(alice, three_models):
    run_id = three_models
    found = alice.search_model_versions("name = 'main.ml.churn_v2'")
    assert [v.version for v in found] == [3, 2, 1]
    found = alice.search_model_versions(f"run_id = '{run_id}' AND version_number >= 2")
    assert sorted((v.name, v.version) for v in found) == [
        ("main.ml.churn_model", 2),
        ("main.ml.churn_v2", 2),
        ("main.ml.churn_v2", 3),
    ]
    found = alice.search_model_versions("name IN ('main.ml.ltv_model', 'main.ml.none')")
    assert [(v.name, v.version) for v in found] == [("main.ml.ltv_model", 1)]
    ordered = alice.search_model_versions("name LIKE 'main.ml.churn%'", order_by=["version_number ASC", "name DESC"])
    assert [(v.name, v.version) for v in ordered][:2] == [("main.ml.churn_v2", 1), ("main.ml.churn_model", 1)]


@pytest.mark.parametrize(
    "bad",
    [
        "name = 'a' OR name = 'b'",
        "flavor = 'sklearn'",
        "version_number > 'two'",
        "name > 3",
        "name = unquoted",
        "name LIKE",
        "run_id = '1'; DROP TABLE x",
    ],
)
def test_bad_search_filters_get_a_clear_error(alice, three_models, bad):
    with pytest.raises(InvalidRequest, match="Invalid filter") as raised:
        alice.search_model_versions(bad)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_bad_order_and_limits(alice, three_models):
    with pytest.raises(InvalidRequest, match="order_by"):
        alice.search_registered_models(order_by=["owner"])
    with pytest.raises(InvalidRequest, match="max_results"):
        alice.search_registered_models(max_results=0)
    with pytest.raises(InvalidRequest, match="page_token"):
        alice.search_registered_models(page_token="-5")


def test_search_shows_only_models_the_caller_may_see(world, alice, bob, three_models):
    assert bob.search_registered_models() == [] and bob.search_model_versions() == []
    world["admin"].sql("GRANT EXECUTE ON MODEL main.ml.ltv_model TO bob")
    assert [m.name for m in bob.search_registered_models()] == ["main.ml.ltv_model"]
    assert [(v.name, v.version) for v in bob.search_model_versions()] == [("main.ml.ltv_model", 1)]


# -- lineage and audit ------------------------------------------------------------------------------------------
def test_registration_records_lineage_from_the_tables_the_run_read(world, alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    world["admin"].sql("GRANT USE SCHEMA, SELECT ON SCHEMA system.access TO analysts")
    edges = world["alice"].sql(
        "SELECT source_table_full_name, source_type, target_type FROM system.access.table_lineage "
        "WHERE target_table_full_name = ?",
        [MODEL],
    )
    assert edges.to_dict("records") == [
        {"source_table_full_name": "main.ml.churn_features", "source_type": "TABLE", "target_type": "MODEL"}
    ]
    graph = world["alice"].lineage.upstream(MODEL)
    assert "main.ml.churn_features" in set(graph.nodes_table["name"])


def test_registrations_and_alias_changes_are_audited(world, alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.set_registered_model_alias(MODEL, "champion", 1)
    alice.delete_registered_model_alias(MODEL, "champion")
    admin = world["admin"]
    registered = audit(admin, "createModelVersion")
    assert registered["who"].tolist() == ["alice"] and registered["status"].tolist() == [200]
    assert dict(registered["request_params"][0])["source"] == f"runs:/{run_id}/model"
    set_alias = audit(admin, "setRegisteredModelAlias")
    assert dict(set_alias["request_params"][0]).items() >= {"name": MODEL, "alias": "champion", "version": "1"}.items()
    assert audit(admin, "deleteRegisteredModelAlias")["status"].tolist() == [200]


# -- SQL --------------------------------------------------------------------------------------------------------
def test_sql_show_describe_grant_drop(world, alice, tmp_path, home):
    run_id, _ = trained_run(alice, tmp_path)
    for _ in range(2):
        alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.set_registered_model_alias(MODEL, "champion", 2)
    cat = world["alice"]
    assert cat.sql("SHOW MODELS IN main.ml")["modelName"].tolist() == ["churn_model"]
    assert cat.sql("SHOW MODELS IN main.ml LIKE 'ltv*'").empty
    info = dict(cat.sql(f"DESCRIBE MODEL {MODEL}").values.tolist())
    assert info["Owner"] == "alice" and info["Versions"] == "2" and info["Aliases"] == "champion=2"
    extended = dict(cat.sql(f"DESCRIBE MODEL EXTENDED {MODEL}").values.tolist())
    assert "aliases champion" in extended["Version 2"]
    cat.sql(f"GRANT EXECUTE ON MODEL {MODEL} TO bob")
    grants = cat.sql(f"SHOW GRANTS ON MODEL {MODEL}")
    assert ("bob", "EXECUTE") in set(zip(grants["principal"], grants["action_type"], strict=True))
    folder = stored(home, alice, 1).parent
    with pytest.raises(PermissionDenied):
        world["bob"].sql(f"DROP MODEL {MODEL}")
    cat.sql(f"DROP MODEL {MODEL}")
    assert not folder.exists()
    assert cat.sql("SHOW MODELS IN main.ml").empty
    cat.sql(f"DROP MODEL IF EXISTS {MODEL}")
    with pytest.raises(NotFound, match=r"Registered model 'main\.ml\.churn_model' does not exist"):
        cat.sql(f"DROP MODEL {MODEL}")


def test_information_schema_lists_models_and_versions_per_reader(world, alice, tmp_path):
    run_id, _ = trained_run(alice, tmp_path)
    for _ in range(2):
        alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.set_registered_model_alias(MODEL, "champion", 2)
    models = world["alice"].sql(
        "SELECT full_name, owner, latest_version, aliases FROM system.information_schema.registered_models"
    )
    assert models["full_name"].tolist() == [MODEL] and models["latest_version"].tolist() == [2]
    assert dict(models["aliases"][0]) == {"champion": 2}
    versions = world["alice"].sql(
        "SELECT version, run_id, source, aliases, status FROM system.information_schema.model_versions ORDER BY version"
    )
    assert versions["version"].tolist() == [1, 2] and set(versions["run_id"]) == {run_id}
    assert list(versions["aliases"][1]) == ["champion"] and set(versions["status"]) == {"READY"}
    assert world["bob"].sql("SELECT * FROM system.information_schema.model_versions").empty


# -- the issue's story, end to end ---------------------------------------------------------------------------------
def test_the_issues_story(world, tmp_path, monkeypatch, connect):
    from sklearn.ensemble import RandomForestClassifier

    admin = world["admin"]
    admin.sql("GRANT CREATE MODEL ON SCHEMA main.ml TO analysts")
    admin.sql("GRANT USE SCHEMA, SELECT ON SCHEMA system.access TO analysts")
    cat = connect("alice")
    df = cat.read_table("main.ml.churn_features")
    X, y = df.drop(columns=["churned", "customer_id"]), df["churned"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feature_importance.png").write_bytes(b"\x89PNG not really")
    tracking.set_experiment("/Shared/churn")
    tracking.autolog()
    try:
        with tracking.start_run(run_name="rf-baseline") as run:
            model = RandomForestClassifier(n_estimators=5, max_depth=8, random_state=0).fit(X, y)
            tracking.log_metric("test_accuracy", 0.91)
            tracking.log_artifact("feature_importance.png")
    finally:
        tracking.autolog(disable=True)
    v = tracking.register_model(f"runs:/{run.info.run_id}/model", "main.ml.churn_model")
    assert v.version == 1
    client = tracking.Client()
    client.set_registered_model_alias("main.ml.churn_model", "champion", v.version)
    m = catalog.models.load_model("models:/main.ml.churn_model@champion")
    np.testing.assert_array_equal(m.predict(X.head()), model.predict(X.head()))
    found = tracking.search_runs(
        experiment_names=["/Shared/churn"],
        filter_string="metrics.test_accuracy > 0.8 and params.max_depth = '8'",
        order_by=["metrics.test_accuracy DESC"],
    )
    assert found["run_id"].tolist() == [run.info.run_id]
    lineage = cat.sql(
        "SELECT source_table_full_name FROM system.access.table_lineage "
        "WHERE target_table_full_name = 'main.ml.churn_model'"
    )
    assert lineage["source_table_full_name"].tolist() == ["main.ml.churn_features"]
    # bob may not load it until granted EXECUTE (and usage of its containers)
    bob = connect("bob")
    with pytest.raises(PermissionDenied):
        catalog.models.load_model("models:/main.ml.churn_model/1", cat=bob)
    admin.sql("GRANT USE CATALOG ON CATALOG main TO bob")
    admin.sql("GRANT USE SCHEMA ON SCHEMA main.ml TO bob")
    admin.sql("GRANT EXECUTE ON MODEL main.ml.churn_model TO bob")
    assert len(catalog.models.load_model("models:/main.ml.churn_model/1", cat=bob).predict(X)) == len(X)


def test_log_model_can_register_at_once(world, alice, tmp_path, connect):
    connect("alice")
    X, y = features(alice.cat)
    tracking.set_experiment("/Shared/churn")
    with tracking.start_run():
        first = catalog.models.log_model(LogisticRegression().fit(X, y), "model", registered_model_name=MODEL)
        second = catalog.models.log_model(LogisticRegression(C=0.5).fit(X, y), "model-2", registered_model_name=MODEL)
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    assert alice.get_model_version(MODEL, 2).source == second.model_uri


def test_dropping_the_schema_drops_its_models_and_their_files(world, alice, tmp_path, home):
    run_id, _ = trained_run(alice, tmp_path)
    alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True)
    alice.set_registered_model_alias(MODEL, "champion", 1)
    folder = stored(home, alice, 1).parent
    admin = world["admin"]
    admin.sql("DROP SCHEMA main.ml CASCADE")
    assert not folder.exists()
    assert admin.sql("SELECT count(*) AS n FROM system.information_schema.model_versions")["n"][0] == 0
    admin.sql("CREATE SCHEMA main.ml")  # a model of the same name starts again from version 1
    admin.sql("GRANT USE SCHEMA, CREATE MODEL ON SCHEMA main.ml TO analysts")
    assert alice.create_model_version(MODEL, f"runs:/{run_id}/model", create_model=True).version == 1

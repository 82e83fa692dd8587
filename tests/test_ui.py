"""The web UI (catalog/ui/static) driven in headless Chromium against a real server on 127.0.0.1.

One home per module: catalog ``main`` with schema ``ml``, table ``main.ml.customers`` and
``main.ml.churn_features`` made from it by CTAS (lineage customers -> churn_features), a model
``main.ml.churn_model`` (tagged, described) trained on churn_features in the run ``train`` (lineage
churn_features -> model; param max_iter, artifact reports/summary.bin) and served by
``main.ml.churn_endpoint``, which captures its requests into ``main.ml.churn_payload`` and has
served four requests (one refused as malformed); experiment ``/Shared/churn`` with three more runs
(params lr and depth, metric loss at five steps and acc). alice holds USE CATALOG, USE SCHEMA +
SELECT on main.ml, EXECUTE on the model and CAN READ on the experiment; carol holds QUERY on the
endpoint alone; bob holds nothing, and was refused a read of main.ml.customers.

Screenshots of the main pages go to docs/screenshots/ (1280x800, overwritten on every run).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest
from servers import ThreadServer, mint_token

import catalog
from catalog import tracking
from catalog.tracking import Client
from catalog.tracking.store import Metric

expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
TIMEOUT_MS = 10_000

WORLD = (
    "CREATE CATALOG main",
    "CREATE SCHEMA main.ml COMMENT 'churn work'",
    "CREATE USER alice",
    "CREATE USER bob",
    "CREATE USER carol",
    "CREATE TABLE main.ml.customers (customer_id INT COMMENT 'the customer key', tenure_months INT, plan STRING)"
    " COMMENT 'one row per customer'",
    "INSERT INTO main.ml.customers VALUES (1, 3, 'basic'), (2, 14, 'pro'), (3, 40, 'pro'), (4, 7, 'basic')",
    "CREATE TABLE main.ml.churn_features AS"
    " SELECT customer_id, tenure_months, plan = 'pro' AS is_pro FROM main.ml.customers",
    "GRANT USE CATALOG ON CATALOG main TO alice",
    "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO alice",
)
RUNS = {"run-a": (0.1, 3), "run-b": (0.01, 3), "run-c": (0.1, 5)}  # name: (lr, depth)
ARTIFACT = bytes(range(256)) * 3  # every byte value: the download must not be text-mangled
GOOD_REQUEST = {"dataframe_records": [{"tenure_months": 3}]}


def build_world(home: Path) -> dict[str, str]:
    """The module's home; returns the run ids by run name and the experiment id."""
    from sklearn.linear_model import LogisticRegression

    admin = catalog.connect(home, user="admin")
    try:
        for statement in WORLD:
            admin.sql(statement)
        client = Client(admin)
        experiment_id = client.create_experiment("/Shared/churn")
        ids = {"experiment": experiment_id}
        t0 = int(time.time() * 1000)
        for i, (name, (lr, depth)) in enumerate(RUNS.items()):
            run_id = client.create_run(experiment_id, run_name=name).info.run_id
            losses = [Metric("loss", round(1.0 / (step + 1 + i), 4), t0 + step, step) for step in range(5)]
            client.log_batch(
                run_id, metrics=[*losses, Metric("acc", 0.7 + 0.05 * i, t0, 0)], params={"lr": lr, "depth": depth}
            )
            client.set_terminated(run_id)
            ids[name] = run_id
        tracking.set_experiment("/Shared/churn")
        try:
            with tracking.start_run(run_name="train") as train:
                tracking.log_param("max_iter", 100)
                frame = admin.read_table("main.ml.churn_features")
                model = LogisticRegression().fit(frame[["tenure_months"]], frame["is_pro"])
                catalog.models.log_model(
                    model,
                    "model",
                    input_example=frame[["tenure_months"]].head(2),
                    registered_model_name="main.ml.churn_model",
                )
        finally:
            tracking._state.experiment_id = None
        ids["train"] = train.info.run_id
        artifact = home.parent / "summary.bin"
        artifact.write_bytes(ARTIFACT)
        client.log_artifact(ids["train"], artifact, "reports")
        client.set_registered_model_tag("main.ml.churn_model", "team", "growth")
        client.update_registered_model("main.ml.churn_model", "predicts churn from tenure")
        admin.serving.create_endpoint(
            "main.ml.churn_endpoint",
            {
                "served_entities": [{"entity_name": "main.ml.churn_model", "entity_version": "1", "name": "v1"}],
                "auto_capture_config": {"catalog_name": "main", "schema_name": "ml", "table_name_prefix": "churn"},
            },
        )
        for _ in range(3):
            admin.serving.query("main.ml.churn_endpoint", GOOD_REQUEST)
        with pytest.raises(catalog.CatalogError):
            admin.serving.query("main.ml.churn_endpoint", {"dataframe_records": [{"nope": 1}]})
        assert admin.serving.flush()
        for statement in (
            "GRANT EXECUTE ON MODEL main.ml.churn_model TO alice",
            "GRANT CAN READ ON EXPERIMENT `/Shared/churn` TO alice",
            "GRANT QUERY ON ENDPOINT main.ml.churn_endpoint TO carol",
        ):
            admin.sql(statement)
        bob = catalog.connect(home, user="bob")
        try:
            with pytest.raises(catalog.CatalogError, match="does not have USE CATALOG"):
                bob.sql("SELECT * FROM main.ml.customers")
        finally:
            bob.close()
        return ids
    finally:
        admin.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadServer, dict[str, str]]]:
    home = tmp_path_factory.mktemp("ui") / "home"
    ids = build_world(home)
    server = ThreadServer(home)
    yield server, ids
    server.stop()


@pytest.fixture(scope="module")
def server(world: tuple[ThreadServer, dict[str, str]]) -> ThreadServer:
    return world[0]


@pytest.fixture(scope="module")
def ids(world: tuple[ThreadServer, dict[str, str]]) -> dict[str, str]:
    return world[1]


@pytest.fixture(scope="module")
def tokens(server: ThreadServer) -> dict[str, str]:
    return {user: mint_token(server.home, user) for user in ("admin", "alice", "bob", "carol")}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("The UI tests drive Debian's Chromium: install it with `apt-get install chromium` (.ci/run does).")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (its own sessionStorage) at 1280x800; fails the test on a JS error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page, server: ThreadServer, token: str, user: str, at: str = "#/") -> None:
    page.goto(f"{server.url}/{at}")
    page.get_by_test_id("signin-token").fill(token)
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("user")).to_have_text(user)


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_selector(".loading", state="detached")
    page.screenshot(path=str(SCREENSHOTS / name))


def test_sign_in_refuses_a_bad_token_then_signs_in_and_out(page, server, tokens):
    page.goto(f"{server.url}/")
    page.get_by_test_id("signin-token").fill("not-a-token")
    page.get_by_test_id("signin-submit").click()
    error = page.get_by_test_id("error")
    expect(error).to_contain_text("UNAUTHENTICATED")
    expect(error).to_contain_text("The token is unknown, expired or revoked")
    expect(page.get_by_test_id("user")).to_be_hidden()

    page.get_by_test_id("signin-token").fill(tokens["alice"])
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("user")).to_have_text("alice")
    assert page.evaluate("sessionStorage.getItem('catalog.token')") == tokens["alice"]
    page.reload()  # the token survives a reload of the tab
    expect(page.get_by_test_id("user")).to_have_text("alice")

    page.get_by_test_id("signout").click()
    expect(page.get_by_test_id("signin-token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('catalog.token')") is None


def test_browse_from_the_catalogs_to_a_table(page, server, tokens):
    sign_in(page, server, tokens["alice"], "alice")
    catalogs = page.get_by_test_id("catalog-list")
    expect(catalogs).to_contain_text("main")
    screenshot(page, "catalog.png")
    catalogs.get_by_role("link", name="main").click()
    page.get_by_test_id("schema-list").get_by_role("link", name="ml").click()
    assert page.url.endswith("#/schema/main.ml")
    expect(page.get_by_test_id("model-list")).to_contain_text("churn_model")
    expect(page.get_by_test_id("endpoint-list")).to_contain_text("No serving endpoints you may see")
    tables = page.get_by_test_id("table-list")
    expect(tables.locator('a[data-name="main.ml.customers"]')).to_have_text("customers table")  # its kind beside it
    tables.locator('a[data-name="main.ml.customers"]').click()

    columns = page.get_by_test_id("table-columns")
    expect(columns.locator("tbody tr")).to_have_count(3)
    expect(columns.locator("tbody tr").first).to_contain_text("customer_id")
    expect(columns.locator("tbody tr").first).to_contain_text("int")
    expect(columns.locator("tbody tr").first).to_contain_text("the customer key")
    expect(page.get_by_test_id("table-owner")).to_have_text("admin")
    expect(page.get_by_test_id("table-comment")).to_have_text("one row per customer")
    rows = page.get_by_test_id("sample-rows")
    expect(rows.locator("tbody tr")).to_have_count(4)
    expect(rows.locator("thead")).to_contain_text("tenure_months")
    expect(rows.locator("tbody tr").nth(1)).to_contain_text("pro")
    grants = page.get_by_test_id("grants")
    expect(grants).to_contain_text("USE SCHEMA")
    expect(grants.locator("tr", has_text="SELECT").first).to_contain_text("alice")
    expect(page.get_by_test_id("breadcrumbs").locator("li")).to_have_text(["Catalogs", "main", "ml", "customers"])
    screenshot(page, "table.png")

    # alice may not grant: the form shows the API's refusal
    page.get_by_test_id("grant-principal").fill("bob")
    page.get_by_test_id("grant-submit").click()
    refusal = page.get_by_test_id("grant-outcome").get_by_test_id("refused")
    expect(refusal).to_contain_text("PERMISSION_DENIED")
    expect(refusal).to_contain_text("does not have MANAGE on table main.ml.customers")


def test_the_owner_grants_and_revokes_from_the_table_page(page, server, tokens):
    sign_in(page, server, tokens["admin"], "admin", at="#/table/main.ml.churn_features")
    grants = page.get_by_test_id("grants")
    expect(grants).to_contain_text("OWN")
    page.get_by_test_id("grant-principal").fill("bob")
    page.get_by_test_id("grant-privilege").select_option("MODIFY")
    page.get_by_test_id("grant-submit").click()
    expect(page.get_by_test_id("grant-outcome")).to_have_text("Granted MODIFY to bob.")
    expect(grants.locator("tr", has_text="bob")).to_contain_text("MODIFY")
    page.get_by_test_id("revoke-submit").click()
    expect(page.get_by_test_id("grant-outcome")).to_have_text("Revoked MODIFY from bob.")
    expect(grants.locator("tr", has_text="bob")).to_have_count(0)


def test_lineage_graph_shows_both_directions_and_clicks_through(page, server, tokens):
    sign_in(page, server, tokens["alice"], "alice", at="#/table/main.ml.churn_features")
    page.get_by_test_id("lineage-link").click()
    graph = page.get_by_test_id("lineage-graph")
    expect(graph).to_be_visible()
    nodes = graph.get_by_test_id("lineage-node")
    expect(nodes).to_have_count(5)  # the table it came from, itself, and run -> version -> model
    upstream = graph.locator('[data-name="main.ml.customers"]')
    root = graph.locator('[data-name="main.ml.churn_features"]')
    run = graph.locator('[data-type="RUN"]')
    version = graph.locator('[data-name="main.ml.churn_model/1"]')
    model = graph.locator('[data-name="main.ml.churn_model"]')
    assert upstream.get_attribute("data-layer") == "-1"
    assert root.get_attribute("data-layer") == "0"
    assert (run.get_attribute("data-layer"), version.get_attribute("data-layer")) == ("1", "2")
    assert version.get_attribute("data-type") == "MODEL_VERSION"
    assert model.get_attribute("data-type") == "MODEL" and model.get_attribute("data-layer") == "3"
    # upstream is drawn to the left of the root, downstream to the right
    boxes = [n.bounding_box()["x"] for n in (upstream, root, run, version, model)]
    assert boxes == sorted(boxes) and len(set(boxes)) == 5
    expect(graph.locator("path.edge")).to_have_count(4)
    screenshot(page, "lineage.png")

    run.click()  # a run opens its page
    expect(page.get_by_test_id("run-params")).to_be_visible()
    assert "#/run/" in page.url
    page.go_back()

    upstream.click()
    expect(page.get_by_test_id("table-columns")).to_contain_text("customer_id")
    assert page.url.endswith("#/table/main.ml.customers")

    page.goto(f"{server.url}/#/lineage/main.ml.customers")
    page.get_by_test_id("lineage-mode-centre").check()
    page.get_by_test_id("lineage-graph").locator('[data-name="main.ml.churn_features"]').click()
    assert page.url.endswith("#/lineage/main.ml.churn_features")
    expect(page.get_by_test_id("lineage-graph").get_by_test_id("lineage-node")).to_have_count(5)


def test_compare_two_runs(page, server, tokens, ids):
    sign_in(page, server, tokens["alice"], "alice", at="#/experiments")
    page.get_by_test_id("experiment-list").get_by_role("link", name="/Shared/churn").click()
    runs = page.get_by_test_id("runs-table")
    expect(runs.locator("tbody tr")).to_have_count(4)  # three runs and the training run

    runs.locator('button[data-sort="metrics.acc"]').click()  # metrics sort best first
    expect(runs.locator("tbody tr").first).to_have_attribute("data-run-name", "run-c")
    runs.locator('button[data-sort="metrics.acc"]').click()
    expect(runs.locator("tbody tr").first).to_have_attribute("data-run-name", "run-a")
    runs.locator('button[data-sort="params.lr"]').click()
    expect(runs.locator("tbody tr").first).to_have_attribute("data-run-name", "run-b")

    page.get_by_test_id("runs-filter").fill("metrics.acc >>> 1")
    page.get_by_test_id("runs-search").click()
    expect(page.get_by_test_id("error")).to_contain_text("INVALID_PARAMETER_VALUE")
    expect(page.get_by_test_id("error")).to_contain_text("unknown operator '>>>'")
    page.get_by_test_id("runs-filter").fill("params.depth = '3'")
    page.get_by_test_id("runs-search").click()
    expect(runs.locator("tbody tr")).to_have_count(2)
    screenshot(page, "runs.png")

    expect(page.get_by_test_id("compare-button")).to_be_disabled()
    for name in ("run-a", "run-b"):
        runs.locator(f'tr[data-run-name="{name}"]').get_by_test_id("run-select").check()
    page.get_by_test_id("compare-button").click()
    assert page.url.endswith(f"#/compare/{ids['run-a']},{ids['run-b']}")

    params = page.get_by_test_id("compare-params")
    expect(params.locator('tr[data-key="lr"]')).to_have_class("changed")
    expect(params.locator('tr[data-key="lr"]')).to_contain_text("0.01")
    expect(params.locator('tr[data-key="depth"]')).not_to_have_class("changed")
    expect(page.get_by_test_id("compare-metrics").locator('tr[data-key="acc"]')).to_have_class("changed")
    loss = page.locator('[data-testid="metric-chart"][data-metric="loss"]')
    expect(loss.locator("polyline")).to_have_count(2)
    expect(loss.locator("circle")).to_have_count(10)  # five steps for each run
    expect(page.get_by_test_id("metric-chart")).to_have_count(2)  # acc and loss
    params.evaluate("el => el.closest('section').scrollIntoView()")
    screenshot(page, "compare.png")


def test_sql_editor_runs_a_query_and_charts_it(page, server, tokens):
    sign_in(page, server, tokens["alice"], "alice", at="#/sql")
    editor = page.get_by_test_id("sql-editor")
    editor.fill("SELECT plan, sum(tenure_months) AS months FROM main.ml.customers GROUP BY plan ORDER BY plan")
    editor.press("Control+Enter")
    result = page.get_by_test_id("sql-result")
    expect(result.locator("thead")).to_contain_text("months")
    expect(result.locator("tbody tr")).to_have_count(2)
    expect(result.locator("tbody tr").first).to_have_text(re.compile(r"basic\s*10"))
    expect(result.locator("tbody tr").nth(1)).to_have_text(re.compile(r"pro\s*54"))
    expect(page.get_by_test_id("sql-summary")).to_contain_text("2 row(s)")
    expect(page.get_by_test_id("sql-chart").locator("rect")).to_have_count(2)
    screenshot(page, "sql.png")

    editor.fill("SELECT * FROM main.ml.customers")
    page.get_by_test_id("sql-max-rows").fill("3")
    page.get_by_test_id("sql-run").click()
    expect(page.get_by_test_id("sql-truncated")).to_be_visible()
    expect(result.locator("tbody tr")).to_have_count(3)

    editor.fill("SELECT nope FROM main.ml.customers")
    page.get_by_test_id("sql-run").click()
    expect(page.get_by_test_id("error")).to_contain_text("nope")


def test_bob_is_refused_the_table_page(page, server, tokens):
    sign_in(page, server, tokens["bob"], "bob", at="#/table/main.ml.customers")
    refused = page.get_by_test_id("refused")
    expect(refused).to_contain_text("PERMISSION_DENIED")
    expect(refused).to_contain_text("User bob does not have USE CATALOG on catalog main")
    expect(page.get_by_test_id("sample-rows")).to_have_count(0)
    expect(page.get_by_test_id("table-columns")).to_have_count(0)
    assert "basic" not in page.inner_text("main")
    page.goto(f"{server.url}/#/")
    expect(page.get_by_test_id("catalog-list")).to_contain_text("system")
    expect(page.get_by_test_id("catalog-list")).not_to_contain_text("main")


def test_model_and_endpoint_pages(page, server, tokens, ids):
    sign_in(page, server, tokens["admin"], "admin", at="#/model/main.ml.churn_model")
    expect(page.get_by_test_id("model-tags").locator('tr[data-key="team"]')).to_contain_text("growth")
    expect(page.get_by_test_id("model-description")).to_have_text("predicts churn from tenure")
    expect(page.get_by_test_id("lineage-link")).to_have_attribute("href", "#/lineage/main.ml.churn_model")
    expect(page.get_by_test_id("model-versions").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("model-endpoints")).to_contain_text("main.ml.churn_endpoint")
    page.get_by_test_id("version-run").click()  # the run that produced version 1
    assert page.url.endswith(f"#/run/{ids['train']}")
    expect(page.locator("h1")).to_contain_text("train")

    page.goto(f"{server.url}/#/model/main.ml.churn_model")
    page.get_by_test_id("model-endpoints").get_by_role("link", name="main.ml.churn_endpoint").click()
    expect(page.get_by_test_id("endpoint-state")).to_have_text("READY")
    expect(page.get_by_test_id("traffic")).to_contain_text("v1 100%")
    expect(page.get_by_test_id("endpoint-entities")).to_contain_text("main.ml.churn_model")

    # usage: three answered requests and one refused as malformed, all served by v1
    expect(page.get_by_test_id("usage-total")).to_contain_text("4 request(s), 1 error(s) (25%)")
    summary = page.get_by_test_id("usage-summary").locator('tr[data-entity="v1"]')
    expect(summary.locator("td").nth(1)).to_have_text("4")
    expect(summary.locator("td").nth(2)).to_have_text("1")
    for chart in ("usage-requests-chart", "usage-errors-chart", "usage-latency-chart"):
        expect(page.get_by_test_id(chart).locator("circle").first).to_be_attached()
    rows = page.get_by_test_id("inference-rows").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_have_attribute("data-status", "400")  # newest first: the malformed one
    expect(rows.first).to_contain_text("nope")
    expect(page.get_by_test_id("inference-rows").locator('tr[data-status="200"]')).to_have_count(3)
    page.get_by_test_id("endpoint-usage").evaluate("el => el.closest('section').scrollIntoView()")
    screenshot(page, "endpoint.png")


def test_the_inference_rows_are_refused_without_select_on_the_payload_table(page, server, tokens):
    sign_in(page, server, tokens["carol"], "carol", at="#/endpoint/main.ml.churn_endpoint")
    expect(page.get_by_test_id("usage-total")).to_contain_text("4 request(s)")  # QUERY sees the usage
    refused = page.get_by_test_id("inference-refused").get_by_test_id("refused")
    expect(refused).to_contain_text("PERMISSION_DENIED")
    expect(refused).to_contain_text("You cannot read the inference table main.ml.churn_payload")
    expect(page.get_by_test_id("inference-rows")).to_have_count(0)


def test_the_run_page_shows_context_inputs_and_downloads_an_artifact(page, server, tokens, ids):
    sign_in(page, server, tokens["alice"], "alice", at=f"#/experiment/{ids['experiment']}")
    page.get_by_test_id("runs-table").get_by_role("link", name="train").click()
    assert page.url.endswith(f"#/run/{ids['train']}")
    expect(page.get_by_test_id("breadcrumbs").locator("li")).to_have_text(["Experiments", "/Shared/churn", "train"])
    expect(page.get_by_test_id("run-status")).to_have_text("FINISHED")
    expect(page.get_by_test_id("run-info")).to_contain_text("admin")
    expect(page.get_by_test_id("run-params")).to_contain_text(re.compile(r"max_iter\s*100"))

    admin = catalog.connect(server.home, user="admin")
    try:
        tags = Client(admin).get_run(ids["train"]).data.tags
    finally:
        admin.close()
    context = page.get_by_test_id("run-context")
    expect(context.get_by_test_id("run-python-version")).to_have_text(tags["catalog.python_version"])
    expect(context.get_by_test_id("run-name")).to_have_text(tags["mlflow.source.name"])
    expect(context.get_by_test_id("run-packages")).to_contain_text("pandas")
    if "mlflow.source.git.commit" in tags:  # when the tests run from a git checkout
        expect(context.get_by_test_id("run-commit")).to_have_text(tags["mlflow.source.git.commit"])

    run_tags = page.get_by_test_id("run-tags")
    expect(run_tags.locator('tr[data-key="mlflow.runName"]')).to_have_count(0)  # system tags hidden
    page.get_by_test_id("show-system-tags").check()
    expect(run_tags.locator('tr[data-key="mlflow.runName"]')).to_contain_text("train")

    artifacts = page.get_by_test_id("run-artifacts")
    artifacts.locator('[data-testid="artifact-folder"][data-path="reports"]').click()
    expect(page.get_by_test_id("artifact-path")).to_contain_text("reports")
    row = artifacts.locator('tr[data-path="reports/summary.bin"]')
    expect(row).to_contain_text(f"{len(ARTIFACT)} B")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "run.png")
    with page.expect_download() as download:
        row.get_by_test_id("artifact-download").click()
    assert download.value.suggested_filename == "summary.bin"
    assert Path(download.value.path()).read_bytes() == ARTIFACT

    inputs = page.get_by_test_id("run-inputs")
    expect(inputs).to_contain_text("training")
    inputs.get_by_role("link", name="main.ml.churn_features").click()
    expect(page.get_by_test_id("table-columns")).to_contain_text("is_pro")

    page.goto(f"{server.url}/#/run/{ids['run-a']}")
    page.get_by_test_id("run-metrics").get_by_role("link", name="loss").click()
    chart = page.get_by_test_id("run-metric-chart")
    expect(chart).to_have_attribute("data-metric", "loss")
    expect(chart.locator("circle")).to_have_count(5)

    page.goto(f"{server.url}/#/run/no-such-run")
    expect(page.get_by_test_id("refused")).to_contain_text("RESOURCE_DOES_NOT_EXIST")


def test_parallel_coordinates_draw_one_line_per_run(page, server, tokens, ids):
    sign_in(page, server, tokens["alice"], "alice", at=f"#/experiment/{ids['experiment']}")
    plot = page.get_by_test_id("parallel-coordinates")
    lines = plot.get_by_test_id("pc-line")
    expect(lines).to_have_count(4)  # nothing selected: every run shown
    expect(plot.locator(".pc-axis")).to_have_count(5)  # depth, lr, max_iter, acc, loss
    runs = page.get_by_test_id("runs-table")
    for name in ("run-a", "run-c"):
        runs.locator(f'tr[data-run-name="{name}"]').get_by_test_id("run-select").check()
    expect(lines).to_have_count(2)
    plot.locator('[data-testid="pc-line"][data-run-name="run-c"]').dispatch_event("mouseenter")
    expect(page.get_by_test_id("pc-hover")).to_contain_text("run-c")
    # coloured by acc (the first metric): run-c scored higher than run-a
    a = plot.locator('[data-run-name="run-a"]')
    c = plot.locator('[data-run-name="run-c"]')
    assert a.get_attribute("stroke") != c.get_attribute("stroke")
    page.locator('[data-testid="pc-axis"][data-axis="params.max_iter"]').uncheck()
    expect(plot.locator(".pc-axis")).to_have_count(4)
    page.get_by_test_id("pc-colour").select_option("metrics.loss")
    plot.evaluate("el => el.closest('section').scrollIntoView()")
    screenshot(page, "parallel.png")


def test_the_audit_log_for_the_admin_and_a_refusal_for_others(page, server, tokens):
    with catalog.connect(server.home, user="admin") as admin:  # more than two pages of audit rows
        for i in range(110):
            admin.sql("SELECT ? AS i", [i])
    sign_in(page, server, tokens["admin"], "admin")
    page.get_by_test_id("nav-audit").click()
    rows = page.get_by_test_id("audit-rows").locator("tbody tr")
    expect(rows).to_have_count(50)
    expect(page.get_by_test_id("audit-page")).to_have_text("Page 1: rows 1–50")
    expect(page.get_by_test_id("audit-previous")).to_be_disabled()
    page.get_by_test_id("audit-next").click()
    expect(page.get_by_test_id("audit-page")).to_contain_text("Page 2: rows 51–")
    assert "page=2" in page.url

    page.get_by_test_id("audit-denied").check()  # applies at once, back on page 1
    expect(page.get_by_test_id("audit-page")).to_contain_text("Page 1")
    table = page.get_by_test_id("audit-rows")
    # Retrying assertions: the table is redrawn when a filter applies, so read it once it settles.
    expect(rows.first).to_be_visible()
    expect(table.locator("tbody tr:not([data-status='403'])")).to_have_count(0)
    page.get_by_test_id("audit-principal").fill("bob")
    page.get_by_test_id("audit-action").fill("executequery")
    page.get_by_test_id("audit-apply").click()
    expect(page).to_have_url(re.compile(r"principal=bob.*action=executequery"))
    expect(rows.filter(has_text="SELECT * FROM main.ml.customers").first).to_be_visible()
    expect(table.locator("tbody tr:not([data-principal='bob'])")).to_have_count(0)
    screenshot(page, "audit.png")


def test_the_audit_log_refuses_a_non_admin(page, server, tokens):
    sign_in(page, server, tokens["alice"], "alice")
    expect(page.get_by_test_id("catalog-list")).to_contain_text("main")
    expect(page.get_by_test_id("nav-audit")).to_be_hidden()
    page.goto(f"{server.url}/#/audit")
    refused = page.get_by_test_id("refused")
    expect(refused).to_contain_text("PERMISSION_DENIED")
    expect(refused).to_contain_text("Only metastore admins")
    expect(page.get_by_test_id("audit-rows")).to_have_count(0)


def test_a_narrow_window_keeps_the_pages_usable(browser, server, tokens, ids):
    context = browser.new_context(viewport={"width": 480, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    def fits(testids: tuple[str, ...]) -> None:
        page.wait_for_selector(".loading", state="detached")
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways: {width}"
        for testid in testids:
            box = page.get_by_test_id(testid).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 480, (testid, box)

    try:
        sign_in(page, server, tokens["alice"], "alice", at="#/table/main.ml.churn_features")
        expect(page.get_by_test_id("sample-rows").locator("tbody tr")).to_have_count(4)
        expect(page.get_by_test_id("grants").locator("tbody tr").first).to_be_visible()
        fits(("table-columns", "sample-rows", "grants", "grant-form"))
        page.goto(f"{server.url}/#/run/{ids['train']}")
        expect(page.get_by_test_id("run-inputs")).to_contain_text("main.ml.churn_features")
        fits(("run-info", "run-context", "run-params", "run-inputs", "run-artifacts", "run-tags"))
        page.goto(f"{server.url}/#/experiment/{ids['experiment']}")
        expect(page.get_by_test_id("pc-line")).to_have_count(4)
        fits(("runs-table", "parallel-coordinates"))
    finally:
        context.close()


def test_runs_in_the_lineage_graph_follow_the_experiment_permissions(server, tokens):
    """carol may read the tables and see the model, but not the experiment: the graph keeps the
    plain table -> model link for her, without the run (or its name) in between."""
    import requests

    grants = (
        "GRANT USE CATALOG ON CATALOG main TO carol",
        "GRANT USE SCHEMA, SELECT ON SCHEMA main.ml TO carol",
        "GRANT EXECUTE ON MODEL main.ml.churn_model TO carol",
    )
    with catalog.connect(server.home, user="admin") as admin:
        for grant in grants:
            admin.sql(grant)
        try:
            asked = f"{server.url}/api/v1/lineage/main.ml.churn_features?direction=downstream&plain=true&versions=true"
            seen = {}
            for user in ("alice", "carol"):
                answer = requests.get(asked, headers={"Authorization": f"Bearer {tokens[user]}"}, timeout=30)
                assert answer.status_code == 200, answer.text
                body = answer.json()
                seen[user] = ({n["type"] for n in body["nodes"]}, {(e["source"], e["target"]) for e in body["edges"]})
        finally:
            for grant in grants:
                admin.sql(grant.replace("GRANT", "REVOKE").replace(" TO ", " FROM "))
    assert seen["alice"][0] == {"TABLE", "RUN", "MODEL_VERSION", "MODEL"}
    assert ("main.ml.churn_features", "main.ml.churn_model") not in seen["alice"][1]  # the chain replaces it
    assert seen["carol"][0] == {"TABLE", "MODEL"}
    assert seen["carol"][1] == {("main.ml.churn_features", "main.ml.churn_model")}

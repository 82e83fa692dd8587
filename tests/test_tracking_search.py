"""MLflow's search_runs grammar compiled to DuckDB (catalog.tracking.search), on a real database
built from sql/metastore/0003_tracking.sql: every operator and type, missing keys, ordering with
ties and missing values, pages, run views, every error with its column, injection attempts, and
a property check against a plain Python evaluation of the same filters."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.errors import InvalidRequest
from catalog.tracking.search import MAX_RESULTS, compile_search

SCHEMA = Path(__file__).resolve().parents[1] / "sql" / "metastore" / "0003_tracking.sql"
NAN = float("nan")


def new_database(path: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE SCHEMA meta")
    conn.execute(SCHEMA.read_text())
    return conn


def insert(conn, runs: list[dict]) -> None:
    for run in runs:
        conn.execute(
            "INSERT INTO meta.runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            [
                run["run_id"],
                run.get("experiment_id", "1"),
                run["run_name"],
                run.get("user_id", "alice"),
                run["status"],
                run["start_time"],
                run.get("end_time"),
                f"file:///artifacts/{run['run_id']}",
                run.get("lifecycle_stage", "active"),
            ],
        )
        for key, value in run.get("metrics", {}).items():
            conn.execute("INSERT INTO meta.run_latest_metrics VALUES (?, ?, ?, 0, 0)", [run["run_id"], key, value])
        for key, value in run.get("params", {}).items():
            conn.execute("INSERT INTO meta.run_params VALUES (?, ?, ?)", [run["run_id"], key, value])
        tags = {"mlflow.runName": run["run_name"], **run.get("tags", {})}
        for key, value in tags.items():
            conn.execute("INSERT INTO meta.run_tags VALUES (?, ?, ?)", [run["run_id"], key, value])


RUNS = [
    {
        "run_id": "r01",
        "run_name": "rf-baseline",
        "status": "FINISHED",
        "start_time": 1000,
        "end_time": 2000,
        "metrics": {"test_accuracy": 0.91, "loss": 0.3, "f1 score": 0.8},
        "params": {"max_depth": "8", "n_estimators": "100"},
        "tags": {"team": "ml", "my tag": "x"},
    },
    {
        "run_id": "r02",
        "run_name": "rf-deep",
        "user_id": "bob",
        "status": "FINISHED",
        "start_time": 2000,
        "end_time": 3000,
        "metrics": {"test_accuracy": 0.85, "loss": 0.4},
        "params": {"max_depth": "12"},
        "tags": {"team": "ML"},
    },
    {
        "run_id": "r03",
        "run_name": "xgb",
        "status": "FAILED",
        "start_time": 3000,
        "end_time": 3500,
        "metrics": {"test_accuracy": 0.75},
        "params": {"max_depth": "8"},
        "tags": {"team": "data"},
    },
    {"run_id": "r04", "run_name": "lr", "status": "RUNNING", "start_time": 3000, "params": {"C": "1.0"}},
    {
        "run_id": "r05",
        "run_name": "rf-nan",
        "user_id": "bob",
        "status": "FINISHED",
        "start_time": 500,
        "end_time": 600,
        "metrics": {"test_accuracy": NAN},
        "params": {"max_depth": "8"},
    },
    {
        "run_id": "r06",
        "run_name": "old",
        "status": "FINISHED",
        "start_time": 4000,
        "end_time": 4100,
        "lifecycle_stage": "deleted",
        "metrics": {"test_accuracy": 0.99},
        "params": {"max_depth": "8"},
    },
    {
        "run_id": "r07",
        "experiment_id": "2",
        "run_name": "other",
        "status": "FINISHED",
        "start_time": 100,
        "end_time": 200,
        "metrics": {"test_accuracy": 0.95},
        "params": {"max_depth": "8"},
    },
    {
        "run_id": "r08",
        "run_name": "quote",
        "status": "FINISHED",
        "start_time": 1500,
        "end_time": 1600,
        "params": {"it's": "O'Brien", 'say "hi"': "a;b"},
        "tags": {"a;b": "') OR 1=1 --", "x`) OR 1=1 --": "1"},
    },
]
# Active runs of experiment 1 in MLflow's default order (start_time DESC, run_id ASC).
DEFAULT = ["r03", "r04", "r02", "r08", "r01", "r05"]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    conn = new_database(tmp_path_factory.mktemp("search") / "tracking.duckdb")
    insert(conn, RUNS)
    yield conn
    conn.close()


def search(db, filter_string="", experiment_ids=("1",), **kwargs) -> list[str]:
    compiled = compile_search(list(experiment_ids), filter_string, **kwargs)
    return compiled.run(db).run_ids


# -- filters -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("", DEFAULT),
        ("   ", DEFAULT),
        # metrics: the latest value, numeric comparisons; NaN matches only !=; missing never matches
        ("metrics.test_accuracy > 0.8", ["r02", "r01"]),
        ("metrics.test_accuracy >= 0.85", ["r02", "r01"]),
        ("metrics.test_accuracy < 0.8", ["r03"]),
        ("metrics.test_accuracy <= 0.75", ["r03"]),
        ("metrics.test_accuracy = 0.85", ["r02"]),
        ("metrics.test_accuracy != 0.85", ["r03", "r01", "r05"]),
        ("metrics.test_accuracy > -1e3", ["r03", "r02", "r01"]),
        ("metrics.test_accuracy > .8", ["r02", "r01"]),
        ("metrics.test_accuracy < 1", ["r03", "r02", "r01"]),
        ("metric.loss < 0.35", ["r01"]),
        ("metrics.`f1 score` = 0.8", ["r01"]),
        ('metrics."f1 score" >= 0.8', ["r01"]),
        ("metrics.nope > 0", []),
        ("metrics.nope != 1", []),
        # params: strings, single or double quotes
        ("params.max_depth = '8'", ["r03", "r01", "r05"]),
        ('params.max_depth = "8"', ["r03", "r01", "r05"]),
        ("params.max_depth != '8'", ["r02"]),
        ("param.max_depth LIKE '1%'", ["r02"]),
        ("parameters.max_depth IN ('8', '12')", ["r03", "r02", "r01", "r05"]),
        ("parameter.max_depth NOT IN ('8')", ["r02"]),
        ("params.C ILIKE '1._'", ["r04"]),
        ("params.nope != 'x'", []),
        ("params.`it's` = 'O''Brien'", ["r08"]),
        ("params.`say \"hi\"` = 'a;b'", ["r08"]),
        # tags
        ("tags.team = 'ml'", ["r01"]),
        ("tags.team ILIKE 'ml'", ["r02", "r01"]),
        ("tags.team LIKE 'M%'", ["r02"]),
        ("tags.team != 'ml'", ["r03", "r02"]),
        ("tag.team IN ('ml', 'data')", ["r03", "r01"]),
        ("tags.team NOT IN ('ml', 'data')", ["r02"]),
        ("tags.`my tag` = 'x'", ["r01"]),
        ("tags.mlflow.runName = 'xgb'", ["r03"]),
        ("tags.\"mlflow.runName\" LIKE 'rf%'", ["r02", "r01", "r05"]),
        ("tags.`mlflow.runName` like 'rf_d%'", ["r02"]),
        ("tags.nope != 'x'", []),
        # attributes: prefixed or bare; MLflow's aliases
        ("attributes.status = 'FINISHED'", ["r02", "r08", "r01", "r05"]),
        ("status != 'FINISHED'", ["r03", "r04"]),
        ("attr.status IN ('FAILED', 'RUNNING')", ["r03", "r04"]),
        ("run.status NOT IN ('FINISHED')", ["r03", "r04"]),
        ("attribute.status LIKE 'F%'", ["r03", "r02", "r08", "r01", "r05"]),
        ("attributes.status ILIKE 'running'", ["r04"]),
        ("attributes.run_name = 'xgb'", ["r03"]),
        ("attributes.run_name LIKE 'rf-%'", ["r02", "r01", "r05"]),
        ("`Run Name` ILIKE 'RF-D%'", ["r02"]),
        ("attributes.\"run name\" = 'lr'", ["r04"]),
        ("attributes.user_id = 'bob'", ["r02", "r05"]),
        ("attributes.start_time >= 1000 and attributes.start_time < 3000", ["r02", "r08", "r01"]),
        ("attributes.created > 2500", ["r03", "r04"]),
        ("Created <= 500", ["r05"]),
        ("attributes.end_time > 0", ["r03", "r02", "r08", "r01", "r05"]),
        ("attributes.end_time != 0", ["r03", "r02", "r08", "r01", "r05"]),
        ("start_time = 3000", ["r03", "r04"]),
        ("run_id IN ('r01', 'r03', 'r06', 'r07')", ["r03", "r01"]),
        ("attributes.run_id NOT IN ('r01')", ["r03", "r04", "r02", "r08", "r05"]),
        ("attributes.run_id = 'r02'", ["r02"]),
        ("attributes.artifact_uri LIKE '%r02'", ["r02"]),
        # conjunctions, any case, any spacing
        ("metrics.test_accuracy >= 0.75 AND params.max_depth = '8' and tags.team ILIKE 'ML'", ["r01"]),
        ("metrics.loss<1 aNd params.max_depth LIKE '8'", ["r01"]),
        ("metrics.test_accuracy>0.8 AND status='FINISHED'", ["r02", "r01"]),
    ],
)
def test_filter(db, filter_string, expected):
    assert search(db, filter_string) == expected


def test_issue_example(db):
    compiled = compile_search(
        ["1", "2"],
        "metrics.test_accuracy > 0.8 and params.max_depth = '8'",
        order_by=["metrics.test_accuracy DESC"],
    )
    assert compiled.run(db).run_ids == ["r07", "r01"]
    assert "?" in compiled.sql and "test_accuracy" not in compiled.sql and "0.8" not in compiled.sql
    assert "test_accuracy" in compiled.params and "8" in compiled.params


def test_no_experiments_match_nothing(db):
    assert search(db, "", experiment_ids=()) == []
    assert search(db, "", experiment_ids=("nope",)) == []
    assert search(db, "", experiment_ids=(2,)) == ["r07"]


# -- ordering ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, DEFAULT),
        ([], DEFAULT),
        # numbers, then NaN, then missing, in both directions; ties by start_time DESC, run_id
        (["metrics.test_accuracy DESC"], ["r01", "r02", "r03", "r05", "r04", "r08"]),
        (["metrics.test_accuracy ASC"], ["r03", "r02", "r01", "r05", "r04", "r08"]),
        (["metrics.test_accuracy"], ["r03", "r02", "r01", "r05", "r04", "r08"]),
        (["params.max_depth"], ["r02", "r03", "r01", "r05", "r04", "r08"]),
        (["params.max_depth desc"], ["r03", "r01", "r05", "r02", "r04", "r08"]),
        (["params.max_depth DESC", "metrics.test_accuracy ASC"], ["r03", "r01", "r05", "r02", "r04", "r08"]),
        (["tags.team"], ["r02", "r03", "r01", "r04", "r08", "r05"]),
        (["tags.`my tag` DESC"], ["r01", "r03", "r04", "r02", "r08", "r05"]),
        (["attributes.start_time ASC"], ["r05", "r01", "r08", "r02", "r03", "r04"]),
        (["created DESC"], DEFAULT),
        (["attributes.end_time DESC"], ["r03", "r02", "r01", "r08", "r05", "r04"]),
        (["attributes.end_time"], ["r05", "r08", "r01", "r02", "r03", "r04"]),
        (["attributes.run_name"], ["r04", "r08", "r01", "r02", "r05", "r03"]),
        (["status DESC", "run_id DESC"], ["r04", "r08", "r05", "r02", "r01", "r03"]),
        (["attributes.user_id", "metrics.loss"], ["r01", "r03", "r04", "r08", "r02", "r05"]),
    ],
)
def test_order_by(db, order_by, expected):
    assert search(db, "", order_by=order_by) == expected


def test_order_by_with_filter(db):
    got = search(db, "params.max_depth = '8'", order_by=["metrics.test_accuracy DESC"])
    assert got == ["r01", "r03", "r05"]


# -- pages, sizes and run views ------------------------------------------------------------------
def test_pages_walk_the_whole_order(db):
    seen, token, pages = [], None, 0
    while True:
        compiled = compile_search(["1"], "", max_results=2, page_token=token)
        page = compiled.run(db)
        seen += page.run_ids
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert seen == DEFAULT
    assert pages == 4  # as MLflow: a full last page still hands out a token; the page after it is empty


def test_page_sizes(db):
    assert search(db, "", max_results=1) == DEFAULT[:1]
    assert search(db, "", max_results=5) == DEFAULT[:5]
    page = compile_search(["1"], "", max_results=10).run(db)
    assert page.run_ids == DEFAULT and page.next_page_token is None
    token = compile_search(["1"], "", max_results=4).run(db).next_page_token
    assert compile_search(["1"], "", max_results=1, page_token=token).run(db).run_ids == DEFAULT[4:5]


def _token(body) -> str:
    return base64.b64encode(json.dumps(body).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"\xff\xfe").decode(),
        _token([1, 2]),
        _token({"offset": -1}),
        _token({"offset": "3"}),
        _token({"offset": True}),
        _token({"offset": 2}),  # MLflow's shape, but not from this search
        12,
    ],
)
def test_bad_page_tokens(db, token):
    with pytest.raises(InvalidRequest, match="Invalid page_token") as raised:
        compile_search(["1"], "", page_token=token)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


def test_page_token_belongs_to_its_search(db):
    token = compile_search(["1"], "status = 'FINISHED'", max_results=1).run(db).next_page_token
    assert compile_search(["1"], "status = 'FINISHED'", max_results=1, page_token=token).run(db).run_ids == ["r08"]
    for other in (
        {"filter_string": "status = 'FAILED'"},
        {"filter_string": "status = 'FINISHED'", "order_by": ["metrics.loss"]},
        {"filter_string": "status = 'FINISHED'", "run_view": "ALL"},
    ):
        with pytest.raises(InvalidRequest, match="belongs to a search with other"):
            compile_search(["1"], page_token=token, **other)
    with pytest.raises(InvalidRequest, match="other experiments"):
        compile_search(["2"], "status = 'FINISHED'", page_token=token)


@pytest.mark.parametrize(
    ("run_view", "expected"),
    [
        ("ACTIVE_ONLY", DEFAULT),
        ("DELETED_ONLY", ["r06"]),
        ("ALL", ["r06", *DEFAULT]),
        ("all", ["r06", *DEFAULT]),
    ],
)
def test_run_view(db, run_view, expected):
    assert search(db, "", run_view=run_view) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_results": 0}, "max_results"),
        ({"max_results": -1}, "max_results"),
        ({"max_results": MAX_RESULTS + 1}, "max_results"),
        ({"max_results": True}, "max_results"),
        ({"max_results": "10"}, "max_results"),
        ({"run_view": "EVERYTHING"}, "run_view"),
        ({"run_view": 3}, "run_view"),
        ({"experiment_ids": "1"}, "experiment_ids"),
        ({"experiment_ids": [1.5]}, "Experiment ids"),
        ({"order_by": "metrics.loss"}, "order_by must be a list"),
        ({"order_by": [3]}, "order_by entries"),
        ({"order_by": ["metrics.loss", "metrics.loss DESC"]}, "twice"),
        ({"order_by": ["attributes.created", "attributes.start_time DESC"]}, "twice"),
        ({"filter_string": 5}, "filter_string"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {"experiment_ids": ["1"], **kwargs}
    with pytest.raises(InvalidRequest, match=message) as raised:
        compile_search(**arguments)
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"


# -- errors, each with its column ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("filter_string", "column", "says"),
    [
        ("metricz.a > 1", 1, "unknown prefix 'metricz'"),
        ("Metrics.a > 1", 1, "prefixes are lower case"),
        ('"metrics".a > 1', 1, "unknown prefix"),
        ("metrics > 1", 1, "expected '.' and a key after 'metrics'"),
        ("metrics. > 1", 9, "expected a key after '.'"),
        ("metrics.`` > 1", 9, "the key is empty"),
        ("attributes.foo = 'x'", 1, "unknown attribute 'foo'"),
        ("foo = 'x'", 1, "unknown attribute 'foo'"),
        ("attributes.lifecycle_stage = 'active'", 1, "unknown attribute 'lifecycle_stage'"),
        ("attributes.experiment_id = '1'", 1, "unknown attribute 'experiment_id'"),
        ("tags.`a`.b = 'x'", 6, "quote the whole key"),
        ("tags.\"mlflow.runName = 'x'", 6, "unterminated quote"),
        ("tags.`mlflow.runName = 'x'", 6, "unterminated quote"),
        ("params.a = 'x", 12, "unterminated quote"),
        ("metrics.a >", 12, "missing value"),
        ("params.a =", 11, "missing value"),
        ("metrics.a", 10, "expected an operator after the field, found the end"),
        ("metrics.f1-score > 1", 11, "quote keys with spaces, dashes"),
        ("metrics.a >> 1", 11, "unknown operator '>>'"),
        ("metrics.a <> 1", 11, "unknown operator '<>'"),
        ("metrics.a == 1", 11, "unknown operator '=='"),
        ("metrics.a ~ 1", 11, "expected an operator"),
        ("metrics.a LIKE '1%'", 11, "operator LIKE does not apply to metric 'a'"),
        ("metrics.a IN (1, 2)", 11, "operator IN does not apply to metric 'a'"),
        ("attributes.start_time ILIKE '1%'", 23, "does not apply to numeric attribute 'start_time'"),
        ("params.a > '1'", 10, "operator > does not apply to param 'a'"),
        ("tags.a <= 'x'", 8, "operator <= does not apply to tag 'a'"),
        ("status < 'X'", 8, "operator < does not apply to string attribute 'status'"),
        ("metrics.a IS NULL", 11, "IS NULL / IS NOT NULL is not supported"),
        ("params.a IS NOT NULL", 10, "IS NULL / IS NOT NULL is not supported"),
        ("params.a NOT LIKE 'x'", 10, "NOT must be followed by IN"),
        ("metrics.a > 'x'", 13, "compares with a number, not the string 'x'"),
        ("metrics.a > abc", 13, "expected a number, found 'abc'"),
        ("metrics.a > 1x", 13, "expected a number, found '1x'"),
        ("metrics.a > 1.2.3", 13, "expected a number"),
        ("attributes.created > '5'", 22, "compares with a number"),
        ("params.max_depth = 8", 20, "quote the number: '8'"),
        ("tags.t = abc", 10, "compares with quoted text, found 'abc'"),
        ("status IN 'FINISHED'", 11, "IN takes a list in parentheses"),
        ("status IN ()", 12, "compares with quoted text, found ')'"),
        ("status IN ('a', )", 17, "compares with quoted text, found ')'"),
        ("status IN ('a' 'b')", 16, "expected ',' or ')'"),
        ("status IN ('a', 1)", 17, "quote the number: '1'"),
        ("metrics.a > 1 OR metrics.b < 2", 15, "OR is not supported"),
        ("metrics.a > 1 or metrics.b < 2", 15, "OR is not supported"),
        ("metrics.a > 1 metrics.b < 2", 15, "expected AND or the end of the filter, found 'metrics.b'"),
        ("metrics.a > 1 AND", 18, "missing clause after AND"),
        ("metrics.a > 1 AND ", 19, "missing clause after AND"),
        ("metrics.a > 1;", 14, "expected AND or the end of the filter, found ';'"),
        ("metrics.a > 1; DROP TABLE meta.runs", 14, "expected AND or the end"),
        ("(metrics.a > 1)", 1, "parentheses around clauses are not supported"),
        ("AND metrics.a > 1", 1, "unknown attribute 'AND'"),
        ("'x' = 'x'", 1, "expected a field"),
        ("1 = 1", 1, "expected a field"),
    ],
)
def test_filter_errors(filter_string, column, says):
    with pytest.raises(InvalidRequest) as raised:
        compile_search(["1"], filter_string)
    error = raised.value
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert says in error.message
    assert f"at column {column}:" in error.message
    assert error.details["position"] == column - 1
    assert error.details["filter"] == filter_string
    assert repr(filter_string) in error.message


@pytest.mark.parametrize(
    ("entry", "column", "says"),
    [
        ("", 1, "missing field"),
        ("metrics.a DESC x", 16, "unexpected 'x' after DESC"),
        ("metrics.a up", 11, "expected ASC or DESC, found 'up'"),
        ("metrics.a > 1", 11, "expected ASC or DESC"),
        ("attributes.`Run Name`", 1, "unknown attribute 'Run Name'"),
        ("attributes.lifecycle_stage", 1, "unknown attribute"),
        ("metricz.a", 1, "unknown prefix"),
        ("tags.`open", 6, "unterminated quote"),
    ],
)
def test_order_by_errors(entry, column, says):
    with pytest.raises(InvalidRequest) as raised:
        compile_search(["1"], "", order_by=[entry])
    error = raised.value
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert says in error.message
    assert f"at column {column}:" in error.message
    assert error.details["order_by"] == entry


# -- injection: keys and values are bound, never spliced ----------------------------------------
@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        ("params.max_depth = '8'' OR 1=1 --'", None, []),
        ("params.max_depth = \"8' OR '1'='1\"", None, []),
        ("tags.`a;b` = ''') OR 1=1 --'", None, ["r08"]),
        ("tags.`a;b` = ') OR 1=1 --'", None, []),
        ("tags.`x``) OR 1=1 --` = '1'", None, ["r08"]),  # a doubled backtick is one backtick
        ("tags.`x`) OR 1=1 --` = '1'", None, None),  # ... so the rest is garbage: refused
        ("tags.\"x`) OR 1=1 --\" = '1'", None, ["r08"]),
        ("params.`it's` = 'O''Brien'", None, ["r08"]),
        ("params.max_depth = '; DROP TABLE meta.runs; --'", None, []),
        ("tags.`'; DROP TABLE meta.runs; --` != 'x'", None, []),
        ("run_id IN ('r01'') OR (''1''=''1')", None, []),
        ("", ["tags.`a;b` DESC"], ["r08", *[r for r in DEFAULT if r != "r08"]]),
        ("", ["params.`1) OR 1=1; --` DESC"], DEFAULT),
    ],
)
def test_injection_is_bound(db, filter_string, order_by, expected):
    if expected is None:
        with pytest.raises(InvalidRequest):
            compile_search(["1"], filter_string, order_by=order_by)
        return
    compiled = compile_search(["1"], filter_string, order_by=order_by)
    for fragment in ("OR 1=1", "DROP", "O'Brien", "a;b", "--", "r01"):
        assert fragment not in compiled.sql
    assert compiled.run(db).run_ids == expected
    assert db.execute("SELECT count(*) FROM meta.runs").fetchone()[0] == len(RUNS)


def test_sql_text_is_fixed_by_shape_only():
    """Two searches of the same shape share their SQL text; only the parameters differ."""
    one = compile_search(["1"], "metrics.a > 1 AND tags.`x y` IN ('p', 'q')", order_by=["params.z DESC"])
    two = compile_search(["9"], "metrics.`b;c` > 2 AND tags.w IN ('\"', '''')", order_by=["params.`--` DESC"])
    assert one.sql == two.sql
    assert one.params != two.params


def test_a_search_is_compiled_once_for_the_same_arguments():
    """Repeated and paged searches reuse their compiled query; lists and tuples are the same
    arguments; arguments of other types are compiled afresh, and refused there as ever."""
    first = compile_search(["1", "2"], "metrics.a > 1", order_by=["metrics.a DESC"], max_results=5)
    assert compile_search(("1", "2"), "metrics.a > 1", order_by=("metrics.a DESC",), max_results=5) is first
    assert compile_search(["1", "2"], "metrics.a > 2", order_by=["metrics.a DESC"], max_results=5) is not first
    token = first.next_page_token(5)
    second = compile_search(["1", "2"], "metrics.a > 1", order_by=["metrics.a DESC"], max_results=5, page_token=token)
    assert second.offset == 5 and second.sql == first.sql
    assert (
        compile_search(["1", 2], "", max_results=5).params[:2]
        == compile_search(["1", "2"], "", max_results=5).params[:2]
    )
    for _ in range(2):  # a refusal is not remembered as an answer
        with pytest.raises(InvalidRequest, match="max_results"):
            compile_search(["1"], "", max_results=True)
        with pytest.raises(InvalidRequest, match="list of experiment ids"):
            compile_search("1", "")


def test_a_metric_filtered_to_numbers_is_ordered_without_ranking_missing_and_nan():
    """A metric with a clause other than != keeps only numbers, so ordering on it needs no rank
    for missing and NaN values; ordered alone, or only with !=, it does."""
    ranked = "CASE WHEN k1.value IS NULL"
    assert ranked not in compile_search(["1"], "metrics.a > 0", order_by=["metrics.a"]).sql
    assert ranked in compile_search(["1"], "metrics.a != 0", order_by=["metrics.a"]).sql
    assert ranked in compile_search(["1"], "", order_by=["metrics.a"]).sql


# -- property: the same answers as a plain Python evaluation -------------------------------------
STATUSES = ["FINISHED", "FAILED", "RUNNING"]
METRIC_KEYS = ["acc", "f1 score", "loss"]
PARAM_VALUES = ["8", "10", "abc", "ABC", "it's", "a%b"]
TAG_VALUES = ["ml", "ML", "data", "", None]


def _random_runs(seed: int, count: int) -> list[dict]:
    import random

    rng = random.Random(seed)
    runs = []
    for i in range(count):
        runs.append(
            {
                "run_id": f"{i:032x}",
                "experiment_id": rng.choice(["1", "1", "2"]),
                "run_name": rng.choice(["rf", "rf-deep", "xgb", "Rf_2"]) + str(i % 3),
                "user_id": rng.choice(["alice", "bob"]),
                "status": rng.choice(STATUSES),
                "start_time": rng.choice([100, 200, 300, 400]),
                "end_time": rng.choice([None, 500, 600]),
                "lifecycle_stage": rng.choice(["active", "active", "active", "deleted"]),
                "metrics": {
                    k: rng.choice([0.0, 0.5, 0.5, 1.0, -2.0, 1e9, NAN, math.inf])
                    for k in METRIC_KEYS
                    if rng.random() < 0.7
                },
                "params": {k: rng.choice(PARAM_VALUES) for k in ("depth", "lr-rate") if rng.random() < 0.7},
                "tags": {k: rng.choice(TAG_VALUES) for k in ("team", "mlflow.note") if rng.random() < 0.7},
            }
        )
    return runs


PROPERTY_RUNS = _random_runs(7, 80)


@pytest.fixture(scope="module")
def property_db(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    conn = new_database(tmp_path_factory.mktemp("property") / "tracking.duckdb")
    insert(conn, PROPERTY_RUNS)
    yield conn
    conn.close()


def _like(value: str, pattern: str, flags: int = 0) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def _compare(lhs, op: str, rhs) -> bool:
    if lhs is None:
        return False
    return {
        "=": lambda: lhs == rhs,
        "!=": lambda: lhs != rhs,
        "<": lambda: lhs < rhs,
        "<=": lambda: lhs <= rhs,
        ">": lambda: lhs > rhs,
        ">=": lambda: lhs >= rhs,
        "LIKE": lambda: _like(lhs, rhs),
        "ILIKE": lambda: _like(lhs, rhs, re.IGNORECASE),
        "IN": lambda: lhs in rhs,
        "NOT IN": lambda: lhs not in rhs,
    }[op]()


def _lookup(run: dict, kind: str, key: str):
    if kind == "attribute":
        return run.get(key, f"file:///artifacts/{run['run_id']}" if key == "artifact_uri" else None)
    tags = {"mlflow.runName": run["run_name"], **run["tags"]}
    return {"metric": run["metrics"], "param": run["params"], "tag": tags}[kind].get(key)


def _sort_key(run: dict, kind: str, key: str, ascending: bool):
    """MLflow's FileStore rule (SearchUtils._get_value_for_sort): missing and NaN last."""
    value = _lookup(run, kind, key)
    is_none = value is None
    is_nan = isinstance(value, float) and math.isnan(value)
    fill = (1 if ascending else -1) * math.inf
    value = fill if is_none else -fill if is_nan else value
    return (is_none or is_nan, value) if ascending else (not (is_none or is_nan), value)


def reference(runs, experiment_ids, clauses, order, run_view) -> list[str]:
    stages = {"ACTIVE_ONLY": {"active"}, "DELETED_ONLY": {"deleted"}, "ALL": {"active", "deleted"}}[run_view]
    found = [
        r
        for r in runs
        if r["experiment_id"] in experiment_ids
        and r["lifecycle_stage"] in stages
        and all(_compare(_lookup(r, kind, key), op, value) for kind, key, op, value in clauses)
    ]
    found.sort(key=lambda r: (-r["start_time"], r["run_id"]))
    for kind, key, ascending in reversed(order):
        found.sort(key=lambda r: _sort_key(r, kind, key, ascending), reverse=not ascending)
    return [r["run_id"] for r in found]


def _quote_key(draw, key: str) -> str:
    plain = re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", key) is not None
    options = ["`" + key + "`", '"' + key + '"'] + ([key] if plain else [])
    return draw(st.sampled_from(options))


def _string(draw, value: str) -> str:
    quote = draw(st.sampled_from(["'", '"']))
    return quote + value.replace(quote, quote * 2) + quote


@st.composite
def clauses(draw):
    kind = draw(st.sampled_from(["metric", "param", "tag", "attribute"]))
    if kind == "metric":
        key = draw(st.sampled_from([*METRIC_KEYS, "missing"]))
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        number = draw(st.sampled_from(["0", "0.5", ".5", "-2", "1e9", "1.0", "-0.25"]))
        return (kind, key, op, float(number)), (kind, key, f"{op} {number}")
    if kind == "attribute":
        key = draw(st.sampled_from(["status", "run_id", "run_name", "user_id", "start_time", "end_time"]))
        if key in ("start_time", "end_time"):
            op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
            number = draw(st.sampled_from([100, 200, 450, 500, 600]))
            return (kind, key, op, number), (kind, key, f"{op} {number}")
        pool = {
            "status": [*STATUSES, "F%", "%ED", "finished"],
            "run_id": [PROPERTY_RUNS[i]["run_id"] for i in (0, 3, 5)] + ["%1", "nope"],
            "run_name": ["rf0", "rf%", "RF%", "%2", "Rf\\_2%", "xgb_"],
            "user_id": ["alice", "bob", "%o%"],
        }[key]
    else:
        key = draw(st.sampled_from(["depth", "lr-rate", "missing"] if kind == "param" else ["team", "mlflow.note"]))
        pool = [*(PARAM_VALUES if kind == "param" else [v for v in TAG_VALUES if v is not None]), "%", "a_c", "m%"]
    op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]))
    if op in ("IN", "NOT IN"):
        values = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)))
        rendered = "(" + ", ".join(_string(draw, v) for v in values) + ")"
        keyword = draw(st.sampled_from([op, op.lower()]))
        return (kind, key, op, values), (kind, key, f"{keyword} {rendered}")
    value = draw(st.sampled_from(pool))
    keyword = draw(st.sampled_from([op, op.lower()]))
    return (kind, key, op, value), (kind, key, f"{keyword} {_string(draw, value)}")


@st.composite
def searches(draw):
    drawn = draw(st.lists(clauses(), max_size=3))
    parts = []
    for _, (kind, key, rest) in drawn:
        prefix = draw(
            st.sampled_from(
                {
                    "metric": ["metrics", "metric"],
                    "param": ["params", "param", "parameters"],
                    "tag": ["tags", "tag"],
                    "attribute": ["attributes", "attr", "run", ""],
                }[kind]
            )
        )
        field = _quote_key(draw, key)
        parts.append(f"{prefix}.{field} {rest}" if prefix else f"{field} {rest}")
    joiner = draw(st.sampled_from([" AND ", " and ", "  And\t"]))
    order_fields = draw(
        st.lists(
            st.sampled_from(
                [("metric", k) for k in METRIC_KEYS]
                + [("param", "depth"), ("tag", "team"), ("attribute", "end_time"), ("attribute", "status")]
            ),
            max_size=2,
            unique=True,
        )
    )
    order, order_by = [], []
    for kind, key in order_fields:
        direction = draw(st.sampled_from(["", " ASC", " DESC", " desc"]))
        prefix = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attributes"}[kind]
        order_by.append(f"{prefix}.{_quote_key(draw, key)}{direction}")
        order.append((kind, key, "DESC" not in direction.upper()))
    experiments = draw(st.sampled_from([["1"], ["2"], ["1", "2"]]))
    run_view = draw(st.sampled_from(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]))
    return joiner.join(parts), [c for c, _ in drawn], order_by, order, experiments, run_view


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(searches(), st.integers(min_value=1, max_value=40))
def test_matches_python_evaluation(property_db, drawn, page_size):
    filter_string, parsed, order_by, order, experiments, run_view = drawn
    expected = reference(PROPERTY_RUNS, experiments, parsed, order, run_view)
    got = compile_search(experiments, filter_string, order_by=order_by, max_results=1000, run_view=run_view)
    assert got.run(property_db).run_ids == expected, (filter_string, order_by)
    # the same answer, page by page
    pages, token = [], None
    for _ in range(100):
        page = compile_search(
            experiments, filter_string, order_by=order_by, max_results=page_size, run_view=run_view, page_token=token
        ).run(property_db)
        pages += page.run_ids
        token = page.next_page_token
        if token is None:
            break
    assert pages == expected


# -- speed ---------------------------------------------------------------------------------------
def test_a_search_over_two_thousand_runs_with_many_keys(tmp_path):
    conn = new_database(tmp_path / "big.duckdb")
    conn.execute(
        """
        INSERT INTO meta.runs
        SELECT printf('%032x', i), '1', 'run-' || i, 'user' || (i % 7),
               ['FINISHED', 'FAILED', 'RUNNING'][i % 3 + 1], 1700000000000 + i * 1000, NULL,
               'file:///a/' || i, 'active', NULL
        FROM range(2000) t(i)
        """
    )
    conn.execute(
        """
        INSERT INTO meta.run_latest_metrics
        SELECT printf('%032x', i), 'metric_' || j, ((i * 37 + j * 11) % 1000) / 1000.0, 0, 0
        FROM range(2000) t(i), range(20) s(j)
        """
    )
    conn.execute(
        """
        INSERT INTO meta.run_params
        SELECT printf('%032x', i), 'param_' || j, ((i + j) % 16)::VARCHAR FROM range(2000) t(i), range(20) s(j)
        """
    )
    conn.execute(
        """
        INSERT INTO meta.run_tags
        SELECT printf('%032x', i), 'tag_' || j, 'v' || ((i * j) % 5) FROM range(2000) t(i), range(20) s(j)
        """
    )
    compiled = compile_search(
        ["1"],
        "metrics.metric_3 > 0.5 and params.param_7 = '8' and tags.tag_2 LIKE 'v%' and attributes.status != 'FAILED'",
        order_by=["metrics.metric_5 DESC", "params.param_1"],
        max_results=100,
    )
    page = compiled.run(conn)  # timing lives in tests/benchmarks/bench_tracking.py, not here
    assert 0 < len(page.run_ids) <= 100
    assert page.next_page_token is None or len(page.run_ids) == 100
    conn.close()

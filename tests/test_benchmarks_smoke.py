"""The benchmarks run and their cross-checks hold, at small sizes (timings are not checked)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))

import bench_authz
import bench_feature_pit
import bench_lineage
import bench_server
import bench_serving
import bench_sql_frontend
import bench_tracking


def test_the_grant_index_and_casbin_agree_on_every_sampled_request():
    results = bench_authz.run(bench_authz.QUICK, progress=False)
    assert [r.grants for r in results] == list(bench_authz.QUICK.grant_counts)
    for result in results:
        assert result.compared == bench_authz.QUICK.casbin_requests
        assert result.mismatches == 0
        assert 0 < result.allowed_share < 1  # both outcomes are exercised
        assert len(result.index.samples) == bench_authz.QUICK.index_requests


def test_the_catalog_query_returns_what_duckdb_returns(capsys):
    results = bench_sql_frontend.run(bench_sql_frontend.QUICK, progress=False)
    assert {r.name for r in results} == set(bench_sql_frontend.QUERIES)
    assert all(r.same_rows for r in results)
    bench_sql_frontend.report(bench_sql_frontend.QUICK, results)
    assert "3-table join" in capsys.readouterr().out


def test_the_lineage_walk_finds_the_closure_sql_finds_and_capture_leaves_rows_alone(capsys):
    size = bench_lineage.QUICK
    results = bench_lineage.run(size, progress=False)
    assert results.links > size.depth * size.fan_in  # the noise is there, outside the closure
    for closure in results.closures:
        assert closure.catalog_nodes == closure.cte_node_count
        assert closure.catalog_edges == closure.cte_edge_count
    whole, near = results.closures
    assert whole.catalog_nodes == 1 + size.depth + size.depth * size.fan_in
    assert near.catalog_nodes < whole.catalog_nodes
    for write in results.writes:
        assert write.same_rows
        assert write.runs_recorded == size.write_repeats  # capture on records a run; off records none
    bench_lineage.report(size, results)
    assert "Upstream closure" in capsys.readouterr().out


def test_the_tracking_benchmark_finds_what_the_filter_should(capsys):
    size = bench_tracking.QUICK
    mine, theirs = bench_tracking.run(size, progress=False)
    assert mine.matched == bench_tracking.expected_matches(size) > 0
    assert bench_tracking.stored_as_logged(size, mine)
    if theirs is not None:  # MLflow is a benchmark-only extra: compared when installed
        assert theirs.matched == mine.matched
    bench_tracking.report(size, mine, theirs)
    assert "search_runs" in capsys.readouterr().out


def test_the_feature_join_returns_what_duckdb_and_pandas_return(capsys):
    size = bench_feature_pit.QUICK
    results = bench_feature_pit.run(size, progress=False)
    training = results.training
    assert training.rows == size.label_rows
    assert training.raw_agrees and training.pk_agrees and training.pandas_agrees
    assert 0 < training.matched_share < 1
    assert all(r.agree and len(r.ours.samples) == size.lookups for r in results.serving)
    bench_feature_pit.report(size, results)
    assert "Point-in-time join" in capsys.readouterr().out


def test_the_server_returns_what_the_embedded_client_and_duckdb_return(capsys):
    size = bench_server.QUICK
    results = bench_server.run(size, progress=False)
    assert results.select_agrees and results.read_agrees
    clients = {(c.workload, c.client, c.concurrency) for c in results.cases}
    for threads in bench_server.CONCURRENCY:
        assert ("small SELECT", "server", threads) in clients
        assert ("small SELECT", "embedded", threads) in clients
        assert ("read_table", "server", threads) in clients
    assert all(c.calls == len(c.latencies) > 0 and c.rate > 0 for c in results.cases)
    parallel_reads = next(c for c in results.cases if c.workload == "read_table" and c.concurrency > 1)
    assert parallel_reads.calls == max(bench_server.CONCURRENCY) * size.parallel_reads * size.rounds
    assert results.phases.payload_bytes > 0
    bench_server.report(size, results)
    assert "Catalog server" in capsys.readouterr().out


def test_the_endpoint_and_mlflow_serve_give_the_models_predictions(capsys):
    results = bench_serving.run(bench_serving.QUICK, progress=False)
    assert results.agrees
    sides = {(c.workload, c.side, c.threads) for c in results.cases}
    for workload, _, threads in bench_serving.WORKLOADS:
        assert (workload, bench_serving.OURS, threads) in sides
    assert all(c.requests == len(c.latencies) > 0 and c.rate > 0 for c in results.cases)
    bench_serving.report(bench_serving.QUICK, results)
    assert "Model serving" in capsys.readouterr().out

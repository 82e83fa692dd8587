"""The benchmarks run and their cross-checks hold, at small sizes (timings are not checked)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))

import bench_authz
import bench_sql_frontend


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

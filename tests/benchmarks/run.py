"""Run every benchmark and print its tables: ``python tests/benchmarks/run.py [--quick]``."""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_authz
import bench_feature_pit
import bench_lineage
import bench_server
import bench_serving
import bench_sql_frontend
import bench_tracking


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the benchmarks run, not speed")
    args = parser.parse_args(argv)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"{platform.machine()}, {platform.system()}"
    )
    failed = 0
    for module in (
        bench_authz,
        bench_sql_frontend,
        bench_lineage,
        bench_tracking,
        bench_feature_pit,
        bench_server,
        bench_serving,
    ):
        print(f"\n== {module.__name__}", flush=True)
        failed |= module.main(["--quick"] if args.quick else [])
    return failed


if __name__ == "__main__":
    sys.exit(main())

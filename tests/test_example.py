"""The end-to-end example (the README's first command) runs to the end on a new home."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "end_to_end.py"


def test_the_end_to_end_example_runs(tmp_path):
    home = tmp_path / "demo-home"
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), str(home)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for step in ("bob is refused", "The audit log", "Lineage", "casbin policy file", "Done."):
        assert step in out, step
    assert "PERMISSION_DENIED" in out or "does not have" in out
    assert "main.ml.churn_training" in out and "main.raw.customers" in out  # the lineage graph
    split = re.search(r"100 requests answered by: (\{.*\})", out)  # the A/B split, over HTTP
    assert split and "'champion': " in split.group(1) and "'challenger': " in split.group(1)
    assert re.search(r"\| (champion|challenger) +\| 400 +\| churn-app", out)  # a refused request, captured
    assert (home / "catalog.duckdb").exists()


TWO_USERS = EXAMPLE.parent / "two_users_server.py"


def test_the_two_user_server_example_runs(tmp_path):
    home = tmp_path / "team-home"
    result = subprocess.run(
        [sys.executable, str(TWO_USERS), str(home)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "refused: [PERMISSION_DENIED] User bob does not have USE CATALOG on catalog main" in out
    assert "| apac     | 410.0   |" in out  # bob reads alice's table once granted
    assert "| bob         | readTable         | 403      | 127.0.0.1" in out  # the denial, audited with the address
    assert "bob still reads 4 orders" in out and out.rstrip().endswith("Done.")
    assert not (home / "server.json").exists()  # the stopped server withdrew its local admin token

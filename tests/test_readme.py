"""The README's tour runs as written: its python, sql and bash blocks, in order, in a fresh folder.

The quick start block (it creates virtual environments) is the one block not run here; CI runs
its test command itself.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from catalog.api import Catalog

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"```(python|sql|bash)\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## A tour") : text.index("## How it works")]
    return BLOCK.findall(tour)


def test_readme_tour_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CATALOG_HOME", raising=False)
    monkeypatch.delenv("CATALOG_USER", raising=False)
    namespace: dict[str, object] = {}
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    ran = {"python": 0, "sql": 0, "bash": 0}
    for language, code in blocks():
        if language == "python":
            exec(compile(code, "README.md", "exec"), namespace)
        elif language == "sql":
            namespace["admin"].sql(code)
        else:
            for value in namespace.values():  # one process per home: let the CLI in
                if isinstance(value, Catalog):
                    value.close()
            for line in code.strip().splitlines():
                if line.startswith("export "):
                    for assignment in shlex.split(line)[1:]:
                        key, _, value = assignment.partition("=")
                        env[key] = value
                    continue
                result = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True)
                assert result.returncode == 0, f"{line}\n{result.stderr}"
        ran[language] += 1
    assert ran["python"] >= 2 and ran["sql"] >= 2 and ran["bash"] >= 1
    assert (tmp_path / "grants.csv").read_text().count("p, ") > 5

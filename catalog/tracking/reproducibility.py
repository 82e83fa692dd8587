"""What a run records about where it came from, without being asked.

Tags, named as MLflow names them where it has names: ``mlflow.source.name`` (the entry point),
``mlflow.source.type``, ``mlflow.source.git.commit``, plus ``catalog.source.git.dirty``,
``catalog.python_version`` and ``catalog.packages`` (the versions of the packages a model
depends on, as JSON).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("catalog", "scikit-learn", "numpy", "pandas", "scipy", "duckdb", "pyarrow", "cloudpickle")


def entry_point() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "<interactive>")
    if path.startswith("<") or path in ("-c", "-"):  # <stdin>, <interactive>, python -c
        return path
    return str(Path(path).resolve())


def git_state(where: Path) -> tuple[str, bool] | None:
    """(commit, dirty) of the git repository holding ``where``, if there is one and git runs."""
    folder = where if where.is_dir() else where.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return commit, bool(status.strip())


def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def source_tags() -> dict[str, str]:
    entry = entry_point()
    tags = {
        "mlflow.source.name": entry,
        "mlflow.source.type": "LOCAL",
        "catalog.python_version": platform.python_version(),
        "catalog.packages": json.dumps(package_versions(), sort_keys=True),
    }
    where = Path(entry) if Path(entry).exists() else Path.cwd()
    state = git_state(where)
    if state is not None:
        tags["mlflow.source.git.commit"] = state[0]
        tags["catalog.source.git.dirty"] = str(state[1]).lower()
    return tags

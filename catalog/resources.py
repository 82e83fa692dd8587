"""Locate the SQL and policy files that ship with the package.

Reviewers read ``sql/`` and ``policies/`` at the top of the repository; the wheel carries the
same files under ``catalog/_bundled/``. The engine always loads those very files.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def resource_dir(name: str) -> Path:
    """Return the directory ``sql`` or ``policies``, bundled or in a source checkout."""
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"The catalog's '{name}' directory is missing from the installation; reinstall the package."
    )


def read_text(relative: str) -> str:
    """Read ``sql/system/access/audit.sql`` style paths (first part names the directory)."""
    top, _, rest = relative.partition("/")
    return (resource_dir(top) / rest).read_text(encoding="utf-8")

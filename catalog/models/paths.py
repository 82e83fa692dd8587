"""Relative paths inside a model directory, checked before any file is touched.

Every path the format writes or reads (file table keys, flavor file names, artifact names)
is a relative POSIX path that must stay inside the model directory: no ``..`` parts, no
absolute paths, no backslashes, no empty parts. A crafted ``MLmodel`` therefore cannot make
``load_model`` read a file outside the directory.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from catalog.errors import InvalidRequest

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def checked_relative(path: object, *, what: str) -> PurePosixPath:
    """``path`` as a relative POSIX path that stays inside its root.

    Raises:
        InvalidRequest: ``INVALID_PATH`` when the path is empty, absolute, has ``..`` or empty
            parts, backslashes, NUL bytes or starts with ``~``.
    """
    if not isinstance(path, str) or not path or "\x00" in path or "\\" in path or path.startswith("~"):
        raise invalid_path(path, what)
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", ".", "") for part in path.split("/")):
        raise invalid_path(path, what)
    return pure


def inside(root: Path, path: object, *, what: str) -> Path:
    """``root / path`` after :func:`checked_relative`."""
    return root.joinpath(*checked_relative(path, what=what).parts)


def checked_name(name: object, *, what: str) -> str:
    """A single path component made of letters, digits, ``_``, ``-`` and ``.`` (not leading)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequest(
            f"{what} {name!r} is not a valid name: use letters, digits, '_', '-' and '.', "
            "starting with a letter, digit or '_' (no '/', no '..', no absolute paths).",
            error_code="INVALID_PATH",
        )
    return name


def invalid_path(path: object, what: str) -> InvalidRequest:
    return InvalidRequest(
        f"{what} {path!r} must be a relative path that stays inside the model directory: no '..', "
        "no absolute paths, forward slashes only.",
        error_code="INVALID_PATH",
    )

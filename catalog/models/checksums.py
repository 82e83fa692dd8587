"""The sha256 table of a model directory, and its verification.

``MLmodel`` lists the sha256 of every other file in the directory. Loading verifies the whole
tree against that table (no file changed, none added, none removed, no symbolic links) before
anything is unpickled. The table lives inside ``MLmodel``, so whoever can rewrite ``MLmodel`` can
forge it; :func:`descriptor_digest` (the sha256 of ``MLmodel`` itself, which covers the table) is
the value a registry stores to detect that too.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from catalog.errors import ModelIntegrityError
from catalog.models.paths import checked_relative

DESCRIPTOR = "MLmodel"
_CHUNK = 1024 * 1024


__all__ = ["ModelIntegrityError"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def descriptor_digest(model_dir: Path) -> str:
    """The sha256 of ``MLmodel``: one value that pins every file of the model."""
    return sha256_file(model_dir / DESCRIPTOR)


def list_files(model_dir: Path) -> list[str]:
    """Every regular file under ``model_dir`` except ``MLmodel``, as sorted relative POSIX paths.

    Raises:
        ModelIntegrityError: on a symbolic link or anything that is not a regular file or folder.
    """
    found: list[str] = []
    for folder, dirs, files in os.walk(model_dir, followlinks=False):
        for name in sorted(dirs + files):
            full = Path(folder) / name
            rel = full.relative_to(model_dir).as_posix()
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise ModelIntegrityError(
                    f"Model directory '{model_dir}' contains the symbolic link '{rel}'; model files must be "
                    "regular files. Save the model again.",
                    details={"file": rel},
                )
            if stat.S_ISREG(mode):
                if rel != DESCRIPTOR:
                    found.append(rel)
            elif not stat.S_ISDIR(mode):
                raise ModelIntegrityError(
                    f"Model directory '{model_dir}' contains '{rel}', which is not a regular file.",
                    details={"file": rel},
                )
    return sorted(found)


def hash_tree(model_dir: Path) -> dict[str, str]:
    """The ``files`` table: relative path -> sha256 hex digest, for every file but ``MLmodel``."""
    return {rel: sha256_file(model_dir / rel) for rel in list_files(model_dir)}


def verify_tree(model_dir: Path, expected: dict[str, str]) -> None:
    """Check that ``model_dir`` holds exactly the files of ``expected``, each with its digest.

    Raises:
        InvalidRequest: ``INVALID_PATH`` when a key of ``expected`` leaves the directory.
        ModelIntegrityError: naming the first file that was added, removed or changed.
    """
    for rel in expected:
        checked_relative(rel, what="File")
    actual = list_files(model_dir)
    added = sorted(set(actual) - set(expected))
    if added:
        raise ModelIntegrityError(
            f"Model directory '{model_dir}' contains '{added[0]}', which its MLmodel does not list; the "
            "directory was modified after it was saved. Remove the file or save the model again.",
            details={"file": added[0], "problem": "unlisted"},
        )
    missing = sorted(set(expected) - set(actual))
    if missing:
        raise ModelIntegrityError(
            f"Model directory '{model_dir}' is missing '{missing[0]}', which its MLmodel lists. "
            "Restore the file or save the model again.",
            details={"file": missing[0], "problem": "missing"},
        )
    for rel in actual:
        check_digest(model_dir, rel, sha256_file(model_dir / rel), expected[rel])


def check_digest(model_dir: Path, rel: str, actual: str, expected: str) -> None:
    if actual != expected:
        raise ModelIntegrityError(
            f"File '{rel}' of model directory '{model_dir}' does not match the sha256 in its MLmodel; "
            "it was modified after the model was saved. Do not load it; save the model again.",
            details={"file": rel, "problem": "changed", "expected_sha256": expected, "actual_sha256": actual},
        )


def read_verified(model_dir: Path, rel: str, expected: dict[str, str]) -> bytes:
    """The bytes of ``rel``, checked against ``expected`` after reading.

    The digest is computed on the very bytes returned, so a file swapped between the tree
    verification and this read is still refused before it is unpickled.
    """
    checked_relative(rel, what="File")
    if rel not in expected:
        raise ModelIntegrityError(
            f"MLmodel of '{model_dir}' refers to '{rel}', which its file table does not list.",
            details={"file": rel, "problem": "unlisted"},
        )
    data = (model_dir / rel).read_bytes()
    check_digest(model_dir, rel, sha256_bytes(data), expected[rel])
    return data

"""A model's files on their way from the catalog to the process that loads them.

The engine reads a logged or registered model's folder into :class:`ModelFiles` (an
authorized, audited operation); the client writes them into a local cache folder named by the
sha256 of their ``MLmodel`` (the descriptor pins every file), reuses that folder when it is
already there, and loads from it with the usual verification. The same route serves embedded
and remote connections, so a model loads the same way wherever the catalog runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from catalog import wire
from catalog.errors import NotFound
from catalog.models.checksums import DESCRIPTOR, list_files, sha256_bytes
from catalog.models.paths import inside

CACHE_DIR = "catalog-models"


@wire.register
@dataclass(frozen=True)
class ModelFiles:
    """Every file of a model folder, ``MLmodel`` included."""

    files: dict[str, bytes]  # relative POSIX path -> content
    digest: str | None = None  # the descriptor digest the registry recorded; None for a logged model
    version: int | None = None  # the registered version these are; None for a logged model


def read_model(folder: Path, what: str, *, digest: str | None = None, version: int | None = None) -> ModelFiles:
    """The files of the model folder ``folder`` (``what`` names it in errors: a URI, not a path
    on the engine's machine).

    Raises:
        NotFound: the folder has no ``MLmodel``.
        ModelIntegrityError: the folder holds a symbolic link or a special file.
    """
    descriptor = folder / DESCRIPTOR
    if not folder.is_dir() or descriptor.is_symlink() or not descriptor.is_file():
        raise NotFound(f"No model at '{what}': there is no MLmodel file there.", error_code="RESOURCE_DOES_NOT_EXIST")
    files = {DESCRIPTOR: descriptor.read_bytes()}
    for rel in list_files(folder):
        files[rel] = (folder / rel).read_bytes()
    return ModelFiles(files, digest, version)


def cache_root() -> Path:
    """``<temp>/catalog-models-<uid>``: one cache per user, so nobody writes into another's."""
    owner = f"-{os.getuid()}" if hasattr(os, "getuid") else ""
    return Path(tempfile.gettempdir()) / f"{CACHE_DIR}{owner}"


def materialize(model: ModelFiles) -> Path:
    """A local folder holding ``model``'s files: the cached copy when there is one, else a new
    one (written under a temporary name and renamed into place, so it is never half there).

    Nothing is verified here: the loaders verify the folder before anything is unpickled."""
    descriptor = model.files.get(DESCRIPTOR)
    if descriptor is None:
        raise NotFound("The catalog sent a model without its MLmodel file.", error_code="RESOURCE_DOES_NOT_EXIST")
    root = cache_root()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = root / sha256_bytes(descriptor)
    if target.is_dir():
        return target
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        write_files(model, staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
            # another loader put the same model there first: use theirs
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def write_files(model: ModelFiles, folder: Path) -> None:
    """Write ``model``'s files under ``folder``; a path that would leave it is refused first."""
    targets = [(inside(folder, rel, what="Model file"), data) for rel, data in model.files.items()]
    for path, data in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def discard(model_dir: Path) -> None:
    """Drop a cached copy that failed verification, so that the next load fetches the model
    again; a folder outside the cache is left alone."""
    root = cache_root()
    if model_dir.parent.resolve() != root.resolve() or model_dir.name.startswith("."):
        return
    trash = root / f".discard-{uuid.uuid4().hex}"
    try:
        os.rename(model_dir, trash)
    except OSError:
        return  # already gone
    shutil.rmtree(trash, ignore_errors=True)

"""Run artifacts: files under the home, ``artifacts/<experiment_id>/<run_id>/``.

Every artifact path is relative to its run's folder and must stay inside it: ``..`` parts,
absolute paths, and symbolic links on the way are refused. A file is written to a temporary
name beside its destination and renamed into place when complete, so a failed upload leaves
no half file; large files are copied in chunks, never read whole into memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from catalog.errors import InvalidRequest, NotFound

ARTIFACTS_DIR = "artifacts"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    """Shaped like ``mlflow.entities.FileInfo``."""

    path: str
    is_dir: bool
    file_size: int | None


def run_root(home: Path, experiment_id: str, run_id: str) -> Path:
    return home / ARTIFACTS_DIR / experiment_id / run_id


def artifact_uri(home: Path, experiment_id: str, run_id: str) -> str:
    return run_root(home, experiment_id, run_id).resolve().as_uri()


def relative(path: str | None) -> PurePosixPath:
    """A checked artifact path relative to the run's folder ('' is the folder itself)."""
    if path is None or path in ("", "."):
        return PurePosixPath()
    if not isinstance(path, str) or "\x00" in path or "\\" in path:
        raise _bad_path(path)
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or path.startswith("~"):
        raise _bad_path(path)
    return pure


def _bad_path(path: object) -> InvalidRequest:
    return InvalidRequest(
        f"Artifact path {path!r} must be relative to the run and stay inside it: no '..', no absolute "
        "paths, forward slashes only.",
        error_code="INVALID_PATH",
    )


def resolve_inside(root: Path, path: str | None) -> Path:
    """``root / path``, refusing anything that would leave ``root`` (including through links)."""
    target = root.joinpath(*relative(path).parts)
    current = root
    for part in relative(path).parts:
        current = current / part
        if current.is_symlink():
            raise InvalidRequest(
                f"Artifact path '{path}' goes through a symbolic link; links are not followed.",
                error_code="INVALID_PATH",
            )
    return target


def store_file(root: Path, local_file: Path, artifact_path: str | None) -> str:
    """Copy ``local_file`` into the run as ``artifact_path/<file name>``; returns its path."""
    if not local_file.is_file():
        raise NotFound(
            f"Local file '{local_file}' does not exist or is not a file.", error_code="RESOURCE_DOES_NOT_EXIST"
        )
    destination = resolve_inside(
        root, str(relative(artifact_path) / local_file.name) if artifact_path else local_file.name
    )
    with local_file.open("rb") as source:
        _write_atomically(destination, source)
    return destination.relative_to(root).as_posix()


def store_bytes(root: Path, data: bytes, artifact_file: str) -> str:
    """Write ``data`` as the artifact ``artifact_file`` (a path with a file name)."""
    if relative(artifact_file) == PurePosixPath():
        raise _bad_path(artifact_file)
    destination = resolve_inside(root, artifact_file)
    import io

    _write_atomically(destination, io.BytesIO(data))
    return destination.relative_to(root).as_posix()


def store_tree(root: Path, local_dir: Path, artifact_path: str | None) -> list[str]:
    """Copy every file under ``local_dir`` (links are refused) into the run."""
    if not local_dir.is_dir():
        raise NotFound(f"Local folder '{local_dir}' does not exist.", error_code="RESOURCE_DOES_NOT_EXIST")
    stored = []
    base = relative(artifact_path)
    for path in sorted(local_dir.rglob("*")):
        if path.is_symlink():
            raise InvalidRequest(f"'{path}' is a symbolic link; log the file itself.", error_code="INVALID_PATH")
        if path.is_file():
            inside = base / path.relative_to(local_dir).as_posix()
            destination = resolve_inside(root, str(inside))
            with path.open("rb") as source:
                _write_atomically(destination, source)
            stored.append(destination.relative_to(root).as_posix())
    return stored


def _write_atomically(destination: Path, source) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".upload-", dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def list_files(root: Path, path: str | None) -> list[FileInfo]:
    """The files and folders directly under ``path`` in the run (temporary uploads hidden)."""
    folder = resolve_inside(root, path)
    if not folder.exists():
        return []
    if folder.is_file():
        return [FileInfo(folder.relative_to(root).as_posix(), False, folder.stat().st_size)]
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".upload-") or entry.is_symlink():
            continue
        rel = entry.relative_to(root).as_posix()
        found.append(FileInfo(rel, entry.is_dir(), None if entry.is_dir() else entry.stat().st_size))
    return found


def copy_out(root: Path, path: str | None, destination: Path) -> Path:
    """Copy the artifact (file or folder) at ``path`` into the local folder ``destination``."""
    source = resolve_inside(root, path)
    if not source.exists():
        raise NotFound(f"The run has no artifact '{path}'.", error_code="RESOURCE_DOES_NOT_EXIST")
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / (source.name if path else root.name)
    if source.is_dir():
        shutil.copytree(source, target, ignore=_links_and_uploads, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)
    return target


def _links_and_uploads(folder: str, names: list[str]) -> set[str]:
    """What a folder download leaves out: links (never followed) and uploads in progress."""
    return {n for n in names if n.startswith(".upload-") or os.path.islink(os.path.join(folder, n))}

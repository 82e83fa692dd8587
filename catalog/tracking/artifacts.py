"""Run artifacts: files under the home, ``artifacts/<experiment_id>/<run_id>/``.

Every artifact path is relative to its run's folder and must stay inside it: ``..`` parts,
absolute paths, and symbolic links on the way are refused. Uploads arrive as bytes (the client
reads its local files: the engine may be on another machine). Every file of an upload is
written to a temporary name beside its destination, and all are renamed into place once all are
written, so a failed upload leaves no half file and, short of a failing rename, no half folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from catalog import wire
from catalog.errors import InvalidRequest, NotFound

ARTIFACTS_DIR = "artifacts"
_UPLOAD_PREFIX = ".upload-"


@wire.register
@dataclass(frozen=True)
class FileInfo:
    """Shaped like ``mlflow.entities.FileInfo``."""

    path: str
    is_dir: bool
    file_size: int | None


@wire.register
@dataclass(frozen=True)
class ArtifactFiles:
    """An artifact read out of a run, to write where the client wants it."""

    name: str  # the file's or folder's name; the run id for the run's whole folder
    is_dir: bool
    files: dict[str, bytes]  # folder: path inside it -> content; file: {name: content}


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


def store_bytes(root: Path, data: bytes, artifact_file: str) -> str:
    """Write ``data`` as the artifact ``artifact_file`` (a path with a file name)."""
    return store_files(root, {artifact_file: data}, None)[0]


def store_files(root: Path, files: Mapping[str, bytes], artifact_path: str | None) -> list[str]:
    """Write each file (path under ``artifact_path`` -> content) into the run; returns their
    paths in the run. Every path is checked before the first file is written."""
    base = relative(artifact_path)
    targets = []
    for name, data in sorted(files.items()):
        inside = relative(name)
        if inside == PurePosixPath():
            raise _bad_path(name)
        targets.append((resolve_inside(root, str(base / inside)), data))
    staged: list[tuple[Path, Path]] = []
    try:
        for destination, data in targets:
            staged.append((_staged(destination, data), destination))
        for temporary, destination in staged:
            os.replace(temporary, destination)
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    return [destination.relative_to(root).as_posix() for destination, _ in targets]


def _staged(destination: Path, data: bytes) -> Path:
    """``data`` written and synced to a temporary file beside ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=_UPLOAD_PREFIX, dir=destination.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Path(temporary)


def list_files(root: Path, path: str | None) -> list[FileInfo]:
    """The files and folders directly under ``path`` in the run (temporary uploads hidden)."""
    folder = resolve_inside(root, path)
    if not folder.exists():
        return []
    if folder.is_file():
        return [FileInfo(folder.relative_to(root).as_posix(), False, folder.stat().st_size)]
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(_UPLOAD_PREFIX) or entry.is_symlink():
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


def read_out(root: Path, path: str | None) -> ArtifactFiles:
    """The artifact (file or folder) at ``path`` with its content, to download."""
    source = resolve_inside(root, path)
    if not source.exists():
        raise NotFound(f"The run has no artifact '{path}'.", error_code="RESOURCE_DOES_NOT_EXIST")
    name = source.name if path else root.name
    if not source.is_dir():
        return ArtifactFiles(name, False, {name: source.read_bytes()})
    files = {}
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(set(dirs) - _links_and_uploads(folder, dirs))
        for file_name in sorted(set(names) - _links_and_uploads(folder, names)):
            full = Path(folder, file_name)
            files[full.relative_to(source).as_posix()] = full.read_bytes()
    return ArtifactFiles(name, True, files)


def _links_and_uploads(folder: str, names: list[str]) -> set[str]:
    """What a folder download leaves out: links (never followed) and uploads in progress."""
    return {n for n in names if n.startswith(_UPLOAD_PREFIX) or os.path.islink(os.path.join(folder, n))}

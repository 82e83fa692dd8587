"""Model URIs, as MLflow writes them: where a model to load or register lives.

runs:/<run_id>/<path>           a model logged to a run (catalog.models.log_model)
models:/<name>/<version>        a registered version, e.g. models:/main.ml.churn_model/3
models:/<name>@<alias>          the version an alias points to, e.g. models:/main.ml.churn_model@champion
models:/<name>/<stage>          the newest version in a legacy stage (Production, Staging, ...)
file:///path or a plain path    a model directory on this machine
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from catalog.errors import CatalogError, InvalidRequest
from catalog.models.paths import checked_relative

if TYPE_CHECKING:
    from catalog.models.transfer import ModelFiles

_RUN_ID = re.compile(r"[0-9a-fA-F]{32}\Z")
_FORMS = (
    "runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/<stage>, "
    "file:///<path> or a local path"
)


@dataclass(frozen=True)
class RunUri:
    run_id: str
    path: str  # inside the run's artifacts, '' for the run's root

    def __str__(self) -> str:
        return runs_uri(self.run_id, self.path)


@dataclass(frozen=True)
class ModelUri:
    """A registered version: exactly one of ``version``, ``alias``, ``stage`` is set."""

    name: str
    version: int | None = None
    alias: str | None = None
    stage: str | None = None


@dataclass(frozen=True)
class LocalUri:
    path: Path


def runs_uri(run_id: str, artifact_path: str) -> str:
    """``runs:/<run_id>/<artifact_path>``: the URI of a model logged to a run."""
    return f"runs:/{run_id}/{artifact_path}" if artifact_path else f"runs:/{run_id}"


def _invalid(uri: object, problem: str) -> InvalidRequest:
    return InvalidRequest(
        f"Model URI {uri!r} is not valid: {problem}. Accepted forms: {_FORMS}.", error_code="INVALID_PARAMETER_VALUE"
    )


def parse_model_uri(uri: str | os.PathLike[str]) -> RunUri | ModelUri | LocalUri:
    """Parse a model URI or local path; raise ``INVALID_PARAMETER_VALUE`` naming the accepted forms."""
    if isinstance(uri, os.PathLike):
        return LocalUri(Path(uri))
    if not isinstance(uri, str) or not uri.strip():
        raise _invalid(uri, "it is empty or not a string")
    if uri.startswith("runs:"):
        rest = uri.removeprefix("runs:").lstrip("/")
        run_id, _, path = rest.partition("/")
        if not _RUN_ID.match(run_id):
            raise _invalid(uri, f"'{run_id}' is not a run id (32 hexadecimal characters)")
        path = path.strip("/")
        if path:
            try:
                checked_relative(path, what="Artifact path")
            except CatalogError:
                raise _invalid(
                    uri, f"the artifact path '{path}' must stay inside the run (no '..' or '.' parts)"
                ) from None
        return RunUri(run_id.lower(), path)
    if uri.startswith("models:"):
        rest = uri.removeprefix("models:")
        if not rest.startswith("/") or rest.startswith("//"):
            raise _invalid(uri, "write models:/ followed by the model's name")
        return _registered(uri, rest[1:])
    if uri.startswith("file:"):
        parsed = urlparse(uri)
        if parsed.netloc not in ("", "localhost"):
            raise _invalid(uri, "file URIs must name a local path")
        return LocalUri(Path(unquote(parsed.path)))
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", uri):  # one letter before ':' is a Windows drive
        scheme, rest = uri.split(":", 1)
        hint = "" if rest.startswith("//") else f" (for a local path with a colon, write ./{uri})"
        raise _invalid(uri, f"the scheme '{scheme}:' is not supported{hint}")
    return LocalUri(Path(uri))


def _registered(uri: str, rest: str) -> ModelUri:
    if "@" in rest:
        name, _, alias = rest.partition("@")
        if not name or not alias or "/" in alias:
            raise _invalid(uri, "write models:/<name>@<alias>")
        return ModelUri(name, alias=alias)
    name, _, selector = rest.partition("/")
    if not name or not selector or "/" in selector:
        raise _invalid(uri, "name a version, an alias or a stage: models:/<name>/<version> or models:/<name>@<alias>")
    if selector.isdigit():
        return ModelUri(name, version=int(selector))
    if selector.lower() == "latest":
        raise _invalid(uri, "'latest' is not supported; name a version or an alias")
    return ModelUri(name, stage=selector)


def resolve_model(uri: str | os.PathLike[str], *, cat=None) -> tuple[Path, str | None]:
    """A local folder holding the model ``uri`` names, and the descriptor digest the registry
    recorded for it (None for a logged or local model).

    ``runs:/`` and ``models:/`` go through a catalog connection (``cat``, or the one
    ``catalog.connect`` opened last), which sends the model's files: reading a run's model needs
    read access to its experiment (audited as ``loadModel``), a registered version needs EXECUTE
    on the model (audited as ``getModelVersionDownloadUri``). They land in a local cache folder
    (:mod:`catalog.models.transfer`) that the loaders verify as any model folder."""
    parsed = parse_model_uri(uri)
    if isinstance(parsed, LocalUri):
        return parsed.path, None
    from catalog.models import transfer

    found = fetch_model(parsed, cat=cat)
    return transfer.materialize(found), found.digest


def fetch_model(uri: RunUri | ModelUri, *, cat=None) -> ModelFiles:
    """The files of a logged or registered model, through the connection (authorized, audited)."""
    from catalog.connection import connection

    if isinstance(uri, RunUri):
        return connection(cat).invoke("loadModel", run_id=uri.run_id, path=uri.path)
    return connection(cat).invoke(
        "getModelVersionDownloadUri", name=uri.name, version=uri.version, alias=uri.alias, stage=uri.stage
    )

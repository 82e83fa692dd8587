"""``MLmodel``: the YAML descriptor of a model directory, read and written in one place.

Layout (MLflow's, plus ``files`` and ``catalog_version``)::

    artifact_path: null            # set by log_model: the model's path inside its run
    catalog_version: 0.1.0
    flavors:
      python_function: {loader_module: catalog.models.sklearn, python_version: 3.11.7,
                        env: {requirements: requirements.txt}, model_path: model.pkl}
      sklearn: {sklearn_version: 1.9.1, pickled_model: model.pkl, serialization_format: pickle}
    model_uuid: 0a1b...
    run_id: null                   # set by log_model
    saved_input_example_info: {artifact_path: input_example.json, type: dataframe, pandas_orient: split}
    signature: {inputs: '[{"type": "double", "name": "x", "required": true}]', outputs: ..., params: null}
    utc_time_created: '2026-05-09 07:35:25.123456'
    files: {model.pkl: <sha256 hex>, requirements.txt: <sha256 hex>, ...}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from catalog.errors import NotFound
from catalog.models.checksums import DESCRIPTOR, ModelIntegrityError, sha256_bytes
from catalog.models.paths import checked_relative
from catalog.models.signature import ModelSignature, Schema

PYFUNC = "python_function"
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ModelMetadata:
    """The parsed ``MLmodel`` of a model directory (``PyFuncModel.metadata``).

    ``digest`` is the sha256 of the ``MLmodel`` bytes: it pins every file of the model, so a
    registry can store it and pass it back to ``load_model(..., expected_digest=...)``.
    """

    flavors: dict[str, dict[str, Any]]
    model_uuid: str
    utc_time_created: str
    files: dict[str, str]
    signature: ModelSignature | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    catalog_version: str | None = None
    digest: str | None = field(default=None, compare=False)

    @property
    def loader_module(self) -> str:
        return self.flavors[PYFUNC]["loader_module"]

    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact_path": self.artifact_path,
            "catalog_version": self.catalog_version,
            "flavors": self.flavors,
            "model_uuid": self.model_uuid,
            "run_id": self.run_id,
            "saved_input_example_info": self.saved_input_example_info,
            "signature": self.signature.to_dict() if self.signature else None,
            "utc_time_created": self.utc_time_created,
            "metadata": self.metadata,
            "files": dict(sorted(self.files.items())),
        }

    def to_yaml(self) -> bytes:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False, width=4096).encode()


def read_descriptor(model_dir: Path) -> ModelMetadata:
    """Parse and validate ``model_dir/MLmodel``; nothing else in the directory is read.

    Raises:
        NotFound: the directory or its ``MLmodel`` does not exist.
        ModelIntegrityError: ``MLmodel`` is not a valid descriptor.
        InvalidRequest: ``INVALID_PATH`` when a path in it would leave the directory.
    """
    path = model_dir / DESCRIPTOR
    if not model_dir.is_dir() or path.is_symlink() or not path.is_file():
        raise NotFound(
            f"No model at '{model_dir}': the directory has no MLmodel file. Pass the directory save_model wrote.",
            error_code="RESOURCE_DOES_NOT_EXIST",
        )
    raw = path.read_bytes()
    try:
        body = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise _corrupt(model_dir, f"it is not valid YAML ({exc})") from exc
    return replace(parse_descriptor(body, model_dir), digest=sha256_bytes(raw))


def parse_descriptor(body: Any, model_dir: Path) -> ModelMetadata:
    if not isinstance(body, dict):
        raise _corrupt(model_dir, "it is not a mapping")
    flavors = body.get("flavors")
    if not isinstance(flavors, dict) or not all(isinstance(v, dict) for v in flavors.values()):
        raise _corrupt(model_dir, "'flavors' must map flavor names to settings")
    pyfunc = flavors.get(PYFUNC)
    if pyfunc is None or not isinstance(pyfunc.get("loader_module"), str):
        raise _corrupt(model_dir, f"the '{PYFUNC}' flavor with a 'loader_module' is missing")
    files = body.get("files")
    if not isinstance(files, dict):
        raise _corrupt(model_dir, "'files' (relative path -> sha256) is missing")
    for rel, digest in files.items():
        checked_relative(rel, what="File")
        if rel == DESCRIPTOR or not isinstance(digest, str) or not _HEX.fullmatch(digest):
            raise _corrupt(model_dir, f"the file table entry {rel!r} is not a path with a sha256 hex digest")
    for key in ("model_uuid", "utc_time_created"):
        if not isinstance(body.get(key), str):
            raise _corrupt(model_dir, f"'{key}' is missing")
    example = body.get("saved_input_example_info")
    if example is not None:
        if not isinstance(example, dict):
            raise _corrupt(model_dir, "'saved_input_example_info' must be a mapping")
        checked_relative(example.get("artifact_path"), what="Input example path")
    signature = body.get("signature")
    return ModelMetadata(
        flavors=flavors,
        model_uuid=body["model_uuid"],
        utc_time_created=body["utc_time_created"],
        files=dict(files),
        signature=ModelSignature.from_dict(signature) if signature is not None else None,
        run_id=_optional_str(body, "run_id", model_dir),
        artifact_path=_optional_str(body, "artifact_path", model_dir),
        saved_input_example_info=example,
        metadata=body.get("metadata"),
        catalog_version=_optional_str(body, "catalog_version", model_dir),
    )


def _optional_str(body: dict[str, Any], key: str, model_dir: Path) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _corrupt(model_dir, f"'{key}' must be a string")
    return value


def _corrupt(model_dir: Path, problem: str) -> ModelIntegrityError:
    return ModelIntegrityError(
        f"The MLmodel of '{model_dir}' is not a valid model descriptor: {problem}. Save the model again.",
        details={"file": DESCRIPTOR},
    )

"""The model format: real scikit-learn models and a custom PythonModel saved, verified and loaded.

Tamper tests replace the pickled model with a booby-trapped pickle that creates a marker file when
unpickled; each test checks that the marker does not exist, proving the refusal came first.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from catalog.errors import AlreadyExists, CatalogError, InvalidRequest, NotFound
from catalog.models import (
    ColSpec,
    DataType,
    ModelIntegrityError,
    ModelSignature,
    PyFuncModel,
    PythonModel,
    Schema,
    TensorSpec,
    infer_signature,
    load_model,
    load_sklearn,
    save_model,
    verify_model,
)

# -- fixtures ----------------------------------------------------------------------------------


def churn_frame(rows: int = 60) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "tenure_months": rng.integers(1, 72, rows).astype("int64"),
            "monthly_charges": rng.uniform(20, 120, rows),
            "support_calls": rng.integers(0, 9, rows).astype("int64"),
        }
    )
    label = ((frame["support_calls"] > 4) | (frame["tenure_months"] < 6)).astype(int).to_numpy()
    return frame, label


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return churn_frame()


@pytest.fixture(scope="module")
def forest(data: tuple[pd.DataFrame, np.ndarray]) -> RandomForestClassifier:
    X, y = data
    return RandomForestClassifier(n_estimators=15, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def scaled_logistic(data: tuple[pd.DataFrame, np.ndarray]) -> Pipeline:
    X, y = data
    features = X.astype("float64")
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(features, y)


class Trap:
    """Unpickling this creates the marker file: the proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def trap_bytes(marker: Path) -> bytes:
    return pickle.dumps(Trap(marker), protocol=5)


class ScaledSum(PythonModel):
    """A custom model whose weights come from an artifact file read in load_context."""

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.weights: dict[str, float] = {}

    def load_context(self, context: Any) -> None:
        self.weights = json.loads(Path(context.artifacts["weights"]).read_text())

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.Series:
        scale = (params or {}).get("scale", 1.0)
        total = sum(model_input[name] * weight for name, weight in self.weights.items())
        return (total + self.offset) * scale


class Unpicklable(PythonModel):
    def __reduce__(self) -> tuple[Any, ...]:
        raise RuntimeError("pickling is broken on purpose")

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def all_files(model_dir: Path) -> set[str]:
    return {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def rewrite_descriptor(model_dir: Path, change) -> None:
    body = yaml.safe_load((model_dir / "MLmodel").read_text())
    change(body)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(body, sort_keys=False))


# -- scikit-learn round trips ---------------------------------------------------------------------


def test_random_forest_round_trip_and_descriptor(tmp_path: Path, forest, data) -> None:
    X, _ = data
    info = save_model(forest, tmp_path / "rf", input_example=X.head(5))
    model_dir = tmp_path / "rf"

    loaded = load_model(model_dir)
    assert isinstance(loaded, PyFuncModel)
    np.testing.assert_array_equal(loaded.predict(X), forest.predict(X))
    assert isinstance(loaded.get_raw_model(), RandomForestClassifier)
    assert loaded.unwrap() is loaded.get_raw_model()

    descriptor = yaml.safe_load((model_dir / "MLmodel").read_text())
    pyfunc = descriptor["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "catalog.models.sklearn"
    assert pyfunc["python_version"] == ".".join(map(str, sys.version_info[:3]))
    assert pyfunc["env"] == {"requirements": "requirements.txt"}
    assert descriptor["flavors"]["sklearn"] == {
        "sklearn_version": metadata.version("scikit-learn"),
        "pickled_model": "model.pkl",
        "serialization_format": "pickle",
        "pickle_protocol": 5,
        "code": None,
    }
    assert descriptor["model_uuid"] == info.model_uuid == loaded.metadata.model_uuid
    assert descriptor["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
    }
    assert json.loads(descriptor["signature"]["inputs"]) == [
        {"type": "long", "name": "tenure_months", "required": True},
        {"type": "double", "name": "monthly_charges", "required": True},
        {"type": "long", "name": "support_calls", "required": True},
    ]
    assert json.loads(descriptor["signature"]["outputs"]) == [{"type": "long", "required": True}]

    # every file but MLmodel is hashed, with its real sha256
    assert set(descriptor["files"]) == all_files(model_dir) - {"MLmodel"}
    assert set(descriptor["files"]) == {"model.pkl", "requirements.txt", "input_example.json"}
    assert all(descriptor["files"][rel] == sha256(model_dir / rel) for rel in descriptor["files"])
    assert info.files == descriptor["files"]
    assert info.digest == sha256(model_dir / "MLmodel") == loaded.metadata.digest

    requirements = (model_dir / "requirements.txt").read_text().splitlines()
    pins = [line for line in requirements if not line.startswith("#")]
    for dist in ("scikit-learn", "numpy", "scipy", "pandas"):
        assert f"{dist}=={metadata.version(dist)}" in pins
    assert any(sys.version.split()[0] in line for line in requirements if line.startswith("#"))


def test_pipeline_casts_int_to_double_and_matches(tmp_path: Path, scaled_logistic, data) -> None:
    X, _ = data
    features = X.astype("float64")
    save_model(scaled_logistic, tmp_path / "pipe", input_example=features.head(3))
    loaded = load_model(tmp_path / "pipe")
    assert [spec.type for spec in loaded.metadata.get_input_schema().inputs] == [DataType.double] * 3

    # int64 columns against a double signature are cast, as MLflow does
    assert X["tenure_months"].dtype == np.int64
    np.testing.assert_array_equal(loaded.predict(X), scaled_logistic.predict(features))
    # rows as dicts, columns out of order, an extra column: reordered and dropped
    rows = [{"support_calls": 2, "extra": "x", "monthly_charges": 50.0, "tenure_months": 12}]
    expected = scaled_logistic.predict(pd.DataFrame([[12.0, 50.0, 2.0]], columns=list(features.columns)))
    np.testing.assert_array_equal(loaded.predict(rows), expected)
    # a 2-D array is matched to the signature's columns by position
    np.testing.assert_array_equal(loaded.predict(features.to_numpy()), scaled_logistic.predict(features))


def test_grid_search_round_trip(tmp_path: Path, data) -> None:
    X, y = data
    search = GridSearchCV(
        Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]),
        {"clf__C": [0.1, 1.0]},
        cv=3,
    ).fit(X.astype("float64"), y)
    save_model(search, tmp_path / "grid")
    native = load_sklearn(tmp_path / "grid")
    assert isinstance(native, GridSearchCV)
    assert native.best_params_ == search.best_params_
    np.testing.assert_array_equal(native.predict(X.astype("float64")), search.predict(X.astype("float64")))
    assert load_model(tmp_path / "grid").metadata.signature is None


# -- signatures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (pd.Series([1, 2], dtype="int64"), DataType.long),
        (pd.Series([1, 2], dtype="int32"), DataType.integer),
        (pd.Series([1, 2], dtype="int8"), DataType.integer),
        (pd.Series([1.5, 2.5], dtype="float64"), DataType.double),
        (pd.Series([1.5, 2.5], dtype="float32"), DataType.float),
        (pd.Series(["a", "b"]), DataType.string),
        (pd.Series(["a", "b"], dtype=object), DataType.string),
        (pd.Series([True, False]), DataType.boolean),
        (pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"])), DataType.datetime),
        (pd.Series([b"\x00", b"\x01"], dtype=object), DataType.binary),
        (pd.Series(pd.array([1, 2], dtype="Int64")), DataType.long),
    ],
)
def test_infer_signature_column_types(column: pd.Series, expected: DataType) -> None:
    signature = infer_signature(pd.DataFrame({"c": column}))
    assert signature.inputs == Schema((ColSpec(expected, name="c"),))
    assert signature.outputs is None


def test_infer_signature_inputs_and_outputs() -> None:
    rows = [{"x": 1, "label": "a"}, {"x": 2, "label": "b"}]
    signature = infer_signature(rows, model_output=np.array([0.5, 0.25]))
    assert signature.inputs.to_list() == [
        {"type": "long", "name": "x", "required": True},
        {"type": "string", "name": "label", "required": True},
    ]
    assert signature.outputs.to_list() == [{"type": "double", "required": True}]
    assert infer_signature(np.zeros((3, 4))).inputs == Schema((TensorSpec("float64", (-1, 4)),))
    assert infer_signature(pd.DataFrame({"x": [1.0]}), pd.Series([1], name="score")).outputs.input_names() == ["score"]
    assert ModelSignature.from_dict(signature.to_dict()) == signature


def test_infer_signature_refuses_mixed_column() -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        infer_signature(pd.DataFrame({"mixed": [1, "a"]}, dtype=object))
    assert excinfo.value.error_code == "SIGNATURE_INFERENCE_FAILED"
    assert "mixed" in excinfo.value.message


def test_signature_enforcement(tmp_path: Path, forest, data) -> None:
    X, _ = data
    signature = infer_signature(X, forest.predict(X))
    save_model(forest, tmp_path / "rf", signature=signature)
    loaded = load_model(tmp_path / "rf")

    with pytest.raises(InvalidRequest) as missing:
        loaded.predict(X.drop(columns=["support_calls"]))
    assert missing.value.error_code == "SCHEMA_MISMATCH"
    assert "'support_calls'" in missing.value.message

    with pytest.raises(InvalidRequest) as lossy:  # double -> long would lose information
        loaded.predict(X.assign(tenure_months=X["tenure_months"] + 0.5))
    assert lossy.value.error_code == "SCHEMA_MISMATCH"
    assert "tenure_months" in lossy.value.message

    with pytest.raises(InvalidRequest) as strings:
        loaded.predict(X.assign(monthly_charges="high"))
    assert strings.value.error_code == "SCHEMA_MISMATCH"

    # int32 columns widen to long; the caller's frame is not modified
    narrow = X.astype({"tenure_months": "int32"})
    np.testing.assert_array_equal(loaded.predict(narrow), forest.predict(X))
    assert narrow["tenure_months"].dtype == np.int32


def test_tensor_signature_enforcement(tmp_path: Path, data) -> None:
    X, y = data
    array = X.to_numpy(dtype="float64")
    model = LogisticRegression().fit(array, y)
    save_model(model, tmp_path / "tensor", input_example=array[:2])
    loaded = load_model(tmp_path / "tensor")
    assert loaded.metadata.get_input_schema() == Schema((TensorSpec("float64", (-1, 3)),))
    np.testing.assert_array_equal(loaded.predict(array.astype("int64")), model.predict(array.astype("int64")))
    with pytest.raises(InvalidRequest) as shape:
        loaded.predict(array[:, :2])
    assert shape.value.error_code == "SCHEMA_MISMATCH"
    np.testing.assert_array_equal(loaded.input_example, array[:2])


def test_input_example_round_trip(tmp_path: Path) -> None:
    example = pd.DataFrame(
        {
            "n": pd.Series([1, 2], dtype="int64"),
            "price": [0.1 + 0.2, 1e-300],
            "name": ["ä", "b"],
            "flag": [True, False],
            "at": pd.to_datetime(["2024-01-01 10:00:00.000000", "2024-06-30 23:59:59.123456"]),
        }
    )
    save_model(Echo(), tmp_path / "echo", input_example=example)
    loaded = load_model(tmp_path / "echo")
    restored = loaded.input_example
    pd.testing.assert_frame_equal(restored, example, check_dtype=False)
    assert restored["price"].tolist() == example["price"].tolist()  # every digit kept
    assert restored["at"].dtype.kind == "M"
    pd.testing.assert_frame_equal(loaded.predict(restored), example, check_dtype=False)


class Echo(PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input


# -- custom PythonModel -------------------------------------------------------------------------


def test_python_model_with_artifact(tmp_path: Path) -> None:
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"a": 2.0, "b": -1.0}))
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 0.5]})
    info = save_model(ScaledSum(offset=10.0), tmp_path / "custom", artifacts={"weights": weights}, input_example=frame)
    weights.write_text("{}")  # the model keeps its own copy

    model_dir = tmp_path / "custom"
    assert info.flavors["python_model"]["artifacts"] == {"weights": "artifacts/weights/weights.json"}
    assert info.flavors["python_function"]["loader_module"] == "catalog.models.python_model"
    assert "artifacts/weights/weights.json" in info.files
    requirements = (model_dir / "requirements.txt").read_text()
    assert f"cloudpickle=={metadata.version('cloudpickle')}" in requirements

    loaded = load_model(model_dir)
    python_model = loaded.unwrap_python_model()
    assert isinstance(python_model, ScaledSum)
    assert python_model.weights == {"a": 2.0, "b": -1.0}
    assert loaded.predict(frame).tolist() == [9.0, 13.5]
    assert loaded.predict(frame, params={"scale": 2.0}).tolist() == [18.0, 27.0]
    assert loaded.predict([{"a": 1, "b": 1}]).tolist() == [11.0]  # int -> double
    assert info.signature.outputs.to_list() == [{"type": "double", "required": True}]


def test_python_model_loads_in_a_process_that_cannot_import_its_module(tmp_path: Path) -> None:
    weights = tmp_path / "weights.json"
    weights.write_text(json.dumps({"a": 1.0}))
    save_model(ScaledSum(offset=0.5), tmp_path / "custom", artifacts={"weights": weights})
    script = textwrap.dedent(
        f"""
        import sys
        assert "test_model_format" not in sys.modules
        from catalog.models import load_model
        print(load_model({str(tmp_path / "custom")!r}).predict([{{"a": 2.0}}]).tolist())
        """
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[2.5]"


def test_unwrap_python_model_of_sklearn_model_is_refused(tmp_path: Path, forest) -> None:
    save_model(forest, tmp_path / "rf")
    with pytest.raises(InvalidRequest) as excinfo:
        load_model(tmp_path / "rf").unwrap_python_model()
    assert excinfo.value.error_code == "FLAVOR_MISMATCH"
    save_model(Echo(), tmp_path / "echo")
    with pytest.raises(InvalidRequest) as not_sklearn:
        load_sklearn(tmp_path / "echo")
    assert not_sklearn.value.error_code == "FLAVOR_MISMATCH"


# -- refusals at save time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_model", "code", "named"),
    [
        (lambda: object(), "UNSUPPORTED_MODEL", "builtins.object"),
        (lambda: StandardScaler().fit([[1.0], [2.0]]), "UNSUPPORTED_MODEL", "StandardScaler"),
        (lambda: RandomForestClassifier(), "MODEL_NOT_FITTED", "RandomForestClassifier"),
    ],
)
def test_unsupported_or_unfitted_models_are_refused(tmp_path: Path, make_model, code: str, named: str) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        save_model(make_model(), tmp_path / "m")
    assert excinfo.value.error_code == code
    assert named in excinfo.value.message
    assert siblings(tmp_path / "m") == []


def test_flavor_argument_must_match(tmp_path: Path, forest) -> None:
    with pytest.raises(InvalidRequest) as excinfo:
        save_model(forest, tmp_path / "m", flavor="python_model")
    assert excinfo.value.error_code == "UNSUPPORTED_MODEL"
    assert save_model(forest, tmp_path / "m", flavor="sklearn").flavors["sklearn"]


def test_failed_save_leaves_nothing(tmp_path: Path, data) -> None:
    X, y = data
    target = tmp_path / "models" / "broken"
    with pytest.raises(RuntimeError, match="broken on purpose"):
        save_model(Unpicklable(), target)
    assert not target.exists()
    assert siblings(target) == []

    lambda_pipeline = Pipeline([("f", FunctionTransformer(lambda v: v)), ("clf", LogisticRegression())]).fit(X, y)
    with pytest.raises(InvalidRequest) as excinfo:
        save_model(lambda_pipeline, target)
    assert excinfo.value.error_code == "MODEL_NOT_SERIALIZABLE"
    assert siblings(target) == []

    # the model file is written, then the input example fails: still nothing left
    with pytest.raises(InvalidRequest) as example:
        save_model(LogisticRegression().fit(X, y), target, input_example=object())
    assert example.value.error_code == "INVALID_INPUT_EXAMPLE"
    assert siblings(target) == []


def test_refuses_non_empty_target(tmp_path: Path, forest) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(AlreadyExists) as excinfo:
        save_model(forest, target)
    assert str(target) in excinfo.value.message
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert siblings(target) == ["taken"]

    (tmp_path / "a-file").write_text("x")
    with pytest.raises(AlreadyExists):
        save_model(forest, tmp_path / "a-file")

    (tmp_path / "empty").mkdir()
    save_model(forest, tmp_path / "empty")  # an empty directory is fine
    assert (tmp_path / "empty" / "MLmodel").is_file()


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/b", "..", ".hidden", ""])
def test_artifact_names_must_stay_inside(tmp_path: Path, name: str) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    with pytest.raises(InvalidRequest) as excinfo:
        save_model(Echo(), tmp_path / "m", artifacts={name: source})
    assert excinfo.value.error_code == "INVALID_PATH"
    assert not (tmp_path / "m").exists()


def test_artifacts_only_for_python_models_and_extra_files(tmp_path: Path, forest) -> None:
    note = tmp_path / "README.md"
    note.write_text("model card")
    with pytest.raises(InvalidRequest) as excinfo:
        save_model(forest, tmp_path / "m", artifacts={"card": note})
    assert excinfo.value.error_code == "INVALID_PARAMETER_VALUE"
    info = save_model(forest, tmp_path / "m", extra_files=[note])
    assert info.files["extra_files/README.md"] == sha256(note)
    load_model(tmp_path / "m")


# -- tamper detection: every refusal comes before unpickling ---------------------------------------


@pytest.fixture
def saved(tmp_path: Path, forest, data) -> Path:
    X, _ = data
    save_model(forest, tmp_path / "rf", input_example=X.head(2))
    return tmp_path / "rf"


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "UNPICKLED"


def test_trap_works(tmp_path: Path) -> None:
    """Control: the trap does create its marker when unpickled, so its absence means something."""
    control = tmp_path / "control-marker"
    pickle.loads(trap_bytes(control)).close()
    assert control.exists()


def assert_refused(model_dir: Path, marker: Path, *, code: str, naming: str, **kwargs: Any) -> CatalogError:
    for loader in (load_model, load_sklearn):
        with pytest.raises(CatalogError) as excinfo:
            loader(model_dir, **kwargs)
        assert excinfo.value.error_code == code, excinfo.value
        assert naming in excinfo.value.message
    assert not marker.exists(), "the model was unpickled before the refusal"
    return excinfo.value


def test_changed_byte_is_refused(saved: Path, marker: Path) -> None:
    pickled = bytearray((saved / "model.pkl").read_bytes())
    pickled[len(pickled) // 2] ^= 0x01
    (saved / "model.pkl").write_bytes(bytes(pickled))
    error = assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="model.pkl")
    assert isinstance(error, ModelIntegrityError)
    assert error.details["problem"] == "changed"


def test_swapped_pickle_is_refused(saved: Path, marker: Path) -> None:
    (saved / "model.pkl").write_bytes(trap_bytes(marker))
    assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="model.pkl")


def test_added_file_is_refused(saved: Path, marker: Path) -> None:
    (saved / "artifacts").mkdir()
    (saved / "artifacts" / "extra.pkl").write_bytes(trap_bytes(marker))
    error = assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="artifacts/extra.pkl")
    assert error.details["problem"] == "unlisted"


def test_deleted_file_is_refused(saved: Path, marker: Path) -> None:
    (saved / "requirements.txt").unlink()
    error = assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="requirements.txt")
    assert error.details["problem"] == "missing"


def test_swapped_hashes_are_refused(saved: Path, marker: Path) -> None:
    def swap(body: dict[str, Any]) -> None:
        files = body["files"]
        files["model.pkl"], files["requirements.txt"] = files["requirements.txt"], files["model.pkl"]

    rewrite_descriptor(saved, swap)
    assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="model.pkl")


def test_hash_table_pointing_at_another_file_is_refused(saved: Path, marker: Path) -> None:
    """The table's model entry is moved to a planted file, and the flavor pointed at it."""
    (saved / "planted.pkl").write_bytes(trap_bytes(marker))

    def repoint(body: dict[str, Any]) -> None:
        body["files"]["planted.pkl"] = body["files"].pop("model.pkl")
        body["flavors"]["sklearn"]["pickled_model"] = "planted.pkl"

    rewrite_descriptor(saved, repoint)
    assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="model.pkl")
    (saved / "model.pkl").unlink()
    assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="planted.pkl")


def test_flavor_path_leaving_the_directory_is_refused(saved: Path, marker: Path) -> None:
    rewrite_descriptor(saved, lambda body: body["flavors"]["sklearn"].update(pickled_model="../rf/model.pkl"))
    assert_refused(saved, marker, code="INVALID_PATH", naming="../rf/model.pkl")


@pytest.mark.parametrize("bad_path", ["../outside.pkl", "/tmp/outside.pkl", "sub/../../outside.pkl", "a\\..\\b"])
def test_crafted_paths_are_refused(saved: Path, marker: Path, bad_path: str) -> None:
    outside = saved.parent / "outside.pkl"
    outside.write_bytes(trap_bytes(marker))

    def craft(body: dict[str, Any]) -> None:
        body["files"][bad_path] = sha256(outside)
        body["flavors"]["sklearn"]["pickled_model"] = bad_path

    rewrite_descriptor(saved, craft)
    assert_refused(saved, marker, code="INVALID_PATH", naming=repr(bad_path))


def test_crafted_example_path_is_refused(saved: Path, marker: Path) -> None:
    rewrite_descriptor(saved, lambda body: body["saved_input_example_info"].update(artifact_path="../../etc/passwd"))
    assert_refused(saved, marker, code="INVALID_PATH", naming="../../etc/passwd")


def test_foreign_loader_module_is_refused(saved: Path, marker: Path) -> None:
    rewrite_descriptor(saved, lambda body: body["flavors"]["python_function"].update(loader_module="os"))
    with pytest.raises(InvalidRequest) as excinfo:
        load_model(saved)
    assert excinfo.value.error_code == "UNSUPPORTED_MODEL"
    assert "'os'" in excinfo.value.message


def test_symbolic_link_is_refused(saved: Path, marker: Path) -> None:
    outside = saved.parent / "outside.pkl"
    outside.write_bytes(trap_bytes(marker))
    (saved / "model.pkl").unlink()
    (saved / "model.pkl").symlink_to(outside)
    assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="model.pkl")


def test_forged_descriptor_is_caught_by_expected_digest(tmp_path: Path, forest, marker: Path) -> None:
    """Whoever rewrites MLmodel can recompute its table; the digest stored at save time catches that."""
    info = save_model(forest, tmp_path / "rf")
    saved = tmp_path / "rf"
    (saved / "model.pkl").write_bytes(trap_bytes(marker))
    rewrite_descriptor(saved, lambda body: body["files"].update({"model.pkl": sha256(saved / "model.pkl")}))
    assert_refused(saved, marker, code="MODEL_INTEGRITY_ERROR", naming="MLmodel", expected_digest=info.digest)


def test_verify_model_unpickles_nothing(saved: Path, marker: Path) -> None:
    meta = verify_model(saved)
    assert meta.flavors["sklearn"]["pickled_model"] == "model.pkl"
    (saved / "model.pkl").write_bytes(trap_bytes(marker))
    with pytest.raises(ModelIntegrityError):
        verify_model(saved)
    assert not marker.exists()


def test_missing_and_malformed_descriptors(tmp_path: Path, saved: Path) -> None:
    with pytest.raises(NotFound):
        load_model(tmp_path / "nowhere")
    (saved / "MLmodel").write_text("flavors: [not, a, mapping]\n")
    with pytest.raises(ModelIntegrityError) as excinfo:
        load_model(saved)
    assert "flavors" in excinfo.value.message

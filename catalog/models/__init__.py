"""The model format: a self-describing, checksummed directory, MLflow-shaped.

    from catalog.models import save_model, load_model
    info = save_model(pipeline, "churn-model", input_example=X.head())
    model = load_model("churn-model")          # verifies every file before unpickling
    model.predict(X)

    with tracking.start_run():                 # or log it into a tracking run
        info = log_model(pipeline, "model", input_example=X.head())
    load_model(info.model_uri)                 # runs:/<run_id>/model; models:/<name>/<version> too

Importing this package is light: scikit-learn, pandas, numpy and cloudpickle load when a model
is saved or loaded.
"""

from __future__ import annotations

from catalog.models.checksums import ModelIntegrityError
from catalog.models.descriptor import ModelMetadata
from catalog.models.format import ModelInfo, load_model, load_sklearn, save_model, verify_model
from catalog.models.logging import log_model
from catalog.models.pyfunc import PyFuncModel
from catalog.models.python_model import PythonModel, PythonModelContext
from catalog.models.signature import ColSpec, DataType, ModelSignature, Schema, TensorSpec, infer_signature
from catalog.models.uris import LocalUri, ModelUri, RunUri, parse_model_uri

__all__ = [
    "ColSpec",
    "DataType",
    "LocalUri",
    "ModelInfo",
    "ModelIntegrityError",
    "ModelMetadata",
    "ModelSignature",
    "ModelUri",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "RunUri",
    "Schema",
    "TensorSpec",
    "infer_signature",
    "load_model",
    "load_sklearn",
    "log_model",
    "parse_model_uri",
    "save_model",
    "verify_model",
]

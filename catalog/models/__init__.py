"""The model format: a self-describing, checksummed directory, MLflow-shaped.

    from catalog.models import save_model, load_model
    info = save_model(pipeline, "churn-model", input_example=X.head())
    model = load_model("churn-model")          # verifies every file before unpickling
    model.predict(X)

Importing this package is light: scikit-learn, pandas, numpy and cloudpickle load when a model
is saved or loaded.
"""

from __future__ import annotations

from catalog.models.checksums import ModelIntegrityError
from catalog.models.descriptor import ModelMetadata
from catalog.models.format import ModelInfo, load_model, load_sklearn, save_model, verify_model
from catalog.models.pyfunc import PyFuncModel
from catalog.models.python_model import PythonModel, PythonModelContext
from catalog.models.signature import ColSpec, DataType, ModelSignature, Schema, TensorSpec, infer_signature

__all__ = [
    "ColSpec",
    "DataType",
    "ModelInfo",
    "ModelIntegrityError",
    "ModelMetadata",
    "ModelSignature",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "Schema",
    "TensorSpec",
    "infer_signature",
    "load_model",
    "load_sklearn",
    "save_model",
    "verify_model",
]

"""``autolog``: MLflow's scikit-learn autologging on catalog tracking.

    from catalog import tracking
    tracking.autolog()
    RandomForestClassifier(n_estimators=50).fit(X, y)   # one run: params, metrics, tags, model

After ``autolog()`` the ``fit``, ``fit_transform`` and ``fit_predict`` of scikit-learn estimators
(those MLflow patches: not the preprocessing, imputation and feature extraction/selection
transformers, nor ColumnTransformer) log into the active run, or into a run they start and end:

- params: ``get_params(deep=True)`` (``deep=False`` for a parameter search), as strings cut to
  MLflow's length limits; tags ``estimator_name`` and ``estimator_class``;
- training metrics with MLflow's names (``training_accuracy_score``, ``training_f1_score``,
  ``training_log_loss``, ``training_roc_auc``, ``training_mean_squared_error``, ...,
  ``training_score``), weighted by ``sample_weight`` when one is passed;
- the fitted model at ``model`` (:func:`catalog.models.log_model`) with the first five rows of X
  as input example and the signature inferred from them;
- the catalog tables X was read from (``read_table``) as inputs of the run;
- for GridSearchCV and RandomizedSearchCV: ``best_<param>`` params, the ``best_cv_score`` metric,
  the best estimator at ``best_estimator``, ``cv_results.csv``, and a child run for each of the
  ``max_tuning_runs`` best candidates with its params and cross-validation metrics.

Only the outermost fit on a thread logs: the steps of a Pipeline and the candidate fits of a
search do not make runs of their own; neither do the fits inside ``cross_val_score`` and the
other model_selection helpers MLflow leaves alone. A failure while logging is reported as a
warning on the ``catalog.tracking.autolog`` logger and never fails the user's fit.

State: ``_autolog`` (process-wide, as the patched classes are) holds the options and the patches
to undo; ``_fitting`` (per thread) marks a fit being logged.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import numbers
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType
from typing import TYPE_CHECKING, Any, TypeVar

from catalog.errors import InvalidRequest
from catalog.tracking.store import MAX_PARAM_VALUE, Metric, now_ms

if TYPE_CHECKING:
    from catalog.tracking import ActiveRun

_log = logging.getLogger(__name__)
T = TypeVar("T")

FLAVOR = "sklearn"
AUTOLOG_TAG = "mlflow.autologging"
INPUT_EXAMPLE_ROWS = 5
MAX_KEY = 250  # MLflow's MAX_ENTITY_KEY_LENGTH
_FIT_METHODS = ("fit", "fit_transform", "fit_predict")
_EXCLUDED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
_EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)
# model_selection helpers whose inner fits are not logged (MLflow's _apis_autologging_disabled)
_UNLOGGED_HELPERS = (
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
)
_MARK = "_catalog_autolog_wrapper"


@dataclass(frozen=True)
class _Options:
    log_models: bool
    log_input_examples: bool
    log_model_signatures: bool
    log_datasets: bool
    max_tuning_runs: int | None
    silent: bool


@dataclass(frozen=True)
class _Patch:
    """One replaced attribute: ``owner.name`` was ``original`` (``owned``: set on ``owner``
    itself, else inherited, so undoing deletes the override)."""

    owner: Any
    name: str
    original: Any
    owned: bool

    def undo(self) -> None:
        if self.owned:
            setattr(self.owner, self.name, self.original)
        else:
            delattr(self.owner, self.name)


@dataclass
class _Autolog:
    options: _Options | None = None
    patches: list[_Patch] = field(default_factory=list)


class _Fitting(threading.local):
    active = False


_autolog = _Autolog()
_fitting = _Fitting()


def autolog(
    disable: bool = False,
    log_models: bool = True,
    log_input_examples: bool = True,
    log_model_signatures: bool = True,
    max_tuning_runs: int | None = 5,
    silent: bool = False,
    log_datasets: bool = True,
) -> None:
    """Turn scikit-learn autologging on (again, with new options) or off.

    Args:
        disable: restore the original ``fit`` methods and stop logging.
        log_models: log the fitted model (and a search's best estimator).
        log_input_examples: store the first rows of X with the model.
        log_model_signatures: store the signature inferred from those rows.
        max_tuning_runs: child runs for at most this many of a search's best candidates
            (by rank); None for all of them, 0 for none.
        silent: report logging failures at DEBUG level instead of as warnings.
        log_datasets: record the catalog tables X was read from as inputs of the run.

    Raises:
        InvalidRequest: a negative ``max_tuning_runs``.
    """
    if disable:
        for patch in reversed(_autolog.patches):
            patch.undo()
        _autolog.patches.clear()
        _autolog.options = None
        return
    if max_tuning_runs is not None and (not isinstance(max_tuning_runs, int) or max_tuning_runs < 0):
        raise InvalidRequest(
            f"max_tuning_runs must be None or a non-negative integer, not {max_tuning_runs!r}.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    _autolog.options = _Options(
        log_models, log_input_examples, log_model_signatures, log_datasets, max_tuning_runs, silent
    )
    if not _autolog.patches:
        _autolog.patches = _patch_sklearn()


# -- patching ------------------------------------------------------------------------------------
def _estimators() -> list[type]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    found = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    return sorted(
        (
            cls
            for cls in found
            if not cls.__module__.startswith(_EXCLUDED_MODULES)
            and f"{cls.__module__}.{cls.__qualname__}" not in _EXCLUDED_CLASSES
        ),
        key=lambda cls: (cls.__module__, cls.__qualname__),
    )


def _patch_sklearn() -> list[_Patch]:
    import sklearn.model_selection

    patches = [patch for cls in _estimators() for name in _FIT_METHODS if (patch := _patch_method(cls, name))]
    for name in _UNLOGGED_HELPERS:
        original = getattr(sklearn.model_selection, name, None)
        if isinstance(original, FunctionType):
            setattr(sklearn.model_selection, name, _unlogged(original))
            patches.append(_Patch(sklearn.model_selection, name, original, owned=True))
    return patches


def _patch_method(cls: type, name: str) -> _Patch | None:
    try:
        raw = inspect.getattr_static(cls, name)
    except AttributeError:
        return None
    if isinstance(raw, FunctionType):
        if getattr(raw, _MARK, False):  # inherited from a class patched already
            return None
        patch = _Patch(cls, name, raw, owned=name in cls.__dict__)
        setattr(cls, name, _logged(raw))
        return patch
    guarded = getattr(raw, "fn", None)  # sklearn's available_if descriptor: wrap the function it guards
    if isinstance(guarded, FunctionType) and hasattr(raw, "check") and not getattr(guarded, _MARK, False):
        raw.fn = _logged(guarded)
        return _Patch(raw, "fn", guarded, owned=True)
    return None


def _logged(original: FunctionType) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        options = _autolog.options
        if options is None or _fitting.active:
            return original(self, *args, **kwargs)
        _fitting.active = True
        try:
            return _fit_and_log(options, original, self, args, kwargs)
        finally:
            _fitting.active = False

    setattr(fit, _MARK, True)
    return fit


def _unlogged(original: FunctionType) -> Callable[..., Any]:
    @functools.wraps(original)
    def helper(*args: Any, **kwargs: Any) -> Any:
        outer, _fitting.active = _fitting.active, True
        try:
            return original(*args, **kwargs)
        finally:
            _fitting.active = outer

    setattr(helper, _MARK, True)
    return helper


# -- one logged fit ------------------------------------------------------------------------------
def _fit_and_log(options: _Options, original: FunctionType, estimator: Any, args: tuple, kwargs: dict) -> Any:
    from catalog import tracking

    prepared = _attempt(
        options, estimator, "read the fit's arguments", lambda: _training_data(original, estimator, args, kwargs)
    )
    if prepared is None:
        return original(estimator, *args, **kwargs)
    X, y, sample_weight = prepared
    example = _example(X) if options.log_models else None  # taken before fit can change X
    run = tracking.active_run()
    started = run is None
    if started:
        run = _attempt(options, estimator, "start a run", lambda: tracking.start_run(tags={AUTOLOG_TAG: FLAVOR}))
        if run is None:
            return original(estimator, *args, **kwargs)
    logger = _RunLogger(options, run, estimator)
    logger.before_fit(X)
    try:
        fitted = original(estimator, *args, **kwargs)
    except BaseException:
        if started:
            _attempt(options, estimator, "end the run", lambda: tracking.end_run("FAILED"))
        raise
    try:
        logger.after_fit(X, y, sample_weight, example)
    finally:
        if started:
            _attempt(options, estimator, "end the run", lambda: tracking.end_run("FINISHED"))
    return fitted


def _training_data(original: FunctionType, estimator: Any, args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    """X, y and sample_weight of a fit call, by the names in the fit's signature (MLflow's rule:
    the first two parameters are X and y, whatever they are called)."""
    signature = inspect.signature(original)
    try:
        bound = signature.bind(estimator, *args, **kwargs).arguments
    except TypeError:  # the fit itself will say what is wrong with its arguments
        return None, None, None
    names = [
        name
        for name, parameter in list(signature.parameters.items())[1:]
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    ]
    X = bound.get(names[0]) if names else None
    y = bound.get(names[1]) if len(names) > 1 else None
    return X, y, bound.get("sample_weight") if "sample_weight" in names else None


def _example(X: Any) -> Any:
    """The first rows of X (a copy): a DataFrame or numpy array; None for anything else (sparse
    matrices, lists), which then gets no example and no signature."""
    import numpy as np

    if _is_frame(X):
        return X.iloc[:INPUT_EXAMPLE_ROWS].copy()
    if isinstance(X, np.ndarray):
        return X[:INPUT_EXAMPLE_ROWS].copy()
    return None


def _attempt(options: _Options, estimator: Any, what: str, action: Callable[[], T]) -> T | None:
    """Run one logging step; a failure is reported and logging goes on (the fit must not fail)."""
    try:
        return action()
    except Exception as exc:
        _log.log(
            logging.DEBUG if options.silent else logging.WARNING,
            "Autologging could not %s for %s: %s: %s",
            what,
            type(estimator).__name__,
            type(exc).__name__,
            exc,
        )
        return None


class _RunLogger:
    """What one fit logs into one run."""

    def __init__(self, options: _Options, run: ActiveRun, estimator: Any) -> None:
        self.options = options
        self.client = run.client
        self.run_info = run.info
        self.run_id = run.info.run_id
        self.estimator = estimator

    def attempt(self, what: str, action: Callable[[], T]) -> T | None:
        return _attempt(self.options, self.estimator, what, action)

    def before_fit(self, X: Any) -> None:
        estimator = self.estimator
        self.attempt(
            "log params and tags",
            lambda: self.client.log_batch(
                self.run_id,
                params=_strings(estimator.get_params(deep=not _is_search(estimator))),
                tags=_tags(estimator),
            ),
        )
        if self.options.log_datasets and _is_frame(X):
            self.attempt("record the tables X was read from", lambda: self.client.log_frame_inputs(self.run_id, X))

    def after_fit(self, X: Any, y: Any, sample_weight: Any, example: Any) -> None:
        estimator = self.estimator
        metrics = _training_metrics(self, X, y, sample_weight)
        if metrics:
            self.attempt("log training metrics", lambda: self.log_metrics(self.run_id, metrics))
        if self.options.log_models and hasattr(estimator, "predict"):
            self.log_model(estimator, "model", example)
        if _is_search(estimator):
            self.after_search(X, example)

    def log_metrics(self, run_id: str, metrics: Mapping[str, float]) -> None:
        when = now_ms()
        self.client.log_batch(run_id, metrics=[Metric(k, float(v), when, 0) for k, v in metrics.items()])

    def log_model(self, model: Any, artifact_path: str, example: Any) -> None:
        from catalog.models import infer_signature, log_model

        signature = None
        if example is not None and self.options.log_model_signatures:
            signature = self.attempt(
                "infer the model signature", lambda: infer_signature(example, model.predict(example.copy()))
            )
        self.attempt(
            f"log the model at '{artifact_path}'",
            lambda: log_model(
                model,
                artifact_path,
                signature=signature if signature is not None else False,
                input_example=example if self.options.log_input_examples else None,
            ),
        )

    def after_search(self, X: Any, example: Any) -> None:
        search = self.estimator
        if self.options.log_models and hasattr(search, "best_estimator_"):
            self.log_model(search.best_estimator_, "best_estimator", example)
        if hasattr(search, "best_score_"):
            self.attempt(
                "log best_cv_score", lambda: self.log_metrics(self.run_id, {"best_cv_score": search.best_score_})
            )
        if hasattr(search, "best_params_"):
            best = _strings({f"best_{k}": v for k, v in search.best_params_.items()})
            self.attempt("log the best params", lambda: self.client.log_batch(self.run_id, params=best))
        if hasattr(search, "cv_results_"):
            self.attempt("create child runs for the search candidates", lambda: self.child_runs(X))
            self.attempt("log cv_results.csv", self.log_cv_results)

    def child_runs(self, X: Any) -> None:
        """One finished child run per best candidate (by rank), as MLflow: the seed estimator's
        params updated with the candidate's, and the numeric cv_results_ columns but the
        per-split ones as metrics."""
        import pandas as pd

        from catalog.tracking.reproducibility import source_tags

        search, limit = self.estimator, self.options.max_tuning_runs
        results = pd.DataFrame(search.cv_results_)
        if limit is not None:
            rank = "rank_test_score"
            if rank not in results.columns:  # multi-metric scoring: rank_test_<name>
                rank = next(c for c in results.columns if c.startswith("rank_test_"))
            results = results.nsmallest(limit, rank)
        seed = search.estimator
        base = seed.get_params(deep=not _is_search(seed))
        tags = {**source_tags(), AUTOLOG_TAG: FLAVOR, **_tags(seed)}
        ended = now_ms()
        for _, row in results.iterrows():
            child = self.client.create_run(
                self.run_info.experiment_id,
                start_time=self.run_info.start_time,
                tags=tags,
                parent_run_id=self.run_id,
            ).info.run_id
            metrics = {
                str(k): v
                for k, v in row.items()
                if not str(k).startswith(("param", "split")) and isinstance(v, numbers.Real) and not isinstance(v, bool)
            }
            self.client.log_batch(child, params=_strings({**base, **row["params"]}))
            self.log_metrics(child, metrics)
            if self.options.log_datasets and _is_frame(X):
                self.client.log_frame_inputs(child, X)
            self.client.set_terminated(child, "FINISHED", end_time=ended)

    def log_cv_results(self) -> None:
        import pandas as pd

        with tempfile.TemporaryDirectory(prefix="catalog-autolog-") as scratch:
            path = Path(scratch) / "cv_results.csv"
            pd.DataFrame(self.estimator.cv_results_).to_csv(path, index=False)
            self.client.log_artifact(self.run_id, path)


# -- what is logged ------------------------------------------------------------------------------
def _training_metrics(logger: _RunLogger, X: Any, y: Any, sample_weight: Any) -> dict[str, float]:
    """MLflow's training metrics: each computed on its own, a failing one left out (reported)."""
    from sklearn import base, metrics

    estimator = logger.estimator
    if y is None or not (base.is_classifier(estimator) or base.is_regressor(estimator)):
        return {}
    weighted = {"sample_weight": sample_weight}
    predicted = logger.attempt("predict on the training data", lambda: estimator.predict(X))
    if predicted is None:
        return {}
    if base.is_classifier(estimator):
        average = {"average": "weighted", **weighted}
        computations: dict[str, Callable[[], float]] = {
            "precision_score": lambda: metrics.precision_score(y, predicted, **average),
            "recall_score": lambda: metrics.recall_score(y, predicted, **average),
            "f1_score": lambda: metrics.f1_score(y, predicted, **average),
            "accuracy_score": lambda: metrics.accuracy_score(y, predicted, normalize=True, **weighted),
        }
        if hasattr(estimator, "predict_proba"):
            probabilities = logger.attempt("predict probabilities", lambda: estimator.predict_proba(X))
            if probabilities is not None:
                positive = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities
                computations["log_loss"] = lambda: metrics.log_loss(y, probabilities, **weighted)
                computations["roc_auc"] = lambda: metrics.roc_auc_score(
                    y, positive, average="weighted", multi_class="ovo", **weighted
                )
    else:
        computations = {
            "mean_squared_error": lambda: metrics.mean_squared_error(
                y, predicted, multioutput="uniform_average", **weighted
            ),
            "mean_absolute_error": lambda: metrics.mean_absolute_error(
                y, predicted, multioutput="uniform_average", **weighted
            ),
            "r2_score": lambda: metrics.r2_score(y, predicted, multioutput="uniform_average", **weighted),
        }
    found = {}
    for name, compute in computations.items():
        value = logger.attempt(f"compute training_{name}", compute)
        if value is not None:
            found[f"training_{name}"] = float(value)
    if "training_mean_squared_error" in found:
        found["training_root_mean_squared_error"] = math.sqrt(found["training_mean_squared_error"])
    if hasattr(estimator, "score"):
        takes_weight = "sample_weight" in inspect.signature(estimator.score).parameters
        score = logger.attempt(
            "compute training_score",
            lambda: estimator.score(X, y, sample_weight=sample_weight) if takes_weight else estimator.score(X, y),
        )
        if score is not None:
            found["training_score"] = float(score)
    return found


def _tags(estimator: Any) -> dict[str, str]:
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def _strings(params: Mapping[str, Any]) -> dict[str, str]:
    """Params as MLflow's autologging logs them: strings, keys and values cut (ending in '...')
    to the length limits."""
    return {_cut(str(k), MAX_KEY): _cut(str(v), MAX_PARAM_VALUE) for k, v in params.items()}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_search(estimator: Any) -> bool:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    return isinstance(estimator, GridSearchCV | RandomizedSearchCV)


def _is_frame(X: Any) -> bool:
    import pandas as pd

    return isinstance(X, pd.DataFrame)

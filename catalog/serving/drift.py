"""Distribution drift between a model's training data and the requests it serves.

Pure functions over pandas: ``population_stability_index`` and ``ks_test`` compare one column,
``drift_table`` compares every feature of two frames and flags the ones that moved.

A column is *numeric* when both sides hold numbers (bools are not numbers here); anything else
(strings, bools, categories, dates) is compared as *categorical*, by the frequency of each value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from catalog.errors import InvalidRequest

__all__ = ["PSI_EPSILON", "drift_table", "ks_test", "population_stability_index"]

PSI_EPSILON = 1e-4
"""Floor for every bucket's proportion, so that a bucket empty on one side adds a large but finite term."""

DRIFT_COLUMNS = ("feature", "kind", "training_rows", "serving_rows", "psi", "ks_statistic", "ks_pvalue", "drifted")

_NUMERIC_OBJECT_KINDS = frozenset({"integer", "floating", "mixed-integer-float", "empty"})


def population_stability_index(expected: pd.Series, actual: pd.Series, *, bins: int = 10) -> float:
    """PSI of ``actual`` (served) against ``expected`` (training): sum of ``(a - e) * ln(a / e)`` over buckets.

    Buckets:
        * numeric columns: the quantiles of ``expected`` cut it into ``bins`` bins (duplicate edges
          merged, the outer bins open to -inf/+inf, intervals closed on the right). A column with at
          most ``bins`` distinct training values (a constant, a flag, a small count) gets one bucket
          per value instead, plus one for values training never had: quantile edges would merge those
          values and hide exactly the shifts that matter.
        * other columns: one bucket per training value; values seen only in ``actual`` share one bucket.
        * nulls (None, NaN, NA) always form a bucket of their own.

    Each proportion is floored at ``PSI_EPSILON`` (1e-4) so that empty buckets give no infinity.
    Conventional reading: below 0.1 stable, 0.1 to 0.25 moderate shift, above 0.25 significant shift.

    Args:
        expected: the training column.
        actual: the same column as served.
        bins: number of quantile bins for numeric columns, at least 2.

    Returns:
        The PSI, 0 or more (0 for identical distributions).

    Raises:
        InvalidRequest: ``bins`` below 2, or either series is empty.
    """
    _check_bins(bins)
    for side, series in (("expected", expected), ("actual", actual)):
        if len(series) == 0:
            raise InvalidRequest(
                f"The {side} series is empty; PSI needs at least one row on each side.",
                error_code="INVALID_PARAMETER_VALUE",
            )
    return _compare(expected, actual, bins)[1]


def ks_test(expected: pd.Series, actual: pd.Series) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``) of two numeric columns.

    Nulls are dropped first. KS does not apply to non-numeric columns, nor to a side with no
    non-null value: those give ``(nan, nan)``.

    Returns:
        ``(statistic, pvalue)``: the largest distance between the two empirical CDFs, and the
        probability of a distance at least that large if both samples came from one distribution.
    """
    return _ks(_numeric_values(expected), _numeric_values(actual))


def drift_table(
    training: pd.DataFrame,
    serving: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    bins: int = 10,
    psi_threshold: float = 0.25,
    p_threshold: float = 0.01,
) -> pd.DataFrame:
    """Compare each feature's served distribution with its training distribution.

    Args:
        training: the data the model was trained on.
        serving: the requests it served (for example, rows of its inference table).
        features: columns to compare; default every column present in both frames, in training order.
        bins: quantile bins for numeric columns (see ``population_stability_index``).
        psi_threshold: a PSI above this marks the feature as drifted.
        p_threshold: a KS p-value below this marks the feature as drifted.

    Returns:
        One row per feature, sorted by ``psi`` descending (ties keep feature order), with columns
        ``feature``, ``kind`` ("numeric" or "categorical"), ``training_rows`` and ``serving_rows``
        (rows compared, nulls included), ``psi``, ``ks_statistic`` and ``ks_pvalue`` (NaN for
        categorical features), and ``drifted`` (``psi > psi_threshold or ks_pvalue < p_threshold``).

    Raises:
        InvalidRequest: an empty frame, no feature to compare, a feature missing from either frame,
            or an out-of-range parameter.
    """
    _check_bins(bins)
    if not (psi_threshold >= 0 and 0 <= p_threshold <= 1):
        raise InvalidRequest(
            f"Invalid thresholds psi_threshold={psi_threshold!r}, p_threshold={p_threshold!r}; "
            "psi_threshold must be 0 or more and p_threshold between 0 and 1.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    for side, frame, remedy in (
        ("training", training, "pass the data the model was trained on"),
        ("serving", serving, "capture some requests first, or widen the time window"),
    ):
        if len(frame) == 0:
            raise InvalidRequest(f"The {side} frame has no rows; {remedy}.", error_code="INVALID_PARAMETER_VALUE")
    names = _features(training, serving, features)

    rows = []
    for name in names:
        kind, psi, (statistic, pvalue) = _compare(training[name], serving[name], bins)
        rows.append(
            {
                "feature": name,
                "kind": kind,
                "training_rows": len(training),
                "serving_rows": len(serving),
                "psi": psi,
                "ks_statistic": statistic,
                "ks_pvalue": pvalue,
                "drifted": bool(psi > psi_threshold or pvalue < p_threshold),
            }
        )
    table = pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))
    return table.sort_values("psi", ascending=False, kind="stable", ignore_index=True)


# -- internals ------------------------------------------------------------------------------------


def _check_bins(bins: int) -> None:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise InvalidRequest(
            f"bins must be an integer of 2 or more, got {bins!r}.", error_code="INVALID_PARAMETER_VALUE"
        )


def _features(training: pd.DataFrame, serving: pd.DataFrame, features: Sequence[str] | None) -> list[str]:
    if features is None:
        names = [c for c in training.columns if c in serving.columns]
        if not names:
            raise InvalidRequest(
                "The training and serving frames have no column in common; pass features= naming the "
                "columns to compare, after renaming them to match.",
                error_code="INVALID_PARAMETER_VALUE",
            )
        return names
    names = [features] if isinstance(features, str) else list(dict.fromkeys(features))
    if not names:
        raise InvalidRequest(
            "features is empty; name at least one column, or leave it out to compare every common column.",
            error_code="INVALID_PARAMETER_VALUE",
        )
    for side, frame in (("training", training), ("serving", serving)):
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise InvalidRequest(
                f"Feature(s) {', '.join(map(repr, missing))} not in the {side} frame (its columns: "
                f"{', '.join(map(str, frame.columns))}); pass features= that both frames have.",
                error_code="INVALID_PARAMETER_VALUE",
            )
    return names


def _compare(expected: pd.Series, actual: pd.Series, bins: int) -> tuple[str, float, tuple[float, float]]:
    """(kind, psi, ks) of one column; both series non-empty."""
    e_values, a_values = _numeric_values(expected), _numeric_values(actual)
    if e_values is not None and a_values is not None:
        e_counts, a_counts = _numeric_counts(e_values, a_values, bins)
        kind = "numeric"
    else:
        e_counts, a_counts = _category_counts(expected, actual)
        kind = "categorical"
    e_counts = np.append(e_counts, expected.isna().sum())
    a_counts = np.append(a_counts, actual.isna().sum())
    return kind, _psi(e_counts, a_counts), _ks(e_values, a_values)


def _numeric_values(series: pd.Series) -> np.ndarray | None:
    """The non-null values as float64 when the column holds numbers (bools do not count), else None."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return series.dropna().to_numpy(dtype="float64")
    # Rows decoded from JSON requests can arrive as object columns of plain numbers.
    if pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(series, skipna=True) in _NUMERIC_OBJECT_KINDS:
        return series.dropna().to_numpy(dtype="float64")
    return None


def _numeric_counts(expected: np.ndarray, actual: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    distinct = np.unique(expected)
    if len(distinct) <= bins:
        e_counts = _value_counts(expected, distinct)
        a_counts = _value_counts(actual, distinct)
        return np.append(e_counts, 0), np.append(a_counts, len(actual) - a_counts.sum())
    # Infinite values would make interpolated edges NaN; they land in the open outer bins anyway.
    finite = expected[np.isfinite(expected)]
    inner = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))[1:-1]
    return (
        np.bincount(np.searchsorted(inner, expected, side="left"), minlength=len(inner) + 1),
        np.bincount(np.searchsorted(inner, actual, side="left"), minlength=len(inner) + 1),
    )


def _value_counts(values: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """How many of ``values`` equal each of ``distinct`` (sorted); other values are not counted."""
    index = np.searchsorted(distinct, values)
    hit = index < len(distinct)
    hit[hit] = distinct[index[hit]] == values[hit]
    return np.bincount(index[hit], minlength=len(distinct))


def _category_counts(expected: pd.Series, actual: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    e_values, a_values = expected.dropna().astype(object), actual.dropna().astype(object)
    try:
        e_freq, a_seen = _align_frequencies(e_values, a_values)
    except TypeError:  # unhashable values (lists, dicts): compare their text
        e_freq, a_seen = _align_frequencies(e_values.map(repr), a_values.map(repr))
    return np.append(e_freq, 0), np.append(a_seen, len(a_values) - a_seen.sum())


def _align_frequencies(expected: pd.Series, actual: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Count of each expected value on both sides, in one order."""
    e_freq = expected.value_counts(sort=False)
    a_seen = actual.value_counts(sort=False).reindex(e_freq.index, fill_value=0)
    return e_freq.to_numpy(), a_seen.to_numpy()


def _psi(e_counts: np.ndarray, a_counts: np.ndarray) -> float:
    e = np.maximum(e_counts / e_counts.sum(), PSI_EPSILON)
    a = np.maximum(a_counts / a_counts.sum(), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _ks(expected: np.ndarray | None, actual: np.ndarray | None) -> tuple[float, float]:
    if expected is None or actual is None or len(expected) == 0 or len(actual) == 0:
        return math.nan, math.nan
    from scipy import stats  # heavy: imported on first use

    result = stats.ks_2samp(expected, actual)
    return float(result.statistic), float(result.pvalue)

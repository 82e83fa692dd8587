"""The serving runtime's building blocks: request formats, traffic split, batching, model lifecycle.

Real models only: scikit-learn estimators and PythonModels saved with ``save_model`` and loaded with
``load_model``; real asyncio event loops (``asyncio.run``), real threads.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

from catalog.errors import InvalidRequest
from catalog.models import PythonModel, Schema, load_model, save_model
from catalog.serving.batching import Batcher
from catalog.serving.inputs import check_columns, parse_request, to_predictions
from catalog.serving.routing import TrafficRouter
from catalog.serving.served import ServedModel

FEATURES = ["f0", "f1", "f2", "f3"]


class ProbaModel(PythonModel):
    """Class probabilities: a 2-D array per request."""

    def __init__(self, forest: Any) -> None:
        self.forest = forest

    def predict(self, context, model_input, params=None):
        return self.forest.predict_proba(model_input)


class FrameModel(PythonModel):
    """A DataFrame per request: the label, its probability and a text column."""

    def __init__(self, forest: Any) -> None:
        self.forest = forest

    def predict(self, context, model_input, params=None):
        proba = self.forest.predict_proba(model_input)
        label = proba.argmax(axis=1)
        return pd.DataFrame({"label": label, "score": proba.max(axis=1), "tier": np.where(label == 0, "low", "high")})


class PickyModel(PythonModel):
    """Refuses any batch holding f0 == 999 (a value-dependent failure, as real models have)."""

    def predict(self, context, model_input, params=None):
        if (model_input["f0"] == 999).any():
            raise ValueError("f0 may not be 999")
        return model_input["f0"].to_numpy() * 2


class ScaledModel(PythonModel):
    """Uses an inference parameter: f0 times ``scale``."""

    def predict(self, context, model_input, params=None):
        return model_input["f0"].to_numpy() * (params or {}).get("scale", 1)


class SlowModel(PythonModel):
    def predict(self, context, model_input, params=None):
        time.sleep(0.2)
        return model_input["f0"].to_numpy()


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    x, _ = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0, random_state=0)
    return pd.DataFrame(x, columns=FEATURES)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory, data: pd.DataFrame) -> dict[str, Path]:
    _, y = make_classification(n_samples=300, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0)
    forest = RandomForestClassifier(n_estimators=15, random_state=0).fit(data, y)
    root = tmp_path_factory.mktemp("models")
    models = {
        "forest": forest,
        "proba": ProbaModel(forest),
        "frame": FrameModel(forest),
        "picky": PickyModel(),
        "scaled": ScaledModel(),
        "slow": SlowModel(),
    }
    for name, model in models.items():
        save_model(model, root / name, input_example=data.head(3))
    return {name: root / name for name in models}


@pytest.fixture(scope="module")
def loaded(model_dirs: dict[str, Path]) -> dict[str, Any]:
    return {name: load_model(path) for name, path in model_dirs.items() if name != "slow"}


def random_frames(data: pd.DataFrame, count: int, seed: int = 0, max_rows: int = 10) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return [
        data.iloc[rng.integers(0, len(data), size=int(rng.integers(1, max_rows + 1)))].reset_index(drop=True)
        for _ in range(count)
    ]


async def submit_all(target: Any, frames: list[Any], **kwargs: Any) -> list[Any]:
    submit = target.submit if isinstance(target, Batcher) else target.predict
    return await asyncio.gather(*(submit(frame, **kwargs) for frame in frames), return_exceptions=True)


# -- request formats -------------------------------------------------------------------------

ROWS = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}}, ROWS),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]], "index": [10, 11]}},
            ROWS.set_axis([10, 11]),
        ),
        ({"dataframe_split": {"data": [[1, "x"], [2, "y"]]}}, ROWS.set_axis([0, 1], axis=1)),
        ({"dataframe_records": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}, ROWS),
        ({"instances": [{"a": 1, "b": "x"}, {"b": "y", "a": 2}]}, ROWS),
        ({"inputs": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}, ROWS),
        ({"instances": {"a": [1, 2], "b": ["x", "y"]}}, ROWS),
        ({"inputs": {"a": 1, "b": "x"}}, ROWS.head(1)),
        ({"instances": [[1.0, 2.0], [3.0, 4.0]]}, np.array([[1.0, 2.0], [3.0, 4.0]])),
        ({"inputs": [1, 2, 3]}, np.array([1, 2, 3])),
        ({"inputs": [[[1], [2]], [[3], [4]]]}, np.arange(1, 5).reshape(2, 2, 1)),
    ],
)
def test_every_request_format_gives_its_rows(body: dict[str, Any], expected: Any) -> None:
    parsed = parse_request(json.loads(json.dumps(body)))
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(parsed.data, expected)
    else:
        assert isinstance(parsed.data, np.ndarray)
        np.testing.assert_array_equal(parsed.data, expected)
        assert parsed.data.shape == expected.shape
    assert parsed.rows == len(expected)
    assert parsed.params is None


def test_params_come_with_any_format() -> None:
    parsed = parse_request({"inputs": [[1, 2]], "params": {"temperature": 0.5}})
    assert parsed.params == {"temperature": 0.5}
    assert parse_request({"inputs": [[1, 2]], "params": {}}).params is None


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ([{"a": 1}], "BAD_REQUEST", "must be a JSON object; got a list"),
        ({}, "BAD_REQUEST", "none of the input keys; send exactly one of dataframe_split, dataframe_records"),
        (
            {"instances": [1], "inputs": [1]},
            "BAD_REQUEST",
            "has both 'instances' and 'inputs'; send exactly one of dataframe_split, dataframe_records, instances, inputs.",
        ),
        ({"instance": [1]}, "BAD_REQUEST", "unknown key(s) 'instance'"),
        ({"inputs": [1], "params": [1]}, "BAD_REQUEST", "'params' must be a JSON object"),
        ({"dataframe_split": [[1]]}, "BAD_REQUEST", "'dataframe_split' must be an object"),
        ({"dataframe_split": {"columns": ["a"]}}, "BAD_REQUEST", "needs 'data'"),
        (
            {"dataframe_split": {"columns": ["a"], "data": [[1]], "orient": "x"}},
            "BAD_REQUEST",
            "unknown key(s) 'orient'",
        ),
        ({"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}, "BAD_REQUEST", "repeats 'a'"),
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}},
            "BAD_REQUEST",
            "Row 1 of 'dataframe_split' has 1 value(s), but there are 2 column(s) 'a' and 'b'",
        ),
        ({"dataframe_split": {"columns": ["a"], "data": [5]}}, "BAD_REQUEST", "Row 0 of 'dataframe_split' is a number"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1]], "index": [1, 2]}}, "BAD_REQUEST", "'index'"),
        ({"dataframe_records": {"a": [1]}}, "BAD_REQUEST", "'dataframe_records' must be a list of row objects"),
        (
            {"dataframe_records": [{"a": 1}, [2]]},
            "BAD_REQUEST",
            "Row 1 of 'dataframe_records' is a list, not an object",
        ),
        (
            {"dataframe_records": [{"a": 1}, {"b": 2}]},
            "BAD_REQUEST",
            "Row 1 of 'dataframe_records' has the keys 'b', but row 0 has 'a'",
        ),
        ({"instances": [[1, 2], [3]]}, "BAD_REQUEST", "'instances' is ragged"),
        ({"inputs": [{"a": 1}, 2]}, "BAD_REQUEST", "'inputs' mixes row objects"),
        ({"inputs": {"a": [1, 2], "b": [3]}}, "BAD_REQUEST", "columns of 'inputs' differ in length"),
        ({"inputs": {"a": [1, 2], "b": 3}}, "BAD_REQUEST", "'inputs' mixes columns (lists) with single values"),
        ({"inputs": "1,2"}, "BAD_REQUEST", "'inputs' must be a list of rows"),
        ({"instances": []}, "BAD_REQUEST", "The request holds no rows"),
        ({"inputs": {}}, "BAD_REQUEST", "The request holds no rows"),
        ({"dataframe_records": []}, "BAD_REQUEST", "The request holds no rows"),
        ({"dataframe_split": {"columns": ["a"], "data": []}}, "BAD_REQUEST", "The request holds no rows"),
        ({"instances": [[1]] * 4}, "TOO_MANY_ROWS", "holds 4 rows; the limit is 3 rows per request"),
        ({"dataframe_records": [{"a": 1}] * 4}, "TOO_MANY_ROWS", "the limit is 3 rows"),
        ({"inputs": {"a": [1, 2, 3, 4]}}, "TOO_MANY_ROWS", "the limit is 3 rows"),
        ({"dataframe_split": {"columns": ["a"], "data": [[1]] * 4}}, "TOO_MANY_ROWS", "the limit is 3 rows"),
    ],
)
def test_malformed_requests_are_refused_with_the_problem_named(body: Any, code: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_request(body, max_rows=3)
    assert caught.value.error_code == code
    assert caught.value.http_status == 400
    assert fragment in caught.value.message


SIGNATURE = Schema.from_json(
    [
        {"name": "a", "type": "double"},
        {"name": "b", "type": "long"},
        {"name": "c", "type": "string", "required": False},
    ]
)


@pytest.mark.parametrize(
    ("schema", "columns", "fragment"),
    [
        (SIGNATURE, ["a", "b", "c"], None),
        (SIGNATURE, ["c", "b", "a"], None),
        (SIGNATURE, ["a", "b"], None),  # c is optional
        (SIGNATURE, ["a"], "lacks the required column(s) 'b'; the model takes 'a', 'b' and 'c'"),
        (SIGNATURE, ["a", "b", "z"], "has column(s) 'z' that the model's signature does not list"),
        (SIGNATURE, ["a", "bb"], "lacks the required column(s) 'b' and has column(s) 'bb'"),
        (Schema.from_json([{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 2]}}]), ["x"], None),
        (Schema.from_json([{"type": "double"}]), ["anything"], None),
        (None, ["anything"], None),
    ],
)
def test_check_columns_wants_exactly_the_signature_columns(
    schema: Schema | None, columns: list[str], fragment: str | None
) -> None:
    frame = pd.DataFrame({column: [1] for column in columns})
    if fragment is None:
        check_columns(frame, schema, endpoint="churn")
        return
    with pytest.raises(InvalidRequest) as caught:
        check_columns(frame, schema, endpoint="churn")
    assert caught.value.error_code == "BAD_REQUEST"
    assert "endpoint 'churn'" in caught.value.message
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (np.array([1, 2, 3]), [1, 2, 3]),
        (np.array([[0.5, np.nan], [1.0, 0.0]]), [[0.5, None], [1.0, 0.0]]),
        (np.array(["a", "b"]), ["a", "b"]),
        (np.array([True, False]), [True, False]),
        (np.float64(0.25), [0.25]),
        (pd.Series([1.5, np.nan], name="score"), [1.5, None]),
        (pd.Series(["a", None]), ["a", None]),
        (pd.Series(pd.to_datetime(["2024-01-02", None])), ["2024-01-02T00:00:00", None]),
        (
            pd.DataFrame({"label": [1, 2], "score": [0.5, np.nan], "tier": ["x", None]}),
            [{"label": 1, "score": 0.5, "tier": "x"}, {"label": 2, "score": None, "tier": None}],
        ),
        ([np.int64(1), np.float32(0.5), float("nan")], [1, 0.5, None]),
        ({"label": [1, 2]}, [{"label": 1}, {"label": 2}]),
        (np.array([b"ab"], dtype=object), ["YWI="]),
    ],
)
def test_to_predictions_gives_json_ready_values(output: Any, expected: list[Any]) -> None:
    predictions = to_predictions(output)
    assert predictions == expected
    assert json.loads(json.dumps({"predictions": predictions}, allow_nan=False))["predictions"] == expected


# -- traffic split ---------------------------------------------------------------------------


def test_router_splits_traffic_by_percentage() -> None:
    router = TrafficRouter({"champion": 90, "challenger": 10}, rng=random.Random(7))
    draws = 20_000
    challenger = sum(router.choose() == "challenger" for _ in range(draws))
    deviation = math.sqrt(draws * 0.1 * 0.9)
    assert abs(challenger - draws * 0.1) < 4 * deviation


def test_router_never_chooses_a_route_at_zero() -> None:
    router = TrafficRouter({"a": 50, "off": 0, "b": 50}, rng=random.Random(1))
    chosen = {router.choose() for _ in range(5_000)}
    assert chosen == {"a", "b"}
    assert router.routes == {"a": 50, "off": 0, "b": 50}
    assert {TrafficRouter({"only": 100, "off": 0}).choose() for _ in range(100)} == {"only"}


@pytest.mark.parametrize(
    ("routes", "fragment"),
    [
        ({"a": 50, "b": 40}, "add up to 100; these add up to 90 (a: 50, b: 40)"),
        ({"a": 60, "b": 50}, "these add up to 110"),
        ({}, "needs at least one route"),
        ({"a": 101, "b": -1}, "route 'a' must be a whole number from 0 to 100; got 101"),
        ({"a": 50.0, "b": 50}, "route 'a' must be a whole number"),
        ({"a": True, "b": 99}, "route 'a' must be a whole number"),
    ],
)
def test_router_refuses_bad_percentages(routes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        TrafficRouter(routes)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert fragment in caught.value.message


# -- batching --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["forest", "proba", "frame"])
def test_batched_predictions_equal_unbatched_ones(kind: str, loaded: dict[str, Any], data: pd.DataFrame) -> None:
    model = loaded[kind]
    frames = random_frames(data, 200, seed=3)
    alone = [to_predictions(model.predict(frame)) for frame in frames]
    batcher = Batcher(model.predict, max_batch_rows=64, max_wait_ms=5)

    batched = asyncio.run(submit_all(batcher, frames))

    assert batched == alone
    assert batcher.requests == 200
    assert batcher.batches <= 200 // 5
    assert batcher.fallbacks == 0


def test_batches_respect_the_row_limit_and_big_requests_run_alone(loaded: dict[str, Any], data: pd.DataFrame) -> None:
    sizes: list[int] = []

    def predict(frame: pd.DataFrame) -> Any:
        sizes.append(len(frame))
        return loaded["forest"].predict(frame)

    frames = [*random_frames(data, 30, seed=5), data.head(100), *random_frames(data, 30, seed=6)]
    batcher = Batcher(predict, max_batch_rows=16, max_wait_ms=5)
    batched = asyncio.run(submit_all(batcher, frames))

    assert batched == [to_predictions(loaded["forest"].predict(frame)) for frame in frames]
    assert sorted(sizes)[-1] == 100
    assert max(sorted(sizes)[:-1]) <= 16
    assert sum(sizes) == sum(len(frame) for frame in frames)
    assert batcher.batches == len(sizes) < len(frames)


@pytest.mark.parametrize(("max_batch_rows", "max_wait_ms"), [(64, 0), (1, 5)])
def test_batching_can_be_turned_off(
    loaded: dict[str, Any], data: pd.DataFrame, max_batch_rows: int, max_wait_ms: float
) -> None:
    frames = random_frames(data, 20, seed=8)
    batcher = Batcher(loaded["forest"].predict, max_batch_rows=max_batch_rows, max_wait_ms=max_wait_ms)
    batched = asyncio.run(submit_all(batcher, frames))
    assert batched == [to_predictions(loaded["forest"].predict(frame)) for frame in frames]
    assert batcher.batches == batcher.requests == 20


def test_requests_with_other_columns_types_or_params_are_not_combined(
    loaded: dict[str, Any], data: pd.DataFrame
) -> None:
    scaled = loaded["scaled"]
    frames = random_frames(data, 12, seed=9)
    as_ints = [frame.assign(f0=range(len(frame))) for frame in frames]  # long f0, cast to double by the signature
    batcher = Batcher(scaled.predict, max_wait_ms=5)

    async def mixed() -> list[Any]:
        return await asyncio.gather(
            submit_all(batcher, frames),
            submit_all(batcher, frames, params={"scale": 10}),
            submit_all(batcher, as_ints),
        )

    plain, times_ten, ints = asyncio.run(mixed())

    assert plain == [to_predictions(scaled.predict(frame)) for frame in frames]
    assert times_ten == [to_predictions(scaled.predict(frame, {"scale": 10})) for frame in frames]
    assert ints == [[float(i) for i in range(len(frame))] for frame in frames]
    assert batcher.batches == 3


def test_one_failing_request_does_not_fail_its_batch(loaded: dict[str, Any], data: pd.DataFrame) -> None:
    picky = loaded["picky"]
    frames = random_frames(data, 20, seed=11)
    frames[7] = frames[7].assign(f0=999.0)
    batcher = Batcher(picky.predict, max_wait_ms=5)

    results = asyncio.run(submit_all(batcher, frames))

    assert isinstance(results[7], ValueError)
    assert "f0 may not be 999" in str(results[7])
    for number, (frame, result) in enumerate(zip(frames, results, strict=True)):
        if number != 7:
            assert result == to_predictions(picky.predict(frame))
    assert batcher.fallbacks == 1


def test_schema_errors_reach_only_their_request(loaded: dict[str, Any], data: pd.DataFrame) -> None:
    frames = random_frames(data, 6, seed=12)
    frames[2] = frames[2].drop(columns="f3")
    batcher = Batcher(loaded["forest"].predict, max_wait_ms=5)
    results = asyncio.run(submit_all(batcher, frames))
    assert isinstance(results[2], InvalidRequest) and results[2].error_code == "SCHEMA_MISMATCH"
    assert all(isinstance(result, list) for number, result in enumerate(results) if number != 2)


def test_a_caller_that_goes_away_is_not_scored(loaded: dict[str, Any], data: pd.DataFrame) -> None:
    scored: list[int] = []

    def predict(frame: pd.DataFrame) -> Any:
        scored.append(len(frame))
        return loaded["forest"].predict(frame)

    frames = random_frames(data, 10, seed=15)
    batcher = Batcher(predict, max_wait_ms=20)

    async def one_cancelled() -> list[Any]:
        tasks = [asyncio.ensure_future(batcher.submit(frame)) for frame in frames]
        await asyncio.sleep(0)  # every request is queued, the batch not yet taken
        tasks[3].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(one_cancelled())

    assert isinstance(results[3], asyncio.CancelledError)
    assert scored == [sum(len(frame) for number, frame in enumerate(frames) if number != 3)]
    for number, (frame, result) in enumerate(zip(frames, results, strict=True)):
        if number != 3:
            assert result == to_predictions(loaded["forest"].predict(frame))


def test_a_batcher_is_bound_to_no_event_loop(loaded: dict[str, Any], data: pd.DataFrame) -> None:
    batcher = Batcher(loaded["forest"].predict)  # built outside any loop
    frames = random_frames(data, 10, seed=13)
    first = asyncio.run(submit_all(batcher, frames))
    second = asyncio.run(submit_all(batcher, frames))  # a new loop
    assert first == second == [to_predictions(loaded["forest"].predict(frame)) for frame in frames]


@pytest.mark.parametrize(("max_batch_rows", "max_wait_ms"), [(0, 2.0), (64, -1.0), (1.5, 2.0)])
def test_bad_batching_settings_are_refused(max_batch_rows: Any, max_wait_ms: float) -> None:
    with pytest.raises(InvalidRequest) as caught:
        Batcher(print, max_batch_rows=max_batch_rows, max_wait_ms=max_wait_ms)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


# -- served model lifecycle ------------------------------------------------------------------


class Loader:
    """Loads a saved model with ``load_model``, counting loads and failing the ones asked to."""

    def __init__(self, path: Path, *, delay: float = 0.0, fail_on: tuple[int, ...] = ()) -> None:
        self.path = path
        self.delay = delay
        self.fail_on = fail_on
        self.calls = 0
        self.threads: list[int] = []

    def __call__(self) -> Any:
        self.calls += 1
        self.threads.append(threading.get_ident())
        time.sleep(self.delay)
        if self.calls in self.fail_on:
            raise OSError(f"model store unreachable (attempt {self.calls})")
        return load_model(self.path)


def test_concurrent_first_requests_share_one_load(model_dirs: dict[str, Path], data: pd.DataFrame) -> None:
    loader = Loader(model_dirs["forest"], delay=0.1)
    served = ServedModel("forest", loader)
    frames = random_frames(data, 50, seed=14)
    assert served.state == "NOT_LOADED"

    async def first_requests() -> tuple[list[Any], str, int]:
        tasks = [asyncio.ensure_future(served.predict(frame)) for frame in frames]
        await asyncio.sleep(0.02)
        state = served.state
        return await asyncio.gather(*tasks), state, threading.get_ident()

    results, state_while_loading, loop_thread = asyncio.run(first_requests())

    assert state_while_loading == "LOADING"
    assert loader.calls == 1
    assert loader.threads[0] != loop_thread  # the load ran off the event loop
    assert results == [to_predictions(served.model.predict(frame)) for frame in frames]
    assert served.state == "READY"
    assert served.requests == 50 and served.batches < 50 and served.cold_starts == 0


def test_scale_to_zero_and_cold_start(model_dirs: dict[str, Path], data: pd.DataFrame) -> None:
    now = [1_000.0]
    loader = Loader(model_dirs["forest"])
    served = ServedModel("forest", loader, scale_to_zero=True, idle_seconds=60, clock=lambda: now[0])
    frame = data.head(3)
    expected = to_predictions(load_model(model_dirs["forest"]).predict(frame))

    assert asyncio.run(served.predict(frame)) == expected
    assert served.state == "READY"
    now[0] += 30
    assert asyncio.run(served.unload_if_idle()) is False
    now[0] += 31
    assert asyncio.run(served.unload_if_idle()) is True
    assert served.state == "SCALED_TO_ZERO" and served.model is None
    assert served.describe()["loaded_at"] is None

    assert asyncio.run(served.predict(frame)) == expected
    assert served.state == "READY"
    assert served.cold_starts == 1 and loader.calls == 2
    status = served.describe()
    assert status["name"] == "forest" and status["state"] == "READY"
    assert status["cold_starts"] == 1 and status["requests"] == 2 and status["batches"] == 2
    assert status["loaded_at"] <= status["last_used_at"] <= time.time() * 1000


def test_no_unload_without_scale_to_zero_or_while_in_flight(model_dirs: dict[str, Path], data: pd.DataFrame) -> None:
    now = [0.0]
    kept = ServedModel("kept", Loader(model_dirs["forest"]), idle_seconds=1, clock=lambda: now[0])
    asyncio.run(kept.warm())
    now[0] += 1_000
    assert asyncio.run(kept.unload_if_idle()) is False and kept.state == "READY"

    slow = ServedModel("slow", Loader(model_dirs["slow"]), scale_to_zero=True, idle_seconds=1, clock=lambda: now[0])
    asyncio.run(slow.warm())

    async def unload_during_predict() -> tuple[bool, list[Any]]:
        request = asyncio.ensure_future(slow.predict(data.head(2)))
        await asyncio.sleep(0.05)
        now[0] += 1_000
        unloaded = await slow.unload_if_idle()
        return unloaded, await request

    unloaded, result = asyncio.run(unload_during_predict())
    assert unloaded is False and result == data["f0"].head(2).tolist()
    now[0] += 1_000
    assert asyncio.run(slow.unload_if_idle()) is True


def test_a_failed_load_is_retried_by_the_next_request(model_dirs: dict[str, Path], data: pd.DataFrame) -> None:
    now = [0.0]
    loader = Loader(model_dirs["forest"], delay=0.02, fail_on=(1, 3))
    served = ServedModel("forest", loader, scale_to_zero=True, idle_seconds=10, clock=lambda: now[0])
    frame = data.head(2)

    results = asyncio.run(submit_all(served, [frame] * 10))
    assert all(isinstance(r, OSError) and "attempt 1" in str(r) for r in results)
    assert loader.calls == 1 and served.state == "NOT_LOADED"

    assert isinstance(asyncio.run(served.predict(frame)), list)
    assert served.state == "READY" and served.cold_starts == 0

    now[0] += 11
    assert asyncio.run(served.unload_if_idle()) is True
    with pytest.raises(OSError, match="attempt 3"):
        asyncio.run(served.predict(frame))
    assert served.state == "SCALED_TO_ZERO"

    asyncio.run(served.warm())
    assert served.state == "READY" and served.cold_starts == 1 and loader.calls == 4


def test_warm_loads_without_a_request(model_dirs: dict[str, Path]) -> None:
    loader = Loader(model_dirs["forest"])
    served = ServedModel("forest", loader, max_batch_rows=8, max_wait_ms=1)
    asyncio.run(served.warm())
    asyncio.run(served.warm())
    assert served.state == "READY" and loader.calls == 1
    status = served.describe()
    assert status["requests"] == 0 and status["last_used_at"] is None and status["loaded_at"] is not None


def test_parsed_requests_flow_through_a_served_model(model_dirs: dict[str, Path], data: pd.DataFrame) -> None:
    served = ServedModel("forest", Loader(model_dirs["forest"]))
    rows = data.head(4).to_dict(orient="records")
    bodies = [{"dataframe_records": rows}, {"instances": rows}, {"dataframe_split": data.head(4).to_dict("split")}]
    parsed = [parse_request(json.loads(json.dumps(body))) for body in bodies]
    for request in parsed:
        check_columns(request.data, load_model(model_dirs["forest"]).metadata.get_input_schema(), endpoint="e")

    answers = asyncio.run(submit_all(served, [request.data for request in parsed]))

    assert answers[0] == answers[1] == answers[2] == to_predictions(served.model.predict(data.head(4)))

"""Serving support: Prometheus metrics and the background batch writer behind inference tables."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families

from catalog.serving.capture import BackgroundWriter
from catalog.serving.metrics import ServingMetrics

# -- metrics --------------------------------------------------------------------------------------


def samples(metrics: ServingMetrics) -> dict[tuple[str, frozenset], float]:
    """Every sample of the rendered text, keyed by (sample name, labels)."""
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for s in family.samples
    }


def value(metrics: ServingMetrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def test_requests_counted_by_status_with_latency():
    m = ServingMetrics()
    m.observe_request("fraud", "model-1", 200, 0.004)
    m.observe_request("fraud", "model-1", 200, 0.2)
    m.observe_request("fraud", "model-1", 400, 12.0)
    m.observe_request("fraud", "model-2", 200, 0.001)

    assert value(m, "catalog_serving_requests_total", endpoint="fraud", served_entity="model-1", status="200") == 2
    assert value(m, "catalog_serving_requests_total", endpoint="fraud", served_entity="model-1", status="400") == 1
    assert value(m, "catalog_serving_requests_total", endpoint="fraud", served_entity="model-2", status="200") == 1

    hist = "catalog_serving_request_duration_seconds"
    one = {"endpoint": "fraud", "served_entity": "model-1"}
    assert value(m, f"{hist}_count", **one) == 3
    assert value(m, f"{hist}_sum", **one) == pytest.approx(12.204)
    assert value(m, f"{hist}_bucket", **one, le="0.001") == 0
    assert value(m, f"{hist}_bucket", **one, le="0.005") == 1
    assert value(m, f"{hist}_bucket", **one, le="0.25") == 2
    assert value(m, f"{hist}_bucket", **one, le="10.0") == 2
    assert value(m, f"{hist}_bucket", **one, le="+Inf") == 3


def test_histogram_buckets_span_1ms_to_10s():
    m = ServingMetrics()
    m.observe_request("e", "m", 200, 0.5)
    bounds = {dict(labels)["le"] for (name, labels), _ in samples(m).items() if name.endswith("_seconds_bucket")}
    finite = sorted(float(b) for b in bounds if b != "+Inf")
    assert finite[0] == 0.001 and finite[-1] == 10.0
    assert "+Inf" in bounds


def test_batches_cold_starts_and_loaded():
    m = ServingMetrics()
    labels = {"endpoint": "e", "served_entity": "m"}
    m.observe_batch("e", "m")
    m.observe_batch("e", "m")
    m.observe_cold_start("e", "m")
    m.set_loaded("e", "m", True)
    assert value(m, "catalog_serving_batches_total", **labels) == 2
    assert value(m, "catalog_serving_cold_starts_total", **labels) == 1
    assert value(m, "catalog_serving_entity_loaded", **labels) == 1
    m.set_loaded("e", "m", False)
    assert value(m, "catalog_serving_entity_loaded", **labels) == 0


def test_registries_are_separate():
    a, b = ServingMetrics(), ServingMetrics()
    a.observe_batch("e", "m")
    assert value(a, "catalog_serving_batches_total", endpoint="e", served_entity="m") == 1
    assert value(b, "catalog_serving_batches_total", endpoint="e", served_entity="m") is None


def test_forget_endpoint_removes_only_its_series():
    m = ServingMetrics()
    for endpoint in ("gone", "kept"):
        m.observe_request(endpoint, "m", 200, 0.01)
        m.observe_batch(endpoint, "m")
        m.observe_cold_start(endpoint, "m")
        m.set_loaded(endpoint, "m", True)

    m.forget_endpoint("gone")
    m.forget_endpoint("never-existed")

    endpoints = {dict(labels).get("endpoint") for (_, labels) in samples(m)}
    assert endpoints == {"kept"}
    assert value(m, "catalog_serving_entity_loaded", endpoint="kept", served_entity="m") == 1

    # A new endpoint of the same name starts from zero.
    m.observe_batch("gone", "m")
    assert value(m, "catalog_serving_batches_total", endpoint="gone", served_entity="m") == 1


@pytest.mark.parametrize(
    "name",
    ['quo"te', "back\\slash", "new\nline", "ünïcode ☃", "spaces and, commas=1 {braces}"],
)
def test_odd_label_values_survive_escaping(name):
    m = ServingMetrics()
    m.observe_request(name, f"{name}-entity", 503, 0.1)
    assert value(m, "catalog_serving_requests_total", endpoint=name, served_entity=f"{name}-entity", status="503") == 1
    m.forget_endpoint(name)
    assert not any(dict(labels).get("endpoint") == name for (_, labels) in samples(m))


# -- background writer ----------------------------------------------------------------------------


class Sink:
    """Records each batch; optionally fails or blocks."""

    def __init__(self, fail: Callable[[int], bool] = lambda call: False) -> None:
        self.batches: list[list[int]] = []
        self.calls = 0
        self.fail = fail
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, batch: list[int]) -> None:
        self.entered.set()
        self.gate.wait()
        with self.lock:
            self.calls += 1
            if self.fail(self.calls):
                raise OSError(f"sink down (call {self.calls})")
            self.batches.append(batch)

    @property
    def items(self) -> list[int]:
        with self.lock:
            return [item for batch in self.batches for item in batch]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def writers():
    """Writers made through this fixture are closed even when a test fails."""
    made: list[BackgroundWriter] = []

    def make(sink, **kwargs) -> BackgroundWriter:
        writer = BackgroundWriter(sink, **kwargs)
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close(timeout=5)


def test_order_preserved_and_flush(writers):
    sink = Sink()
    w = writers(sink, max_rows=7, max_delay_s=60)
    for i in range(100):
        w.put(i)
    assert w.flush() is True
    assert sink.items == list(range(100))
    assert all(len(batch) <= 7 for batch in sink.batches)
    assert w.written == 100 and w.failed_batches == 0 and w.dropped == 0


def test_batches_by_size_without_waiting_for_the_delay(writers):
    sink = Sink()
    w = writers(sink, max_rows=10, max_delay_s=60)  # the delay never runs out during the test
    for i in range(25):
        w.put(i)
    assert wait_until(lambda: len(sink.batches) == 2)
    assert sink.batches == [list(range(10)), list(range(10, 20))]
    time.sleep(0.05)
    assert len(sink.batches) == 2  # the 5 left wait for the delay, or a flush
    assert w.flush() is True
    assert sink.batches[2] == [20, 21, 22, 23, 24]


def test_batches_by_delay(writers):
    sink = Sink()
    w = writers(sink, max_rows=1_000, max_delay_s=0.05)
    for i in range(3):
        w.put(i)
    assert wait_until(lambda: w.written == 3)  # no flush: the delay alone wrote them
    assert sink.batches == [[0, 1, 2]]
    w.put(3)
    assert wait_until(lambda: w.written == 4)
    assert sink.batches == [[0, 1, 2], [3]]


def test_flush_with_nothing_queued_and_timing_out(writers):
    sink = Sink()
    w = writers(sink, max_rows=1, max_delay_s=60)
    assert w.flush(timeout=0) is True

    sink.gate.clear()  # the sink hangs until the gate opens
    w.put(1)
    assert sink.entered.wait(10)
    assert w.flush(timeout=0.05) is False
    sink.gate.set()
    assert w.flush() is True
    assert sink.items == [1]


def test_failing_sink_is_retried_once(writers):
    sink = Sink(fail=lambda call: call == 1)
    w = writers(sink, max_rows=3, retry_delay_s=0.01)
    for i in range(3):
        w.put(i)
    assert w.flush() is True
    assert sink.calls == 2
    assert sink.batches == [[0, 1, 2]]
    assert w.written == 3 and w.failed_batches == 0


def test_failing_sink_twice_drops_the_batch_and_keeps_going(writers, caplog):
    sink = Sink(fail=lambda call: call in (1, 2))
    w = writers(sink, max_rows=2, max_delay_s=60, retry_delay_s=0.01)
    with caplog.at_level(logging.WARNING, logger="catalog.serving.capture"):
        w.put("lost-1")
        w.put("lost-2")
        assert w.flush() is True
        w.put("kept")
        assert w.flush() is True
    assert sink.calls == 3
    assert sink.batches == [["kept"]]
    assert w.written == 1 and w.failed_batches == 1 and w.dropped == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None and "sink down (call 2)" in str(errors[0].exc_info[1])


def test_full_queue_drops_without_blocking(writers, caplog):
    sink = Sink()
    sink.gate.clear()
    w = writers(sink, max_rows=1, max_delay_s=0, max_queue=5, name="usage")
    with caplog.at_level(logging.WARNING, logger="catalog.serving.capture"):
        w.put(0)
        assert sink.entered.wait(10)  # the writer holds item 0 in the blocked sink
        started = time.monotonic()
        for i in range(1, 6):  # fills the queue
            w.put(i)
        for i in range(6, 9):  # dropped
            w.put(i)
        assert time.monotonic() - started < 5  # generous: a blocking put would hang on the closed gate
        assert w.dropped == 3
        full_warnings = [r for r in caplog.records if "queue full" in r.getMessage()]
        assert len(full_warnings) == 1  # once per burst
        assert "usage" in full_warnings[0].getMessage()

        sink.gate.set()
        assert w.flush() is True
        assert sink.items == [0, 1, 2, 3, 4, 5]

        sink.gate.clear()  # a second burst logs again
        sink.entered.clear()
        w.put(10)
        assert sink.entered.wait(10)
        for i in range(11, 18):
            w.put(i)
        assert w.dropped == 5
        assert len([r for r in caplog.records if "queue full" in r.getMessage()]) == 2
        sink.gate.set()
        assert w.flush() is True


def test_close_flushes_is_idempotent_and_refuses_puts():
    sink = Sink()
    w = BackgroundWriter(sink, max_rows=100, max_delay_s=60, name="close-test")
    for i in range(10):
        w.put(i)
    assert w.close() is True
    assert sink.items == list(range(10))
    assert w.close() is True
    assert not any(t.name == "close-test-writer" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        w.put(11)


def test_context_manager_closes():
    sink = Sink()
    with BackgroundWriter(sink, max_delay_s=60, name="ctx") as w:
        w.put(1)
    assert sink.items == [1]
    with pytest.raises(RuntimeError):
        w.put(2)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_rows": 0}, {"max_queue": 0}, {"max_delay_s": -1}, {"retry_delay_s": -0.1}],
)
def test_invalid_settings(kwargs):
    with pytest.raises(ValueError):
        BackgroundWriter(Sink(), **kwargs)


def test_eight_producers_every_item_exactly_once(writers):
    sink = Sink()
    w = writers(sink, max_rows=64, max_delay_s=0.01)
    producers, per_producer = 8, 1_000
    start = threading.Barrier(producers)

    def produce(p: int) -> None:
        start.wait()
        for i in range(per_producer):
            w.put((p, i))

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert w.close() is True

    items = sink.items
    assert len(items) == producers * per_producer
    assert sorted(items) == [(p, i) for p in range(producers) for i in range(per_producer)]
    for p in range(producers):  # each producer's items keep their order
        assert [i for q, i in items if q == p] == list(range(per_producer))
    assert w.written == producers * per_producer and w.dropped == 0

"""Prometheus metrics of model serving: requests, latency, batches, cold starts, loaded entities.

Every ``ServingMetrics`` owns its own registry, so that several apps (or tests) in one process
never share or collide on series. ``render`` gives the body and content type of ``/metrics``.
"""

from __future__ import annotations

import threading
from typing import TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

__all__ = ["LATENCY_BUCKETS", "ServingMetrics"]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram bucket bounds in seconds: 1 ms to 10 s (slower requests fall in +Inf)."""

_ENTITY_LABELS = ("endpoint", "served_entity")

_M = TypeVar("_M", bound=MetricWrapperBase)


class ServingMetrics:
    """The serving metrics of one app, in a registry of its own. Thread-safe.

    Series:
        ``catalog_serving_requests_total{endpoint, served_entity, status}``: requests answered,
            by HTTP status code.
        ``catalog_serving_request_duration_seconds{endpoint, served_entity}``: request latency.
        ``catalog_serving_batches_total{endpoint, served_entity}``: batches sent to a model.
        ``catalog_serving_cold_starts_total{endpoint, served_entity}``: model loads on demand.
        ``catalog_serving_entity_loaded{endpoint, served_entity}``: 1 while the model is in memory.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "catalog_serving_requests",
            "Serving requests answered, by HTTP status code.",
            (*_ENTITY_LABELS, "status"),
            registry=self.registry,
        )
        self._duration = Histogram(
            "catalog_serving_request_duration_seconds",
            "Time to answer a serving request, in seconds.",
            _ENTITY_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._batches = Counter(
            "catalog_serving_batches",
            "Batches of rows sent to a served model.",
            _ENTITY_LABELS,
            registry=self.registry,
        )
        self._cold_starts = Counter(
            "catalog_serving_cold_starts",
            "Times a served model was loaded on demand.",
            _ENTITY_LABELS,
            registry=self.registry,
        )
        self._loaded = Gauge(
            "catalog_serving_entity_loaded",
            "1 while a served model is loaded in memory, else 0.",
            _ENTITY_LABELS,
            registry=self.registry,
        )
        # prometheus_client cannot list a metric's label sets publicly, so forget_endpoint needs our own record.
        self._lock = threading.Lock()
        self._label_sets: dict[MetricWrapperBase, set[tuple[str, ...]]] = {
            metric: set() for metric in (self._requests, self._duration, self._batches, self._cold_starts, self._loaded)
        }

    def observe_request(self, endpoint: str, served_entity: str, status: int, seconds: float) -> None:
        """Count one answered request with its HTTP ``status`` and record its latency."""
        self._child(self._requests, endpoint, served_entity, str(int(status))).inc()
        self._child(self._duration, endpoint, served_entity).observe(seconds)

    def observe_batch(self, endpoint: str, served_entity: str, count: int = 1) -> None:
        """Count ``count`` batches sent to the served model."""
        self._child(self._batches, endpoint, served_entity).inc(count)

    def observe_cold_start(self, endpoint: str, served_entity: str) -> None:
        """Count one on-demand load of the served model."""
        self._child(self._cold_starts, endpoint, served_entity).inc()

    def set_loaded(self, endpoint: str, served_entity: str, loaded: bool) -> None:
        """Record whether the served model is in memory now."""
        self._child(self._loaded, endpoint, served_entity).set(1 if loaded else 0)

    def forget_endpoint(self, endpoint: str) -> None:
        """Remove every series of ``endpoint`` (after it is deleted); unknown endpoints are ignored."""
        with self._lock:
            for metric, label_sets in self._label_sets.items():
                gone = {labels for labels in label_sets if labels[0] == endpoint}
                for labels in gone:
                    metric.remove(*labels)
                label_sets -= gone

    def render(self) -> tuple[bytes, str]:
        """The current metrics in Prometheus' text format: ``(body, content_type)``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _child(self, metric: _M, *labels: str) -> _M:
        with self._lock:  # forget_endpoint must not see the record without the series, or the reverse
            self._label_sets[metric].add(labels)
            return metric.labels(*labels)

"""Telemetry: what happens to sessions and their variables, as measurements.

Every event goes two ways: to the OpenTelemetry metrics API (a counter per event and
a histogram per measurement; no-ops until the user installs and configures an
OpenTelemetry SDK), and to in-process subscribers (``subscribe``), which tests and
embedders use. Events carry measurements (durations, sizes, counts) and metadata
(session id, variable type, source) — never a variable's value or a prompt.

| event | measurements |
|---|---|
| ``session.started`` | count |
| ``session.paused`` | count, queries |
| ``session.resumed`` | count, answers, waited_ms |
| ``session.completed`` / ``session.failed`` / ``session.cancelled`` | count, elapsed_ms, llm_calls |
| ``session.replayed`` | count, answers, duration_ms |
| ``session.hibernated`` | count, idle_ms |
| ``variable.registered`` | count, size_bytes |
| ``variable.get`` | count |
| ``variable.updated`` | count, version, size_bytes |
| ``variable.deleted`` | count |
| ``variables.batch_get`` | count, found, missing |
| ``variables.batch_update`` | count, applied, failed |
| ``variable.validation_failed`` | count |
| ``variable.constraint_violation`` | count |
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import Counter

__all__ = ["METER_NAME", "Subscriber", "TelemetryEvent", "emit", "log", "subscribe"]

log = logging.getLogger(__name__)

METER_NAME = "alc_mcp"


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    name: str
    measurements: dict[str, float]
    metadata: dict[str, str] = field(default_factory=dict)


Subscriber = Callable[[TelemetryEvent], None]

_lock = threading.Lock()
_subscribers: list[Subscriber] = []
_instruments: dict[str, Any] = {}


def subscribe(subscriber: Subscriber) -> Callable[[], None]:
    """Call ``subscriber`` for every event from now on; returns the function that stops it."""
    with _lock:
        _subscribers.append(subscriber)

    def unsubscribe() -> None:
        with _lock:
            if subscriber in _subscribers:
                _subscribers.remove(subscriber)

    return unsubscribe


def emit(name: str, measurements: dict[str, float] | None = None, **metadata: Any) -> None:
    """Record one event. Never raises: telemetry must not break a session."""
    values = {"count": 1.0, **(measurements or {})}
    attributes = {key: str(value) for key, value in metadata.items() if value is not None}
    event = TelemetryEvent(name, values, attributes)
    with _lock:
        subscribers = list(_subscribers)
    for subscriber in subscribers:
        try:
            subscriber(event)
        except Exception:
            log.exception("telemetry subscriber failed on %s", name)
    try:
        _record(event)
    except Exception:
        log.exception("recording telemetry event %s failed", name)


@functools.cache
def _meter() -> metrics.Meter:
    """One meter per process: without an SDK, every ``get_meter`` call adds a proxy meter
    that OpenTelemetry keeps for good (measured: about 1 KiB per session, never freed).
    A proxy meter follows a provider set later, as the cached instruments already rely on."""
    return metrics.get_meter(METER_NAME)


def _record(event: TelemetryEvent) -> None:
    meter = _meter()
    for measurement, value in event.measurements.items():
        instrument_name = f"alc.{event.name}" if measurement == "count" else f"alc.{event.name}.{measurement}"
        with _lock:
            instrument = _instruments.get(instrument_name)
            if instrument is None:
                instrument = (
                    meter.create_counter(instrument_name, description=f"{event.name} events")
                    if measurement == "count"
                    else meter.create_histogram(instrument_name, description=f"{measurement} of {event.name}")
                )
                _instruments[instrument_name] = instrument
        if isinstance(instrument, Counter):
            instrument.add(int(value), event.metadata)
        else:
            instrument.record(value, event.metadata)

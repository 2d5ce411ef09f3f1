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
#: By (event, measurement).
_instruments: dict[tuple[str, str], Any] = {}


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
    """Record one event. Never raises: telemetry must not break a session.

    Called twice on every resume (``session.resumed``, ``session.paused``), so the common
    case stays cheap: no subscriber list copied when nobody listens, and instruments
    looked up by (event, measurement) without building their names or taking the lock."""
    values = {"count": 1.0, **measurements} if measurements else {"count": 1.0}
    attributes = {key: str(value) for key, value in metadata.items() if value is not None}
    event = TelemetryEvent(name, values, attributes)
    if _subscribers:
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
    for measurement, value in event.measurements.items():
        instrument = _instruments.get((event.name, measurement)) or _instrument(event.name, measurement)
        if isinstance(instrument, Counter):
            instrument.add(int(value), event.metadata)
        else:
            instrument.record(value, event.metadata)


def _instrument(event: str, measurement: str) -> Any:
    """The counter (``count``) or histogram of one measurement of one event, made once."""
    with _lock:
        instrument = _instruments.get((event, measurement))
        if instrument is None:
            meter = _meter()
            instrument = (
                meter.create_counter(f"alc.{event}", description=f"{event} events")
                if measurement == "count"
                else meter.create_histogram(
                    f"alc.{event}.{measurement}", description=f"{measurement} of {event}"
                )
            )
            _instruments[(event, measurement)] = instrument
        return instrument

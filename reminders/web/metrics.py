"""GET /metrics: Prometheus text, built from the database at each scrape.

A custom collector over services.metrics.snapshot (prometheus-client's documented way
for figures that live elsewhere): counters are the database's running totals, gauges
its current state. Labels are statuses, levels and process names only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from sqlmodel import Session

from reminders.services import health, metrics

router = APIRouter(include_in_schema=False)


class DatabaseCollector(Collector):
    def __init__(self, engine: Any, spool_dir: Any, clock: Any = None) -> None:
        self.engine, self.spool_dir, self.clock = engine, spool_dir, clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock() if self.clock else datetime.now(timezone.utc)
        with Session(self.engine) as session:
            found = metrics.snapshot(session, now)
        yield from families(found, health.spool_counts(self.spool_dir))


def families(found: metrics.Snapshot, spool: health.SpoolCounts) -> Iterator[Metric]:
    by_status = found.outbound_by_status

    def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
        return CounterMetricFamily(name, doc, value=value)

    yield counter("reminders_messages_sent", "Outbound messages the provider accepted (a SID recorded).",
                  found.sent)
    yield counter("reminders_messages_delivered", "Outbound messages the carrier confirmed delivered.",
                  by_status.get("delivered", 0))
    yield counter("reminders_messages_failed", "Outbound messages refused or undelivered.",
                  by_status.get("failed", 0) + by_status.get("undelivered", 0))
    yield GaugeMetricFamily("reminders_messages_unknown",
                            "Outbound messages whose send may or may not have happened (staff check them).",
                            value=by_status.get("unknown", 0))
    outbound = GaugeMetricFamily("reminders_outbound_messages", "Outbound messages by status.",
                                 labels=["status"])
    for status, count in sorted(by_status.items()):
        outbound.add_metric([status], count)
    yield outbound

    replies = CounterMetricFamily("reminders_replies", "Replies triaged, by triage level.", labels=["level"])
    for level in ("urgent", "flag", "ok", "admin"):
        replies.add_metric([level], found.replies_by_level.get(level, 0))
    yield replies
    yield GaugeMetricFamily("reminders_replies_untriaged", "Replies stored and not yet triaged.",
                            value=found.replies_untriaged)

    depth = GaugeMetricFamily("reminders_queue_items", "Queue items not resolved, by level and status.",
                              labels=["level", "status"])
    age = GaugeMetricFamily("reminders_queue_oldest_open_age_seconds",
                            "Age of the oldest unclaimed queue item, by level.", labels=["level"])
    for level in ("urgent", "flag", "no_response", "admin"):
        for status in ("open", "claimed"):
            depth.add_metric([level, status], found.queue_by_level_status.get((level, status), 0))
        age.add_metric([level], found.queue_oldest_open_seconds.get(level, 0.0))
    yield depth
    yield age

    yield GaugeMetricFamily("reminders_dispatch_lag_seconds",
                            "How late the oldest due check-in of an active patient is (0: none waiting).",
                            value=found.dispatch_lag_seconds)
    yield GaugeMetricFamily("reminders_outbox_pending", "Outbound messages ready and waiting to be sent.",
                            value=found.outbox_pending)
    yield GaugeMetricFamily("reminders_outbox_lag_seconds", "Age of the oldest message ready to be sent.",
                            value=found.outbox_lag_seconds)

    yield GaugeMetricFamily("reminders_spool_files", "Replies in this host's spool, waiting for the database.",
                            value=spool.pending)
    yield GaugeMetricFamily("reminders_spool_quarantined_files",
                            "Spool files that could not be ingested (see the runbook).", value=spool.quarantined)

    beats = GaugeMetricFamily("reminders_scheduler_heartbeat_age_seconds",
                              "Seconds since each scheduler process last beat.", labels=["process", "role"])
    for process, (role, seconds) in sorted(found.heartbeats.items()):
        beats.add_metric([process, role], seconds)
    yield beats


@router.get("/metrics")
async def metrics_page(request: Request) -> Response:
    registry = request.app.state.metrics_registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def registry_for(engine: Any, spool_dir: Any, clock: Any = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, spool_dir, clock))
    return registry

"""Prometheus metrics (one registry per hub process; scrape each process)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

WAIT_BUCKETS = ("0.01", "0.05", "0.1", "0.5", "1", "5", "30", "60", "300", "1800")


class WaitCollector(Collector):
    """Waiting time to assignment, counted in Redis by the routing scripts (so
    it covers every process); refreshed from Redis at each scrape."""

    def __init__(self) -> None:
        self.buckets: list[tuple[str, float]] = [(le, 0.0) for le in WAIT_BUCKETS] + [("+Inf", 0.0)]
        self.total = 0.0

    def update(self, stats: list[dict[str, str]]) -> None:
        """``stats``: each org's counters. The scripts count a wait in its own
        bucket (``b_<le>``), added up here; counters kept before that were
        already cumulative (``le_<le>``) and are added as they are."""
        count = sum(int(s.get("count", 0)) for s in stats)
        self.total = sum(float(s.get("sum", 0)) for s in stats)
        below = 0
        self.buckets = []
        for le in WAIT_BUCKETS:
            below += sum(int(s.get(f"b_{le}", 0)) for s in stats)
            self.buckets.append((le, float(below + sum(int(s.get(f"le_{le}", 0)) for s in stats))))
        self.buckets.append(("+Inf", float(count)))

    def collect(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(
            "hub_wait_to_assign_seconds",
            "Time from a conversation's arrival to its first agent",
            buckets=self.buckets,
            sum_value=self.total,
        )


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sends = Counter("hub_sends", "Provider send attempts by outcome", ["provider", "outcome"], registry=r)
        self.statuses = Counter(
            "hub_status_callbacks", "Status callbacks by status", ["provider", "status"], registry=r
        )
        self.webhooks = Histogram(
            "hub_webhook_seconds",
            "Webhook handling time",
            ["kind"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.webhooks_rejected = Counter(
            "hub_webhooks_rejected",
            "Webhooks refused (bad signature, unknown channel)",
            ["kind"],
            registry=r,
        )
        self.journal = Counter(
            "hub_webhook_journal",
            "Webhooks through the journal while Redis was down: journaled, "
            "unverified (journaled before the signature could be checked), replayed, rejected "
            "at replay (bad signature, unknown channel), failed (an error), corrupt lines, refused",
            ["outcome"],
            registry=r,
        )
        self.accepted = Counter("hub_send_requests", "Send requests by outcome", ["outcome"], registry=r)
        self.stream_depth = Gauge("hub_outbound_stream_depth", "Outbound jobs waiting or in flight", registry=r)
        self.retries_waiting = Gauge(
            "hub_send_retries_waiting",
            "Sends waiting for their next attempt after a provider failure",
            registry=r,
        )
        self.open_circuits = Gauge(
            "hub_open_circuits", "Channels whose circuit breaker is open or half-open", registry=r
        )
        self.circuit_changes = Counter(
            "hub_circuit_transitions",
            "Circuit breakers opened and closed by this process",
            ["state"],
            registry=r,
        )
        self.waiting_conversations = Gauge(
            "hub_waiting_conversations", "Conversations waiting for an agent", registry=r
        )
        self.wait_to_assign = WaitCollector()
        r.register(self.wait_to_assign)
        self.available_agents = Gauge("hub_available_agents", "Agents available", registry=r)
        self.open_websockets = Gauge("hub_open_websockets", "Agent websockets open here", registry=r)
        self.login_refusals = Counter(
            "hub_login_refusals",
            "Agent sign-ins refused (wrong_password, throttled)",
            ["reason"],
            registry=r,
        )
        self.archive_backlog = Gauge(
            "hub_archive_backlog", "Activity changes not yet copied to SQL (stream entries)", registry=r
        )
        self.archive_lag = Gauge(
            "hub_archive_lag_seconds",
            "Age of the oldest activity change not yet copied to SQL",
            registry=r,
        )

"""Prometheus metrics (one registry per hub process; scrape each process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sends = Counter(
            "hub_sends", "Provider send attempts by outcome", ["provider", "outcome"], registry=r
        )
        self.statuses = Counter(
            "hub_status_callbacks", "Status callbacks by status", ["provider", "status"], registry=r
        )
        self.webhooks = Histogram(
            "hub_webhook_seconds", "Webhook handling time", ["kind"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.webhooks_rejected = Counter(
            "hub_webhooks_rejected", "Webhooks refused (bad signature, unknown channel)", ["kind"],
            registry=r,
        )
        self.accepted = Counter(
            "hub_send_requests", "Send requests by outcome", ["outcome"], registry=r
        )
        self.stream_depth = Gauge(
            "hub_outbound_stream_depth", "Outbound jobs waiting or in flight", registry=r
        )
        self.waiting_conversations = Gauge(
            "hub_waiting_conversations", "Conversations waiting for an agent", registry=r
        )
        self.wait_to_assign = Histogram(
            "hub_wait_to_assign_seconds", "Time from arrival to assignment", registry=r,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800),
        )
        self.available_agents = Gauge("hub_available_agents", "Agents available", registry=r)
        self.open_websockets = Gauge("hub_open_websockets", "Agent websockets open here", registry=r)

"""The hub's parts for one process, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

import redis.asyncio as aioredis

from hub.domain.kinds import CANNED_RESPONSES, CHANNELS, CONFIGURATIONS, TEMPLATES
from hub.domain.records import CannedResponse, Channel, Configuration, Template
from hub.metrics import Metrics
from hub.providers.pool import ProviderPool
from hub.services.directory import ChannelDirectory
from hub.services.workboard import WorkBoard
from hub.settings import Settings
from hub.storage.activities import ActivityStore
from hub.storage.agents import AgentStore
from hub.storage.archive_queue import ArchiveQueue
from hub.storage.board import BoardStore
from hub.storage.bulk_jobs import BulkJobStore
from hub.storage.catalog import CatalogStore
from hub.storage.circuits import CircuitStore
from hub.storage.consent import ConsentStore
from hub.storage.conversations import ConversationStore
from hub.storage.event_feed import EventFeedStore
from hub.storage.flows import FlowStore
from hub.storage.login_throttle import LoginThrottle
from hub.storage.orgs import OrgStore
from hub.storage.pacing import PaceStore
from hub.storage.queue import OutboundQueue
from hub.storage.queues import QueueStore
from hub.storage.redis import Scripts
from hub.storage.sql.db import Database
from hub.storage.stats import StatsStore
from hub.storage.timeline import TimelineStore
from hub.storage.wake import WakeStream


@dataclass
class Hub:
    settings: Settings
    redis: aioredis.Redis
    metrics: Metrics
    providers: ProviderPool
    # The SQL history (None where only Redis is needed).
    history: Database | None = None
    scripts: Scripts = field(init=False)
    orgs: OrgStore = field(init=False)
    channels: CatalogStore[Channel] = field(init=False)
    templates: CatalogStore[Template] = field(init=False)
    configurations: CatalogStore[Configuration] = field(init=False)
    activities: ActivityStore = field(init=False)
    directory: ChannelDirectory = field(init=False)
    agents: AgentStore = field(init=False)
    login_throttle: LoginThrottle = field(init=False)
    conversations: ConversationStore = field(init=False)
    queues: QueueStore = field(init=False)
    supervision: BoardStore = field(init=False)
    consent: ConsentStore = field(init=False)
    canned: CatalogStore[CannedResponse] = field(init=False)
    flows: FlowStore = field(init=False)
    bulk_jobs: BulkJobStore = field(init=False)
    events: EventFeedStore = field(init=False)
    circuits: CircuitStore = field(init=False)
    pacing: PaceStore = field(init=False)
    timeline: TimelineStore = field(init=False)
    stats: StatsStore = field(init=False)
    # The org's send streams (bulk and agents' replies) and archive stream.
    outbound_queue: OutboundQueue = field(init=False)
    reply_queue: OutboundQueue = field(init=False)
    archive_queue: ArchiveQueue = field(init=False)
    # When this process's background loops look at each org (and tells the others).
    board: WorkBoard = field(init=False)

    def __post_init__(self) -> None:
        self.scripts = Scripts(self.redis)
        self.orgs = OrgStore(self.redis)
        self.channels = CatalogStore(self.redis, CHANNELS)
        self.templates = CatalogStore(self.redis, TEMPLATES)
        self.configurations = CatalogStore(self.redis, CONFIGURATIONS)
        self.activities = ActivityStore(self.redis, self.scripts)
        self.directory = ChannelDirectory(self.channels)
        self.agents = AgentStore(self.redis)
        self.login_throttle = LoginThrottle(self.redis)
        self.conversations = ConversationStore(self.redis, self.scripts)
        self.queues = QueueStore(self.redis, self.scripts)
        self.supervision = BoardStore(self.redis, self.scripts)
        self.consent = ConsentStore(self.redis, self.scripts)
        self.canned = CatalogStore(self.redis, CANNED_RESPONSES)
        self.flows = FlowStore(self.redis, self.scripts)
        self.bulk_jobs = BulkJobStore(self.redis, self.scripts)
        self.events = EventFeedStore(self.redis, self.scripts)
        self.circuits = CircuitStore(self.redis, self.scripts)
        self.pacing = PaceStore(self.scripts)
        self.timeline = TimelineStore(self.redis)
        self.stats = StatsStore(self.redis)
        self.outbound_queue = OutboundQueue(self.redis)
        self.reply_queue = OutboundQueue(self.redis, replies=True)
        self.archive_queue = ArchiveQueue(self.redis)
        self.board = WorkBoard(self.orgs, WakeStream(self.redis), idle_s=self.settings.idle_check_s)

"""The webhooks of one running instance: subscriptions, the delivery queue, the SSRF guard and the
registered protocols, and a factory for delivery workers."""

from __future__ import annotations

from polycrm.auth.secrets import KeyRing
from polycrm.events.addresses import AddressGuard
from polycrm.events.deliveries import DeliveryQueue
from polycrm.events.protocol import WebhookProtocol
from polycrm.events.sender import WebhookSender
from polycrm.events.settings import WebhookSettings
from polycrm.events.subscriptions import SubscriptionStore
from polycrm.events.worker import DeliveryWorker
from polycrm.store.database import Database


class WebhookHub:
    def __init__(self, database: Database, keyring: KeyRing, settings: WebhookSettings,
                 protocols: dict[str, WebhookProtocol]):
        self.database = database
        self.settings = settings
        self.protocols = protocols
        self.subscriptions = SubscriptionStore(database, keyring)
        self.queue = DeliveryQueue(database, self.subscriptions, settings,
                                   {name: p.batch_size for name, p in protocols.items()})
        self.guard = AddressGuard(settings.allow_private)

    def new_worker(self) -> DeliveryWorker:
        sender = WebhookSender(self.guard, max_connections=max(self.settings.concurrency, 1))
        return DeliveryWorker(self.database, self.queue, self.protocols, sender, self.settings)

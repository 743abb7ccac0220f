"""The delivery worker: fans out new events, claims due deliveries, sends them concurrently and records
every attempt. Runs as a thread inside `polycrm serve` (POLYCRM_WEBHOOK_WORKERS) and in `polycrm worker`.

On PostgreSQL any number of workers in any number of processes share the queue (row locks). On SQLite
exactly one worker of the machine works at a time: it holds an exclusive lock on a file beside the
database; the others stand by and take over when its process ends (the OS drops the lock even on SIGKILL).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy.exc import SQLAlchemyError

from polycrm.events.deliveries import ClaimedDelivery, DeliveryQueue, failure_fields
from polycrm.events.model import AttemptResult, Event, Outcome, Subscription
from polycrm.events.outbox import precise_utcnow
from polycrm.events.protocol import WebhookProtocol
from polycrm.events.sender import WebhookSender
from polycrm.events.settings import WebhookSettings
from polycrm.events.signing import polycrm_signature
from polycrm.meta import Entity
from polycrm.store.database import Database

log = logging.getLogger("polycrm.webhooks")
PRUNE_EVERY = 600.0  # seconds
REPAIR_EVERY = 60.0  # seconds
# Rendered bodies are reused for this long across subscriptions with the same protocol, event, owner and
# events; retries come later and render afresh (names, ACL).
BODY_CACHE_SECONDS = 2.0
BODY_CACHE_SIZE = 1024
RESULT_GATHERING = 0.01  # seconds to wait for all requests in flight before recording those done
STANDBY_RETRY = 1.0  # seconds between tries to become the SQLite worker


def sqlite_lock_path(database: Database) -> Path | None:
    """The file whose lock makes one SQLite worker the only one; None on PostgreSQL."""
    if database.dialect != "sqlite" or not database.engine.url.database:
        return None
    return Path(database.engine.url.database + ".webhooks.lock")


class SoleWorkerLock:
    """An exclusive, non-blocking lock on a file; released when the holder closes it or dies."""

    def __init__(self, path: Path):
        self.path = path
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> bool:
        if self._handle is not None:
            return True
        handle = open(self.path, "a")  # noqa: SIM115 - held open for as long as the lock is held
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class DeliveryWorker:
    """One worker loop with `settings.concurrency` requests in flight."""

    def __init__(self, database: Database, queue: DeliveryQueue, protocols: dict[str, WebhookProtocol],
                 sender: WebhookSender, settings: WebhookSettings):
        self.database = database
        self.queue = queue
        self.protocols = protocols
        self.sender = sender
        self.settings = settings
        self.lease_seconds = max((p.connect_timeout + p.read_timeout for p in protocols.values()), default=30) + 5
        lock_path = sqlite_lock_path(database)
        self._lock = SoleWorkerLock(lock_path) if lock_path is not None else None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="webhook-send")
        self._inflight: dict[Future[AttemptResult], ClaimedDelivery] = {}
        self._pruned_at = 0.0
        self._repaired_at = -REPAIR_EVERY
        self._fanned_at = 0.0
        self._bodies: dict[tuple[Any, ...], tuple[float, bytes | None]] = {}

    # --- life cycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="webhook-worker", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop claiming; `run` returns once the requests in flight are done (safe in a signal handler)."""
        self._stop.set()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the thread started by `start`, letting requests in flight finish, then `close`."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.sender.close()
        if self._lock is not None:
            self._lock.release()

    def run(self) -> None:
        """Work until stopped."""
        settings = self.settings
        log.info("webhook worker started", extra={
            "pid": os.getpid(), "concurrency": settings.concurrency, "max_attempts": settings.max_attempts,
            "backoff_base": settings.backoff_base, "backoff_max": settings.backoff_max,
            "disable_after": settings.disable_after, "allow_private": settings.allow_private})
        while not self._stop.is_set():
            if not self._may_work():
                self._stop.wait(STANDBY_RETRY)
                continue
            try:
                busy = self.step()
            except SQLAlchemyError as exc:  # a lost connection or a locked SQLite file: try again soon
                log.warning("webhook worker: database error, retrying: %s", type(exc).__name__)
                busy = False
            except Exception:  # noqa: BLE001 - a bug must not stop delivery for good: log it, go on
                log.exception("webhook worker: unexpected error, retrying")
                busy = False
            if not busy:
                self._stop.wait(self.settings.poll_interval)
        self._finish_inflight()

    def _may_work(self) -> bool:
        if self._lock is None or self._lock.held:
            return True
        if not self._lock.acquire():
            return False
        # The sole SQLite worker: whatever was `sending` belonged to a worker that is gone.
        released = self.queue.release_all()
        if released:
            log.info("webhook worker: %d interrupted deliveries are due again", released)
        return True

    # --- one round --------------------------------------------------------------------------------

    def step(self) -> bool:
        """Fan out, top up the requests in flight, record those that finished. True when there was work."""
        fanned = 0
        now = time.monotonic()
        if now - self._fanned_at >= self.settings.fanout_linger:
            fanned = self.queue.fan_out()
            if fanned:
                self._fanned_at = now
        # Claim when half the slots are free (or none is busy): fewer, larger claims and result writes.
        free = self.settings.concurrency - len(self._inflight)
        worth_it = free >= max(1, self.settings.concurrency // 2) or not self._inflight
        claimed = self.queue.claim(free, self.lease_seconds) if worth_it else []
        finished: list[tuple[ClaimedDelivery, AttemptResult]] = []
        if claimed:
            events = self.queue.load_events((i for c in claimed for i in c.event_ids), self._entity)
            for delivery in claimed:
                prepared = self.prepare(delivery, [events[i] for i in delivery.event_ids if i in events])
                if isinstance(prepared, AttemptResult):
                    finished.append((delivery, prepared))
                else:
                    self._inflight[self._executor.submit(self.send, delivery, *prepared)] = delivery
        if self._inflight:
            # A short wait for the whole wave first, so that results are written together; then for any one.
            done, _ = wait(list(self._inflight), timeout=RESULT_GATHERING)
            if not done:
                done, _ = wait(list(self._inflight), timeout=self.settings.poll_interval, return_when=FIRST_COMPLETED)
            finished += [(self._inflight.pop(f), f.result()) for f in done]
        self.queue.record(finished)
        self._housekeeping()
        return bool(fanned or claimed or finished or self._inflight)

    def run_until_idle(self, timeout: float = 30.0) -> None:
        """Work until no event waits for fan-out and no delivery of an active subscription is queued
        (retries included); bounded by `timeout` seconds. For tests and benchmarks."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._may_work():
                raise RuntimeError("another worker holds the SQLite webhook lock")
            if not self.step():
                if not self.queue.has_work():
                    return
                time.sleep(self.settings.poll_interval)
        raise TimeoutError("webhook deliveries still queued after the timeout")

    def _finish_inflight(self) -> None:
        if self._inflight:
            done, _ = wait(list(self._inflight), timeout=self.lease_seconds)
            try:
                self.queue.record([(self._inflight.pop(f), f.result()) for f in done])
            except SQLAlchemyError:
                log.warning("webhook worker: could not record the last attempts; they will be sent again")

    def _housekeeping(self) -> None:
        """Now and then: forget old deliveries; make sure every key's oldest open delivery is its head
        (first on start: a store upgraded from a version without heads, or a hand-over lost to a crash)."""
        now = time.monotonic()
        if now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            self.queue.prune()
        if now - self._repaired_at >= REPAIR_EVERY:
            self._repaired_at = now
            repaired = self.queue.repair_heads()
            if repaired:
                log.info("webhook worker: %d queued deliveries were waiting without a head; they are due", repaired)

    def _entity(self, name: str) -> Entity | None:
        return self.database.registry.entities.get(name)

    # --- one delivery -----------------------------------------------------------------------------

    def prepare(self, claimed: ClaimedDelivery,
                events: list[Event]) -> AttemptResult | tuple[WebhookProtocol, bytes, dict[str, str]]:
        """The protocol, body and headers of a delivery, or at once its result when there is nothing to send
        or rendering failed. Runs in the worker loop, so bodies are rendered once for all the subscriptions
        that share protocol, event, owner and events (several webhooks on one event type)."""
        subscription = claimed.subscription
        protocol = self.protocols.get(subscription.protocol)
        try:
            if protocol is None:
                raise LookupError(f"no webhook protocol {subscription.protocol!r} in this process")
            body = self._body(protocol, subscription, events)
        except Exception as exc:  # noqa: BLE001 - a rendering bug must not kill the worker; it is logged
            log.exception("webhook rendering failed", extra={"webhook_id": subscription.id,
                                                             "delivery_id": claimed.uid, "attempt": claimed.attempt})
            return AttemptResult(precise_utcnow(), 0.0, None, Outcome.RETRY, f"rendering failed: {type(exc).__name__}")
        if body is None:
            return AttemptResult(precise_utcnow(), 0.0, None, Outcome.SKIPPED, "nothing to send")
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-PolyCRM-Delivery": claimed.uid,
                   "X-PolyCRM-Timestamp": timestamp, "X-PolyCRM-Event": subscription.event,
                   "X-PolyCRM-Signature": polycrm_signature(subscription.secret, claimed.uid, timestamp, body),
                   **protocol.signature_headers(subscription, body)}
        return protocol, body, headers

    def _body(self, protocol: WebhookProtocol, subscription: Subscription, events: list[Event]) -> bytes | None:
        if not events:
            return None
        settings = orjson.dumps(subscription.settings, option=orjson.OPT_SORT_KEYS)
        key = (subscription.protocol, subscription.event, settings, subscription.owner_id, tuple(e.id for e in events))
        now = time.monotonic()
        cached = self._bodies.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        if len(self._bodies) >= BODY_CACHE_SIZE:
            self._bodies.clear()
        body = protocol.render(subscription, events)
        self._bodies[key] = (now + BODY_CACHE_SECONDS, body)
        return body

    def send(self, claimed: ClaimedDelivery, protocol: WebhookProtocol, body: bytes,
             headers: dict[str, str]) -> AttemptResult:
        """One attempt (in a sender thread)."""
        subscription = claimed.subscription
        result = self.sender.send(protocol, subscription.url, body, headers)
        if result.outcome not in (Outcome.SUCCESS, Outcome.SKIPPED):
            # `outcome`: what comes next (retry while attempts remain, fail, gone: the subscription is removed).
            log.info("webhook attempt failed", extra={**failure_fields(claimed, result),
                                                      "outcome": result.outcome.value})
        return result

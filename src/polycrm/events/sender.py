"""One webhook request: pinned to a checked address, bounded by timeouts, never following redirects,
logged as an `AttemptResult` (status, duration, error, the start of the response)."""

from __future__ import annotations

import time

import httpx

from polycrm.events.addresses import AddressGuard, BlockedTarget, parse_target
from polycrm.events.model import AttemptResult, Outcome
from polycrm.events.outbox import precise_utcnow
from polycrm.events.protocol import WebhookProtocol

EXCERPT_BYTES = 1024
USER_AGENT = "PolyCRM-Webhooks/1.0"


class WebhookSender:
    """Sends request bodies; one per worker, shared by its threads (httpx.Client is thread-safe)."""

    def __init__(self, guard: AddressGuard, max_connections: int = 32):
        self.guard = guard
        self.client = httpx.Client(follow_redirects=False, trust_env=False,
                                   limits=httpx.Limits(max_connections=max_connections,
                                                       max_keepalive_connections=max_connections))

    def send(self, protocol: WebhookProtocol, url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
        started_at = precise_utcnow()
        started = time.perf_counter()

        def result(outcome: Outcome, status: int | None = None, error: str | None = None,
                   excerpt: str | None = None) -> AttemptResult:
            return AttemptResult(started_at, round((time.perf_counter() - started) * 1000, 3), status, outcome,
                                 error, excerpt)

        try:
            target = parse_target(url)
            address = self.guard.resolve(target)
        except BlockedTarget as exc:
            # The address may change back (DNS), or the operator may allow private targets: retry.
            return result(Outcome.RETRY, error=f"blocked: {exc}")
        timeout = httpx.Timeout(protocol.read_timeout, connect=protocol.connect_timeout)
        request_headers = {"Host": target.host_header, "User-Agent": USER_AGENT, **headers}
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            request = self.client.build_request("POST", target.url_for(address), content=body,
                                                headers=request_headers, timeout=timeout, extensions=extensions)
            response = self.client.send(request, stream=True)
            try:
                excerpt = b""
                for chunk in response.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= EXCERPT_BYTES:
                        break
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            return result(Outcome.RETRY, error=f"timeout: {type(exc).__name__}")
        except httpx.HTTPError as exc:
            return result(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:500])
        text = excerpt[:EXCERPT_BYTES].decode("utf-8", errors="replace")
        return result(protocol.outcome(response.status_code), response.status_code, None, text)

    def close(self) -> None:
        self.client.close()

"""Assemble the ASGI application from configuration. No logic beyond wiring."""

from __future__ import annotations

import contextlib
import gc
import logging
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, Router

from polycrm.affinity import pin_worker, serve_workers
from polycrm.auth.directory import UserDirectory
from polycrm.auth.secrets import KeyRing
from polycrm.config import Config, load_config
from polycrm.core.activity_types import ensure_activity_types
from polycrm.core.call_outcomes import ensure_default_call_outcomes
from polycrm.core.documents import ensure_default_documents
from polycrm.core.lookups import ensure_default_lookups
from polycrm.core.pipelines import ensure_default_pipeline
from polycrm.core.service import Core
from polycrm.core.settings import CoreSettings
from polycrm.dialects.concord.api import ConcordApi
from polycrm.dialects.concord.dispatch import ApiDispatch
from polycrm.dialects.concord.mapping import DIALECT as CONCORD, ConcordMapping
from polycrm.dialects.concord.zapier import ZapierWebhookProtocol
from polycrm.dialects.espo.api import EspoApi, espo_routes
from polycrm.dialects.espo.context import API_BASE
from polycrm.dialects.espo.docs import docs_page
from polycrm.dialects.espo.routing import EspoRouter, resource_not_found
from polycrm.dialects.espo.webhooks import EspoWebhookApi, EspoWebhookProtocol
from polycrm.dialects.http import RequestLogging
from polycrm.dialects.inflow.api import InflowApi, inflow_routes
from polycrm.dialects.inflow.mapping import DIALECT as INFLOW, InflowMapping
from polycrm.dialects.itflow.api import ItflowApi, itflow_routes
from polycrm.dialects.inflow.webhooks import InflowWebhookApi, InflowWebhookProtocol, parse_webhook_rates
from polycrm.dialects.ratelimit import LoginThrottle, RateLimiter, parse_rate
from polycrm.events.hub import WebhookHub
from polycrm.events.protocol import WebhookProtocol
from polycrm.logs import configure_logging, startup_fields
from polycrm.store.database import Database, open_database


def core_settings(config: Config) -> CoreSettings:
    return CoreSettings(default_currency=config.default_currency, files_dir=config.data_dir / "files")


def build_core(config: Config, database: Database, mapping: InflowMapping | None = None,
               directory: UserDirectory | None = None, concord: ConcordMapping | None = None) -> Core:
    """The core with every dialect's reserved API names registered (the app and the CLI share it); with the
    server's directory, the core looks other users' rights up through its cache."""
    core = Core(database, core_settings(config), directory, KeyRing(config.secret_key))
    core.reserve_api_names(INFLOW, (mapping or InflowMapping.load()).reserved_names)
    core.reserve_api_names(CONCORD, (concord or ConcordMapping.load()).reserved_names)
    core.currency.ensure_stored()
    ensure_default_pipeline(database)  # a new store starts with Concord's default pipeline
    ensure_default_lookups(database)  # and its sources and industries
    ensure_activity_types(database)  # and its activity types
    ensure_default_call_outcomes(database)  # and its call outcomes
    ensure_default_documents(database)  # and its document types and brand
    return core


def build_webhooks(config: Config, database: Database, core: Core, directory: UserDirectory,
                   mapping: InflowMapping | None = None, concord: ConcordMapping | None = None) -> WebhookHub:
    """Subscriptions, queue and workers, with every protocol's delivery rules registered."""
    protocols: list[WebhookProtocol] = [
        EspoWebhookProtocol(core, directory, config.webhooks.batch_size),
        InflowWebhookProtocol(core, directory, mapping or InflowMapping.load()),
        ZapierWebhookProtocol(core, directory, concord or ConcordMapping.load())]
    return WebhookHub(database, directory.keyring, config.webhooks, {p.name: p for p in protocols})


def build_app(config: Config, database: Database) -> Starlette:
    """The application over an open database; its lifespan runs the in-process webhook workers."""
    database.remembered_counts = config.remembered_counts
    mapping = InflowMapping.load()
    directory = UserDirectory(database, KeyRing(config.secret_key), config.auth_tokens)
    concord_mapping = ConcordMapping.load()
    core = build_core(config, database, mapping, directory, concord_mapping)
    webhooks = build_webhooks(config, database, core, directory, mapping, concord_mapping)
    limiter = RateLimiter(config.redis_url, key_prefix=config.redis_prefix)
    logins = LoginThrottle(limiter, parse_rate(config.login_failures_per_user),
                           parse_rate(config.login_failures_per_ip))
    espo = EspoApi(core, directory, max_body_bytes=config.max_body_bytes,
                   webhooks=EspoWebhookApi(core, directory, webhooks), failed_logins=logins)
    inflow = InflowApi(core, directory, limiter, parse_rate(config.inflow_rate_limit),
                       max_body_bytes=config.max_body_bytes, mapping=mapping,
                       webhooks=InflowWebhookApi(webhooks, mapping),
                       budgets=parse_webhook_rates(config.inflow_webhook_rate_limits))

    itflow = ItflowApi(core, directory.find_itflow_key, core.audit.record, max_body_bytes=config.max_body_bytes,
                       actor_of=directory.actor)
    concord = ConcordApi(core, directory, limiter, parse_rate(config.concord_rate_limit),
                         parse_rate(config.concord_token_rate_limit), max_body_bytes=config.max_body_bytes,
                         max_upload_bytes=config.max_upload_bytes, webhooks=webhooks, mapping=concord_mapping)

    async def docs(_request):  # noqa: ANN001, ANN202 - Starlette endpoint
        return HTMLResponse(docs_page("/api/v1/OpenApi"))

    async def home(_request):  # noqa: ANN001, ANN202
        return RedirectResponse("/docs")

    async def not_found(_request, _exc):  # noqa: ANN001, ANN202 - a path no route takes: a bare 404
        return Response(status_code=404)

    async def method_not_allowed(_request, exc):  # noqa: ANN001, ANN202 - bare as EspoCRM's errors, with Allow
        return Response(status_code=405, headers=exc.headers)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        workers = [webhooks.new_worker() for _ in range(config.webhooks.workers)]
        for worker in workers:
            worker.start()
        yield
        for worker in workers:
            worker.stop()
        database.dispose()

    # ITFlow's `/api/v1/{module}/{function}.php` comes first: EspoCRM's `/api/v1` takes every other path under it.
    # `/api/v1` (EspoCRM) comes before InflowCRM's `/api/*`, which would otherwise take its paths. Its routes
    # carry whole paths, in a router of their own that answers 404 or 405 for the rest: a Mount would strip its
    # prefix wrongly from a path ending in a newline (`/Account/1%0A`), and its routes then saw the whole path.
    # Concord CRM and InflowCRM share the rest of `/api/`: ApiDispatch tells their requests apart.
    espo_router = EspoRouter(API_BASE, espo_routes(espo), default=resource_not_found)
    inflow_router = Router(routes=inflow_routes(inflow))
    api_dispatch = ApiDispatch(concord, inflow_router, frozenset(concord.mapping.resources))
    app = Starlette(routes=[Route("/", home), Route("/docs", docs), *itflow_routes(itflow),
                            Route("/api/v1/{path:path}", espo_router),
                            Route("/api/{path:path}", api_dispatch, methods=None),
                            *inflow_routes(inflow)],
                    exception_handlers={404: not_found, 405: method_not_allowed}, lifespan=lifespan,
                    middleware=[Middleware(RequestLogging)])
    app.state.core = core
    app.state.directory = directory
    app.state.webhooks = webhooks
    return app


def create_app() -> Starlette:
    """Factory for `uvicorn --factory` (and `polycrm serve`): configuration from the environment."""
    config = load_config()
    configure_logging(config.log_level, config.log_format)  # in each worker process `serve` starts
    logging.getLogger("polycrm.server").info("starting", extra=startup_fields(config, serve_workers()))
    if config.pin_workers:
        pin_worker(config.data_dir, serve_workers())
    app = build_app(config, open_database(config.database_url, sync=False))
    # What start-up made (modules, tables, definitions) lives as long as the process: moved out of the cyclic
    # garbage collector's sight, its full collections stop walking it (a mass create triggers dozens).
    gc.freeze()
    return app

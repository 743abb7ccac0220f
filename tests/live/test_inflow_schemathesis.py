"""Schemathesis against a live `polycrm serve`: every InflowCRM operation of the (amended) OpenAPI document,
a bounded, reproducible number of generated requests each. No request may cause a server error, and every
response must conform to the document: status, content type and body schema. Requests without the API key
must be refused. The amendments, and why the shared document needs them, are in tests/inflow/spec.py."""

from __future__ import annotations

from typing import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (content_type_conformance, ignored_auth, negative_data_rejection,
                                               response_schema_conformance, status_code_conformance)
from schemathesis.checks import not_a_server_error

from tests.inflow.spec import openapi
from tests.live.conftest import LiveServer, serve

schema = schemathesis.openapi.from_dict(openapi())
# positive_data_acceptance is left out on purpose: the document cannot say which module names exist, so a
# schema-valid `{"module": "abc"}` rightly gets 400 VALIDATION_ERROR.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, ignored_auth]


@pytest.fixture(scope="module")
def inflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # A budget that generated requests cannot exhaust: the rate limit has tests of its own.
    with serve(tmp_path_factory.mktemp("inflow-live"), POLYCRM_INFLOW_RATE_LIMIT="100000/minute",
               POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS="subscribe=100000/minute,list=100000/minute,item=100000/minute"
               ) as server:
        yield server


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_inflow_api_conforms_to_its_openapi_document(case, inflow_server):
    case.call_and_validate(base_url=inflow_server.url, headers={"x-api-key": inflow_server.api_key}, checks=CHECKS)

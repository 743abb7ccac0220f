"""Property tests: arbitrary payloads and list parameters never cause a server error or a partial write.

Every response is also checked against the OpenAPI document by the harness, so an undocumented status
(a 500 included) fails the test."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from polycrm.meta import load_builtin_registry

REGISTRY = load_builtin_registry()
ENTITIES = ["Account", "Contact", "Lead", "Opportunity", "Task", "Case", "Meeting"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                    st.sampled_from(["2030-01-01", "2030-01-01 10:00:00", "Customer", "1", "' OR 1=1 --",
                                     "a@b.example", "%", "\u0000"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                                             inner, max_size=3),
                      max_leaves=6)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


@st.composite
def payloads(draw):
    entity = draw(st.sampled_from(ENTITIES))
    names = sorted(REGISTRY.entity(entity).attributes) + ["unknownAttribute"]
    keys = draw(st.lists(st.sampled_from(names), max_size=6, unique=True))
    return entity, {key: draw(values) for key in keys}


@FUZZ
@given(payloads())
def test_create_never_fails_on_the_server(api, payload):
    entity, body = payload
    before = api.get(f"/api/v1/{entity}", headers={"X-No-Total": "false"}).json()["total"]
    response = api.post(f"/api/v1/{entity}", json=body, headers={"X-Skip-Duplicate-Check": "true"})
    assert response.status_code in (200, 400), (response.status_code, response.headers.get("x-status-reason"))
    after = api.get(f"/api/v1/{entity}").json()["total"]
    assert after == before + (1 if response.status_code == 200 else 0)


@FUZZ
@given(st.dictionaries(st.sampled_from(["maxSize", "offset", "orderBy", "order", "select", "where", "where[0]",
                                        "where[0][type]", "where[0][attribute]", "where[0][value]", "q",
                                        "textFilter", "primaryFilter", "boolFilterList[]", "searchParams"]),
                       st.text(max_size=20), max_size=6))
def test_list_parameters_never_fail_on_the_server(api, params):
    response = api.get("/api/v1/Contact", params=params)
    assert response.status_code in (200, 400, 403), (response.status_code, response.headers.get("x-status-reason"))

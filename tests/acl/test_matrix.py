"""The access-control matrix: for every entity type, every access level and every path by which a record can
be reached, read or changed (both protocols, both backends), the path reaches exactly the records the level
allows. Declarative, as NetBox's per-model API tests: a path is a row of PATHS, a function giving the labels
of the world's records it reached for a level's user; `tests/acl/test_routes.py` fails for a route that no
row (or a stated exemption) covers.

Roles here give one level for read, edit and delete alike, so reading and changing reach the same records.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable

import pytest

from polycrm.dialects.inflow.ids import encode_id
from tests.acl.conftest import (DUPLICATE_CHECKED, ENTITIES, INFLOW_MODULES, LEVELS, STREAM_ENTITIES, VISIBLE,
                                World, ok, record_body)

Path = Callable[[World, str, str], set[str]]  # (world, level, entity) -> labels of the records reached


def text_field(entity: str) -> str:
    """A text field every record of the entity type has, for harmless edits."""
    return "body" if entity == "Email" else "description"


def _id_filter(world: World, entity: str) -> list[dict]:
    """A where item selecting the world's records of `entity`."""
    return [{"type": "in", "attribute": "id", "value": list(world.records[entity].values())}]


def _listed(world: World, entity: str, response) -> set[str]:
    if response.status_code == 403:
        return set()
    return world.labels(entity, [r["id"] for r in ok(response, 200).json()["list"]])


def _each(world: World, entity: str, send: Callable[[str, str], object], allowed: tuple[int, ...] = (200, 403)
          ) -> set[str]:
    """The labels for which `send(label, id)` answered 200."""
    return {label for label, record_id in world.records[entity].items()
            if ok(send(label, record_id), *allowed).status_code == 200}


# --- EspoCRM API ---------------------------------------------------------------------------------------

def espo_list(w: World, level: str, entity: str) -> set[str]:
    return _listed(w, entity, w.espo(level).get(f"/api/v1/{entity}", params={"maxSize": 200}))


def espo_list_filtered_and_counted(w: World, level: str, entity: str) -> set[str]:
    response = w.espo(level).get(f"/api/v1/{entity}", params={
        "searchParams": json.dumps({"where": _id_filter(w, entity), "maxSize": 1})})
    if response.status_code == 403:
        return set()
    # A page of one whose total counts the rest: the count goes through the same rules as the list.
    body = ok(response, 200).json()
    rest = ok(w.espo(level).get(f"/api/v1/{entity}", params={
        "searchParams": json.dumps({"where": _id_filter(w, entity), "offset": 1})}), 200).json()
    assert body["total"] == len(body["list"]) + len(rest["list"]), (body["total"], body, rest)
    return _listed(w, entity, response) | w.labels(entity, [r["id"] for r in rest["list"]])


def espo_text_search(w: World, level: str, entity: str) -> set[str]:
    return _listed(w, entity, w.espo(level).get(f"/api/v1/{entity}", params={"q": "Acl", "maxSize": 200}))


def espo_read(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.get(f"/api/v1/{entity}/{i}"))


def espo_update(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.patch(f"/api/v1/{entity}/{i}", json={text_field(entity): level}))


def espo_delete(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return {label for label, i in w.throwaway(entity).items()
            if ok(client.delete(f"/api/v1/{entity}/{i}"), 200, 403).status_code == 200}


def espo_mass_update_by_ids(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.post("/api/v1/MassAction", json={
        "entityType": entity, "action": "update", "params": {"ids": [i]}, "data": {text_field(entity): level}}))


def espo_mass_update_by_where(w: World, level: str, entity: str) -> set[str]:
    marker = f"mass {uuid.uuid4().hex[:8]}"
    response = w.espo(level).post("/api/v1/MassAction", json={
        "entityType": entity, "action": "update", "params": {"where": _id_filter(w, entity)},
        "data": {text_field(entity): marker}})
    if ok(response, 200, 403).status_code == 403:
        return set()
    changed = w.admin.get(f"/api/v1/{entity}", params={
        "searchParams": json.dumps({"where": [{"type": "equals", "attribute": text_field(entity), "value": marker}]})})
    return w.labels(entity, [r["id"] for r in ok(changed, 200).json()["list"]])


def espo_legacy_mass_update(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.put(f"/api/v1/{entity}/action/massUpdate", json={
        "ids": [i], "attributes": {text_field(entity): level}}))


def espo_mass_delete(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return {label for label, i in w.throwaway(entity).items() if ok(client.post("/api/v1/MassAction", json={
        "entityType": entity, "action": "delete", "params": {"ids": [i]}}), 200, 403).status_code == 200}


def espo_stream(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.get(f"/api/v1/{entity}/{i}/stream"))


def espo_post_note(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.post("/api/v1/Note", json={
        "post": "hello", "parentType": entity, "parentId": i}))


def espo_follow(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)

    def follow(_: str, record_id: str):
        response = client.put(f"/api/v1/{entity}/{record_id}/subscription")
        if response.status_code == 200:
            ok(client.delete(f"/api/v1/{entity}/{record_id}/subscription"), 200)
        return response

    return _each(w, entity, follow)


def espo_mass_follow(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.post("/api/v1/MassAction", json={
        "entityType": entity, "action": "follow", "params": {"ids": [i]}}))


def espo_followers(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.get(f"/api/v1/{entity}/{i}/followers"))


def espo_duplicates(w: World, level: str, entity: str) -> set[str]:
    """Creating a record with another's name: a 409 lists the duplicates the user may read, and one they
    may not read does not stop the create."""
    client, found = w.espo(level), set()
    names = {label: w.admin.get(f"/api/v1/{entity}/{i}").json() for label, i in w.records[entity].items()}
    for label, record in names.items():
        key = "lastName" if entity in ("Contact", "Lead") else "name"
        response = ok(client.post(f"/api/v1/{entity}", json=record_body(entity, record[key])), 200, 409)
        if response.status_code == 409:
            found |= w.labels(entity, [d["id"] for d in response.json()])
        else:
            ok(w.admin.delete(f"/api/v1/{entity}/{response.json()['id']}"), 200)
    return found


def espo_convert_attributes(w: World, level: str, entity: str) -> set[str]:
    client = w.espo(level)
    return _each(w, entity, lambda _, i: client.post("/api/v1/Lead/action/getConvertAttributes", json={"id": i}))


# --- InflowCRM API -------------------------------------------------------------------------------------

def _decoded(w: World, entity: str, wire_ids: list[str]) -> set[str]:
    return w.labels(entity, [str(int(i[8:], 16)) for i in wire_ids])


def inflow_search(w: World, level: str, entity: str) -> set[str]:
    response = w.inflow(level).post("/api/searchRecords", json={"module": INFLOW_MODULES[entity], "limit": 200})
    if ok(response, 200, 403).status_code == 403:
        return set()
    return _decoded(w, entity, [r["id"] for r in response.json()["data"]])


def inflow_read(w: World, level: str, entity: str) -> set[str]:
    client, module = w.inflow(level), INFLOW_MODULES[entity]
    return _each(w, entity, lambda label, _: client.get(f"/api/{module}/{w.wire_id(entity, label)}"))


def inflow_by_ids(w: World, level: str, entity: str) -> set[str]:
    wire = [w.wire_id(entity, label) for label in w.records[entity]]
    response = w.inflow(level).post("/api/records/getByIds", json={"module": INFLOW_MODULES[entity], "ids": wire})
    if ok(response, 200, 403).status_code == 403:
        return set()
    return _decoded(w, entity, [r["id"] for r in response.json()["data"]])


def _inflow_by_id(w: World, level: str, entity: str, endpoint: str, reached: Callable[[Any], bool]) -> set[str]:
    """The labels for which an InflowCRM endpoint, filtered on one record's id, answered data that `reached`."""
    client, module = w.inflow(level), INFLOW_MODULES[entity]
    hits = set()
    for label in w.records[entity]:
        response = ok(client.post(endpoint, json={"module": module, "filters": {"id": w.wire_id(entity, label)}}),
                      200, 403)
        if response.status_code == 200 and reached(response.json()["data"]):
            hits.add(label)
    return hits


def inflow_count(w: World, level: str, entity: str) -> set[str]:
    return _inflow_by_id(w, level, entity, "/api/records/count", lambda data: data["count"] == 1)


def inflow_find(w: World, level: str, entity: str) -> set[str]:
    return _inflow_by_id(w, level, entity, "/api/findRecord", lambda data: data is not None)


def inflow_update(w: World, level: str, entity: str) -> set[str]:
    client, module = w.inflow(level), INFLOW_MODULES[entity]
    return _each(w, entity, lambda label, _: client.patch(f"/api/updateRecord/{w.wire_id(entity, label)}", json={
        "module": module, "data": {text_field(entity): level}}), (200, 403, 404))


def inflow_delete(w: World, level: str, entity: str) -> set[str]:
    client, module = w.inflow(level), INFLOW_MODULES[entity]
    return {label for label, i in w.throwaway(entity).items()
            if ok(client.delete(f"/api/{module}/{encode_id(entity, int(i))}"), 204, 403, 404).status_code == 204}


def inflow_files(w: World, level: str, entity: str) -> set[str]:
    client, module = w.inflow(level), INFLOW_MODULES[entity]
    return _each(w, entity, lambda label, _: client.get(f"/api/{module}/{w.wire_id(entity, label)}/files"),
                 (200, 403, 404))


ALL_ENTITIES = ENTITIES
# path -> (function, the entity types it applies to)
PATHS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "espo list": (espo_list, ALL_ENTITIES),
    "espo list filtered, total": (espo_list_filtered_and_counted, ALL_ENTITIES),
    "espo text search": (espo_text_search, ALL_ENTITIES),
    "espo read": (espo_read, ALL_ENTITIES),
    "espo update": (espo_update, ALL_ENTITIES),
    "espo delete": (espo_delete, ALL_ENTITIES),
    "espo mass update by ids": (espo_mass_update_by_ids, ALL_ENTITIES),
    "espo mass update by where": (espo_mass_update_by_where, ALL_ENTITIES),
    "espo legacy mass update": (espo_legacy_mass_update, ALL_ENTITIES),
    "espo mass delete": (espo_mass_delete, ALL_ENTITIES),
    "espo stream": (espo_stream, STREAM_ENTITIES),
    "espo post note": (espo_post_note, STREAM_ENTITIES),
    "espo follow": (espo_follow, STREAM_ENTITIES),
    "espo mass follow": (espo_mass_follow, STREAM_ENTITIES),
    "espo followers": (espo_followers, STREAM_ENTITIES),
    "espo duplicate check": (espo_duplicates, DUPLICATE_CHECKED),
    "espo convert attributes": (espo_convert_attributes, ("Lead",)),
    "inflow search": (inflow_search, tuple(INFLOW_MODULES)),
    "inflow read": (inflow_read, tuple(INFLOW_MODULES)),
    "inflow getByIds": (inflow_by_ids, tuple(INFLOW_MODULES)),
    "inflow count": (inflow_count, tuple(INFLOW_MODULES)),
    "inflow findRecord": (inflow_find, tuple(INFLOW_MODULES)),
    "inflow update": (inflow_update, tuple(INFLOW_MODULES)),
    "inflow delete": (inflow_delete, tuple(INFLOW_MODULES)),
    "inflow files": (inflow_files, tuple(INFLOW_MODULES)),
}
CASES = [(entity, path) for path, (_, entities) in PATHS.items() for entity in entities]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("entity,path", CASES, ids=[f"{e}-{p}" for e, p in CASES])
def test_each_path_reaches_exactly_what_the_level_allows(world: World, entity: str, path: str, level: str) -> None:
    reach, _ = PATHS[path]
    assert reach(world, level, entity) == VISIBLE[level]

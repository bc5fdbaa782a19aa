"""Data contracts over HTTP: ``metadata`` and ``ruleSet`` stored with each version, in
its identity, merged with the config's defaults and overrides and inherited from the
previous version as Confluent's registry does; ``GET /subjects/{s}/metadata``. On SQLite
and PostgreSQL (the ``client`` fixture)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from registry_service.app import create_app
from registry_service.settings import Settings
from tests.integration.registry.test_api import USER_V1, USER_V2, error, register

# USER_V2 and one more optional field: BACKWARD-compatible with both
USER_V3 = json.dumps(
    {
        **json.loads(USER_V2),
        "fields": [
            *json.loads(USER_V2)["fields"],
            {"name": "nickname", "type": ["null", "string"], "default": None},
        ],
    }
)

OWNER_A = {"properties": {"owner": "team-a", "app.version": "1"}, "tags": {"name": ["PII"]}}
CHECK_NAME = {
    "name": "nameNotEmpty",
    "kind": "CONDITION",
    "mode": "WRITE",
    "type": "CEL",
    "expr": "message.name != ''",
}
RULES = {"domainRules": [CHECK_NAME]}


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_metadata_and_rules_are_stored_and_served_everywhere(client: TestClient) -> None:
    answer = ok(register(client, "dc", USER_V1, metadata=OWNER_A, ruleSet=RULES))
    stored_metadata = {
        "properties": {"app.version": "1", "owner": "team-a"},
        "tags": {"name": ["PII"]},
    }
    stored_rule = {**CHECK_NAME, "disabled": False}
    # the register answer (Confluent 7.5+) carries both
    assert answer["metadata"] == stored_metadata
    assert answer["ruleSet"] == {"domainRules": [stored_rule]}
    schema_id = answer["id"]
    version = ok(client.get("/subjects/dc/versions/1"))
    by_id = ok(client.get(f"/schemas/ids/{schema_id}"))
    looked_up = ok(client.post("/subjects/dc", json={"schema": USER_V1}))
    for body in (version, by_id, looked_up):
        assert body["metadata"] == stored_metadata
        assert body["ruleSet"]["domainRules"] == [stored_rule]
    # Confluent's field order for a rule
    assert list(version["ruleSet"]["domainRules"][0]) == [
        "name",
        "kind",
        "mode",
        "type",
        "expr",
        "disabled",
    ]
    # a version without a contract has neither key
    plain = ok(register(client, "plain", USER_V1))
    assert "metadata" not in ok(client.get("/subjects/plain/versions/1"))
    assert "ruleSet" not in ok(client.get(f"/schemas/ids/{plain['id']}"))


def test_the_contract_is_part_of_the_identity(client: TestClient) -> None:
    first = ok(register(client, "idn", USER_V1, metadata=OWNER_A))
    # the same metadata spelt in another order is the same schema
    reordered = {"tags": {"name": ["PII"]}, "properties": {"app.version": "1", "owner": "team-a"}}
    assert ok(register(client, "idn", USER_V1, metadata=reordered))["version"] == 1
    # other metadata: another schema, another id, a new version of the same subject
    other = ok(register(client, "idn", USER_V1, metadata={"properties": {"owner": "team-b"}}))
    assert (other["version"], other["id"] != first["id"]) == (2, True)
    # the same text without any contract, in another subject, is a third id
    plain = ok(register(client, "idn-plain", USER_V1))
    assert plain["id"] not in (first["id"], other["id"])
    # looking up with a contract finds only the version with exactly that contract
    found = ok(client.post("/subjects/idn", json={"schema": USER_V1, "metadata": OWNER_A}))
    assert found["version"] == 1
    missing = client.post(
        "/subjects/idn", json={"schema": USER_V1, "metadata": {"properties": {"x": "y"}}}
    )
    error(missing, 404, 40403)


def test_a_plain_client_finds_the_version_registered_with_a_contract(client: TestClient) -> None:
    """A serializer that knows nothing of data contracts (auto-registering on start-up)
    gets the version CI registered with metadata, not a new one (Confluent's lookup)."""
    with_contract = ok(register(client, "ci", USER_V1, metadata=OWNER_A, ruleSet=RULES))
    again = ok(register(client, "ci", USER_V1))
    assert (again["id"], again["version"]) == (with_contract["id"], 1)
    assert ok(client.post("/subjects/ci", json={"schema": USER_V1}))["id"] == with_contract["id"]
    assert ok(client.get("/subjects/ci/versions")) == [1]


def test_a_new_version_inherits_the_previous_contract(client: TestClient) -> None:
    ok(register(client, "inh", USER_V1, metadata=OWNER_A, ruleSet=RULES))
    second = ok(register(client, "inh", USER_V2))
    assert second["version"] == 2
    assert second["metadata"]["properties"]["owner"] == "team-a"
    assert second["ruleSet"]["domainRules"][0]["name"] == "nameNotEmpty"
    # a request's own metadata replaces the inherited one (rules still inherited)
    third = ok(register(client, "inh", USER_V3, metadata={"properties": {"owner": "team-c"}}))
    assert third["metadata"] == {"properties": {"owner": "team-c"}}
    assert third["ruleSet"] == second["ruleSet"]


def test_config_defaults_and_overrides_are_merged(client: TestClient) -> None:
    put = client.put(
        "/config/merged",
        json={
            "defaultMetadata": {"properties": {"owner": "default", "tier": "gold"}},
            "overrideMetadata": {"properties": {"owner": "override"}, "sensitive": ["ssn"]},
            "defaultRuleSet": {"domainRules": [CHECK_NAME]},
            "overrideRuleSet": {
                "domainRules": [{**CHECK_NAME, "expr": "size(message.name) > 1"}],
                "migrationRules": [{"name": "up", "type": "JSONATA", "mode": "UPGRADE"}],
            },
        },
    )
    assert ok(put)["defaultMetadata"] == {"properties": {"owner": "default", "tier": "gold"}}
    config = ok(client.get("/config/merged"))
    assert config["overrideMetadata"]["sensitive"] == ["ssn"]
    assert config["overrideRuleSet"]["migrationRules"][0]["name"] == "up"
    # the level is untouched by a PUT that sets only contract fields
    assert ok(client.get("/config/merged?defaultToGlobal=true"))["compatibilityLevel"] == "BACKWARD"

    body = ok(
        register(client, "merged", USER_V1, metadata={"properties": {"owner": "me", "app": "x"}})
    )
    # default < request < override, key by key
    assert body["metadata"] == {
        "properties": {"app": "x", "owner": "override", "tier": "gold"},
        "sensitive": ["ssn"],
    }
    # rules merge by name: the override's nameNotEmpty replaces the default's
    assert [r["expr"] for r in body["ruleSet"]["domainRules"]] == ["size(message.name) > 1"]
    assert body["ruleSet"]["migrationRules"][0]["mode"] == "UPGRADE"
    # a later PUT replaces only the fields it names
    ok(client.put("/config/merged", json={"compatibility": "NONE"}))
    assert ok(client.get("/config/merged"))["defaultMetadata"]["properties"]["tier"] == "gold"
    # the global config's defaults apply to subjects without their own
    ok(client.put("/config", json={"defaultMetadata": {"properties": {"org": "acme"}}}))
    other = ok(register(client, "elsewhere", USER_V1))
    assert other["metadata"] == {"properties": {"org": "acme"}}
    assert ok(client.get("/config"))["defaultMetadata"] == {"properties": {"org": "acme"}}


def test_an_explicit_version_sets_confluent_version(client: TestClient) -> None:
    body = ok(register(client, "cv", USER_V1, version=1, metadata={"properties": {"a": "b"}}))
    assert body["metadata"]["properties"] == {"a": "b", "confluent:version": "1"}
    # once present it follows the version number
    second = ok(register(client, "cv", USER_V2))
    assert second["metadata"]["properties"]["confluent:version"] == "2"


def test_latest_with_metadata_picks_the_newest_matching_version(client: TestClient) -> None:
    one = ok(register(client, "lwm", USER_V1, metadata={"properties": {"app.major": "1"}}))
    two = ok(register(client, "lwm", USER_V2, metadata={"properties": {"app.major": "2"}}))
    ok(register(client, "lwm", USER_V3, metadata={"properties": {"app.major": "1", "b": "c"}}))
    newest_one = ok(client.get("/subjects/lwm/metadata?key=app.major&value=1"))
    assert newest_one["version"] == 3
    assert ok(client.get("/subjects/lwm/metadata?key=app.major&value=2"))["id"] == two["id"]
    both = ok(client.get("/subjects/lwm/metadata?key=app.major&value=1&key=b&value=c"))
    assert both["version"] == 3
    error(client.get("/subjects/lwm/metadata?key=app.major&value=9"), 404, 40403)
    # soft-deleted versions match only with deleted=true
    assert client.delete("/subjects/lwm/versions/3").status_code == 200
    assert ok(client.get("/subjects/lwm/metadata?key=app.major&value=1"))["id"] == one["id"]
    deleted = ok(client.get("/subjects/lwm/metadata?key=app.major&value=1&deleted=true"))
    assert deleted["version"] == 3
    error(client.get("/subjects/nobody/metadata?key=a&value=b"), 404, 40401)


def test_invalid_contracts_are_refused_and_store_nothing(client: TestClient) -> None:
    bad_rule_sets = {
        "a rule without a type": {"domainRules": [{"name": "r1"}]},
        "a bad name": {"domainRules": [{"name": "1st", "type": "CEL"}]},
        "a name with a dash": {"domainRules": [{"name": "no-dash", "type": "CEL"}]},
        "a duplicate name": {"domainRules": [CHECK_NAME, CHECK_NAME]},
        "a migration mode in the domain rules": {
            "domainRules": [{"name": "up", "type": "CEL", "mode": "UPGRADE"}]
        },
        "an unknown kind": {"domainRules": [{"name": "k", "type": "CEL", "kind": "OTHER"}]},
        "rules not in a list": {"domainRules": CHECK_NAME},
    }
    for why, rule_set in bad_rule_sets.items():
        message = error(register(client, "bad", USER_V1, ruleSet=rule_set), 422, 42210)
        assert message.startswith("Invalid rule set"), why
    bad_metadata = [
        {"properties": {"owner": 1}},
        {"tags": {"name": "PII"}},
        {"sensitive": "ssn"},
        "not an object",
    ]
    for metadata in bad_metadata:
        error(register(client, "bad", USER_V1, metadata=metadata), 422, 42201)
    error(client.put("/config/bad", json={"defaultRuleSet": {"domainRules": [{}]}}), 422, 42210)
    error(client.get("/subjects/bad/versions"), 404, 40401)
    error(client.get("/config/bad"), 404, 40408)


def test_a_layout_1_database_gains_the_contract_columns(tmp_path: Path) -> None:
    """A database written before data contracts opens, keeps its schemas and ids, and
    stores contracts afterwards (migration step 2)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    with TestClient(create_app(Settings(database_url=url))) as client:
        old = ok(register(client, "old", USER_V1))
    with sqlite3.connect(tmp_path / "old.db") as db:  # back to layout 1
        db.execute("ALTER TABLE schemas DROP COLUMN data_contract")
        db.execute("ALTER TABLE configs DROP COLUMN data_contract")
        db.execute("UPDATE registry_state SET schema_version = 1")
    with TestClient(create_app(Settings(database_url=url))) as client:
        assert ok(client.get(f"/schemas/ids/{old['id']}"))["schema"]
        assert ok(register(client, "old", USER_V1))["id"] == old["id"]
        new = ok(register(client, "old", USER_V2, metadata={"properties": {"k": "v"}}))
        assert ok(client.get(f"/schemas/ids/{new['id']}"))["metadata"] == {"properties": {"k": "v"}}
    with sqlite3.connect(tmp_path / "old.db") as db:
        assert db.execute("SELECT schema_version FROM registry_state").fetchone() == (3,)

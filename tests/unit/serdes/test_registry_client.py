"""Registry client logic: retries, backoff, caches, error mapping, URL building.

These use ``httpx.MockTransport`` to script answers a real registry cannot be made to
give on cue (a 503 then a 200, a dropped connection). They say nothing about
compatibility with a real registry: tests/integration/serdes covers that.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable

import httpx
import pytest

from serdes.data_contracts import Metadata, RuleSet
from serdes.errors import (
    IncompatibleSchemaError,
    RegistryError,
    RegistryUnavailableError,
    SchemaNotFoundError,
    SerializationError,
    SubjectNotFoundError,
)
from serdes.registry_client import (
    AsyncSchemaRegistryClient,
    SchemaReference,
    SchemaRegistryClient,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_client(
    handler: Handler, *, clock: FakeClock | None = None, **kwargs: object
) -> tuple[SchemaRegistryClient, list[float]]:
    sleeps: list[float] = []
    client = SchemaRegistryClient(
        kwargs.pop("url", "http://registry:8081"),  # type: ignore[arg-type]
        transport=httpx.MockTransport(handler),
        sleep_s=sleeps.append,
        clock_s=clock or FakeClock(),
        **kwargs,  # type: ignore[arg-type]
    )
    return client, sleeps


def error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error_code": code, "message": message})


def test_register_sends_confluent_body_and_caches() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 3})

    client, _ = make_client(handler)
    ref = SchemaReference("common/a.proto", "common/a.proto", 2)
    assert client.register_schema("orders-value", "syntax...", "PROTOBUF", [ref]) == 3
    assert client.register_schema("orders-value", "syntax...", "PROTOBUF", [ref]) == 3
    assert len(seen) == 1
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/subjects/orders-value/versions"
    assert request.url.params["normalize"] == "false"
    assert request.headers["content-type"] == "application/vnd.schemaregistry.v1+json"
    assert json.loads(request.content) == {
        "schema": "syntax...",
        "schemaType": "PROTOBUF",
        "references": [{"name": "common/a.proto", "subject": "common/a.proto", "version": 2}],
    }
    # a different subject or normalize flag is a different cache entry
    client.register_schema("other-value", "syntax...", "PROTOBUF", [ref])
    client.register_schema("orders-value", "syntax...", "PROTOBUF", [ref], normalize=True)
    assert len(seen) == 3
    assert seen[2].url.params["normalize"] == "true"


def test_subject_with_slash_is_percent_encoded() -> None:
    raw_paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        raw_paths.append(request.url.raw_path)
        return httpx.Response(
            200, json={"id": 1, "version": 4, "subject": "common/address.proto", "schema": "x"}
        )

    client, _ = make_client(handler)
    client.lookup_schema("common/address.proto", "x", "PROTOBUF")
    assert raw_paths[0].startswith(b"/subjects/common%2Faddress.proto?")


def test_errors_carry_registry_code_and_are_typed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/schemas/ids/"):
            return error(404, 40403, "Schema 99 not found")
        if request.url.path.endswith("/versions/latest"):
            return error(404, 40401, "Subject 'nope' not found.")
        return error(409, 40901, 'Schema being registered is incompatible, details: ["f"]')

    client, sleeps = make_client(handler)
    with pytest.raises(SchemaNotFoundError) as not_found:
        client.get_schema(99)
    assert (not_found.value.http_status, not_found.value.error_code) == (404, 40403)
    assert "Schema 99 not found" in str(not_found.value)
    with pytest.raises(SubjectNotFoundError):
        client.get_latest_version("nope")
    with pytest.raises(IncompatibleSchemaError) as incompatible:
        client.register_schema("s", "{}")
    assert isinstance(incompatible.value, RegistryError)
    assert isinstance(incompatible.value, SerializationError)
    assert not incompatible.value.retriable
    assert sleeps == []  # 4xx is never retried


def test_non_json_error_body_gets_code_minus_one() -> None:
    client, _ = make_client(lambda r: httpx.Response(403, text="<html>forbidden</html>"))
    with pytest.raises(RegistryError) as info:
        client.get_subjects()
    assert info.value.error_code == -1
    assert info.value.http_status == 403
    assert "forbidden" in info.value.message


def test_retries_5xx_with_capped_full_jitter_backoff() -> None:
    answers = [error(503, 50003, "forwarding failed"), error(500, 50001, "store"), None]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        return answer or httpx.Response(200, json=["a"])

    client, sleeps = make_client(handler, retry_backoff_ms=100, retry_backoff_max_ms=150)
    assert client.get_subjects() == ["a"]
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.1
    assert 0 <= sleeps[1] <= 0.15  # 200 ms capped at 150


def test_retries_connection_errors_then_gives_up() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    client, sleeps = make_client(handler, max_retries=2)
    with pytest.raises(RegistryUnavailableError) as info:
        client.get_schema(1)
    assert calls == 3
    assert len(sleeps) == 2
    assert info.value.http_status is None
    assert info.value.retriable
    assert "connection refused" in str(info.value)
    assert "/schemas/ids/1" in str(info.value)


def test_exhausted_5xx_surfaces_the_last_answer() -> None:
    client, _ = make_client(lambda r: error(500, 50001, "store down"), max_retries=1)
    with pytest.raises(RegistryUnavailableError) as info:
        client.get_subjects()
    assert (info.value.http_status, info.value.error_code) == (500, 50001)


def test_fails_over_to_the_next_url() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "a":
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(200, json=[])

    client, _ = make_client(handler, url="http://a:1, http://b:2")
    assert client.get_subjects() == []
    assert hosts == ["a", "b"]


def test_schema_by_id_cached_forever_per_format() -> None:
    calls: list[str] = []
    descriptor = base64.b64encode(b"\x0a\x01x").decode()

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        if request.url.params.get("format") == "serialized":
            return httpx.Response(200, json={"schema": descriptor, "schemaType": "PROTOBUF"})
        return httpx.Response(200, json={"schema": "syntax = 'proto3';", "schemaType": "PROTOBUF"})

    clock = FakeClock()
    client, _ = make_client(handler, clock=clock)
    text = client.get_schema(5)
    clock.now += 10**6
    assert client.get_schema(5) is text
    assert client.get_schema(5, fmt="serialized").schema_str == descriptor
    assert client.get_schema(5, fmt="serialized").schema_type == "PROTOBUF"
    assert len(calls) == 2


def test_avro_schema_type_defaults_when_absent() -> None:
    client, _ = make_client(lambda r: httpx.Response(200, json={"schema": '"string"'}))
    schema = client.get_schema(1)
    assert (schema.schema_type, schema.references) == ("AVRO", ())


def test_latest_version_cached_for_ttl() -> None:
    versions = iter([1, 2])

    def handler(request: httpx.Request) -> httpx.Response:
        version = next(versions)
        return httpx.Response(
            200, json={"id": 10 + version, "version": version, "subject": "s", "schema": "{}"}
        )

    clock = FakeClock()
    client, _ = make_client(handler, clock=clock, latest_ttl_s=30)
    assert client.get_latest_version("s").version == 1
    clock.now += 29.9
    assert client.get_version("s", "latest").version == 1
    clock.now += 0.1
    latest = client.get_latest_version("s")
    assert (latest.version, latest.schema_id) == (2, 12)
    # the fixed version learnt from "latest" is cached without expiry
    clock.now += 10**6
    assert client.get_version("s", 2) == latest


def test_delete_subject_forgets_cached_registrations() -> None:
    registrations = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal registrations
        if request.method == "DELETE":
            assert request.url.params.get("permanent") == "true"
            return httpx.Response(200, json=[1])
        registrations += 1
        return httpx.Response(200, json={"id": 1})

    client, _ = make_client(handler)
    client.register_schema("s", "{}")
    assert client.delete_subject("s", permanent=True) == [1]
    client.register_schema("s", "{}")
    assert registrations == 2


def test_compatibility_and_config_calls() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/compatibility/subjects/s/versions/latest":
            assert request.url.params["verbose"] == "true"
            return httpx.Response(200, json={"is_compatible": False, "messages": ["f gone"]})
        if path == "/compatibility/subjects/s/versions":
            return httpx.Response(200, json={"is_compatible": True})
        if request.method == "PUT":
            assert json.loads(request.content) == {"compatibility": "FULL"}
            return httpx.Response(200, json={"compatibility": "FULL"})
        return httpx.Response(200, json={"compatibilityLevel": "BACKWARD"})

    client, _ = make_client(handler)
    assert client.test_compatibility("s", "{}") == (False, ["f gone"])
    assert client.test_compatibility("s", "{}", version=None) == (True, [])
    assert client.get_compatibility() == "BACKWARD"
    assert client.get_compatibility("s") == "BACKWARD"
    assert client.set_compatibility("s", "full") == "FULL"
    with pytest.raises(ValueError, match="needs a level"):
        client.set_compatibility("s")


def test_basic_auth_and_accept_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    client, _ = make_client(handler, auth=("user", "secret"))
    client.get_subjects(deleted=True)
    expected = "Basic " + base64.b64encode(b"user:secret").decode()
    assert seen[0].headers["authorization"] == expected
    assert "application/vnd.schemaregistry.v1+json" in seen[0].headers["accept"]
    assert seen[0].url.params["deleted"] == "true"


@pytest.mark.parametrize("url", ["", "registry:8081", "ftp://x"])
def test_bad_urls_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="url"):
        SchemaRegistryClient(url)


def test_async_client_retries_and_caches() -> None:
    answers = [error(502, -1, "bad gateway")]
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if answers:
            return answers.pop(0)
        return httpx.Response(200, json={"id": 8})

    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def run() -> tuple[int, int]:
        async with AsyncSchemaRegistryClient(
            "http://registry",
            transport=httpx.MockTransport(handler),
            sleep_s=fake_sleep,
        ) as client:
            first = await client.register_schema("s", "{}")
            second = await client.register_schema("s", "{}")
            with pytest.raises(SchemaNotFoundError):
                answers.append(error(404, 40403, "Schema not found"))
                await client.lookup_schema("s", "{other}")
            return first, second

    assert asyncio.run(run()) == (8, 8)
    assert len(sleeps) == 1
    assert calls == 3


CONTRACT = {
    "metadata": {"properties": {"app.major": "2"}, "tags": {"User.ssn": ["PII"]}},
    "ruleSet": {
        "domainRules": [
            {"name": "r", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": "true"}
        ]
    },
}


def test_register_sends_the_data_contract_and_keeps_it_apart_in_the_cache() -> None:
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"id": len(bodies)})

    client, _ = make_client(handler)
    metadata = Metadata.from_json(CONTRACT["metadata"])
    rule_set = RuleSet.from_json(CONTRACT["ruleSet"])
    assert client.register_schema("s", "{}", metadata=metadata, rule_set=rule_set) == 1
    assert client.register_schema("s", "{}", metadata=metadata, rule_set=rule_set) == 1
    assert client.register_schema("s", "{}") == 2  # no contract: another cache entry
    assert bodies[0]["metadata"] == {
        "tags": {"User.ssn": ["PII"]},
        "properties": {"app.major": "2"},
    }
    assert bodies[0]["ruleSet"]["domainRules"][0]["name"] == "r"  # type: ignore[index]
    assert "metadata" not in bodies[1] and "ruleSet" not in bodies[1]


def test_latest_with_metadata_sends_key_value_pairs_parses_and_caches_for_ttl() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"id": 7, "version": 2, "subject": "s", "schema": "{}", **CONTRACT}
        )

    clock = FakeClock()
    client, _ = make_client(handler, clock=clock, latest_ttl_s=30)
    found = client.get_latest_with_metadata("s", {"app.major": "2", "owner": "x"})
    assert (found.schema_id, found.version) == (7, 2)
    assert found.metadata is not None and found.metadata.properties == {"app.major": "2"}
    assert found.rule_set is not None and found.rule_set.domain_rules[0].expr == "true"
    request = seen[0]
    assert request.url.path == "/subjects/s/metadata"
    assert request.url.params.get_list("key") == ["app.major", "owner"]
    assert request.url.params.get_list("value") == ["2", "x"]
    assert request.url.params["deleted"] == "false"
    # the same pairs in another order are the same query
    assert client.get_latest_with_metadata("s", {"owner": "x", "app.major": "2"}) == found
    assert len(seen) == 1
    client.get_latest_with_metadata("s", {"app.major": "2"}, deleted=True)
    assert len(seen) == 2 and seen[1].url.params["deleted"] == "true"
    clock.now += 30
    client.get_latest_with_metadata("s", {"app.major": "2", "owner": "x"})
    assert len(seen) == 3


def test_async_latest_with_metadata() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if request.url.params.get("value") == "9":
            return error(404, 40403, "Schema not found")
        return httpx.Response(
            200, json={"id": 7, "version": 2, "subject": "s", "schema": "{}", **CONTRACT}
        )

    async def run() -> int:
        async with AsyncSchemaRegistryClient(
            "http://registry", transport=httpx.MockTransport(handler)
        ) as client:
            first = await client.get_latest_with_metadata("s", {"app.major": "2"})
            again = await client.get_latest_with_metadata("s", {"app.major": "2"})
            assert first == again and first.rule_set is not None
            with pytest.raises(SchemaNotFoundError):
                await client.get_latest_with_metadata("s", {"app.major": "9"})
            return first.schema_id

    assert asyncio.run(run()) == 7
    assert calls == 2

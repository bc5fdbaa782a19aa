"""The httpx registry client against a real registry process, checked with confluent-kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema as CkSchema
from confluent_kafka.schema_registry import SchemaRegistryClient as CkSchemaRegistryClient

from regcast.local_broker import free_port
from serdes import AsyncSchemaRegistryClient, SchemaRegistryClient
from serdes.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    InvalidVersionError,
    RegistryError,
    RegistryUnavailableError,
    SchemaNotFoundError,
    SubjectNotFoundError,
    VersionNotFoundError,
)
from tests.integration.serdes.registry_proxy import RegistryProxy


def avro(*fields: tuple[str, str], name: str = "Thing") -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "fields": [{"name": n, "type": t} for n, t in fields],
        }
    )


def test_register_get_lookup_round_trip(
    client: SchemaRegistryClient, ck_client: CkSchemaRegistryClient, topic: str
) -> None:
    subject = f"{topic}-value"
    schema = avro(("a", "long"))
    schema_id = client.register_schema(subject, schema)
    assert client.register_schema(subject, schema) == schema_id
    # confluent-kafka's client sees the same registration
    assert ck_client.register_schema(subject, CkSchema(schema, "AVRO")) == schema_id
    assert ck_client.get_schema(schema_id).schema_type == "AVRO"

    fetched = client.get_schema(schema_id)
    assert json.loads(fetched.schema_str) == json.loads(ck_client.get_schema(schema_id).schema_str)
    assert fetched.schema_type == "AVRO"
    found = client.lookup_schema(subject, schema)
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, subject)
    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version) == (schema_id, 1)
    assert client.get_version(subject, 1) == latest
    assert client.get_versions(subject) == [1]
    assert subject in client.get_subjects()

    # the same schema under another subject keeps its id
    assert client.register_schema(f"{topic}-key", schema) == schema_id


def test_errors_carry_the_registry_error_code(client: SchemaRegistryClient, topic: str) -> None:
    subject = f"{topic}-value"
    with pytest.raises(SubjectNotFoundError) as missing:
        client.get_latest_version(subject)
    assert (missing.value.http_status, missing.value.error_code) == (404, 40401)
    with pytest.raises(SchemaNotFoundError) as unknown:
        client.get_schema(10**9)
    assert unknown.value.error_code == 40403
    with pytest.raises(InvalidSchemaError) as invalid:
        client.register_schema(subject, '{"type": "record", "name": "X"}')
    assert (invalid.value.http_status, invalid.value.error_code) == (422, 42201)
    client.register_schema(subject, avro(("a", "long")))
    with pytest.raises(VersionNotFoundError) as no_version:
        client.get_version(subject, 7)
    assert no_version.value.error_code == 40402
    with pytest.raises(InvalidVersionError) as bad_version:
        client.get_version(subject, 0)
    assert bad_version.value.error_code == 42202
    with pytest.raises(SchemaNotFoundError):
        client.lookup_schema(subject, avro(("b", "long")))
    with pytest.raises(IncompatibleSchemaError) as incompatible:
        client.register_schema(subject, avro(("a", "long"), ("b", "string")))
    assert incompatible.value.http_status == 409
    assert "b" in incompatible.value.message


def test_compatibility_and_config(client: SchemaRegistryClient, topic: str) -> None:
    subject = f"{topic}-value"
    client.register_schema(subject, avro(("a", "long")))
    assert client.test_compatibility(subject, avro(("a", "long"), ("b", "string")))[0] is False
    ok, messages = client.test_compatibility(subject, avro(("a", "long")))
    assert ok and messages == []
    assert client.set_compatibility(subject, "none") == "NONE"
    assert client.get_compatibility(subject) == "NONE"
    assert client.test_compatibility(subject, avro(("a", "long"), ("b", "string")))[0] is True
    assert client.get_compatibility() in {
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
        "NONE",
    }


def test_delete_subject_soft_then_hard(client: SchemaRegistryClient, topic: str) -> None:
    subject = f"{topic}-value"
    schema_id = client.register_schema(subject, avro(("a", "long")))
    assert client.delete_subject(subject) == [1]
    assert subject not in client.get_subjects()
    assert subject in client.get_subjects(deleted=True)
    assert client.delete_subject(subject, permanent=True) == [1]
    # re-registering the same content gives back the same id (ids are never reused)
    assert client.register_schema(subject, avro(("a", "long"))) == schema_id


def test_subject_with_slash(client: SchemaRegistryClient, topic: str) -> None:
    subject = f"{topic}/common/address.proto"
    schema_id = client.register_schema(subject, avro(("a", "long")))
    assert client.get_latest_version(subject).schema_id == schema_id
    assert client.lookup_schema(subject, avro(("a", "long"))).version == 1


def test_unreachable_registry_is_retried_then_reported() -> None:
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{free_port()}"
    client = SchemaRegistryClient(url, max_retries=2, sleep_s=sleeps.append)
    with client, pytest.raises(RegistryUnavailableError) as info:
        client.get_subjects()
    assert len(sleeps) == 2
    assert info.value.http_status is None
    assert url in str(info.value)


def test_async_client(serdes_registry: str, topic: str) -> None:
    subject = f"{topic}-value"

    async def run() -> None:
        async with AsyncSchemaRegistryClient(serdes_registry) as client:
            schema_id = await client.register_schema(subject, avro(("a", "long")))
            results = await asyncio.gather(
                client.get_schema(schema_id),
                client.get_latest_version(subject),
                client.lookup_schema(subject, avro(("a", "long"))),
                client.get_versions(subject),
            )
            assert results[1].schema_id == schema_id
            assert results[2].version == 1
            assert results[3] == [1]
            assert subject in await client.get_subjects()
            with pytest.raises(SubjectNotFoundError):
                await client.get_latest_version(subject + "-missing")
            assert (await client.test_compatibility(subject, avro(("a", "long"))))[0]
            await client.set_compatibility(subject, "FULL")
            assert await client.get_compatibility(subject) == "FULL"
            assert await client.delete_subject(subject) == [1]

    asyncio.run(run())


# -- retries, auth: through RegistryProxy, every real answer from the real registry ------


@pytest.fixture
def proxy(serdes_registry: str) -> Iterator[RegistryProxy]:
    with RegistryProxy(serdes_registry) as running:
        yield running


def test_5xx_answers_are_retried_with_backoff(proxy: RegistryProxy, topic: str) -> None:
    sleeps: list[float] = []
    with SchemaRegistryClient(
        proxy.url, max_retries=3, retry_backoff_ms=40, sleep_s=sleeps.append
    ) as client:
        proxy.fail_next(2, status=503, error_code=50003)
        schema_id = client.register_schema(f"{topic}-value", avro(("a", "long")))
    # two injected 503s, then the real registration: three POSTs, two backoffs
    assert [m for m, _ in proxy.requests] == ["POST", "POST", "POST"]
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.04 and 0 <= sleeps[1] <= 0.08  # full jitter, doubling cap
    with SchemaRegistryClient(proxy.url) as fresh:
        assert fresh.get_latest_version(f"{topic}-value").schema_id == schema_id


def test_dropped_connections_are_retried(proxy: RegistryProxy, topic: str) -> None:
    sleeps: list[float] = []
    with SchemaRegistryClient(proxy.url, max_retries=2, sleep_s=sleeps.append) as client:
        schema_id = client.register_schema(f"{topic}-value", avro(("a", "long")))
        proxy.drop_next(2)
        assert client.get_schema(schema_id).schema_type == "AVRO"
    assert len(sleeps) == 2
    assert [p.split("?")[0] for _, p in proxy.requests[1:]] == [f"/schemas/ids/{schema_id}"] * 3


def test_exhausted_retries_report_the_last_answer(proxy: RegistryProxy) -> None:
    sleeps: list[float] = []
    with SchemaRegistryClient(proxy.url, max_retries=1, sleep_s=sleeps.append) as client:
        proxy.fail_next(2, status=500, error_code=50001)
        with pytest.raises(RegistryUnavailableError) as info:
            client.get_subjects()
    assert (info.value.http_status, info.value.error_code) == (500, 50001)
    assert info.value.retriable
    assert len(sleeps) == 1
    assert len(proxy.requests) == 2


def test_async_client_retries_5xx(proxy: RegistryProxy, topic: str) -> None:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def run() -> int:
        async with AsyncSchemaRegistryClient(proxy.url, sleep_s=fake_sleep) as client:
            proxy.fail_next(1, status=502, error_code=-1)
            return await client.register_schema(f"{topic}-value", avro(("a", "long")))

    schema_id = asyncio.run(run())
    assert len(sleeps) == 1
    with SchemaRegistryClient(proxy.url) as client:
        assert client.get_latest_version(f"{topic}-value").schema_id == schema_id


def test_basic_auth(serdes_registry: str, topic: str) -> None:
    with RegistryProxy(serdes_registry, basic_auth=("alice", "s3cret")) as proxy:
        subject = f"{topic}-value"
        with SchemaRegistryClient(proxy.url, auth=("alice", "s3cret")) as client:
            schema_id = client.register_schema(subject, avro(("a", "long")))
        # credentials in the URL work too
        userinfo_url = proxy.url.replace("http://", "http://alice:s3cret@")
        with SchemaRegistryClient(userinfo_url) as client:
            assert client.get_latest_version(subject).schema_id == schema_id
        # confluent-kafka's client with the same credentials sees the same schema
        ck = CkSchemaRegistryClient({"url": proxy.url, "basic.auth.user.info": "alice:s3cret"})
        assert ck.get_latest_version(subject).schema_id == schema_id
        # wrong or missing credentials: the 401 is raised at once, not retried
        sleeps: list[float] = []
        for auth in (("alice", "wrong"), None):
            client = SchemaRegistryClient(proxy.url, auth=auth, sleep_s=sleeps.append)
            with client, pytest.raises(RegistryError) as info:
                client.get_subjects()
            assert (info.value.http_status, info.value.error_code) == (401, 40101)
            assert not info.value.retriable
        assert sleeps == []

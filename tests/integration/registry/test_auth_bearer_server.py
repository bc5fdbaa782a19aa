"""Bearer tokens end to end: a real registry process, real clients, the tests' issuer.

One registry process for the module (``serve_registry``, uvicorn, SQLite) with
``REGCAST_AUTH=basic,bearer`` trusting ``TokenEndpoint``: its JWKS over HTTP, its
client-credentials endpoint issuing RS256 tokens with a ``roles`` claim per client
(``ci`` -> admin, ``reader-app`` -> ``orders-readers``). Against it:

- confluent-kafka's own ``SchemaRegistryClient`` with ``bearer.auth.credentials.source``
  ``STATIC_TOKEN`` and ``OAUTHBEARER`` (it fetches from the token endpoint itself), and
  its AvroSerializer/AvroDeserializer round trip; a reader's token gets 403, an expired
  one 401;
- regcast's ``serdes.SchemaRegistryClient`` with ``StaticToken`` and
  ``OidcClientCredentials`` (refreshed before expiry, a wrong secret a typed error with
  no secret anywhere);
- ``regcast check`` with ``--registry-token`` / ``--registry-user`` and the
  ``REGCAST_REGISTRY_*`` variables, and refused (exit 2) without credentials.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from typer.testing import CliRunner

import serdes
from regcast.cli import app as cli
from regcast.local_broker import stop_process
from serdes.errors import RegistryAuthenticationError, RegistryAuthorizationError
from tests.integration.registry.auth_support import PASSWORDS, write_users_file
from tests.integration.registry.test_auth_server import ORDER
from tests.support.registry import serve_registry
from tests.support.token_endpoint import TokenEndpoint
from tests.unit.serdes.test_registry_client import FakeClock

AUDIENCE = "regcast-registry"
SECRETS = {"ci": "ci-secret-0451", "reader-app": "reader-secret-0452"}


class Server:
    def __init__(self, url: str, issuer: TokenEndpoint, log: Path) -> None:
        self.url, self.issuer, self.log = url, issuer, log


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("bearer-server")
    issuer = TokenEndpoint(
        clients=SECRETS,
        audience=AUDIENCE,
        lifetime_s=600,
        client_claims={"ci": {"roles": ["admin"]}, "reader-app": {"roles": ["orders-readers"]}},
    ).start()
    log = tmp / "registry.log"
    process, url = serve_registry(
        f"sqlite:///{tmp / 'registry.db'}",
        log,
        "--log-level",
        "debug",
        auth="basic,bearer",
        auth_file=str(write_users_file(tmp / "users.json")),
        auth_bearer_jwks_url=issuer.jwks_url,
        auth_bearer_issuer=issuer.issuer,
        auth_bearer_audience=AUDIENCE,
    )
    try:
        yield Server(url, issuer, log)
    finally:
        stop_process(process)
        issuer.close()


def confluent_static(url: str, token: str) -> SchemaRegistryClient:
    return SchemaRegistryClient(
        {
            "url": url,
            "bearer.auth.credentials.source": "STATIC_TOKEN",
            "bearer.auth.token": token,
            "bearer.auth.logical.cluster": "lsrc-regcast",  # required by the client
            "bearer.auth.identity.pool.id": "pool-regcast",
            "max.retries": 0,
        }
    )


def avro_round_trip(writer: SchemaRegistryClient, reader: SchemaRegistryClient) -> None:
    serializer = AvroSerializer(writer, ORDER, conf={"auto.register.schemas": True})
    context = SerializationContext("orders", MessageField.VALUE)
    payload = serializer({"id": 7}, context)
    assert payload is not None
    assert AvroDeserializer(reader)(payload, context) == {"id": 7}


def test_confluent_client_with_a_static_token(server: Server) -> None:
    admin = confluent_static(server.url, server.issuer.issue("ci", roles=["admin"]))
    schema_id = admin.register_schema("orders-value", Schema(ORDER, "AVRO"))
    reader = confluent_static(
        server.url, server.issuer.issue("reader-app", roles=["orders-readers"])
    )
    assert reader.get_schema(schema_id).schema_str is not None
    assert reader.get_latest_version("orders-value").schema_id == schema_id
    assert "orders-value" in reader.get_subjects()
    with pytest.raises(SchemaRegistryError) as denied:
        reader.register_schema("orders-value", Schema(ORDER, "AVRO"))
    assert (denied.value.http_status_code, denied.value.error_code) == (403, 40301)
    avro_round_trip(admin, reader)

    expired = confluent_static(server.url, server.issuer.issue("ci", lifetime_s=-600))
    with pytest.raises(SchemaRegistryError) as refused:
        expired.get_subjects()
    assert (refused.value.http_status_code, refused.value.error_code) == (401, 40101)
    assert "expired" in refused.value.error_message


def test_confluent_client_with_oauthbearer_client_credentials(server: Server) -> None:
    issued = len(server.issuer.issued)
    client = SchemaRegistryClient(
        {
            "url": server.url,
            "bearer.auth.credentials.source": "OAUTHBEARER",
            "bearer.auth.issuer.endpoint.url": server.issuer.url,
            "bearer.auth.client.id": "ci",
            "bearer.auth.client.secret": SECRETS["ci"],
            "bearer.auth.scope": "schema-registry",
            "bearer.auth.logical.cluster": "lsrc-regcast",
            "bearer.auth.identity.pool.id": "pool-regcast",
            "max.retries": 0,
        }
    )
    schema_id = client.register_schema("orders-oauth-value", Schema(ORDER, "AVRO"))
    assert client.get_latest_version("orders-oauth-value").schema_id == schema_id
    assert len(server.issuer.issued) > issued, "confluent-kafka fetched no token"
    avro_round_trip(client, client)


def test_serdes_client_with_a_static_token(server: Server) -> None:
    token = server.issuer.issue("ci", roles=["admin"])
    auth = serdes.StaticToken(token)
    assert token not in repr(auth)
    with serdes.SchemaRegistryClient(server.url, auth=auth, max_retries=0) as client:
        schema_id = client.register_schema("payments-value", ORDER)
        assert client.get_schema(schema_id).schema_str
    reader = serdes.StaticToken(server.issuer.issue("reader-app", roles=["orders-readers"]))
    with serdes.SchemaRegistryClient(server.url, auth=reader, max_retries=0) as client:
        with pytest.raises(RegistryAuthorizationError) as denied:
            client.get_versions("payments-value")
        assert (denied.value.http_status, denied.value.error_code) == (403, 40301)
    with serdes.SchemaRegistryClient(server.url, max_retries=0) as anonymous:
        with pytest.raises(RegistryAuthenticationError) as refused:
            anonymous.get_subjects()
        assert refused.value.error_code == 40101


def test_serdes_client_credentials_refresh_before_expiry(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    auth = serdes.OidcClientCredentials(
        server.issuer.url, "ci", SECRETS["ci"], scope="schema-registry", clock_s=clock
    )
    assert SECRETS["ci"] not in repr(auth)
    with serdes.SchemaRegistryClient(server.url, auth=auth, max_retries=0) as client:
        client.register_schema("orders-cc-value", ORDER)
        client.get_versions("orders-cc-value")
        assert auth.fetched == 1  # cached between requests
        clock.now += 600 * 0.8  # 80% of the token's 600 s
        assert client.get_versions("orders-cc-value") == [1]
        assert auth.fetched == 2
    tokens = server.issuer.issued[-2:]
    for secret in (SECRETS["ci"], *tokens):
        assert secret not in caplog.text


def test_async_serdes_client_with_client_credentials(server: Server) -> None:
    async def run() -> tuple[list[str], int]:
        auth = serdes.OidcClientCredentials(server.issuer.url, "reader-app", SECRETS["reader-app"])
        async with serdes.AsyncSchemaRegistryClient(server.url, auth=auth) as client:
            subjects = await client.get_subjects()
            with pytest.raises(RegistryAuthorizationError):
                await client.register_schema("orders-value", ORDER)
        return subjects, auth.fetched

    subjects, fetched = asyncio.run(run())
    assert subjects and all(s.startswith("orders-") for s in subjects)
    assert fetched == 1


def test_serdes_client_credentials_with_a_wrong_secret(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = serdes.OidcClientCredentials(server.issuer.url, "ci", "not-the-secret")
    client = serdes.SchemaRegistryClient(server.url, auth=auth, max_retries=3)
    with client, pytest.raises(RegistryAuthenticationError) as refused:
        client.get_subjects()
    message = str(refused.value)
    assert "refused client id 'ci': HTTP 401 (invalid_client)" in message
    assert "not-the-secret" not in message and "not-the-secret" not in caplog.text


def test_no_secret_or_token_reaches_the_server_log(server: Server) -> None:
    token = server.issuer.issue("ci", roles=["admin"])
    httpx.get(f"{server.url}/subjects", headers={"Authorization": f"Bearer {token}x"})
    text = server.log.read_text()
    assert token not in text
    assert not any(secret in text for secret in (*SECRETS.values(), *PASSWORDS.values()))


@pytest.fixture
def schema_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "regcast.toml").write_text("")
    (tmp_path / "orders-cli-value.avsc").write_text(ORDER)
    monkeypatch.chdir(tmp_path)
    for name in ("REGCAST_REGISTRY_USER", "REGCAST_REGISTRY_PASSWORD", "REGCAST_REGISTRY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for part in ("TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET", "SCOPE"):
        monkeypatch.delenv(f"REGCAST_REGISTRY_OIDC_{part}", raising=False)
    return tmp_path


def test_regcast_check_against_a_secured_registry(server: Server, schema_dir: Path) -> None:
    runner = CliRunner()
    token = server.issuer.issue("ci", roles=["admin"])
    check = ["check", "orders-cli-value.avsc", "--registry", server.url]

    refused = runner.invoke(cli, check)
    assert refused.exit_code == 2, refused.output
    assert "refused the credentials" in refused.output
    assert "--registry-token" in refused.output and "Bearer token" in refused.output

    with_flag = runner.invoke(cli, [*check, "--registry-token", token, "--register"])
    assert with_flag.exit_code == 0, with_flag.output
    assert token not in with_flag.output

    with_env = runner.invoke(cli, check, env={"REGCAST_REGISTRY_TOKEN": token})
    assert with_env.exit_code == 0, with_env.output

    basic = ["--registry-user", "admin", "--registry-password", PASSWORDS["admin"]]
    assert runner.invoke(cli, [*check, *basic]).exit_code == 0
    basic_env = {"REGCAST_REGISTRY_USER": "admin", "REGCAST_REGISTRY_PASSWORD": PASSWORDS["admin"]}
    assert runner.invoke(cli, check, env=basic_env).exit_code == 0

    expired = server.issuer.issue("ci", lifetime_s=-600, roles=["admin"])
    stale = runner.invoke(cli, [*check, "--registry-token", expired])
    assert stale.exit_code == 2 and "token has expired" in stale.output
    assert expired not in stale.output
    both = runner.invoke(cli, [*check, "--registry-token", token, "--registry-user", "admin"])
    assert both.exit_code == 2 and "not both" in both.output


def test_regcast_check_with_oidc_client_credentials(server: Server, schema_dir: Path) -> None:
    """A CI job with an OIDC client of its own: the REGCAST_REGISTRY_OIDC_* variables run
    the client-credentials flow against the issuer; a wrong secret is refused with exit
    2 and a message that names the client but not the secret; mixing it with a token is
    a usage error."""
    runner = CliRunner()
    check = ["check", "orders-cli-value.avsc", "--registry", server.url]
    oidc = {
        "REGCAST_REGISTRY_OIDC_TOKEN_URL": server.issuer.url,
        "REGCAST_REGISTRY_OIDC_CLIENT_ID": "ci",
        "REGCAST_REGISTRY_OIDC_CLIENT_SECRET": SECRETS["ci"],
    }
    passed = runner.invoke(cli, [*check, "--register"], env=oidc)
    assert passed.exit_code == 0, passed.output

    wrong = oidc | {"REGCAST_REGISTRY_OIDC_CLIENT_SECRET": "not-the-secret"}
    refused = runner.invoke(cli, check, env=wrong)
    assert refused.exit_code == 2, refused.output
    assert "client id 'ci'" in refused.output and "not-the-secret" not in refused.output

    token = server.issuer.issue("ci", roles=["admin"])
    mixed = runner.invoke(cli, [*check, "--registry-token", token], env=oidc)
    assert mixed.exit_code == 2 and "one way to authenticate" in mixed.output
    no_secret = {k: v for k, v in oidc.items() if not k.endswith("SECRET")}
    missing = runner.invoke(cli, check, env=no_secret)
    assert missing.exit_code == 2 and "CLIENT_SECRET" in missing.output

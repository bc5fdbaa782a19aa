"""The SASL client side without a network: mechanisms and the authenticator's checks.

SCRAM runs against ``scramp``'s server (a third-party implementation of RFC 5802's
server side), so these exchanges are real ones, only without sockets. The integration
tests (tests/integration/producer/test_producer_sasl.py) run the same code through a
gateway proven against librdkafka.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import scramp

from producer.errors import AuthenticationFailedError
from producer.network.authenticator import (
    REAUTHENTICATE_AT,
    SaslAuthenticator,
    reauthentication_delay_ms,
)
from producer.protocol.error_codes import error_class
from producer.sasl.mechanisms import (
    OAuthBearerMechanism,
    PlainMechanism,
    ScramMechanism,
    create_mechanism,
)
from producer.security import SaslSettings

PASSWORD = "pa55-w0rd-never-logged"
TOKEN = "eyJ.token-never-logged.sig"


def _scram_server(
    mechanism: str, password: str = PASSWORD, users: tuple[str, ...] = ("alice",)
) -> Callable[[], scramp.core.ScramServer]:
    """A factory of scramp servers knowing ``users`` with ``password``."""
    server_side = scramp.ScramMechanism(mechanism)
    salt, stored, server_key, iterations = server_side.make_auth_info(password)

    def auth_fn(user: str) -> tuple[bytes, bytes, bytes, int]:
        if user not in users:
            raise scramp.ScramException("unknown user", scramp.core.SERVER_ERROR_UNKNOWN_USER)
        return salt, stored, server_key, iterations

    return lambda: server_side.make_server(auth_fn)


def _to_client_final(
    name: str, server_password: str = PASSWORD
) -> tuple[scramp.core.ScramServer, ScramMechanism, str]:
    """A SCRAM exchange with scramp's server up to the client-final message."""
    server = _scram_server(name, password=server_password)()
    client = ScramMechanism(name, "alice", PASSWORD)
    server.set_client_first(client.initial().decode())
    final = client.step(server.get_server_first().encode())
    assert final is not None and not client.complete
    return server, client, final.decode()


# ------------------------------------------------------------------ PLAIN


def test_plain_sends_one_message_and_completes_on_the_empty_answer() -> None:
    plain = PlainMechanism("alice", PASSWORD)
    assert plain.initial() == b"\0alice\0" + PASSWORD.encode()
    assert not plain.complete
    assert plain.step(b"") is None
    assert plain.complete
    assert PASSWORD not in repr(plain)


# ------------------------------------------------------------------ SCRAM


@pytest.mark.parametrize("name", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_against_scramps_server_completes_and_verifies_the_server(name: str) -> None:
    server, client, final = _to_client_final(name)
    server.set_client_final(final)
    assert client.step(server.get_server_final().encode()) is None
    assert client.complete
    assert PASSWORD not in repr(client)


def test_scram_server_error_at_the_first_step_fails_naming_it() -> None:
    """A server may refuse at server-first (e=unknown-user, as Tansu does): no
    client-final is sent, and the error says what the server said."""
    client = ScramMechanism("SCRAM-SHA-256", "mallory", PASSWORD)
    client.initial()
    with pytest.raises(AuthenticationFailedError, match="e=unknown-user") as failure:
        client.step(b"e=unknown-user")
    assert not client.complete
    assert PASSWORD not in str(failure.value)


def test_scram_server_error_at_the_final_step_fails_naming_it() -> None:
    server, client, final = _to_client_final("SCRAM-SHA-256", "another-password")
    with pytest.raises(scramp.ScramException):  # scramp's server refuses the proof...
        server.set_client_final(final)
    with pytest.raises(AuthenticationFailedError, match="e=invalid-proof"):
        client.step(server.get_server_final().encode())  # ...and says so: e=invalid-proof
    assert not client.complete


def test_scram_server_signature_that_proves_nothing_fails_the_exchange() -> None:
    """RFC 5802 §5.1: the client checks v= itself; a broker's error_code 0 is not enough."""
    server, client, final = _to_client_final("SCRAM-SHA-256")
    server.set_client_final(final)
    with pytest.raises(AuthenticationFailedError, match="could not prove"):
        client.step(b"v=" + b"A" * 44)
    assert not client.complete


def test_scram_server_first_with_another_nonce_is_refused() -> None:
    """A server-first whose nonce does not extend the client's is a replay or not SCRAM."""
    client = ScramMechanism("SCRAM-SHA-256", "alice", PASSWORD)
    client.initial()
    with pytest.raises(AuthenticationFailedError, match="SCRAM-SHA-256 authentication failed"):
        client.step(b"r=someone-elses-nonce,s=c2FsdA==,i=4096")


def test_scram_messages_after_the_end_and_non_utf8_are_refused() -> None:
    server, client, final = _to_client_final("SCRAM-SHA-512")
    server.set_client_final(final)
    client.step(server.get_server_final().encode())
    with pytest.raises(AuthenticationFailedError, match="after the exchange ended"):
        client.step(b"v=more")
    with pytest.raises(AuthenticationFailedError, match="not UTF-8"):
        ScramMechanism("SCRAM-SHA-512", "alice", PASSWORD).step(b"\xff\xfe")


# ------------------------------------------------------------------ OAUTHBEARER


def test_oauthbearer_sends_kafkas_framing_and_completes_on_the_empty_answer() -> None:
    bearer = OAuthBearerMechanism(TOKEN)
    assert bearer.initial() == b"n,,\x01auth=Bearer " + TOKEN.encode() + b"\x01\x01"
    assert bearer.step(b"") is None and bearer.complete
    assert TOKEN not in repr(bearer)


def test_oauthbearer_error_challenge_is_acknowledged_then_fails_with_its_status() -> None:
    """RFC 7628 §3.2.3: answer the error JSON with ``\\x01``; the failure names its status."""
    bearer = OAuthBearerMechanism(TOKEN)
    bearer.initial()
    assert bearer.step(b'{"status": "invalid_token", "scope": "kafka"}') == b"\x01"
    assert bearer.server_error == "status=invalid_token, scope=kafka"
    with pytest.raises(AuthenticationFailedError, match="invalid_token") as failure:
        bearer.step(b"")
    assert TOKEN not in str(failure.value)
    assert not bearer.complete


@pytest.mark.parametrize("token", ["", "two\x01parts"])
def test_oauthbearer_refuses_an_empty_or_malformed_token(token: str) -> None:
    with pytest.raises(AuthenticationFailedError, match="empty or malformed token"):
        OAuthBearerMechanism(token)


def test_create_mechanism_knows_the_four_and_refuses_others() -> None:
    assert create_mechanism("PLAIN", username="a", password="b").name == "PLAIN"
    assert create_mechanism("SCRAM-SHA-512", username="a", password="b").name == "SCRAM-SHA-512"
    assert create_mechanism("OAUTHBEARER", token=lambda: TOKEN).name == "OAUTHBEARER"
    with pytest.raises(AuthenticationFailedError, match="needs a token source"):
        create_mechanism("OAUTHBEARER")
    with pytest.raises(AuthenticationFailedError, match="'GSSAPI' is not supported"):
        create_mechanism("GSSAPI")


# ------------------------------------------------------------------ the authenticator


def _authenticator(settings: SaslSettings) -> SaslAuthenticator:
    authenticator = SaslAuthenticator(settings, 7, "127.0.0.1:9093")
    authenticator.start()
    return authenticator


def test_authenticator_drives_scram_to_the_end_and_keeps_the_session_lifetime() -> None:
    server = _scram_server("SCRAM-SHA-256")()
    authenticator = _authenticator(SaslSettings("SCRAM-SHA-256", "alice", PASSWORD))
    assert authenticator.handshake_body(1) == {"mechanism": "SCRAM-SHA-256"}
    first = authenticator.on_handshake_response({"error_code": 0, "mechanisms": ["SCRAM-SHA-256"]})
    server.set_client_first(first.decode())
    final = authenticator.on_authenticate_response(
        {"error_code": 0, "auth_bytes": server.get_server_first().encode()}
    )
    assert final is not None
    server.set_client_final(final.decode())
    done = authenticator.on_authenticate_response(
        {
            "error_code": 0,
            "auth_bytes": server.get_server_final().encode(),
            "session_lifetime_ms": 60_000,
        }
    )
    assert done is None and authenticator.complete
    assert authenticator.rounds == 2
    assert authenticator.session_lifetime_ms == 60_000
    assert PASSWORD not in repr(authenticator)


def test_authenticator_names_the_brokers_mechanisms_when_ours_is_not_enabled() -> None:
    authenticator = _authenticator(SaslSettings("PLAIN", "alice", PASSWORD))
    with pytest.raises(error_class(33)) as failure:
        authenticator.on_handshake_response(
            {"error_code": 33, "mechanisms": ["SCRAM-SHA-512", "OAUTHBEARER"]}
        )
    message = str(failure.value)
    assert "mechanism PLAIN is not enabled" in message
    assert "node 7 at 127.0.0.1:9093" in message
    assert "SCRAM-SHA-512, OAUTHBEARER" in message


def test_authenticator_reports_the_brokers_refusal_without_the_password() -> None:
    authenticator = _authenticator(SaslSettings("PLAIN", "alice", PASSWORD))
    authenticator.on_handshake_response({"error_code": 0, "mechanisms": ["PLAIN"]})
    with pytest.raises(AuthenticationFailedError) as failure:
        authenticator.on_authenticate_response(
            {"error_code": 58, "error_message": "Authentication failed: Invalid username\x07"}
        )
    message = str(failure.value)
    assert "SASL PLAIN authentication with node 7 at 127.0.0.1:9093 failed" in message
    assert "Invalid username?" in message  # the broker's words, made printable
    assert PASSWORD not in message


def test_authenticator_refuses_an_exchange_the_broker_ends_with_code_0_unfinished() -> None:
    """Tansu ends a SCRAM exchange for an unknown user with e=unknown-user and code 0."""
    authenticator = _authenticator(SaslSettings("SCRAM-SHA-256", "mallory", PASSWORD))
    authenticator.on_handshake_response({"error_code": 0, "mechanisms": ["SCRAM-SHA-256"]})
    with pytest.raises(AuthenticationFailedError, match="e=unknown-user"):
        authenticator.on_authenticate_response({"error_code": 0, "auth_bytes": b"e=unknown-user"})
    assert not authenticator.complete


def test_authenticator_checks_what_the_token_provider_returns() -> None:
    def wrong_shape() -> object:
        return TOKEN  # a bare string, not (token, expires_at_ms)

    with pytest.raises(AuthenticationFailedError, match=r"must return \(token: str"):
        _authenticator(SaslSettings("OAUTHBEARER", token_provider=wrong_shape))  # type: ignore[arg-type]


def test_each_authentication_asks_the_token_provider_again() -> None:
    """A re-authentication is a new authenticator: a fresh token, never the old one."""
    issued: list[str] = []

    def provider() -> tuple[str, int]:
        issued.append(f"token-{len(issued)}")
        return issued[-1], 0

    settings = SaslSettings("OAUTHBEARER", token_provider=provider)
    payloads = [_authenticator(settings).on_handshake_response({"error_code": 0}) for _ in range(3)]
    assert issued == ["token-0", "token-1", "token-2"]
    assert [p.split(b"Bearer ")[1].rstrip(b"\x01") for p in payloads] == [
        t.encode() for t in issued
    ]


def test_reauthentication_comes_between_85_and_95_percent_of_the_lifetime() -> None:
    rng = random.Random(15)
    delays = [reauthentication_delay_ms(10_000, rng) for _ in range(1_000)]
    low, high = REAUTHENTICATE_AT
    assert min(delays) >= 10_000 * low and max(delays) <= 10_000 * high
    assert max(delays) - min(delays) > 500  # spread out: connections do not all renew at once

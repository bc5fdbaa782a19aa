"""Issue 14: paths split into segments before decoding, version strings, names, bodies.

Each class of input runs through the routers and through ``middleware.HotPaths`` (the
``hot`` variants; ``routed`` adds a query parameter HotPaths does not know, which sends
the request to the router, and the ``reached_router`` recorder proves which layer
answered), on SQLite and PostgreSQL (``client`` is parametrised over both). Every
refused request must leave the stored data exactly as it was (``stored``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from registry_service.middleware import HotPaths

V1 = "application/vnd.schemaregistry.v1+json"
SEED = "seed-value"
SCHEMA_1 = json.dumps({"type": "record", "name": "U", "fields": [{"name": "a", "type": "int"}]})
SCHEMA_2 = json.dumps({"type": "record", "name": "W", "fields": []})
SCHEMA_3 = json.dumps({"type": "record", "name": "X", "fields": []})
ADDRESS = json.dumps(
    {"type": "record", "name": "Address", "fields": [{"name": "street", "type": "string"}]}
)
CUSTOMER = json.dumps(
    {"type": "record", "name": "Customer", "fields": [{"name": "home", "type": "Address"}]}
)

VIAS = ["hot", "routed"]
# For classes judged before any store is asked (version strings, body types) one store
# is enough; names, references and the writes a misrouted path made run on both.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def via_query(via: str, path: str) -> str:
    """``path`` as HotPaths may take it (``hot``) or with a parameter only the router
    accepts (``routed``)."""
    if via == "hot":
        return path
    return path + ("&" if "?" in path else "?") + "routed=1"


def error(response: Any, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()  # always valid JSON, whatever the input
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    body["message"].encode("utf-8")  # encodable: no lone surrogates
    return str(body["message"])


def stored(client: TestClient) -> dict[str, Any]:
    """Everything the API shows of the stored data (soft-deleted versions included)."""
    subjects = client.get("/subjects?deleted=true").json()
    state: dict[str, Any] = {
        "subjects": subjects,
        "live": client.get("/subjects").json(),
        "schemas": client.get("/schemas?deleted=true").json(),
        "config": client.get("/config").json(),
    }
    for subject in subjects:
        path = f"/subjects/{quote(subject, safe='')}"
        versions = client.get(f"{path}/versions?deleted=true").json()
        state[subject] = {
            "versions": versions,
            "live": client.get(f"{path}/versions").json(),
            "bodies": [client.get(f"{path}/versions/{v}?deleted=true").json() for v in versions],
            "config": client.get(f"/config/{quote(subject, safe='')}").json(),
        }
    return state


@pytest.fixture
def reached_router(client: TestClient) -> list[str]:
    """``METHOD path`` of every request HotPaths passed on to the routers."""
    client.get("/")  # builds the middleware stack
    layer: Any = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(layer, HotPaths):
        layer = layer.app
    inner = layer.app
    seen: list[str] = []

    async def recording(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(f"{scope['method']} {scope['path']}")
        await inner(scope, receive, send)

    layer.app = recording
    return seen


@pytest.fixture
def seeded(client: TestClient) -> Callable[[], dict[str, Any]]:
    """SEED with two live versions and a soft-deleted third, all reads cached; returns
    a function that takes a fresh ``stored`` snapshot."""
    client.put(f"/config/{SEED}", json={"compatibility": "NONE"})
    for schema in (SCHEMA_1, SCHEMA_2, SCHEMA_3):
        assert client.post(f"/subjects/{SEED}/versions", json={"schema": schema}).status_code == 200
    assert client.delete(f"/subjects/{SEED}/versions/3").json() == 3
    for version in ("1", "2", "latest"):
        assert client.get(f"/subjects/{SEED}/versions/{version}").status_code == 200
    return lambda: stored(client)


# -- 1. percent-encoded slashes stay inside their segment ------------------------------

S = SEED
SLASH_REQUESTS: list[tuple[str, str, dict[str, Any] | None, int, int]] = [
    # a lookup of the subject "seed-value/versions", never a registration under seed-value
    ("POST", f"/subjects/{S}%2Fversions", {"schema": SCHEMA_3}, 404, 40401),
    ("POST", f"/subjects/{S}%2fversions", {"schema": SCHEMA_3}, 404, 40401),
    ("POST", f"/subjects/{S}%2Fversions?normalize=true", {"schema": SCHEMA_1}, 404, 40401),
    ("POST", f"/subjects/{S}%2F%2E%2E%2Fversions", {"schema": SCHEMA_3}, 404, 40401),
    # deletes of subjects named so, never of seed-value's versions
    ("DELETE", f"/subjects/{S}%2Fversions%2F1", None, 404, 40401),
    ("DELETE", f"/subjects/{S}%2Fversions%2F3?permanent=true", None, 404, 40401),
    ("DELETE", f"/subjects/{S}%2Fversions%2Flatest", None, 404, 40401),
    ("DELETE", f"/subjects/{S}%2Fversions", None, 404, 40401),
    ("DELETE", f"/subjects/{S}%2F", None, 404, 40401),
    # reads of other subjects, never seed-value's versions
    ("GET", f"/subjects/{S}%2Fversions/versions/1", None, 404, 40401),
    ("GET", f"/subjects/{S}%2Fversions/1", None, 404, 404),  # no such route
    ("GET", f"/subjects/{S}%2Fversions%2F1/versions/1", None, 404, 40401),
    ("GET", f"/subjects/{S}%2Fversions%2F1", None, 405, 405),  # no GET /subjects/{s}
    ("GET", f"/subjects/{S}%2Fversions%2Flatest%2Fschema", None, 405, 405),
    # a segment holding a slash matches no literal segment of a route
    ("GET", f"/subjects/{S}/versions%2F1", None, 404, 404),
    ("POST", f"/subjects/{S}/versions%2F1", {"schema": SCHEMA_3}, 404, 404),
    ("DELETE", f"/subjects/{S}/versions/3%2F", None, 422, 42202),
    ("POST", f"/compatibility/subjects/{S}%2Fversions%2F1", {"schema": SCHEMA_3}, 404, 404),
    ("PUT", f"/config%2F{S}", {"compatibility": "FULL"}, 404, 404),
    ("DELETE", f"/config/{S}%2Fx", None, 404, 40401),
    # an escaped escape is text: the subject "seed-value%2Fversions"
    ("POST", f"/subjects/{S}%252Fversions", {"schema": SCHEMA_3}, 404, 40401),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), SLASH_REQUESTS)
def test_percent_encoded_slashes_never_reach_another_route(
    client: TestClient,
    seeded: Callable[[], dict[str, Any]],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: int,
) -> None:
    before = seeded()
    for via in VIAS:
        response = client.request(method, via_query(via, path), json=body)
        message = error(response, status, code)
        if code == 40401:
            assert "/" in message or "%" in message  # the subject as named, slash included
    assert seeded() == before


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize(
    ("encoded", "subject"),
    [
        ("common%2Faddress.proto", "common/address.proto"),
        ("a%2Fb%2Fc", "a/b/c"),
        (f"{S}%2Fversions", f"{S}/versions"),  # a subject may even be named so
        ("100%25", "100%"),
        ("caf%C3%A9", "caf\u00e9"),
    ],
)
def test_subjects_with_slashes_are_the_same_subject_on_both_paths(
    client: TestClient,
    seeded: Callable[[], dict[str, Any]],
    reached_router: list[str],
    via: str,
    encoded: str,
    subject: str,
) -> None:
    """HotPaths and the routers read the same subject from a path."""
    before = seeded()
    registered = client.post(
        via_query(via, f"/subjects/{encoded}/versions"), json={"schema": SCHEMA_2}
    )
    assert registered.status_code == 200, registered.text
    assert registered.json()["version"] == 1
    assert set(client.get("/subjects").json()) == {SEED, subject}
    reached_router.clear()
    for version in ("1", "latest", "-1", "%31"):
        path = f"/subjects/{encoded}/versions/{version}"
        first = client.get(via_query(via, path))  # fills the cache (routed: always the router)
        again = client.get(via_query(via, path))  # hot: from HotPaths
        assert first.status_code == again.status_code == 200, first.text
        assert first.json() == again.json()
        assert again.json()["subject"] == subject
    # the registration left the subject's versions cached: HotPaths answers every read
    assert len(reached_router) == (0 if via == "hot" else 8)
    # percent-encoded letters of a literal segment: still the same resource
    assert client.get(f"/subjects/{encoded}/version%73/1").json()["subject"] == subject
    lookup = client.post(via_query(via, f"/subjects/{encoded}"), json={"schema": SCHEMA_2})
    assert lookup.json()["subject"] == subject
    assert client.delete(via_query(via, f"/subjects/{encoded}/versions/1")).json() == 1
    after = seeded()
    assert after[subject]["versions"] == [1]
    assert after[subject]["live"]["error_code"] == 40401  # no live version left
    assert after[SEED] == before[SEED] and after["live"] == before["live"]


def test_registration_shortcut_takes_only_its_own_path(
    client: TestClient, seeded: Callable[[], dict[str, Any]], reached_router: list[str]
) -> None:
    before = seeded()
    reached_router.clear()
    response = client.post(f"/subjects/{S}%2Fversions", json={"schema": SCHEMA_3})
    error(response, 404, 40401)
    assert reached_router == [f"POST /subjects/{S}%2Fversions"]  # the router's lookup
    assert seeded() == before


# -- 2. version strings: exactly what Confluent accepts --------------------------------

BAD_VERSIONS = [
    "0_1",
    "1_0",
    "0",
    "00",
    "-0",
    "-2",
    "%201",  # " 1": Confluent trims; refused here
    "1%20",
    "%091",
    "1%0A",
    "%2B1",  # "+1"
    quote("\u0661"),  # ARABIC-INDIC DIGIT ONE
    quote("\uff11"),  # FULLWIDTH DIGIT ONE
    quote("\u00b9"),
    "1.0",
    "1e0",
    "0x1",
    "2147483648",
    "99999999999999999999999",
    "latest%20",
    "%FF",
    "abc",
]
GOOD_VERSIONS = [("1", 1), ("01", 1), ("0001", 1), ("2", 2), ("-1", 2), ("-01", 2)]
GOOD_VERSIONS += [("latest", 2), ("LATEST", 2), ("Latest", 2), ("lat%65st", 2)]


@SQLITE_ONLY
@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_versions_confluent_refuses_are_42202_everywhere(
    client: TestClient, seeded: Callable[[], dict[str, Any]], version: str
) -> None:
    before = seeded()
    base = f"/subjects/{SEED}/versions/{version}"
    compatibility = f"/compatibility/subjects/{SEED}/versions/{version}"
    for via in VIAS:
        error(client.get(via_query(via, base)), 422, 42202)  # the versions are cached
        error(client.get(via_query(via, f"{base}/schema")), 422, 42202)
        error(client.get(via_query(via, f"{base}/referencedby")), 422, 42202)
        error(client.delete(via_query(via, base)), 422, 42202)
        error(client.delete(via_query(via, f"{base}?permanent=true")), 422, 42202)
        error(client.post(via_query(via, compatibility), json={"schema": SCHEMA_1}), 422, 42202)
    assert seeded() == before


def test_versions_confluent_accepts(
    client: TestClient, seeded: Callable[[], dict[str, Any]], reached_router: list[str]
) -> None:
    for version, number in GOOD_VERSIONS:
        answers = []
        for via in VIAS:
            reached_router.clear()
            response = client.get(via_query(via, f"/subjects/{SEED}/versions/{version}"))
            assert response.status_code == 200, (version, response.text)
            assert response.json()["version"] == number, version
            assert len(reached_router) == (0 if via == "hot" else 1), version
            answers.append(response.json())
        assert answers[0] == answers[1], version


def test_version_messages_show_what_confluent_shows(
    client: TestClient, seeded: Callable[[], dict[str, Any]]
) -> None:
    """A number that parses is shown as parsed, anything else as sent."""
    shown = {"00": "0", "-0": "0", "-002": "-2", "0_1": "0_1", "%FF": "\\udcff"}
    for version, text in shown.items():
        message = error(client.get(f"/subjects/{SEED}/versions/{version}"), 422, 42202)
        assert message.startswith(f"The specified version '{text}' is not a valid version id.")


def test_zero_underscore_one_no_longer_deletes_version_one(
    client: TestClient, seeded: Callable[[], dict[str, Any]]
) -> None:
    """The issue's own sequence: soft delete, then permanent delete, of '0_1'."""
    before = seeded()
    error(client.delete(f"/subjects/{SEED}/versions/0_1"), 422, 42202)
    error(client.delete(f"/subjects/{SEED}/versions/0_1?permanent=true"), 422, 42202)
    assert client.get(f"/subjects/{SEED}/versions/1").status_code == 200
    assert seeded() == before


# -- 6. one judgement of register bodies on both paths ---------------------------------

BAD_FIELDS: list[tuple[dict[str, Any], int]] = [
    ({"schemaType": {}}, 422),
    ({"schemaType": False}, 422),
    ({"schemaType": 0}, 422),
    ({"schemaType": []}, 422),
    ({"schemaType": 1.5}, 422),
    ({"schemaType": ""}, 42201),  # a string, but no type: as in Confluent
    ({"schemaType": "XML"}, 42201),
    ({"schema": 5}, 422),
    ({"schema": None}, 422),
    ({"schema": ["x"]}, 422),
    ({"schema": {"type": "string"}}, 422),
    ({"schema": True}, 422),
    ({"references": {}}, 422),
    ({"references": "a"}, 422),
    ({"references": 1}, 422),
    ({"references": [1]}, 422),
    ({"references": [{"name": "a", "subject": "b"}]}, 422),
    ({"references": [{"name": 1, "subject": "b", "version": 1}]}, 422),
    ({"references": [{"name": "a", "subject": "b", "version": "1"}]}, 422),
    ({"version": "1"}, 422),
    ({"version": 1.5}, 422),
    ({"version": True}, 422),
    ({"version": [1]}, 422),
    ({"version": 2**31}, 422),
    ({"id": "7"}, 422),
    ({"id": False}, 422),
    ({"id": 1.0}, 422),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("fields", "code"), BAD_FIELDS)
def test_wrong_typed_register_bodies_are_refused_on_both_paths(
    client: TestClient,
    seeded: Callable[[], dict[str, Any]],
    reached_router: list[str],
    fields: dict[str, Any],
    code: int,
) -> None:
    before = seeded()
    body = {"schema": SCHEMA_3, **fields}
    for via in VIAS:
        answers = []
        reached_router.clear()
        for subject in (SEED, "fresh"):  # a cached subject and an unknown one
            response = client.post(via_query(via, f"/subjects/{subject}/versions"), json=body)
            error(response, 422, code)
            answers.append(response.json()["message"])
        if via == "hot" and code == 422:
            assert reached_router == []  # HotPaths judged the body itself, as the router does
        assert answers[0] == answers[1] or code == 42201
    error(client.post(f"/subjects/{SEED}", json=body), 422, code)
    compat = f"/compatibility/subjects/{SEED}/versions/latest"
    error(client.post(compat, json=body), 422, code)
    assert seeded() == before


@SQLITE_ONLY
@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"{not json",
        b"[]",
        b'"schema"',
        b"null",
        b'{"schema": "\\ud800"}',  # orjson refuses lone surrogates
        b'{"schema": "x", "references": [{"name": "\\udc00", "subject": "s", "version": 1}]}',
        b'{"schema": "\xff"}',  # not UTF-8
    ],
)
def test_malformed_register_bodies_are_the_same_422_on_both_paths(
    client: TestClient, seeded: Callable[[], dict[str, Any]], raw: bytes
) -> None:
    before = seeded()
    answers = []
    for via in VIAS:
        response = client.post(
            via_query(via, f"/subjects/{SEED}/versions"),
            content=raw,
            headers={"Content-Type": V1},
        )
        error(response, 422, 422)
        answers.append(response.json())
    assert answers[0] == answers[1]
    assert seeded() == before


# -- 7, 8. names: control characters and lone surrogates, before any store -------------

BAD_SUBJECTS = [
    "a%00b",
    "a%01b",
    "%1F",
    "a%7Fb",  # DEL
    "%7F",
    "a%C2%80b",  # C1
    "a%C2%85b",  # NEXT LINE
    "%C2%9F",
    "a%FFb",  # invalid UTF-8: a lone surrogate after decoding
    "a%ED%B0%80b",  # the UTF-8 of U+DC00
    "%C0%AF",  # an overlong "/"
    "%3A.%3A%7F",  # a qualified name too
]
GOOD_SUBJECTS = ["%C2%A0nbsp", "zwj%E2%80%8Dx", "caf%C3%A9", "tab-free%20space", "%EF%BB%BFbom"]


@pytest.mark.parametrize("name", BAD_SUBJECTS)
def test_names_with_control_characters_or_surrogates_are_42208_everywhere(
    client: TestClient, seeded: Callable[[], dict[str, Any]], name: str
) -> None:
    before = seeded()
    body = {"schema": SCHEMA_1}
    checks = [response for via in VIAS for response in _name_checks(client, via, name, body)]
    invalid_utf8 = any(escape in name for escape in ("%FF", "%ED", "%C0"))
    for response in checks:
        message = error(response, 422, 42208)
        assert ("\\udc" in message) == invalid_utf8  # surrogates shown escaped
    assert seeded() == before


def _name_checks(client: TestClient, via: str, name: str, body: dict[str, Any]) -> list[Any]:
    return [
        client.post(via_query(via, f"/subjects/{name}/versions"), json=body),
        client.post(via_query(via, f"/subjects/{name}"), json=body),
        client.get(via_query(via, f"/subjects/{name}/versions")),
        client.get(via_query(via, f"/subjects/{name}/versions/1")),
        client.get(via_query(via, f"/subjects/{name}/versions/latest/schema")),
        client.delete(via_query(via, f"/subjects/{name}")),
        client.delete(via_query(via, f"/subjects/{name}/versions/1")),
        client.put(via_query(via, f"/config/{name}"), json={"compatibility": "FULL"}),
        client.put(via_query(via, f"/mode/{name}"), json={"mode": "READONLY"}),
        client.post(via_query(via, f"/compatibility/subjects/{name}/versions"), json=body),
    ]


@pytest.mark.parametrize("name", ["%00", "%7F", "%C2%85", "%C2%9F"])
def test_control_characters_in_query_names_are_42208(
    client: TestClient, seeded: Callable[[], dict[str, Any]], name: str
) -> None:
    error(client.get(f"/subjects?subjectPrefix={name}"), 422, 42208)
    error(client.get(f"/schemas?subjectPrefix={name}"), 422, 42208)
    error(client.get(f"/schemas/ids/1?subject={name}"), 422, 42208)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("name", GOOD_SUBJECTS)
def test_other_unicode_names_are_subjects(client: TestClient, via: str, name: str) -> None:
    response = client.post(via_query(via, f"/subjects/{name}/versions"), json={"schema": SCHEMA_1})
    assert response.status_code == 200, response.text
    assert client.get(f"/subjects/{name}/versions/1").status_code == 200


BAD_NAME_CHARS = ["\x00", "\x01", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]


@pytest.mark.parametrize("char", BAD_NAME_CHARS)
def test_reference_names_and_subjects_are_judged_before_the_store(
    client: TestClient, seeded: Callable[[], dict[str, Any]], char: str
) -> None:
    """PostgreSQL cannot store NUL and SQLite can: both refuse alike, with no 500."""
    assert client.post("/subjects/address/versions", json={"schema": ADDRESS}).status_code == 200
    before = seeded()
    bad_name = [{"name": f"Add{char}ress", "subject": "address", "version": 1}]
    bad_subject = [{"name": "Address", "subject": f"addr{char}ess", "version": 1}]
    for refs, code in ((bad_name, 42201), (bad_subject, 42208)):
        body = {"schema": CUSTOMER, "references": refs}
        message = error(client.post("/subjects/customer/versions", json=body), 422, code)
        assert "postgresql" not in message.lower()
        error(client.post("/subjects/address", json=body), 422, code)
        compat = "/compatibility/subjects/address/versions/latest"
        error(client.post(compat, json=body), 422, code)
    assert seeded() == before


def test_schema_text_with_nul_is_42201_on_both_stores(
    client: TestClient, seeded: Callable[[], dict[str, Any]]
) -> None:
    before = seeded()
    proto = 'syntax = "proto3";\n// a\x00b\nmessage M { int32 a = 1; }\n'
    for via in VIAS:
        body = {"schema": proto, "schemaType": "PROTOBUF"}
        error(client.post(via_query(via, "/subjects/pb/versions"), json=body), 422, 42201)
        body = {"schema": SCHEMA_1 + "\x00"}
        error(client.post(via_query(via, f"/subjects/{SEED}/versions"), json=body), 422, 42201)
    assert seeded() == before

"""registry_service.errors: every error body can be encoded, whatever the input was."""

from __future__ import annotations

import json

import pytest

from registry_service.errors import (
    InvalidSubjectError,
    InvalidVersionError,
    RegistryError,
    SubjectNotFoundError,
    encode_json,
    safe_text,
)


@pytest.mark.parametrize("text", ["plain", "caf\u00e9", "\U0001f600", "tab\tnul\x00"])
def test_valid_text_is_left_as_it_is(text: str) -> None:
    assert safe_text(text) == text


@pytest.mark.parametrize(
    ("text", "shown"),
    [("\udc00", "\\udc00"), ("a\ud800b", "a\\ud800b"), ("\udcff\u00e9", "\\udcff\u00e9")],
)
def test_lone_surrogates_are_escaped(text: str, shown: str) -> None:
    assert safe_text(text) == shown


@pytest.mark.parametrize(
    "error",
    [
        InvalidSubjectError("bad\udc00"),
        SubjectNotFoundError("\ud800"),
        InvalidVersionError("\udcff"),
        RegistryError("x\udc80y"),
    ],
)
def test_error_bodies_always_encode(error: RegistryError) -> None:
    body = json.loads(encode_json(error.body()))
    assert body["error_code"] == error.error_code
    assert "\\ud" in body["message"]
    assert body["message"].encode("utf-8")


def test_encode_json_escapes_surrogates_anywhere() -> None:
    content = {"k\udc00": ["\ud800", {"x": "ok\u00e9"}], "n": 1, "t": ("\udcff",)}
    assert json.loads(encode_json(content)) == {
        "k\\udc00": ["\\ud800", {"x": "ok\u00e9"}],
        "n": 1,
        "t": ["\\udcff"],
    }

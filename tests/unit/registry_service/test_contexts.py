"""Qualified subject names (Confluent's ``QualifiedSubject`` rules) and the
``/contexts/{c}/...`` rewrite (Confluent's ``ContextFilter``), as pure functions."""

from __future__ import annotations

import pytest

from registry_service.context_paths import rewrite
from registry_service.errors import InvalidSubjectError
from registry_service.service.values import (
    check_scope,
    check_subject,
    context_of,
    normalize_context,
    normalize_subject,
    public_id,
    scoped_fingerprint,
    split_qualified,
    subject_sort_key,
)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("orders", (".", "orders")),
        (":.:orders", (".", "orders")),
        (":.ctx:orders", (".ctx", "orders")),
        (":.ctx:a:b", (".ctx", "a:b")),
        (":.ctx", (".ctx", "")),
        (":.ctx:", (".ctx", "")),
        (":*:orders", ("*", "orders")),
        (":orders", (".", ":orders")),  # not qualified: no dot after the colon
        ("a:.b:c", (".", "a:.b:c")),
    ],
)
def test_split_qualified(name: str, parts: tuple[str, str]) -> None:
    assert split_qualified(name) == parts


def test_each_subject_has_one_spelling() -> None:
    assert normalize_subject(":.:orders") == "orders"
    assert normalize_subject(":.ctx") == ":.ctx:"
    assert normalize_subject(":.ctx:orders") == ":.ctx:orders"
    assert context_of(":.ctx:orders") == ".ctx" and context_of("orders") == "."
    assert sorted([":.b:a", "z", ":.a:z", "A"], key=subject_sort_key) == [
        "A",
        "z",
        ":.a:z",
        ":.b:a",
    ]


def test_subjects_scopes_and_context_names_that_are_refused() -> None:
    for bad in (":.ctx:", ":.ctx", ":*:x", "__GLOBAL", ":.ctx:__EMPTY", ":.:"):
        with pytest.raises(InvalidSubjectError):
            check_subject(bad)
    assert check_scope(":.ctx") == ":.ctx:"
    assert check_scope(":.ctx:s") == ":.ctx:s"
    with pytest.raises(InvalidSubjectError):
        check_scope(":*:")
    assert [normalize_context(c) for c in ("ctx", ".ctx", ":.ctx:", ":.:")] == [
        ".ctx",
        ".ctx",
        ".ctx",
        ".",
    ]
    with pytest.raises(InvalidSubjectError):
        normalize_context("a:b")


def test_stored_ids_and_identities_per_context() -> None:
    base = 3 << 32
    assert public_id(base + 7) == 7 and public_id(7) == 7
    assert scoped_fingerprint("ab" * 32, 0) == "ab" * 32
    assert scoped_fingerprint("ab" * 32, base) == "ab" * 32 + "@3"


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/contexts/.c/subjects/s/versions", b"", ("/subjects/:.c:s/versions", b"")),
        ("/contexts/c/subjects/s", b"normalize=true", ("/subjects/:.c:s", b"normalize=true")),
        ("/contexts/.c/subjects/:.d:s/versions", b"", ("/subjects/:.d:s/versions", b"")),
        ("/contexts/.c/subjects", b"", ("/subjects", b"subjectPrefix=%3A.c%3A")),
        ("/contexts/.c/subjects", b"subjectPrefix=o", ("/subjects", b"subjectPrefix=%3A.c%3Ao")),
        ("/contexts/.c/schemas", b"", ("/schemas", b"subjectPrefix=%3A.c%3A")),
        ("/contexts/.c/schemas/ids/1", b"", ("/schemas/ids/1", b"subject=%3A.c%3A")),
        ("/contexts/.c/schemas/ids/1", b"subject=s", ("/schemas/ids/1", b"subject=%3A.c%3As")),
        ("/contexts/.c/config", b"", ("/config/:.c:", b"")),
        ("/contexts/.c/config/s", b"", ("/config/:.c:s", b"")),
        ("/contexts/.c/mode", b"", ("/mode/:.c:", b"")),
        ("/contexts/:.:/config", b"", ("/config", b"")),
        (
            "/contexts/.c/compatibility/subjects/s/versions/latest",
            b"",
            ("/compatibility/subjects/:.c:s/versions/latest", b""),
        ),
    ],
)
def test_the_context_prefix_is_rewritten_as_confluents_filter_does(
    path: str, query: bytes, expected: tuple[str, bytes]
) -> None:
    assert rewrite(path, query) == expected


def test_the_contexts_resource_itself_is_left_alone() -> None:
    assert rewrite("/contexts/.c", b"") is None
    assert rewrite("/contexts", b"") is None
    with pytest.raises(InvalidSubjectError):
        rewrite("/contexts/a:b/subjects", b"")

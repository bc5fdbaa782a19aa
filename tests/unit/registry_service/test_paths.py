"""registry_service.paths: one function splits a raw path into segments, and every
reader of the canonical path (the routes' converter, HotPaths) decodes it the same way."""

from __future__ import annotations

import pytest

from registry_service.paths import (
    SegmentConvertor,
    canonical_path,
    decode_raw_segment,
    decode_segment,
    encode_segment,
    split_path,
)


@pytest.mark.parametrize(
    ("raw", "segments"),
    [
        (b"/subjects/orders-value/versions/1", ["", "subjects", "orders-value", "versions", "1"]),
        (
            b"/subjects/common%2Faddress.proto/versions",
            ["", "subjects", "common/address.proto", "versions"],
        ),
        (b"/subjects/a%2fb", ["", "subjects", "a/b"]),  # lower-case hex too
        (b"/subjects/s%2Fversions%2F1", ["", "subjects", "s/versions/1"]),
        (b"/subjects/s/version%73/1", ["", "subjects", "s", "versions", "1"]),
        (b"/subjects/100%25/x", ["", "subjects", "100%", "x"]),
        (b"/subjects/%252F", ["", "subjects", "%2F"]),  # an escaped escape stays text
        (b"/subjects/caf%C3%A9", ["", "subjects", "caf\u00e9"]),
        (b"/subjects/a%00b", ["", "subjects", "a\x00b"]),
        (b"/subjects/%FF", ["", "subjects", "\udcff"]),  # invalid UTF-8: a lone surrogate
        (b"/subjects/%ED%B0%80", ["", "subjects", "\udced\udcb0\udc80"]),  # UTF-8 of U+DC00
        (b"/subjects/%zz%", ["", "subjects", "%zz%"]),  # broken escapes are kept as text
        (b"/subjects//versions", ["", "subjects", "", "versions"]),
    ],
)
def test_segments_are_split_before_they_are_decoded(raw: bytes, segments: list[str]) -> None:
    path = canonical_path(raw)
    assert path.count("/") == raw.count(b"/")  # only the raw slashes separate
    assert split_path(path) == segments
    assert all(not ("\ud800" <= ch <= "\udfff") for ch in path)  # the path itself is valid text


@pytest.mark.parametrize(
    "text",
    ["plain", "a/b", "100%", "%2F", "%25", "a/%/b", "\udc80\udcff", "caf\u00e9", "\x00/\x7f"],
)
def test_a_segment_round_trips(text: str) -> None:
    encoded = encode_segment(text)
    assert "/" not in encoded
    assert decode_segment(encoded) == text
    convertor = SegmentConvertor()
    assert convertor.convert(convertor.to_string(text)) == text


def test_raw_segments_decode_as_the_canonical_form_does() -> None:
    for raw in (b"a%2Fb", b"%FFx", b"%C3%A9", b"%25%2F"):
        assert decode_segment(encode_segment(decode_raw_segment(raw))) == decode_raw_segment(raw)


def test_paths_without_escapes_are_left_as_they_are() -> None:
    raw = b"/subjects/orders-value/versions/latest"
    assert canonical_path(raw) == raw.decode()


def test_every_route_parameter_is_one_decoded_segment() -> None:
    """A ``path`` or plain ``str`` parameter would cross segments or keep escapes, and
    the routers would then read another subject than HotPaths does."""
    from fastapi.routing import APIRoute

    from registry_service.routers import all_routers

    routes = [r for router in all_routers() for r in router.routes if isinstance(r, APIRoute)]
    with_params = [r for r in routes if r.param_convertors]
    assert len(with_params) > 20
    for route in with_params:
        for name, convertor in route.param_convertors.items():
            assert isinstance(convertor, SegmentConvertor), (route.path, name)

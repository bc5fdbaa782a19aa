"""registry_service.service: the rules for version strings and names, on their own.

Through the API (both stores, routed and cached paths) they run in
tests/integration/registry/test_paths_and_names.py.
"""

from __future__ import annotations

import pytest

from registry_service.errors import InvalidVersionError
from registry_service.service import LATEST, name_is_valid, parse_version


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("1", 1),
        ("7", 7),
        ("01", 1),  # Integer.parseInt allows leading zeros, so Confluent does
        ("0000000000002", 2),
        ("2147483647", 2**31 - 1),
        ("02147483647", 2**31 - 1),
        ("-1", LATEST),
        ("-01", LATEST),
        ("latest", LATEST),
        ("LATEST", LATEST),
        ("Latest", LATEST),
    ],
)
def test_versions_confluent_accepts(text: str, version: int) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # Confluent refuses these too; a number that parses is shown as parsed
        ("0", "0"),
        ("00", "0"),
        ("-0", "0"),
        ("-2", "-2"),
        ("-002", "-2"),
        ("-2147483648", "-2147483648"),
        ("2147483648", "2147483648"),
        ("99999999999999999999", "99999999999999999999"),
        ("-2147483649", "-2147483649"),
        ("abc", "abc"),
        ("", ""),
        ("-", "-"),
        ("1.0", "1.0"),
        ("1e3", "1e3"),
        ("0x1", "0x1"),
        ("latest1", "latest1"),
        # Python's int() takes these; Confluent does not
        ("0_1", "0_1"),
        ("1_000", "1_000"),
        # Confluent takes these (trim, a '+', any Unicode digit); refused for one spelling
        (" 1", " 1"),
        ("1 ", "1 "),
        ("\t1", "\t1"),
        ("1\n", "1\n"),
        (" latest", " latest"),
        ("+1", "+1"),
        ("\u0661", "\u0661"),  # ARABIC-INDIC DIGIT ONE
        ("\uff11", "\uff11"),  # FULLWIDTH DIGIT ONE
        ("\u00b9", "\u00b9"),  # SUPERSCRIPT ONE (int() refuses it; so do we)
        ("\u216f", "\u216f"),  # a Roman numeral letter
        ("\udcff", "\\udcff"),  # invalid UTF-8 in the path: shown escaped
    ],
)
def test_everything_else_is_42202(text: str, shown: str) -> None:
    with pytest.raises(InvalidVersionError) as caught:
        parse_version(text)
    assert caught.value.error_code == 42202
    assert caught.value.message == (
        f"The specified version '{shown}' is not a valid version id. Allowed values are "
        'between [1, 2^31-1] and the string "latest"'
    )


@pytest.mark.parametrize(
    "name",
    [
        "orders-value",
        "common/address.proto",
        "with space",
        "caf\u00e9",
        "\u00a0nbsp",  # not printable, but not a control character
        "emoji\U0001f469\u200d\U0001f4bb",  # ZERO WIDTH JOINER is a format character
        "\ufeffbom",
        "100%",
        ":.:qualified",
    ],
)
def test_valid_names(name: str) -> None:
    assert name_is_valid(name)


@pytest.mark.parametrize(
    "name",
    [
        "a\x00b",
        "a\x01b",
        "tab\t",
        "new\nline",
        "\x1f",
        "del\x7f",
        "c1\x80",
        "nel\x85",
        "c1\x9f",
        "lone\ud800",
        "lone\udc00",
        "\udcff",
    ],
)
def test_control_characters_and_lone_surrogates_are_invalid(name: str) -> None:
    assert not name_is_valid(name)

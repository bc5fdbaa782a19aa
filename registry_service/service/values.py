"""The values every rule shares, parsed and checked before any store sees them.

Version strings (``parse_version``), subject and reference names (``name_is_valid``,
``normalize_subject``, ``check_subject``), compatibility levels and modes, GUIDs, and
Confluent's ``offset``/``limit`` pages. Nothing here reads the store or the cache, so
routers and the auth guard use these functions directly."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from registry_service.errors import (
    InvalidCompatibilityLevelError,
    InvalidModeError,
    InvalidSubjectError,
    InvalidVersionError,
)
from registry_service.formats import (
    CompatibilityLevel,
    SchemaReference,
    SchemaType,
)
from registry_service.service.data_contracts import NO_CONTRACT, Contract
from registry_service.settings import Mode
from registry_service.storage import (
    StoredReference,
    SubjectVersion,
)

LATEST = -1
MAX_VERSION = 2**31 - 1
DEFAULT_CONTEXT = "."
CONTEXT_PREFIX = ":.:"
# In the order Confluent's GET /schemas/types answers (the key order of its providers'
# java.util.HashMap).
SUPPORTED_TYPES = (SchemaType.JSON, SchemaType.PROTOBUF, SchemaType.AVRO)


# -- request values --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaRequest:
    """A register / lookup / compatibility body, already type-checked by the router."""

    schema: str
    schema_type: str = "AVRO"
    references: tuple[SchemaReference, ...] = ()
    version: int | None = None
    id: int | None = None
    contract: Contract = field(default=NO_CONTRACT, hash=False)
    """The request's metadata and rule set, validated (``data_contracts``); false when
    it has neither."""


# ASCII digits only: ``[0-9]`` in a str pattern matches no other script's digits.
_VERSION_NUMBER = re.compile(r"-?[0-9]+")
_INT_DIGITS = 10  # 2^31-1 has ten digits


def parse_version(value: str) -> int:
    """A ``{version}`` path segment: ``LATEST`` (-1) or a number 1..2^31-1, else 42202.

    Confluent's ``VersionId`` (``core/.../rest/VersionId.java``): ``latest`` after
    ``trim()`` and ``toLowerCase()`` is -1; otherwise ``Integer.parseInt(trim())``, valid
    when ``>= 1`` or ``== -1``. What it accepts, and so what is accepted here:

    * ``latest`` in any ASCII case (``LATEST``, ``Latest``);
    * ``-1``, and ASCII digits meaning 1..2147483647; leading zeros are allowed, as
      ``parseInt`` allows them (``01`` is 1, ``-01`` is -1).

    Refused with 42202 (Confluent too): ``0`` (also spelled ``00`` or ``-0``), other
    negative numbers, anything beyond a Java int (``2147483648``: ``parseInt`` overflows),
    and anything that is not a number (``0_1``, ``1.0``, ``1e3``, ``0x1``, empty). For a
    number that parses but is not a valid version the message shows it as parsed
    (``00`` -> ``'0'``), as Confluent's does (``String.valueOf`` of the int); otherwise
    the text as sent.

    Refused here although Confluent accepts them, so that one version has one spelling
    (a path an authorization rule or a cache key matches cannot mean a second one):
    surrounding whitespace and control characters (``trim()`` drops everything up to
    U+0020), a leading ``+`` (``parseInt("+1")`` is 1), and digits of other scripts
    (``parseInt`` takes any Unicode decimal digit: ``"\u0661"`` is 1). Python's ``int()``
    would also take underscores (``0_1``), which Confluent does not.
    """
    if value.isascii():
        if len(value) == 6 and value.lower() == "latest":
            return LATEST
        if _VERSION_NUMBER.fullmatch(value) and len(value.lstrip("-").lstrip("0")) <= _INT_DIGITS:
            number = int(value)
            if number == LATEST or 1 <= number <= MAX_VERSION:
                return number
            if number >= -(2**31):
                raise InvalidVersionError(str(number))
    raise InvalidVersionError(value)


# Characters no name may hold: the Unicode control characters (category Cc: C0
# U+0000-U+001F, DEL U+007F, C1 U+0080-U+009F) and lone surrogates (category Cs, which
# invalid UTF-8 in a path decodes to, and which no UTF-8 encoder accepts).
_FORBIDDEN_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def name_is_valid(name: str) -> bool:
    """Whether ``name`` (a subject, a reference name) holds no control character and no
    lone surrogate.

    The rule is the registry's, not a database's: PostgreSQL refuses NUL in text and
    SQLite stores it, so without it what is valid would depend on the store. Checked
    before any store sees a name. ``isprintable`` (one C loop, true for the names in
    use) answers first; only names that fail it are searched for the forbidden
    characters, since format characters such as U+200D (emoji sequences) and spaces
    other than U+0020 are not printable but are allowed.
    """
    return name.isprintable() or _FORBIDDEN_IN_NAMES.search(name) is None


def normalize_subject(subject: str) -> str:
    """Strip the default context's qualifier (``:.:orders-value`` is ``orders-value``).

    A name that ``name_is_valid`` refuses can never be a subject (``check_subject``
    refuses to create one, and PostgreSQL cannot even compare text holding NUL), so it
    is 42208 on reads too.
    """
    if subject.startswith(CONTEXT_PREFIX):
        subject = subject[len(CONTEXT_PREFIX) :]
    if not name_is_valid(subject):
        raise InvalidSubjectError(subject)
    return subject


def check_subject(subject: str) -> str:
    """42208 for names no subject can have: empty, or refused by ``name_is_valid``."""
    name = normalize_subject(subject)
    if not name or name == "__GLOBAL":
        raise InvalidSubjectError(subject)
    return name


def schema_guid(fingerprint: str) -> str:
    """The schema's GUID (Confluent 8.x): the first 128 bits of its fingerprint as a UUID,
    so every registry process sharing the database derives the same one."""
    f = fingerprint
    return f"{f[0:8]}-{f[8:12]}-{f[12:16]}-{f[16:20]}-{f[20:32]}"


def guid_prefix(guid: str) -> str | None:
    """The fingerprint prefix a GUID names, or None when it is not a UUID."""
    text = guid.strip().lower().replace("-", "")
    if len(text) != 32 or any(ch not in "0123456789abcdef" for ch in text):
        return None
    return text


def parse_level(value: object) -> CompatibilityLevel:
    """Level names are case-insensitive, as in Confluent's ``CompatibilityLevel.forName``."""
    if isinstance(value, str):
        try:
            return CompatibilityLevel(value.strip().upper())
        except ValueError:
            pass
    raise InvalidCompatibilityLevelError()


def parse_mode(value: object) -> Mode:
    if isinstance(value, str):
        try:
            return Mode(value.strip().upper())
        except ValueError:
            pass
    raise InvalidModeError()


def paginate(items: list[Any], offset: int, limit: int) -> list[Any]:
    """Confluent's ``offset``/``limit`` (limit -1 or 0 = everything)."""
    start = max(offset, 0)
    if limit is None or limit <= 0:
        return items[start:]
    return items[start : start + limit]


def references_json(refs: Sequence[StoredReference]) -> list[dict[str, Any]]:
    """A schema's references in the REST shape."""
    return [{"name": r.name, "subject": r.subject, "version": r.version} for r in refs]


def live_versions(versions: Sequence[SubjectVersion]) -> list[SubjectVersion]:
    """The versions not soft-deleted, in their order."""
    return [v for v in versions if not v.deleted]

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
WILDCARD = "*"
CONTEXT_WILDCARD = ":*:"
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


def split_qualified(subject: str) -> tuple[str, str]:
    """``(context, name)`` of a subject as Confluent's ``QualifiedSubject`` reads it.

    ``:.ctx:orders`` is ``(".ctx", "orders")``; ``:.ctx`` (no second colon) is the
    context alone, ``(".ctx", "")``; ``:*:orders`` is the wildcard ``("*", "orders")``;
    anything else is in the default context, ``(".", subject)``. Only a name starting
    with ``:.`` is qualified, so ``:orders`` and ``a:.b:c`` are plain default-context
    names, as in Confluent."""
    if subject.startswith(":."):
        end = subject.find(":", 2)
        if end < 0:
            return subject[1:], ""
        return subject[1:end], subject[end + 1 :]
    if subject.startswith(CONTEXT_WILDCARD):
        return WILDCARD, subject[len(CONTEXT_WILDCARD) :]
    return DEFAULT_CONTEXT, subject


def qualify(context: str, name: str) -> str:
    """The one spelling of ``name`` in ``context``: bare in the default context,
    ``:<context>:<name>`` in any other (Confluent's ``toQualifiedSubject``)."""
    if context == DEFAULT_CONTEXT:
        return name
    return f":{context}:{name}"


def context_of(subject: str) -> str:
    """The context a normalized subject (or context scope ``:.ctx:``) is in.

    Cheap for the default context, which every hot path is in: one prefix test."""
    if not subject.startswith(":."):
        return DEFAULT_CONTEXT
    return subject[1 : subject.find(":", 2)]


def context_scope(context: str) -> str:
    """The config/mode key of ``context`` (``:.ctx:``); the global one for ``.``."""
    return "" if context == DEFAULT_CONTEXT else f":{context}:"


def normalize_context(value: str) -> str:
    """A context as ``/contexts/{context}`` and ``--context`` take it (``ctx``, ``.ctx``,
    ``:.ctx:``) as its name with the leading dot (``.ctx``); 42208 for a name holding a
    colon or a character no name may hold (Confluent's ``normalizeContext``)."""
    text = value
    if text.startswith(":"):
        text = text[1:]
    if text.endswith(":"):
        text = text[:-1]
    if ":" in text or not name_is_valid(text):
        raise InvalidSubjectError(value)
    return text if text.startswith(".") else "." + text


def normalize_subject(subject: str) -> str:
    """A subject in its one spelling: the default context's qualifier stripped
    (``:.:orders-value`` is ``orders-value``), a bare context given its trailing colon
    (``:.ctx`` is ``:.ctx:``), other qualified names as they are.

    A name that ``name_is_valid`` refuses can never be a subject (``check_subject``
    refuses to create one, and PostgreSQL cannot even compare text holding NUL), so it
    is 42208 on reads too.
    """
    if subject.startswith(":."):
        context, name = split_qualified(subject)
        subject = qualify(context, name)
    if not name_is_valid(subject):
        raise InvalidSubjectError(subject)
    return subject


def subject_sort_key(subject: str) -> tuple[str, str]:
    """Confluent's order of qualified subjects: by context (the default ``.`` first),
    then by name."""
    return split_qualified(subject)


def check_subject(subject: str) -> str:
    """42208 for names no subject can have: empty (also in a context: ``:.ctx:``), a
    wildcard, Confluent's reserved ``__GLOBAL``/``__EMPTY``, or refused by
    ``name_is_valid``."""
    name = normalize_subject(subject)
    _, bare = split_qualified(name)
    if not bare or bare in ("__GLOBAL", "__EMPTY") or name.startswith(CONTEXT_WILDCARD):
        raise InvalidSubjectError(subject)
    return name


def check_scope(subject: str) -> str:
    """A config or mode key: a subject ``check_subject`` accepts, or a context's own
    scope (``:.ctx:``, also spelled ``:.ctx``), which its subjects fall back to."""
    name = normalize_subject(subject)
    context, bare = split_qualified(name)
    if not bare and context not in (DEFAULT_CONTEXT, WILDCARD):
        return name
    return check_subject(subject)


ID_BITS = 32
ID_MASK = (1 << ID_BITS) - 1


def public_id(schema_id: int) -> int:
    """The id clients see for a stored id (``context number << 32 | id``)."""
    return schema_id & ID_MASK


def scoped_fingerprint(fingerprint: str, id_base: int) -> str:
    """A schema's identity within the context whose ids start at ``id_base``: the
    fingerprint itself in the default context, ``<fingerprint>@<number>`` in another
    (so its GUID, the fingerprint's first 128 bits, is the same in every context)."""
    if not id_base:
        return fingerprint
    return f"{fingerprint}@{id_base >> ID_BITS}"


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

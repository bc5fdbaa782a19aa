"""Hypothesis strategies for requests no well-behaved client sends.

Schema texts: deep (at, just past and far past the nesting limits, and the shapes of
issue 14), wide (thousands of fields, symbols, branches), unicode (every plane, controls,
NUL, lone surrogates escaped in JSON), huge (megabyte docs), arbitrary JSON and text,
``.proto`` text with random edits and base64 descriptors broken at random.

Path segments: subjects and versions with ``/``, ``%2F``, ``%00``, ``%FF``, the UTF-8
of lone surrogates (``%ED%A0%80``), control characters, contexts, very long names, and a
small pool of ordinary subjects so that state builds up between examples.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from registry_service.formats.limits import MAX_JSON_DEPTH, MAX_NESTING_DEPTH
from registry_service.formats.protobuf import parse_protobuf

Json = Any

# Every code point, lone surrogates and controls included.
CHARS = st.characters(codec=None, categories=None, exclude_categories=())
TEXT = st.text(CHARS, max_size=16)


@dataclass(frozen=True)
class Request:
    """One HTTP request: ``path`` is already percent-encoded, sent as it is."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Path segments


POOL = ["robust-a", "robust-b", "dir/robust.proto", "ünïcode-subject", ":.ctx:robust"]
ODD_SUBJECTS = [
    "",
    " ",
    ".",
    "..",
    "%",
    "a%2Fb",
    "a/b/c",
    "\x00",
    "a\x00b",
    "\n",
    "\t\r",
    "\x7f",
    "\ud800",
    "x\udc00",
    "\U0001f600",
    "\u202e",
    ":.:",
    ":*:",
    ":.ctx:",
    "x" * 10_000,
]


def encode_segment(text: str) -> str:
    """Percent-encode the UTF-8 of ``text`` (lone surrogates as their 3-byte forms)."""
    encoded = quote(text.encode("utf-8", "surrogatepass"), safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


RAW_ESCAPES = ["%2F", "%2f", "%00", "%FF", "%ED%A0%80", "%25", "%", "%zz", "%C0%AF", "/"]


@st.composite
def subject_segments(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 9))
    if choice < 5:
        return encode_segment(draw(st.sampled_from(POOL)))
    if choice < 7:
        return encode_segment(draw(st.sampled_from(ODD_SUBJECTS)))
    if choice < 9:
        return encode_segment(draw(TEXT))
    # Escapes the client wrote itself, some invalid, spliced into a name.
    parts = draw(st.lists(st.sampled_from(RAW_ESCAPES) | st.sampled_from(["a", "b"]), min_size=1))
    return "".join(parts)


VERSIONS = (
    st.sampled_from(
        [
            "latest",
            "LATEST",
            " latest",
            "-1",
            "0",
            "1",
            "2",
            "3",
            "-2",
            "01",
            "+1",
            "1.0",
            "1e3",
            "2147483647",
            "2147483648",
            "-2147483649",
            "99999999999999999999999",
            "\u0661",  # ARABIC-INDIC DIGIT ONE: int() accepts it
            "abc",
            "%00",
            "1%2F2",
            "%20",
        ]
    ).map(lambda v: v if "%" in v else encode_segment(v))
    | subject_segments()
)

IDS = st.sampled_from(["1", "2", "3", "0", "-1", "2147483648", "abc", "1.5", "%00", "\u0661"])
BOOLS = st.sampled_from(["true", "false", "True", "FALSE", "1", "0", "", "yes", "maybe", "%00"])
FORMATS = st.sampled_from(["serialized", "resolved", "default", "", "x"])


# --------------------------------------------------------------------------------------
# Schema texts


def avro_chain(kind: str, levels: int) -> str:
    """``levels`` nested records, arrays or maps, written as text (json.dumps recurses)."""
    if kind == "record":
        head = '{"type":"record","name":"R%d","fields":[{"name":"f","type":'
        return "".join(head % i for i in range(levels)) + '"int"' + "}]}" * levels
    key = "items" if kind == "array" else "values"
    return f'{{"type":"{kind}","{key}":' * levels + '"int"' + "}" * levels


def proto_nested(levels: int) -> str:
    body = "".join(f"message M{i} {{ int32 v = 1;\n" for i in range(levels))
    return 'syntax = "proto3";\n' + body + "}" * levels + "\n"


PROTO_OPTIONS = (
    'syntax = "proto2";\nimport "google/protobuf/descriptor.proto";\n'
    "message O { optional O o = 1; optional int32 v = 2; }\n"
    "extend google.protobuf.MessageOptions { optional O opt = 50000; }\n"
)


def proto_option_literal(levels: int) -> str:
    inner = "{ o " * (levels - 1) + "{ v: 1 }" + " }" * (levels - 1)
    return PROTO_OPTIONS + f"message A {{ option (opt) = {inner}; }}\n"


def avro_record(name: str, fields: list[tuple[str, str]], **extra: Json) -> str:
    body = [{"name": n, "type": t, "default": None if t == "null" else 0} for n, t in fields]
    for item in body:
        if item["type"] not in ("null", "int", "long"):
            del item["default"]
    return json.dumps({"type": "record", "name": name, "fields": body, **extra})


VALID_AVRO = st.builds(
    lambda name, fields, doc: avro_record(name, fields, doc=doc),
    st.sampled_from(["R", "ns.R", "Other"]),
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["int", "long"])),
        max_size=4,
        unique_by=lambda f: f[0],
    ),
    st.sampled_from(["", "doc", "dôc \U0001f600", "\u0000nul"]),
)

VALID_PROTO = st.sampled_from(
    [
        'syntax = "proto3";\nmessage P { int32 a = 1; }\n',
        'syntax = "proto3";\nmessage P { int32 a = 1; string b = 2; }\n',
        'syntax = "proto3";\npackage p;\nmessage P { int64 a = 1; }\n',
    ]
)


@cache
def _seed_descriptor() -> bytes:
    text = """
syntax = "proto2";
package shop;
message Order {
  optional string id = 1;
  oneof pay { string card = 2; int64 cash = 3; }
  map<string, int32> counts = 4;
  optional group G = 5 { optional int32 n = 1; }
  enum S { A = 0; B = 1; }
  optional S s = 6 [default = B];
}
"""
    return parse_protobuf(text).descriptor.SerializeToString()


@st.composite
def broken_descriptor_texts(draw: st.DrawFn) -> str:
    data = bytearray(_seed_descriptor())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return base64.b64encode(bytes(data)).decode()


@cache
def _huge_doc() -> str:
    return json.dumps({"type": "string", "doc": "x" * 1_500_000})


DEEP = st.sampled_from(
    [
        "[" * 2000 + "]" * 2000,  # the issue's 2,000-level JSON array
        "[" * 100_000 + "]" * 100_000,
        avro_chain("array", 600),
        avro_chain("map", 600),
        avro_chain("record", 300),
        avro_chain("array", MAX_NESTING_DEPTH),
        avro_chain("array", MAX_NESTING_DEPTH + 1),
        avro_chain("record", MAX_NESTING_DEPTH),
        avro_chain("record", MAX_NESTING_DEPTH + 1),
        json.dumps({"type": "string", "x": [[]] * 3}).replace(
            "[]", "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
        ),
    ]
)
DEEP_PROTO = st.sampled_from(
    [
        proto_nested(31),
        proto_nested(32),
        proto_nested(1000),
        proto_option_literal(MAX_NESTING_DEPTH - 1),
        proto_option_literal(MAX_NESTING_DEPTH),
        proto_option_literal(10_000),
        "Cgd4LnByb3RvEgFwIhAKAU0SCwoBYRgBIAEoBUgFYgZwcm90bzM=",  # the issue's oneof_index 5
    ]
)
WIDE = st.sampled_from(
    [
        avro_record("Wide", [(f"f{i}", "int") for i in range(3000)]),
        json.dumps({"type": "enum", "name": "E", "symbols": [f"S{i}" for i in range(5000)]}),
        json.dumps(["null", *({"type": "fixed", "name": f"F{i}", "size": i} for i in range(300))]),
        'syntax = "proto3";\nmessage W {\n'
        + "".join(f"  oneof o{i} {{ int32 f{i} = {i + 1}; }}\n" for i in range(2000))
        + "}\n",
    ]
)
SURROGATES = st.sampled_from(
    [
        '{"type":"record","name":"R","doc":"\\ud800","fields":[]}',
        '{"type":"record","name":"X\\udc00","fields":[]}',
        '{"type":"enum","name":"E","symbols":["\\udbff"]}',
        '{"type":"string","\\udfff":1}',
        '{"type":"record","name":"R","doc":"\\ud83d\\ude00","fields":[]}',  # a valid pair
        'syntax = "proto3";\noption java_package = "\\ud800";\nmessage A { int32 a = 1; }\n',
        'syntax = "proto2";\nmessage A { optional string a = 1 [default = "\\xff"]; }\n',
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=15,
)
UNICODE_AVRO = st.builds(
    lambda name, doc: json.dumps(
        {"type": "record", "name": name, "doc": doc, "fields": []}, ensure_ascii=False
    ),
    TEXT,
    TEXT,
)


@st.composite
def edited_proto(draw: st.DrawFn) -> str:
    text = draw(VALID_PROTO | st.just(proto_nested(3)))
    at = draw(st.integers(0, len(text)))
    insert = draw(TEXT | st.sampled_from(["{", "}", "[", "<", '"', "/*", ";", "\x00"]))
    return text[:at] + insert + text[at + draw(st.integers(0, 5)) :]


SCHEMA_TEXTS = st.one_of(
    VALID_AVRO,
    VALID_PROTO,
    DEEP,
    DEEP_PROTO,
    WIDE,
    SURROGATES,
    UNICODE_AVRO,
    JSON_VALUES.map(json.dumps),
    TEXT,
    edited_proto(),
    broken_descriptor_texts(),
    st.builds(_huge_doc),
)
SCHEMA_TYPES = st.sampled_from(
    [None, "AVRO", "PROTOBUF", "JSON", "avro", "Protobuf", "", "XML", "AVRO\x00", "\u0130VRO"]
)


@st.composite
def schema_bodies(draw: st.DrawFn) -> bytes:
    """The body of register, lookup and compatibility calls; sometimes not even JSON."""
    kind = draw(st.integers(0, 19))  # Hypothesis leans to 0: the ordinary body
    if kind == 16:
        return draw(
            st.sampled_from(
                [
                    b"",
                    b"null",
                    b"[]",
                    b"not json",
                    b'{"schema": "\\ud800"}',  # orjson refuses the lone surrogate itself
                    b'{"schema": "\xff\xfe"}',  # not UTF-8
                    b'{"schema": "\x00"}',
                    b'{"schema": ' + b"[" * 1100 + b"]" * 1100 + b"}",
                    b'{"schema": "\\"int\\"", "metadata": ' + b"[" * 2000 + b"]" * 2000 + b"}",
                ]
            )
            | st.binary(max_size=64)
        )
    body: dict[str, Json] = {"schema": draw(SCHEMA_TEXTS)}
    if kind == 17:
        body["schema"] = draw(JSON_VALUES)  # not a string
    schema_type = draw(SCHEMA_TYPES)
    if schema_type is not None:
        body["schemaType"] = schema_type
    if kind == 18:
        body["references"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "name": TEXT | st.sampled_from(["r.proto", "R", "../x.proto"]),
                        "subject": TEXT | st.sampled_from(POOL),
                        "version": st.integers(-3, 3) | st.sampled_from([2**31, -(2**31) - 1]),
                    }
                ),
                max_size=3,
            )
            | JSON_VALUES
        )
    if kind == 19:
        body["version"] = draw(st.integers() | TEXT)
        body["id"] = draw(st.integers() | TEXT)
    return json.dumps(body).encode()


# --------------------------------------------------------------------------------------
# Requests

CONTENT_TYPES = st.sampled_from(
    [
        "application/vnd.schemaregistry.v1+json",
        "application/json",
        "application/octet-stream",
        "text/plain",
        "application/json; charset=latin-1",
    ]
)


def _schema_call(
    path: str, params: dict[str, st.SearchStrategy[str]]
) -> st.SearchStrategy[Request]:
    return st.builds(
        lambda content, ctype, query: Request(
            "POST", path, tuple(query.items()), content, {"content-type": ctype}
        ),
        schema_bodies(),
        CONTENT_TYPES,
        st.fixed_dictionaries({}, optional=params),
    )


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """Any one request to the registry's API, built from the strategies above."""
    subject = draw(subject_segments())
    version = draw(VERSIONS)
    schema_id = draw(IDS)
    level = st.sampled_from(["BACKWARD", "NONE", "FULL_TRANSITIVE", "backward", "bogus", ""])
    choice = draw(st.integers(0, 17))
    if choice <= 3:
        return draw(_schema_call(f"/subjects/{subject}/versions", {"normalize": BOOLS}))
    if choice == 4:
        return draw(_schema_call(f"/subjects/{subject}", {"deleted": BOOLS, "normalize": BOOLS}))
    if choice == 5:
        path = f"/compatibility/subjects/{subject}/versions/{version}"
        return draw(_schema_call(path, {"verbose": BOOLS, "normalize": BOOLS}))
    if choice == 6:
        path = f"/compatibility/subjects/{subject}/versions"
        return draw(_schema_call(path, {"verbose": BOOLS}))
    if choice == 7:
        tail = draw(st.sampled_from(["", "/schema", "/referencedby"]))
        query = draw(st.fixed_dictionaries({}, optional={"deleted": BOOLS, "format": FORMATS}))
        return Request("GET", f"/subjects/{subject}/versions/{version}{tail}", tuple(query.items()))
    if choice == 8:
        tail = draw(st.sampled_from(["", "/schema", "/subjects", "/versions"]))
        query = draw(st.fixed_dictionaries({}, optional={"format": FORMATS, "subject": TEXT}))
        return Request("GET", f"/schemas/ids/{schema_id}{tail}", tuple(query.items()))
    if choice == 9:
        path = draw(st.sampled_from(["/subjects", "/schemas", "/schemas/types", "/contexts"]))
        query = draw(
            st.fixed_dictionaries(
                {}, optional={"subjectPrefix": TEXT, "deleted": BOOLS, "offset": IDS, "limit": IDS}
            )
        )
        return Request("GET", path, tuple(query.items()))
    if choice in (10, 11):
        path = draw(
            st.sampled_from([f"/subjects/{subject}", f"/subjects/{subject}/versions/{version}"])
        )
        return Request("DELETE", path, (("permanent", draw(BOOLS)),))
    if choice in (12, 13):
        resource = draw(st.sampled_from(["config", "mode"]))
        path = draw(st.sampled_from([f"/{resource}", f"/{resource}/{subject}"]))
        method = draw(st.sampled_from(["GET", "PUT", "PUT", "DELETE"]))
        if method != "PUT":
            return Request(method, path, (("defaultToGlobal", draw(BOOLS)),))
        key = draw(st.sampled_from(["compatibility", "compatibilityLevel", "mode", "normalize"]))
        value = draw(level | st.sampled_from(["READWRITE", "READONLY", "IMPORT"]) | JSON_VALUES)
        content = draw(st.just(json.dumps({key: value}).encode()) | st.binary(max_size=16))
        return Request(method, path, (), content, {"content-type": "application/json"})
    if choice == 14:
        return Request("DELETE", f"/contexts/{subject}")
    if choice == 15:
        path = f"/associations/resources/{subject}/{draw(subject_segments())}"
        return Request("GET", path, (("resourceType", draw(TEXT)),))
    if choice == 16:
        # Unknown paths and methods answer 404/405 in Confluent's shape too.
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
        return Request(method, f"/{subject}/{version}")
    # Headers clients get wrong.
    accept = draw(
        st.sampled_from(["text/html", "application/xml", "*/*;q=0", "application/v2+json", ""])
    )
    return Request("GET", f"/subjects/{subject}/versions", headers={"accept": accept})

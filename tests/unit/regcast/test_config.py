"""regcast.toml parsing and subject naming conventions."""

from __future__ import annotations

from pathlib import Path

import pytest

from regcast.config import (
    DEFAULT_REGISTRY_URL,
    ConfigError,
    SchemaType,
    conventional_subject,
    find_config,
    load_config,
    schema_type_for,
)

REPO = Path(__file__).resolve().parents[3]


def test_the_repository_config_maps_the_example_schemas() -> None:
    config = load_config(REPO / "regcast.toml")
    subjects = {e.path.relative_to(REPO).as_posix(): e.subject for e in config.schemas}
    assert subjects == {
        "schemas/avro/order.avsc": "orders-avro-value",
        "schemas/protobuf/common/types.proto": "common/types.proto",
        "schemas/protobuf/order.proto": "orders-proto-value",
    }
    assert config.proto_include == ((REPO / "schemas/protobuf").resolve(),)
    for entry in config.schemas:
        assert entry.path.is_file(), entry.path
    proto = config.entry_for(REPO / "schemas/protobuf/order.proto")
    assert proto is not None and proto.message == "regcast.demo.Order"


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("order.avsc", "order-value"),
        ("orders-value.avsc", "orders-value"),
        ("orders-key.proto", "orders-key"),
        ("payments.v2.proto", "payments.v2-value"),
    ],
)
def test_conventional_subject(name: str, subject: str) -> None:
    assert conventional_subject(Path("schemas") / name) == subject


def test_schema_type_from_extension_or_explicit() -> None:
    assert schema_type_for(Path("a.avsc")) is SchemaType.AVRO
    assert schema_type_for(Path("a.proto")) is SchemaType.PROTOBUF
    assert schema_type_for(Path("a.json"), "avro") is SchemaType.AVRO
    with pytest.raises(ConfigError, match="--type"):
        schema_type_for(Path("a.json"))
    with pytest.raises(ConfigError, match="unknown schema type 'xml'"):
        schema_type_for(Path("a.avsc"), "xml")
    assert schema_type_for(Path("a.avsc"), "json") is SchemaType.JSON  # explicit wins


def test_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "regcast.toml").write_text(
        '[[schemas]]\nfile = "s/a.avsc"\nsubject = "a-value"\n', encoding="utf-8"
    )
    config = load_config(tmp_path / "regcast.toml")
    entry = config.entry_for(tmp_path / "s" / ".." / "s" / "a.avsc")
    assert entry is not None and entry.subject == "a-value"
    assert find_config(tmp_path / "s") == tmp_path / "regcast.toml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[schemas]]\nsubject = 'x'\n", "missing 'file'"),
        ("[[schemas]]\nfile = 'a.avsc'\n", "missing 'subject'"),
        ("[[schemas]]\nfile = 'a.avsc'\nsubject = 'x'\nmessage = 'M'\n", "only applies"),
        ("[[schemas]]\nfile = 'a.avsc'\nsubject = 'x'\ncolour = 'red'\n", "unknown key"),
        ("[[schemas]]\nfile = 'a.txt'\nsubject = 'x'\n", "cannot tell the schema type"),
        ("[registri]\nurl = 'http://x'\n", "unknown table"),
        ("[[schemas]\n", "not valid TOML"),
        (
            "[[schemas]]\nfile = 'a.avsc'\nsubject = 'x'\n[[schemas]]\nfile = 'a.avsc'\n"
            "subject = 'y'\n",
            "listed twice",
        ),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "regcast.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_registry_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "regcast.toml"
    path.write_text('[registry]\nurl = "http://from-config:1/"\n', encoding="utf-8")
    config = load_config(path)
    monkeypatch.delenv("REGCAST_REGISTRY_URL", raising=False)
    assert config.effective_registry_url(None) == "http://from-config:1"
    monkeypatch.setenv("REGCAST_REGISTRY_URL", "http://from-env:2")
    assert config.effective_registry_url(None) == "http://from-env:2"
    assert config.effective_registry_url("http://given:3") == "http://given:3"
    monkeypatch.delenv("REGCAST_REGISTRY_URL")
    assert load_config(None).effective_registry_url(None) == DEFAULT_REGISTRY_URL

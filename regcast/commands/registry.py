"""Registry operations without curl: ``register``, ``subjects``, ``versions``, ``get``.

Each command talks to the registry with :class:`serdes.SchemaRegistryClient`, prints a
human summary (or ``--json`` for scripts) and exits 0, 1 (schema rejected) or 2 (usage,
network, unknown subject or version); see :mod:`regcast.commands._common`.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.syntax import Syntax
from rich.table import Table

from regcast.commands._common import (
    ConfigOption,
    ContextOption,
    ExitCode,
    RegistryOption,
    RegistryPasswordOption,
    RegistryTokenOption,
    RegistryUserOption,
    console,
    context_url,
    fail,
    load_cli_config,
    open_registry,
    registry_errors,
)
from regcast.config import ConfigError
from regcast.registration import load_schema_file, register_file
from regcast.schema_files import SchemaFileError
from serdes.registry_client import RegisteredSchema, Schema

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def register(
    subject: Annotated[str, typer.Argument(help="Subject to register under, e.g. orders-value.")],
    file: Annotated[
        Path,
        typer.Argument(help="Schema file: .avsc (Avro), .proto (Protobuf) or .json (JSON Schema)."),
    ],
    schema_type: Annotated[
        str | None,
        typer.Option(
            "--type", "-t", help="avro, protobuf or json [default: from the file extension]."
        ),
    ] = None,
    normalize: Annotated[
        bool, typer.Option("--normalize", help="Ask the registry to normalize the schema.")
    ] = False,
    registry: RegistryOption = None,
    context: ContextOption = None,
    registry_user: RegistryUserOption = None,
    registry_password: RegistryPasswordOption = None,
    registry_token: RegistryTokenOption = None,
    config_path: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a schema file under SUBJECT (for .proto files, its imports first).

    Prints the schema id and version. Registering a schema the subject already has
    returns its existing id and version. Exit 1 when the registry rejects the schema
    (incompatible, or invalid), 2 on usage or registry errors.
    """
    config = load_cli_config(config_path)
    url = context_url(config.effective_registry_url(registry), context)
    try:
        schema = load_schema_file(file, config, schema_type)
    except ConfigError as exc:
        fail(str(exc))
    except SchemaFileError as exc:
        for problem in exc.problems:
            console.print(f"{problem.where(file)}: {problem.message}", highlight=False)
        fail(f"{file} is not a valid schema", ExitCode.REJECTED)
    client = open_registry(
        url, user=registry_user, password=registry_password, token=registry_token
    )
    with client, registry_errors(url, subject=subject):
        registered = register_file(client, schema, subject, config, normalize=normalize)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "file": _shown(r.file),
                        "subject": r.subject,
                        "id": r.schema_id,
                        "version": r.version,
                        "schemaType": str(r.schema_type),
                    }
                    for r in registered
                ],
                indent=2,
            )
        )
        return
    for r in registered:
        console.print(
            f"[green]registered[/] {_shown(r.file)} as [bold]{r.subject}[/] "
            f"version {r.version}, id {r.schema_id}",
            highlight=False,
        )


def _shown(file: str) -> str:
    """A registered file as the user would name it: relative to cwd when under it."""
    path = Path(file)
    if path.is_absolute() and path.is_relative_to(Path.cwd()):
        return path.relative_to(Path.cwd()).as_posix()
    return file


def subjects(
    registry: RegistryOption = None,
    context: ContextOption = None,
    registry_user: RegistryUserOption = None,
    registry_password: RegistryPasswordOption = None,
    registry_token: RegistryTokenOption = None,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="Include soft-deleted subjects.")
    ] = False,
    config_path: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the registry's subjects."""
    url = context_url(load_cli_config(config_path).effective_registry_url(registry), context)
    client = open_registry(
        url, user=registry_user, password=registry_password, token=registry_token
    )
    with client, registry_errors(url):
        names = client.get_subjects(deleted=deleted)
    if as_json:
        print(json.dumps(names))
        return
    if not names:
        console.print(f"no subjects in the registry at {url}", highlight=False)
        return
    for name in names:
        console.print(name, highlight=False, markup=False)


def versions(
    subject: Annotated[str, typer.Argument(help="The subject.")],
    registry: RegistryOption = None,
    context: ContextOption = None,
    registry_user: RegistryUserOption = None,
    registry_password: RegistryPasswordOption = None,
    registry_token: RegistryTokenOption = None,
    deleted: Annotated[
        bool, typer.Option("--deleted", help="Include soft-deleted versions.")
    ] = False,
    config_path: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the version numbers of SUBJECT (exit 2 if there is no such subject)."""
    url = context_url(load_cli_config(config_path).effective_registry_url(registry), context)
    client = open_registry(
        url, user=registry_user, password=registry_password, token=registry_token
    )
    with client, registry_errors(url, subject=subject):
        numbers = client.get_versions(subject, deleted=deleted)
    if as_json:
        print(json.dumps(numbers))
        return
    console.print(" ".join(str(n) for n in numbers), highlight=False)


def _schema_json(schema: Schema) -> dict[str, Any]:
    return {
        "schemaType": schema.schema_type,
        "references": [r.to_json() for r in schema.references],
        "schema": schema.schema_str,
    }


def _show(title: str, schema: Schema) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for line in title.splitlines():
        key, _, value = line.partition(": ")
        table.add_row(key, value)
    table.add_row("type", schema.schema_type)
    for ref in schema.references:
        table.add_row("reference", f"{ref.name} -> {ref.subject} version {ref.version}")
    console.print(table)
    text = schema.schema_str
    if schema.schema_type in ("AVRO", "JSON"):
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), indent=2)
    lexer = {"AVRO": "json", "PROTOBUF": "protobuf", "JSON": "json"}.get(schema.schema_type)
    if lexer is not None and console.is_terminal:
        console.print(Syntax(text, lexer, word_wrap=True))
    else:  # pipes and logs get the text as it is, without padding or colour codes
        console.print(text, markup=False, highlight=False)


def get(
    subject: Annotated[
        str | None, typer.Argument(help="The subject (omit with --id).", show_default=False)
    ] = None,
    version: Annotated[str, typer.Argument(help="Version number or 'latest'.")] = "latest",
    schema_id: Annotated[
        int | None, typer.Option("--id", help="Get the schema with this global id instead.")
    ] = None,
    registry: RegistryOption = None,
    context: ContextOption = None,
    registry_user: RegistryUserOption = None,
    registry_password: RegistryPasswordOption = None,
    registry_token: RegistryTokenOption = None,
    config_path: ConfigOption = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Print only the schema text (for pipes).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a schema: SUBJECT [VERSION] (default latest), or --id N."""
    if (subject is None) == (schema_id is None):
        fail("give either SUBJECT [VERSION] or --id N")
    url = context_url(load_cli_config(config_path).effective_registry_url(registry), context)
    client = open_registry(
        url, user=registry_user, password=registry_password, token=registry_token
    )
    if schema_id is not None:
        with client, registry_errors(url):
            schema = client.get_schema(schema_id)
        if raw:
            print(schema.schema_str)
        elif as_json:
            print(json.dumps({"id": schema_id, **_schema_json(schema)}, indent=2))
        else:
            _show(f"id: {schema_id}", schema)
        return
    assert subject is not None
    parsed_version: int | str = version
    if version != "latest":
        try:
            parsed_version = int(version)
        except ValueError:
            fail(f"VERSION must be a number or 'latest', got {version!r}")
    with client, registry_errors(url, subject=subject):
        found: RegisteredSchema = client.get_version(subject, parsed_version)
    if raw:
        print(found.schema.schema_str)
    elif as_json:
        print(
            json.dumps(
                {
                    "subject": found.subject,
                    "version": found.version,
                    "id": found.schema_id,
                    **_schema_json(found.schema),
                },
                indent=2,
            )
        )
    else:
        _show(
            f"subject: {found.subject}\nversion: {found.version}\nid: {found.schema_id}",
            found.schema,
        )

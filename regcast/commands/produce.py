"""``regcast produce``: JSON lines in, typed records on a topic out.

Theory of operation
-------------------
1. The schema file is parsed and registered (imports first for ``.proto``) under the
   topic's value subject before anything is sent, so a rejected schema (exit 1) or an
   unreachable registry (exit 2) stops the command before the first record. The
   serializer later asks the registry client for the same registration and is answered
   from its cache.
2. Each input line is decoded as JSON and turned into the schema's types
   (:mod:`regcast.json_records`): Avro logical types from their JSON text, Protobuf with
   protobuf's JSON mapping; JSON Schema values go as they are and the serializer
   validates them against the schema. A line that does not fit is *rejected*, reported
   with its line number (and for JSON Schema the path that failed), and the rest go on.
3. Records go through :class:`producer.Producer` with the serdes serializer as its
   ``value_serializer``; the key (``--key-field``) is the field's value as UTF-8. Every
   future is counted exactly once as delivered or failed (:class:`DeliveryStats`).

Exit: 0 all delivered; 1 some lines were rejected, the rest delivered; 2 any record
not delivered (broker down, timeouts), or a usage/registry error; 130 on Ctrl-C and
143 on SIGTERM, after flushing what was sent.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from regcast.commands._common import (
    ConfigOption,
    ExitCode,
    RegistryOption,
    RegistryPasswordOption,
    RegistryTokenOption,
    RegistryUserOption,
    Terminated,
    console,
    err_console,
    fail,
    load_cli_config,
    open_registry,
    registry_errors,
    sigterm_as_interrupt,
)
from regcast.commands._kafka import (
    SaslMechanismOption,
    SaslOauthbearerClientIdOption,
    SaslOauthbearerClientSecretOption,
    SaslOauthbearerScopeOption,
    SaslOauthbearerTokenEndpointUrlOption,
    SaslPasswordOption,
    SaslUsernameOption,
    SecurityProtocolOption,
    SslCafileOption,
    SslCertfileOption,
    SslCheckHostnameOption,
    SslKeyfileOption,
    SslPasswordOption,
    kafka_security,
)
from regcast.config import ConfigError, RegcastConfig
from regcast.json_records import JsonRecordError, avro_converter, protobuf_converter
from regcast.json_schema_files import JsonSchemaFile
from regcast.pipeline import DeliveryStats, broker_reachable, open_producer
from regcast.registration import load_schema_file, register_file
from regcast.schema_files import AvroFile, ProtoFile, SchemaFileError
from serdes import (
    AvroSerializer,
    JSONSerializer,
    ProtobufSerializer,
    SchemaRegistryClient,
    SerializationError,
)
from serdes.context import SerdeContext

BOOTSTRAP_ENV = "REGCAST_BOOTSTRAP"
_PROGRESS_EVERY = 500


def _reference_subjects(config: RegcastConfig) -> Callable[[Any, str], str]:
    """Import path -> subject: regcast.toml's mapping, else the import path itself."""
    by_import: dict[str, str] = {}
    root = config.proto_include
    for entry in config.schemas:
        for include in root:
            if entry.path.is_relative_to(include):
                by_import[entry.path.relative_to(include).as_posix()] = entry.subject

    def strategy(ctx: Any, import_path: str) -> str:
        return by_import.get(import_path, import_path)

    return strategy


def build_serializer(
    client: SchemaRegistryClient,
    schema: AvroFile | ProtoFile | JsonSchemaFile,
    subject: str,
    config: RegcastConfig,
    message: str | None,
) -> tuple[Callable[[Any, Any], bytes | None], Callable[[Any], Any]]:
    """The serdes serializer for ``subject`` and the JSON -> typed value converter."""

    def subject_strategy(ctx: SerdeContext | None, record_name: str | None) -> str:
        return subject

    if isinstance(schema, AvroFile):
        serializer: Callable[[Any, Any], bytes | None] = AvroSerializer(
            client, schema.path, subject_name_strategy=subject_strategy
        )
        return serializer, avro_converter(schema.document)
    if isinstance(schema, JsonSchemaFile):
        serializer = JSONSerializer(
            client, schema.schema_str, subject_name_strategy=subject_strategy
        )
        return serializer, _as_is
    entry = config.entry_for(schema.path) if schema.path is not None else None
    message_class = schema.message_class(message or (entry.message if entry else None))
    serializer = ProtobufSerializer(
        client,
        message_class,
        subject_name_strategy=subject_strategy,
        reference_subject_name_strategy=_reference_subjects(config),
    )
    return serializer, protobuf_converter(message_class)


def _as_is(value: Any) -> Any:
    """JSON Schema records are JSON already; the serializer validates them."""
    return value


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _key_of(raw: Any, key_field: str | None, line_no: int) -> bytes | None:
    if key_field is None:
        return None
    if not isinstance(raw, dict) or key_field not in raw:
        raise JsonRecordError(f"line {line_no}: no key field {key_field!r} in the record")
    value = raw[key_field]
    if value is None:
        return None
    return (value if isinstance(value, str) else json.dumps(value)).encode()


def _lines(handle: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield number, line


def summary_table(title: str, stats: DeliveryStats) -> Table:
    """Records, bytes, throughput and failures of one produce run."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("records delivered", f"{stats.delivered:,}")
    if stats.rejected:
        table.add_row("records rejected (input)", f"[yellow]{stats.rejected:,}[/]")
    table.add_row(
        "records failed",
        f"[red]{stats.failed:,}[/]" if stats.failed else "0",
    )
    table.add_row("value bytes delivered", f"{stats.bytes_delivered:,}")
    table.add_row("elapsed", f"{stats.elapsed_s:.2f} s")
    table.add_row("throughput", f"{stats.records_per_s:,.0f} records/s")
    table.add_row("", f"{stats.bytes_per_s / 1e6:,.2f} MB/s")
    return table


def print_errors(stats: DeliveryStats, limit: int = 5) -> None:
    for text, count in sorted(stats.errors.items(), key=lambda kv: -kv[1])[:limit]:
        suffix = f" (x{count})" if count > 1 else ""
        err_console.print(f"  {text}{suffix}", markup=False, highlight=False)
    if len(stats.errors) > limit:
        err_console.print(f"  ... and {len(stats.errors) - limit} other errors", highlight=False)


def produce(
    ctx: typer.Context,
    topic: Annotated[str, typer.Option("--topic", "-t", help="Topic to produce to.")],
    schema_path: Annotated[
        Path,
        typer.Option(
            "--schema", "-s", help="Value schema: .avsc, .proto or .json.", dir_okay=False
        ),
    ],
    schema_type: Annotated[
        str | None,
        typer.Option("--type", help="avro, protobuf or json [default: from the extension]."),
    ] = None,
    bootstrap: Annotated[
        str,
        typer.Option(
            "--bootstrap", "-b", envvar=BOOTSTRAP_ENV, help="Kafka bootstrap servers host:port,..."
        ),
    ] = "127.0.0.1:9092",
    registry: RegistryOption = None,
    registry_user: RegistryUserOption = None,
    registry_password: RegistryPasswordOption = None,
    registry_token: RegistryTokenOption = None,
    key_field: Annotated[
        str | None,
        typer.Option("--key-field", "-k", help="Use this field of each record as its key."),
    ] = None,
    input_path: Annotated[
        str, typer.Option("--input", "-i", help="JSON lines file, or - for stdin.")
    ] = "-",
    subject: Annotated[
        str | None,
        typer.Option(help="Value subject [default: <topic>-value].", show_default=False),
    ] = None,
    message: Annotated[
        str | None,
        typer.Option(help=".proto only: message full name [default: regcast.toml, or first]."),
    ] = None,
    compression: Annotated[str, typer.Option(help="none, gzip, snappy, lz4 or zstd.")] = "none",
    linger_ms: Annotated[int, typer.Option(help="Batching delay (linger.ms).", min=0)] = 5,
    timeout_s: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds to wait for the broker before a record fails.", min=0.1
        ),
    ] = 30.0,
    config_path: ConfigOption = None,
    # the security options: kafka_security() reads them from ctx.params by name
    security_protocol: SecurityProtocolOption = None,
    ssl_cafile: SslCafileOption = None,
    ssl_certfile: SslCertfileOption = None,
    ssl_keyfile: SslKeyfileOption = None,
    ssl_password: SslPasswordOption = None,
    ssl_check_hostname: SslCheckHostnameOption = None,
    sasl_mechanism: SaslMechanismOption = None,
    sasl_username: SaslUsernameOption = None,
    sasl_password: SaslPasswordOption = None,
    sasl_oauthbearer_token_endpoint_url: SaslOauthbearerTokenEndpointUrlOption = None,
    sasl_oauthbearer_client_id: SaslOauthbearerClientIdOption = None,
    sasl_oauthbearer_client_secret: SaslOauthbearerClientSecretOption = None,
    sasl_oauthbearer_scope: SaslOauthbearerScopeOption = None,
) -> None:
    """Produce JSON lines (stdin or --input) to TOPIC as Avro, Protobuf or JSON Schema records.

    Prints a progress bar and a delivery summary. Exit 0 when every record was
    delivered, 1 when some input lines did not fit the schema (the rest were
    delivered), 2 when records were not delivered or on usage/registry errors.

    Secured clusters: --security-protocol, --ssl-* and --sasl-* are the producer's
    security settings; each also reads REGCAST_KAFKA_<SETTING>, and the non-secret ones
    regcast.toml's [kafka] table (a flag beats the env var, which beats the file).
    """
    config = load_cli_config(config_path)
    security = kafka_security(config, ctx.params)
    url = config.effective_registry_url(registry)
    subject = subject or f"{topic}-value"
    try:
        schema = load_schema_file(schema_path, config, schema_type)
    except ConfigError as exc:
        fail(str(exc))
    except SchemaFileError as exc:
        for problem in exc.problems:
            err_console.print(f"{problem.where(schema_path)}: {problem.message}", markup=False)
        fail(f"{schema_path} is not a valid schema", ExitCode.REJECTED)

    with ExitStack() as stack:
        client = stack.enter_context(
            open_registry(url, user=registry_user, password=registry_password, token=registry_token)
        )
        with registry_errors(url, subject=subject):
            registered = register_file(client, schema, subject, config)
        schema_id = registered[-1].schema_id
        try:
            serializer, convert = build_serializer(client, schema, subject, config, message)
        except SchemaFileError as exc:
            fail(str(exc))
        unreachable = broker_reachable(bootstrap)
        if unreachable is not None:
            fail(f"cannot connect to the Kafka broker at {bootstrap}: {unreachable}")

        if input_path == "-":
            handle: IO[str] = sys.stdin
            total: int | None = None
        else:
            path = Path(input_path)
            if not path.is_file():
                fail(f"input file {path} does not exist")
            total = _count_lines(path)
            handle = stack.enter_context(path.open(encoding="utf-8"))

        try:
            producer = open_producer(
                bootstrap,
                serializer,
                timeout_s=timeout_s,
                client_id="regcast-produce",
                linger_ms=linger_ms,
                compression=compression,
                security=security,
            )
        except ValueError as exc:  # ConfigError is a ValueError
            fail(f"bad producer setting: {exc}")
        console.print(
            f"producing to [bold]{topic}[/] via {bootstrap}, values as {subject} "
            f"(schema id {schema_id})",
            highlight=False,
        )
        stats = DeliveryStats()
        interrupted: int | None = None
        aborted: str | None = None
        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]}"),
            console=err_console,
            transient=False,
        )
        stack.enter_context(sigterm_as_interrupt())
        try:
            with progress:
                task = progress.add_task("records", total=total, rate="")
                aborted = _send_all(
                    producer, topic, handle, convert, key_field, stats, progress, task
                )
                producer.flush()
                progress.update(task, completed=stats.completed + stats.rejected)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (Terminated)
            interrupted = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
            err_console.print("interrupted: flushing what was sent ...")
        finally:
            producer.close()
            stats.finish()

    console.print(summary_table(f"produced to {topic}", stats))
    if stats.errors:
        err_console.print("[bold red]errors:[/]")
        print_errors(stats)
    if aborted is not None:
        err_console.print(f"[bold red]stopped early:[/] {aborted}", highlight=False)
    if interrupted is not None:
        raise typer.Exit(128 + interrupted)
    if stats.failed or aborted is not None:
        raise typer.Exit(int(ExitCode.ERROR))
    if stats.rejected:
        raise typer.Exit(int(ExitCode.REJECTED))


def _send_all(
    producer: Any,
    topic: str,
    handle: IO[str],
    convert: Callable[[Any], Any],
    key_field: str | None,
    stats: DeliveryStats,
    progress: Progress,
    task: Any,
) -> str | None:
    """Send every line; returns why it stopped early (a producer failure), else None."""
    from producer.errors import ProducerError

    last_update = time.monotonic()
    send, on_delivery = producer.send, stats.record
    for line_no, line in _lines(handle):
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            where = (
                "at the end of the line"
                if exc.pos >= len(line.rstrip())
                else f"at column {exc.pos + 1}"
            )
            stats.reject(f"line {line_no}: invalid JSON: {exc.msg} {where}")
            continue
        try:
            key = _key_of(raw, key_field, line_no)
            value = convert(raw)
        except JsonRecordError as exc:
            text = str(exc)
            stats.reject(text if text.startswith("line ") else f"line {line_no}: {text}")
            continue
        try:
            send(topic, value=value, key=key, on_delivery=on_delivery)
        except SerializationError as exc:
            stats.reject(f"line {line_no}: {exc}")
            continue
        except ProducerError as exc:
            stats.fail(exc)
            return f"at input line {line_no} (the error above); the rest of the input was not sent"
        stats.sent += 1
        if stats.sent % _PROGRESS_EVERY == 0:
            now = time.monotonic()
            rate = _PROGRESS_EVERY / max(now - last_update, 1e-9)
            last_update = now
            progress.update(task, completed=stats.sent + stats.rejected, rate=f"{rate:,.0f} rec/s")
    return None

"""``regcast demo``: the whole pipeline on embedded defaults, in one command.

Theory of operation
-------------------
1. **Peers.** Unless ``--registry`` / ``--bootstrap`` point elsewhere, start the
   registry (``regcast serve`` in a subprocess on a SQLite file in a temporary folder)
   and a Tansu broker (:class:`~regcast.local_broker.LocalBroker`), both on free
   loopback ports, and stop both on the way out, Ctrl-C included.
2. **Schemas.** Register every file in ``regcast.toml`` (``.proto`` imports first):
   the same step CI's ``regcast check --register`` does.
3. **Produce.** One :class:`producer.Producer` sends ``--records`` orders, alternating
   Avro (``schemas/avro/order.avsc`` -> topic ``orders-avro``) and Protobuf
   (``schemas/protobuf/order.proto`` -> ``orders-proto``), each order built by
   :mod:`regcast.demo_data`. The producer's ``value_serializer`` dispatches by topic
   to serdes' AvroSerializer / ProtobufSerializer, which frame each value with the
   5-byte schema-id header (plus the message index for Protobuf).
4. **Read back.** The first ``--sample`` records of each topic are fetched at the
   partition/offset their futures reported (:mod:`regcast.readback`: regcast's own
   Fetch, CRC-32C checked, so the demo needs no other Kafka client), deserialized with
   serdes, and compared with the order rebuilt from the record's key.
5. **Numbers.** Throughput, and the bytes the schema-id framing saves against
   embedding the schema in every record: an Avro object container (header with the
   schema JSON, one block, sync marker) per record, and a self-describing Protobuf
   record (the FileDescriptorSet, the type name and the payload).

Exit 0 on success; 2 when a peer cannot be started or reached, a record is not
delivered, or the read-back does not match; 130 on Ctrl-C and 143 on SIGTERM, after
stopping cleanly (the producer closed, the peers it started stopped).
"""

from __future__ import annotations

import io
import random
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import fastavro
import typer
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from regcast.commands._common import (
    ConfigOption,
    ExitCode,
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
from regcast.commands.produce import build_serializer, print_errors, summary_table
from regcast.config import RegcastConfig, load_config
from regcast.demo_data import avro_order, index_of, order_key, protobuf_order, salt_of
from regcast.local_broker import BrokerStartError, LocalBroker
from regcast.local_registry import LocalRegistry, RegistryStartError
from regcast.pipeline import DeliveryStats, broker_reachable, open_producer
from regcast.readback import ReadBackError, read_back
from regcast.registration import Registered, load_schema_file, register_file
from regcast.schema_files import AvroFile, ProtoFile, SchemaFileError
from serdes import AvroDeserializer, ProtobufDeserializer, SchemaRegistryClient
from serdes.context import SerializationContext

AVRO_FILE = Path("schemas/avro/order.avsc")
PROTO_FILE = Path("schemas/protobuf/order.proto")
AVRO_TOPIC = "orders-avro"
PROTO_TOPIC = "orders-proto"
_PROGRESS_EVERY = 1000


@dataclass
class _Stream:
    """One of the two record streams (Avro or Protobuf) and what it produced."""

    label: str
    topic: str
    subject: str
    make: Callable[[int], Any]
    key: Callable[[int], bytes]
    framed_bytes: int = 0
    embedded_bytes: int = 0
    records: int = 0
    samples: list[Any] = field(default_factory=list)  # futures of the first records


def _repo_root(config: RegcastConfig) -> Path:
    """Where the demo's schemas are: the nearest regcast.toml's folder, else the examples
    an installed package carries (``regcast/examples``, setup.py), else the checkout an
    editable install runs from."""
    if config.source is not None:
        return config.root
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "examples", package.parent):
        if (candidate / AVRO_FILE).is_file():
            return candidate
    fail(
        "cannot find the example schemas (regcast/examples is missing from this "
        "installation): run regcast demo from the regcast repository, or pass --config"
    )


def _varint_len(value: int) -> int:
    length = 1
    while value >= 0x80:
        value >>= 7
        length += 1
    return length


def _avro_container_header_bytes(parsed: Any) -> int:
    """Size of an Avro object container's header (magic, metadata with the schema, sync)."""
    buffer = io.BytesIO()
    fastavro.writer(buffer, parsed, [], codec="null")
    return len(buffer.getvalue())


def _descriptor_set_bytes(file: FileDescriptor) -> int:
    """Size of a FileDescriptorSet holding ``file`` and everything it imports."""
    files: dict[str, bytes] = {}

    def add(f: FileDescriptor) -> None:
        for dep in f.dependencies:
            add(dep)
        files.setdefault(f.name, f.serialized_pb)

    add(file)
    fds = descriptor_pb2.FileDescriptorSet()
    for data in files.values():
        fds.file.add().MergeFromString(data)
    size: int = fds.ByteSize()
    return size


@contextmanager
def _peers(registry: str | None, bootstrap: str | None, workdir: Path) -> Iterator[tuple[str, str]]:
    """Yield (registry URL, bootstrap); start what was not given, stop it afterwards."""
    with ExitStack() as stack:
        if registry is None:
            try:
                local = stack.enter_context(LocalRegistry(workdir / "registry"))
            except RegistryStartError as exc:
                fail(str(exc))
            registry = local.url
            console.print(
                f"[green]✓[/] registry  started on {registry} "
                f"(SQLite {local.database_url.removeprefix('sqlite:///')})",
                highlight=False,
            )
        else:
            console.print(f"[green]✓[/] registry  using {registry}", highlight=False)
        if bootstrap is None:
            try:
                broker = stack.enter_context(LocalBroker())
            except BrokerStartError as exc:
                fail(str(exc))
            bootstrap = broker.bootstrap_servers
            console.print(f"[green]✓[/] broker    Tansu started on {bootstrap}", highlight=False)
        else:
            problem = broker_reachable(bootstrap, timeout_s=10.0)
            if problem is not None:
                fail(f"cannot connect to the Kafka broker at {bootstrap}: {problem}")
            console.print(f"[green]✓[/] broker    using {bootstrap}", highlight=False)
        yield registry, bootstrap


def _register_all(
    client: SchemaRegistryClient, url: str, config: RegcastConfig, root: Path
) -> dict[Path, Registered]:
    """Register every regcast.toml entry; the top-level registration per file."""
    files = list(config.schemas)
    if not files:
        fail(f"{config.source or 'regcast.toml'} lists no schemas to register")
    done: dict[Path, Registered] = {}
    table = Table(title="schemas registered", title_justify="left")
    for column in ("file", "subject", "version", "id"):
        table.add_column(column, justify="right" if column in ("version", "id") else "left")
    for entry in files:
        try:
            schema = load_schema_file(entry.path, config)
        except SchemaFileError as exc:
            fail(f"{exc}", ExitCode.REJECTED)
        with registry_errors(url, subject=entry.subject):
            registered = register_file(client, schema, entry.subject, config)
        done[entry.path] = registered[-1]
    for entry in files:
        r = done[entry.path]
        shown = (
            entry.path.relative_to(root).as_posix() if entry.path.is_relative_to(root) else r.file
        )
        table.add_row(shown, r.subject, str(r.version), str(r.schema_id))
    console.print(table)
    return done


def demo(
    ctx: typer.Context,
    records: Annotated[
        int,
        typer.Option(
            "--records", "-n", help="Records to produce (half Avro, half Protobuf).", min=2
        ),
    ] = 20_000,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            "-r",
            help="Use this registry instead of starting one.",
            show_default=False,
        ),
    ] = None,
    registry_user: RegistryUserOption = None,
    registry_password: RegistryPasswordOption = None,
    registry_token: RegistryTokenOption = None,
    bootstrap: Annotated[
        str | None,
        typer.Option(
            "--bootstrap",
            "-b",
            help="Use this Kafka cluster (host:port,...) instead of starting Tansu.",
            show_default=False,
        ),
    ] = None,
    sample: Annotated[
        int, typer.Option(help="Records per topic to read back and compare.", min=0)
    ] = 5,
    compression: Annotated[str, typer.Option(help="none, gzip, snappy, lz4 or zstd.")] = "lz4",
    timeout_s: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for the broker.", min=0.1)
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
    """Run the whole pipeline: registry, broker, schemas, typed records, read-back.

    Starts a registry (SQLite) and a Tansu broker unless --registry / --bootstrap are
    given, registers the schemas in regcast.toml, produces --records typed orders
    (Avro and Protobuf) with a progress bar, reads a sample back through serdes, and
    prints throughput and the bytes saved against embedding schemas. Ctrl-C (or
    SIGTERM) stops it cleanly.

    With --bootstrap, the --security-protocol, --ssl-* and --sasl-* settings (also from
    REGCAST_KAFKA_<SETTING> and regcast.toml's [kafka]) are used by the producer and the
    read-back alike; the Tansu the demo starts itself listens in plaintext.
    """
    config = load_cli_config(config_path)
    root = _repo_root(config)
    if config.source is None:
        config = load_config(root / "regcast.toml")
    security = kafka_security(config, ctx.params)
    protocol = str(security.get("security_protocol", "PLAINTEXT")).upper()
    if bootstrap is None and protocol != "PLAINTEXT":
        fail(
            f"security_protocol {protocol} is set (flag, REGCAST_KAFKA_SECURITY_PROTOCOL or "
            "regcast.toml [kafka]), but the Tansu the demo starts listens in plaintext: "
            "pass --bootstrap for a secured cluster, or unset it"
        )
    missing = [str(f) for f in (AVRO_FILE, PROTO_FILE) if not (root / f).is_file()]
    if missing:
        fail(
            f"the demo produces with {' and '.join(missing)}, which are not under {root}: "
            "run regcast demo from the regcast repository, or pass its --config"
        )
    interrupted: int | None = None  # the signal that stopped the demo
    ok = False
    started_s = time.monotonic()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="regcast-demo-")))
        stack.enter_context(sigterm_as_interrupt())
        try:
            url, servers = stack.enter_context(_peers(registry, bootstrap, workdir))
            client = stack.enter_context(
                open_registry(
                    url, user=registry_user, password=registry_password, token=registry_token
                )
            )
            _register_all(client, url, config, root)
            ok = _run(
                client, url, servers, config, root, records, sample, compression, timeout_s,
                security,
            )  # fmt: skip
        except Terminated:
            interrupted = signal.SIGTERM
            err_console.print("[yellow]terminated[/]: stopping cleanly")
        except KeyboardInterrupt:
            interrupted = signal.SIGINT
            err_console.print("[yellow]interrupted[/]: stopping cleanly")
    if interrupted is not None:
        raise typer.Exit(128 + interrupted)
    elapsed_s = time.monotonic() - started_s
    if not ok:
        console.print(f"[bold red]demo finished with errors[/] in {elapsed_s:.1f} s")
        raise typer.Exit(int(ExitCode.ERROR))
    console.print(
        f"[bold green]demo finished[/] in {elapsed_s:.1f} s (peers stopped); "
        "more records: regcast demo --records 200000",
        highlight=False,
    )


@dataclass
class _Setup:
    """The two streams, the producer's dispatching serializer, and the schemas behind them."""

    avro: _Stream
    proto: _Stream
    serializer: Callable[[Any, Any], bytes | None]
    avro_schema: AvroFile
    message_class: type[Message]


def _setup(client: SchemaRegistryClient, config: RegcastConfig, root: Path, salt: int) -> _Setup:
    avro_path = (root / AVRO_FILE).resolve()
    proto_path = (root / PROTO_FILE).resolve()
    avro_entry = config.entry_for(avro_path)
    proto_entry = config.entry_for(proto_path)
    avro_subject = avro_entry.subject if avro_entry else f"{AVRO_TOPIC}-value"
    proto_subject = proto_entry.subject if proto_entry else f"{PROTO_TOPIC}-value"
    message = proto_entry.message if proto_entry else None
    try:
        avro_schema = load_schema_file(avro_path, config)
        proto_schema = load_schema_file(proto_path, config)
        assert isinstance(avro_schema, AvroFile) and isinstance(proto_schema, ProtoFile)
        avro_serializer, _ = build_serializer(client, avro_schema, avro_subject, config, None)
        proto_serializer, _ = build_serializer(client, proto_schema, proto_subject, config, message)
        message_class = proto_schema.message_class(message)
    except SchemaFileError as exc:
        fail(str(exc), ExitCode.REJECTED)

    by_topic = {AVRO_TOPIC: avro_serializer, PROTO_TOPIC: proto_serializer}

    def dispatch(obj: Any, ctx: Any) -> bytes | None:
        return by_topic[ctx.topic](obj, ctx)

    def key(i: int) -> bytes:
        return order_key(i, salt)

    return _Setup(
        _Stream("Avro", AVRO_TOPIC, avro_subject, lambda i: avro_order(i, salt), key),
        _Stream(
            "Protobuf",
            PROTO_TOPIC,
            proto_subject,
            lambda i: protobuf_order(message_class, i, salt),
            key,
        ),
        dispatch,
        avro_schema,
        message_class,
    )


def _run(
    client: SchemaRegistryClient,
    url: str,
    bootstrap: str,
    config: RegcastConfig,
    root: Path,
    records: int,
    sample: int,
    compression: str,
    timeout_s: float,
    security: dict[str, Any],
) -> bool:
    salt = random.getrandbits(48)
    setup = _setup(client, config, root, salt)
    avro, proto, message_class = setup.avro, setup.proto, setup.message_class
    avro_header = _avro_container_header_bytes(setup.avro_schema.parsed)
    proto_set = _descriptor_set_bytes(message_class.DESCRIPTOR.file)
    type_name = len(message_class.DESCRIPTOR.full_name)

    try:
        producer = open_producer(
            bootstrap,
            setup.serializer,
            timeout_s=timeout_s,
            client_id="regcast-demo",
            linger_ms=5,
            compression=compression,
            security=security,
        )
    except ValueError as exc:
        fail(f"bad producer setting: {exc}")
    from producer.errors import ProducerError

    # A new topic's first send waits for its metadata (Tansu creates the topic then, and
    # the producer asks again after retry_backoff_ms): about 0.1 s per topic, a fifth of
    # a 20,000-record run. Learn both topics before the clock starts, so the rate shown
    # is the rate of producing.
    try:
        for stream in (avro, proto):
            producer.partitions_for(stream.topic)
    except ProducerError as exc:
        producer.close()
        fail(f"no metadata for topic {stream.topic!r} from {bootstrap}: {exc}")
    except BaseException:  # Ctrl-C / SIGTERM while waiting: close, then stop as usual
        producer.close()
        raise
    stats = DeliveryStats()
    aborted: str | None = None

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
        console=console,
    )
    streams = (avro, proto)
    interrupted: KeyboardInterrupt | None = None
    try:
        with progress:
            task = progress.add_task("producing", total=records, rate="")
            # the per-record loop: one bound on_delivery for all records, sizes from futures
            send, on_delivery = producer.send, stats.record
            for n in range(records):
                stream = streams[n & 1]
                i = n >> 1
                value = stream.make(i)
                try:
                    future = send(
                        stream.topic, value=value, key=stream.key(i), on_delivery=on_delivery
                    )
                except ProducerError as exc:
                    stats.fail(exc)
                    aborted = f"after {n:,} records (the error above); the rest were not sent"
                    break
                stats.sent += 1
                size = future.value_size
                stream.records += 1
                stream.framed_bytes += size
                if stream is avro:
                    payload = size - 5
                    stream.embedded_bytes += avro_header + 1 + _varint_len(payload) + payload + 16
                else:
                    payload = size - 6  # header + the one-byte message index [0]
                    stream.embedded_bytes += (
                        proto_set + _varint_len(proto_set) + type_name + 2
                        + payload + _varint_len(payload) + 1
                    )  # fmt: skip
                if i < sample:
                    stream.samples.append(future)
                if n % _PROGRESS_EVERY == 0:
                    progress.update(
                        task,
                        completed=n,
                        rate=f"{stats.completed / stats.elapsed_s:,.0f} rec/s delivered",
                    )
            producer.flush()
            progress.update(
                task,
                completed=stats.sent,
                rate=f"{stats.delivered / stats.elapsed_s:,.0f} rec/s delivered",
            )
    except KeyboardInterrupt as exc:  # Ctrl-C or SIGTERM: finish what was sent, report it
        interrupted = exc
        err_console.print("stopping: waiting for the records already sent ...")
    finally:
        producer.close()
        stats.finish()

    console.print(summary_table("produced", stats))
    if stats.errors:
        err_console.print("[bold red]errors:[/]")
        print_errors(stats)
    ok = stats.failed == 0 and aborted is None
    if aborted is not None:
        err_console.print(f"[bold red]stopped early:[/] {aborted}", highlight=False)
    _print_savings(streams)
    if interrupted is not None:
        raise interrupted
    if ok and sample > 0:
        ok = _read_back(client, bootstrap, streams, message_class, security)
    return ok


def _print_savings(streams: tuple[_Stream, ...]) -> None:
    table = Table(title="bytes on the wire: schema id vs embedded schema", title_justify="left")
    table.add_column("format")
    table.add_column("records", justify="right")
    table.add_column("with schema id", justify="right")
    table.add_column("schema embedded", justify="right")
    table.add_column("saved", justify="right")
    for s in streams:
        if not s.records:
            continue
        saved = s.embedded_bytes - s.framed_bytes
        table.add_row(
            s.label,
            f"{s.records:,}",
            f"{s.framed_bytes / s.records:,.0f} B/rec",
            f"{s.embedded_bytes / s.records:,.0f} B/rec",
            f"{_megabytes(saved)} ({100 * saved / s.embedded_bytes:.1f}%)",
        )
    console.print(table)
    console.print(
        "  embedded: an Avro object container per record (schema JSON in its header),\n"
        "  or a self-describing Protobuf record (FileDescriptorSet + type name + payload)",
        style="dim",
        highlight=False,
    )


def _megabytes(size_bytes: int) -> str:
    return f"{size_bytes / 1e6:,.1f} MB" if size_bytes >= 100_000 else f"{size_bytes:,} B"


def _read_back(
    client: SchemaRegistryClient,
    bootstrap: str,
    streams: tuple[_Stream, _Stream],
    message_class: type[Message],
    security: dict[str, Any],
) -> bool:
    """Fetch the sampled records where the broker put them; deserialize; compare."""
    avro, proto = streams
    deserializers: dict[str, Callable[[bytes, Any], Any]] = {
        avro.topic: AvroDeserializer(client),
        proto.topic: ProtobufDeserializer(client, message_class),
    }
    wanted: dict[tuple[str, int, int], _Stream] = {}
    for stream in streams:
        for future in stream.samples:
            metadata = future.result()
            wanted[(stream.topic, metadata.partition, metadata.offset)] = stream
    if not wanted:
        return True
    try:
        fetched = read_back(
            bootstrap, wanted, timeout_s=20.0, client_id="regcast-demo", security=security
        )
    except ReadBackError as exc:
        err_console.print(f"[bold red]read-back failed[/]: {exc}", highlight=False)
        return False
    table = Table(title="read back and deserialized", title_justify="left")
    for column in ("topic", "partition", "offset", "order", "status", "total", "lines", ""):
        table.add_column(column, justify="right" if column in ("offset", "total") else "left")
    status_names = {
        v.number: v.name.removeprefix("ORDER_STATUS_")
        for v in message_class.DESCRIPTOR.fields_by_name["status"].enum_type.values
    }
    mismatches = 0
    for position in sorted(fetched, key=lambda pos: (pos[0], index_of(fetched[pos].key or b""))):
        record = fetched[position]
        stream = wanted[position]
        record_key = record.key or b""
        ctx = SerializationContext(record.topic, "value")
        value = deserializers[record.topic](record.value or b"", ctx)
        i, run_salt = index_of(record_key), salt_of(record_key)
        if stream is avro:
            same = value == avro_order(i, run_salt)
            status, total, lines = value["status"], f"{value['total']:.2f}", len(value["lines"])
        else:
            same = value == protobuf_order(message_class, i, run_salt)
            status = status_names.get(value.status, str(value.status))
            total = f"{value.total.units}.{value.total.nanos // 10_000_000:02d}"
            lines = len(value.lines)
        mismatches += 0 if same else 1
        table.add_row(
            record.topic,
            str(record.partition),
            str(record.offset),
            f"#{i}",
            status,
            total,
            str(lines),
            "[green]✓[/]" if same else "[red]✗ differs[/]",
        )
    console.print(table)
    missing = len(wanted) - len(fetched)
    if missing or mismatches:
        err_console.print(
            f"[bold red]read-back failed[/]: {mismatches} differ, {missing} not found",
            highlight=False,
        )
        return False
    console.print(
        f"[green]✓[/] {len(wanted)} records fetched back (CRC-32C checked), deserialized "
        "with serdes, and equal to what was sent",
        highlight=False,
    )
    return True

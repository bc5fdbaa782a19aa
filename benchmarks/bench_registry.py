"""Registry throughput and latency over HTTP, against the framework's own ceiling.

Run: ``.venv/bin/python -m benchmarks.bench_registry [--seconds S] [--connections N]
[--load-processes P] [--backends sqlite,postgresql]``.

What runs where
---------------
Every server is a real ``uvicorn`` process (one worker, uvloop + httptools, access log
off) on 127.0.0.1:

- the *ceiling*: the same uvicorn serving a bare ASGI callable (``ceiling_app`` below)
  that answers every request with a constant JSON body of the size of a get-by-id
  answer - what uvicorn and the load generator cost with no framework and no registry;
- the registry, ``uvicorn --factory registry_service.app:create_app``, once on a fresh
  SQLite file and once on a fresh PostgreSQL database (skipped when none is reachable).

The ceiling is measured again right before each case and the case is compared with
that neighbouring run, so load from elsewhere on the machine hits both sides of a ratio
alike. The load comes from ``--load-processes`` separate processes (not the server's), each
running ``--connections`` threads with one keep-alive ``httpx.Client`` apiece, for
``--seconds`` per case after a warm-up. Latency is measured per request in the client
(send to full body read). Cases:

- ``get-by-id``: ``GET /schemas/ids/{id}`` over 50 registered schemas;
- ``get-latest``: ``GET /subjects/{s}/versions/latest`` over 50 subjects;
- ``register-existing``: ``POST /subjects/{s}/versions`` with a schema already there;
- ``register-new``: ``POST /subjects/{s}/versions`` with a schema never seen, each
  under a subject of its own (a real write: id, schema row, version row);
- ``transitive check``: a subject with 100 live versions at BACKWARD_TRANSITIVE and a
  candidate that every version but the first accepts, so the check walks all 100
  (``POST /compatibility/subjects/{s}/versions``, and the 409 of a register), timed one
  request at a time.

``server_cpu_us`` is the server process's CPU time (``/proc/<pid>/stat``) per request
during the case: what each request costs the server whatever the client manages, so
``ceiling cpu / case cpu`` is the ratio a faster load generator would see.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from regcast.local_broker import free_port, wait_for_port

SCHEMAS = 50
CHECK_VERSIONS = 100
CHECK_REPEATS = 30
MEDIA = "application/vnd.schemaregistry.v1+json"

_CEILING_BODY = json.dumps(
    {
        "schemaType": "AVRO",
        "schema": json.dumps(
            {"type": "record", "name": "Bench0", "fields": [{"name": "id", "type": "long"}]}
        ),
    },
    separators=(",", ":"),
).encode()
_CEILING_HEADERS = [
    (b"content-type", MEDIA.encode()),
    (b"content-length", str(len(_CEILING_BODY)).encode()),
]


async def ceiling_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bare ASGI app: a constant JSON answer to every request (the ceiling)."""
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain request bodies so POSTs behave like the registry's
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _CEILING_HEADERS})
    await send({"type": "http.response.body", "body": _CEILING_BODY})


def bench_schema(name: str, extra_fields: int = 0) -> str:
    fields: list[dict[str, Any]] = [{"name": "id", "type": "long"}]
    fields += [{"name": f"f{i}", "type": "string", "default": ""} for i in range(extra_fields)]
    return json.dumps({"type": "record", "name": name, "fields": fields})


# -- servers ----------------------------------------------------------------------------


class Server:
    """A uvicorn process on a free loopback port."""

    def __init__(self, target: list[str], env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                *target,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=dict(os.environ, **env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[1],
        )
        if not wait_for_port("127.0.0.1", self.port, 30):
            self.stop()
            raise RuntimeError(f"server did not start: {log_path.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@contextmanager
def serve(target: list[str], env: dict[str, str], log_path: Path) -> Iterator[Server]:
    server = Server(target, env, log_path)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A throwaway database on the test PostgreSQL (127.0.0.1:5432), or None."""
    try:
        from tests.support.postgres import create_database, drop_database

        name, url = create_database("regcast_bench")
    except Exception as exc:  # any failure means "no PostgreSQL here"
        print(f"PostgreSQL not available, skipping it: {exc}", file=sys.stderr)
        yield None
        return
    try:
        yield url
    finally:
        drop_database(name)


# -- load generation (runs in the worker processes) --------------------------------------


def _requests_for(case: str, worker: str, thread: int) -> Iterator[tuple[str, str, bytes | None]]:
    """Endless (method, path, body) for one client thread."""
    n = thread
    while True:
        i = n % SCHEMAS
        if case in ("ceiling", "get-by-id"):
            yield "GET", f"/schemas/ids/{i + 1}", None
        elif case == "get-latest":
            yield "GET", f"/subjects/bench-{i}/versions/latest", None
        elif case == "register-existing":
            body = json.dumps({"schema": bench_schema(f"Bench{i}")}).encode()
            yield "POST", f"/subjects/bench-{i}/versions", body
        elif case == "register-new":
            name = f"New{worker}x{thread}x{n}"
            body = json.dumps({"schema": bench_schema(name)}).encode()
            yield "POST", f"/subjects/new-{name}/versions", body
        else:
            raise ValueError(case)
        n += 1


def _client_thread(
    url: str,
    case: str,
    worker: str,
    thread: int,
    warmup_s: float,
    seconds: float,
    start_at: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    headers = {"Content-Type": MEDIA, "Accept": MEDIA}
    requests = _requests_for(case, worker, thread)
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        measure_from = start_at + warmup_s
        stop_at = measure_from + seconds
        while True:
            method, path, body = next(requests)
            began = time.perf_counter()
            if began >= stop_at:
                return
            response = http.request(method, path, content=body)
            ended = time.perf_counter()
            if response.status_code != 200:
                errors.append(f"{method} {path}: {response.status_code} {response.text[:200]}")
                return
            if began >= measure_from:
                latencies.append(ended - began)


def worker_main(spec: dict[str, Any]) -> None:
    """One load process: ``connections`` threads, then the latencies as JSON on stdout."""
    latencies: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(
            target=_client_thread,
            args=(
                spec["url"],
                spec["case"],
                spec["worker"],
                t,
                spec["warmup_s"],
                spec["seconds"],
                spec["start_at"],
                latencies,
                errors,
            ),
        )
        for t in range(spec["connections"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    json.dump({"latencies": latencies, "errors": errors[:5]}, sys.stdout)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(len(sorted_values) * fraction))
    return sorted_values[index]


def drive(
    server: Server,
    case: str,
    seconds: float,
    connections: int,
    load_processes: int,
    warmup_s: float = 0.5,
) -> dict[str, Any]:
    """Run ``case`` from ``load_processes`` worker processes; requests/s and latency."""
    start_wall = time.time() + 1.0  # every worker starts its clock at this moment
    procs = []
    for w in range(load_processes):
        spec = {
            "url": server.url,
            "case": case,
            "worker": f"{os.getpid()}w{w}t{int(start_wall)}",
            "connections": connections,
            "warmup_s": warmup_s,
            "seconds": seconds,
            "start_wall": start_wall,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_registry", "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec).encode())
        proc.stdin.close()
        procs.append(proc)
    time.sleep(max(0.0, start_wall + warmup_s - time.time()))
    cpu_before = server.cpu_seconds()
    latencies: list[float] = []
    errors: list[str] = []
    for proc in procs:
        assert proc.stdout is not None
        result = json.loads(proc.stdout.read())
        proc.wait(timeout=30)
        latencies += result["latencies"]
        errors += result["errors"]
    cpu_after = server.cpu_seconds()
    if errors:
        raise RuntimeError(f"{case}: {errors[0]}")
    latencies.sort()
    count = len(latencies)
    return {
        "case": case,
        "requests": count,
        "requests_per_s": count / seconds,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "server_cpu_us": (cpu_after - cpu_before) / count * 1e6 if count else float("nan"),
    }


# -- setting up the registry -------------------------------------------------------------


def prepare(url: str) -> None:
    """50 subjects with one schema each (ids 1..50), all fetched once so they are cached."""
    headers = {"Content-Type": MEDIA}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        for i in range(SCHEMAS):
            body = {"schema": bench_schema(f"Bench{i}")}
            response = http.post(f"/subjects/bench-{i}/versions", json=body)
            response.raise_for_status()
            assert response.json()["id"] == i + 1, response.text


HISTORY = "history"


def build_history(url: str) -> None:
    """100 live versions at BACKWARD_TRANSITIVE; v1's ``id`` is a string, later ones a
    long, so a candidate adding one more optional field fails against v1 only."""
    subject = HISTORY
    headers = {"Content-Type": MEDIA}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        http.put(f"/config/{subject}", json={"compatibility": "NONE"}).raise_for_status()
        first = json.dumps(
            {"type": "record", "name": "History", "fields": [{"name": "id", "type": "string"}]}
        )
        http.post(f"/subjects/{subject}/versions", json={"schema": first}).raise_for_status()
        for k in range(1, CHECK_VERSIONS):
            schema = bench_schema("History", k)
            http.post(f"/subjects/{subject}/versions", json={"schema": schema}).raise_for_status()
        http.put(
            f"/config/{subject}", json={"compatibility": "BACKWARD_TRANSITIVE"}
        ).raise_for_status()
        versions = http.get(f"/subjects/{subject}/versions").json()
        assert len(versions) == CHECK_VERSIONS, versions


def transitive_check(url: str) -> list[dict[str, Any]]:
    """The check walking all 100 versions, timed one request at a time, in a process
    that has not seen the subject yet: its first check also parses all 100 stored
    schemas. (The endpoints are called once on an empty subject first, so that FastAPI's
    and the thread pool's first-call costs, ~10 ms, are not counted as the check's.)"""
    subject = HISTORY
    headers = {"Content-Type": MEDIA}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        candidate = {"schema": bench_schema("History", CHECK_VERSIONS)}
        for path in ("/compatibility/subjects/empty/versions", "/subjects/empty/versions"):
            http.post(path, json=candidate).raise_for_status()
        rows = []
        for label, method, path, expected in (
            (
                "transitive check, 100 versions",
                "POST",
                f"/compatibility/subjects/{subject}/versions?verbose=true",
                200,
            ),
            ("register refused (409), 100 versions", "POST", f"/subjects/{subject}/versions", 409),
        ):
            timings = []
            for _ in range(CHECK_REPEATS):
                began = time.perf_counter()
                response = http.request(method, path, json=candidate)
                timings.append(time.perf_counter() - began)
                assert response.status_code == expected, response.text
                if expected == 200:
                    body = response.json()
                    assert body["is_compatible"] is False
                    assert "{oldSchemaVersion: 1}" in body["messages"], body
            first_ms = timings[0] * 1000
            timings.sort()
            rows.append(
                {
                    "case": label,
                    "requests": CHECK_REPEATS,
                    "first_ms": first_ms,
                    "p50_ms": _percentile(timings, 0.5) * 1000,
                    "p99_ms": _percentile(timings, 0.99) * 1000,
                }
            )
        return rows


CASES = ("get-by-id", "get-latest", "register-existing", "register-new")


def run(
    seconds: float = 3.0,
    connections: int = 4,
    load_processes: int = 2,
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
) -> list[dict[str, Any]]:
    """Every case on every backend plus the ceiling; one dict per (backend, case).

    The ceiling server stays up all along and is measured again right before each case,
    and each case is compared with that neighbouring measurement (``ceiling_rps``), so
    other load on the machine hits both sides of a ratio alike. The ``ceiling`` row
    gives the median of those measurements.
    """
    rows: list[dict[str, Any]] = []
    ceilings: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve(
            ["benchmarks.bench_registry:ceiling_app", "--lifespan", "off"],
            {},
            Path(tmp) / "ceiling.log",
        ) as ceiling,
    ):
        for backend in backends:
            with _database(backend, Path(tmp)) as database_url:
                if database_url is None:
                    continue
                # the registry alone: its access log is bench_serve's subject
                env = {"REGCAST_DATABASE_URL": database_url, "REGCAST_ACCESS_LOG": "false"}
                target = ["--factory", "registry_service.app:create_app"]
                log = Path(tmp) / f"registry-{backend}.log"
                with serve(target, env, log) as server:
                    prepare(server.url)
                    for case in CASES:
                        base = drive(ceiling, "ceiling", seconds, connections, load_processes)
                        ceilings.append(base)
                        row = drive(server, case, seconds, connections, load_processes)
                        row["ceiling_rps"] = base["requests_per_s"]
                        row["vs_ceiling"] = row["requests_per_s"] / base["requests_per_s"]
                        row["cpu_vs_ceiling"] = base["server_cpu_us"] / row["server_cpu_us"]
                        rows.append({"backend": backend, **row})
                    build_history(server.url)
                with serve(target, env, log) as server:  # a new process: nothing parsed yet
                    rows += [{"backend": backend, **r} for r in transitive_check(server.url)]
    if ceilings:
        summary = {
            key: statistics.median(c[key] for c in ceilings)
            for key in ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_us")
        }
        rows.insert(
            0,
            {
                "backend": "bare ASGI",
                "case": "ceiling",
                "requests": sum(c["requests"] for c in ceilings),
                **summary,
            },
        )
    return rows


@contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str | None]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'registry.db'}"
    elif backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r} (sqlite, postgresql)")


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'backend':11} {'case':38} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'ceiling':>8} {'vs ceil':>8} {'srv cpu us':>10} {'cpu vs ceil':>11}"
    )
    for row in rows:
        rate = f"{row['requests_per_s']:8,.0f}" if "requests_per_s" in row else f"{'':8}"
        base = f"{row['ceiling_rps']:8,.0f}" if "ceiling_rps" in row else f"{'':8}"
        vs = f"{row['vs_ceiling']:7.2f}x" if "vs_ceiling" in row else f"{'':8}"
        cpu = f"{row['server_cpu_us']:10.0f}" if "server_cpu_us" in row else f"{'':10}"
        cpu_vs = f"{row['cpu_vs_ceiling']:10.2f}x" if "cpu_vs_ceiling" in row else ""
        extra = f"  (first {row['first_ms']:.1f} ms)" if "first_ms" in row else ""
        print(
            f"{row['backend']:11} {row['case']:38} {rate} {row['p50_ms']:8.2f} "
            f"{row['p99_ms']:8.2f} {base} {vs} {cpu} {cpu_vs}{extra}"
        )


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's performance targets, each with the measured figure and a verdict."""
    lines = []
    by = {(r["backend"], r["case"]): r for r in rows}
    for backend in sorted({r["backend"] for r in rows} - {"bare ASGI"}):
        get_id = by[(backend, "get-by-id")]
        for case in ("get-by-id", "get-latest"):
            row = by[(backend, case)]
            ok = row["vs_ceiling"] >= 0.5
            lines.append(
                f"{backend}: {case} = {row['vs_ceiling']:.2f}x ceiling in req/s "
                f"({row['cpu_vs_ceiling']:.2f}x in server CPU per request), target >= 0.5x: "
                f"{'met' if ok else 'MISSED'}"
            )
        existing = by[(backend, "register-existing")]
        ratio = get_id["requests_per_s"] / existing["requests_per_s"]
        cpu_ratio = existing["server_cpu_us"] / get_id["server_cpu_us"]
        lines.append(
            f"{backend}: get-by-id / register-existing = {ratio:.2f}x in req/s "
            f"({cpu_ratio:.2f}x in server CPU per request), target <= 2x: "
            f"{'met' if max(ratio, cpu_ratio) <= 2 else 'MISSED'}"
        )
        for case in ("get-by-id", "get-latest", "register-existing", "register-new"):
            p99 = by[(backend, case)]["p99_ms"]
            lines.append(
                f"{backend}: {case} p99 = {p99:.1f} ms, target < 20 ms: "
                f"{'met' if p99 < 20 else 'MISSED'}"
            )
        check = by[(backend, "transitive check, 100 versions")]
        worst = max(check["first_ms"], check["p99_ms"])
        lines.append(
            f"{backend}: transitive check over 100 versions, worst = {worst:.1f} ms "
            f"(first in a new process, parsing all 100: {check['first_ms']:.1f} ms), "
            "target < 50 ms: "
            f"{'met' if worst < 50 else 'MISSED'}"
        )
    return lines


def main() -> None:
    if "--worker" in sys.argv:
        spec = json.loads(sys.stdin.read())
        # the shared wall-clock start, as this process's perf_counter
        spec["start_at"] = time.perf_counter() + (spec["start_wall"] - time.time())
        worker_main(spec)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=4, help="per load process")
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = run(
        args.seconds,
        args.connections,
        args.load_processes,
        tuple(b for b in args.backends.split(",") if b),
    )
    print(
        f"registry benchmark: {args.load_processes} load processes x {args.connections} "
        f"keep-alive connections, {args.seconds:g} s per case"
    )
    print_table(rows)
    print("\nTargets")
    for line in targets(rows):
        print(f"  {line}")


if __name__ == "__main__":
    main()

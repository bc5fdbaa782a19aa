"""``regcast serve`` as operators run it (access log, basic auth, TLS), under wrk.

Run: ``.venv/bin/python -m benchmarks.bench_serve [--seconds 10] [--rounds 3] [--case
NAME ...]``; needs
``wrk`` (``make tools``).

The method is issue 16's: ``wrk -t2 -c32 -d10s --latency`` on loopback, every request
the cached ``GET /schemas/ids/1``, every server one uvicorn worker. Cases:

- ``ceiling``: uvicorn serving ``bench_registry.ceiling_app`` (a constant answer of the
  same size, no framework, no access log): what uvicorn and wrk cost;
- ``uvicorn access log``: the registry under ``uvicorn --factory`` with uvicorn's own
  access log and ours off (what ``regcast serve`` did before);
- ``serve``: the installed ``regcast serve``, its default (lean) access log on;
- ``serve --no-access-log``;
- ``serve basic auth``: ``REGCAST_AUTH=basic``, default access log, wrk sending an
  ``Authorization`` header (the credential is verified once, then cached);
- ``TLS ceiling`` and ``serve TLS``: the two above over TLS with the same certificate
  (the registry with its default access log), compared with each other.

Access logs go to a file, as a server's stdout would. Each round runs every case once,
in that order, so load from elsewhere on the machine hits a round's cases alike; each
case reports its best round (highest req/s) and its ratio to the ceiling of the same
transport, best against best.

``srv cpu us`` is the server process's CPU time (``/proc/<pid>/stat``, user + system,
every thread, the access log's included) per request during the wrk run, the lowest of
the case's rounds; ``vs ceiling (cpu)`` is the ceiling's figure divided by the case's. On
a shared 2-core machine, where wrk and the server compete for the cores, this is the
steadier comparison: req/s swing with whatever else runs, the work per request much less.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.bench_registry import MEDIA, bench_schema
from regcast.local_broker import free_port, stop_process, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
PATH = "/schemas/ids/1"
ADMIN, ADMIN_PASSWORD = "bench", "bench-password"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    command: list[str]
    env: dict[str, str]
    tls: bool = False
    auth: bool = False
    registry: bool = True


def _regcast() -> str:
    found = shutil.which("regcast", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("the regcast command is not installed in this environment")
    return found


def cases(tmp: Path, certs: Any, users: Path) -> list[Case]:
    tls_args = ["--ssl-certfile", str(certs.server_cert), "--ssl-keyfile", str(certs.server_key)]
    # uvicorn's access lines are INFO: --log-level warning would silence them
    uvicorn = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1"]
    ceiling = [*uvicorn, "benchmarks.bench_registry:ceiling_app", "--lifespan", "off"]
    serve = [_regcast(), "serve"]  # log level info, as users run it
    db = {"REGCAST_DATABASE_URL": f"sqlite:///{tmp / 'registry.db'}"}
    basic = {**db, "REGCAST_AUTH": "basic", "REGCAST_AUTH_FILE": str(users)}
    return [
        Case("ceiling", [*ceiling, "--no-access-log"], {}, registry=False),
        Case(
            "uvicorn access log",
            [*uvicorn, "--factory", "registry_service.app:create_app"],
            {**db, "REGCAST_ACCESS_LOG": "false"},
        ),
        Case("serve", serve, db),
        Case("serve --no-access-log", [*serve, "--no-access-log"], db),
        Case("serve basic auth", serve, basic, auth=True),
        Case("TLS ceiling", [*ceiling, "--no-access-log", *tls_args], {}, tls=True, registry=False),
        Case("serve TLS", [*serve, *tls_args], db, tls=True),
    ]


def _authorization() -> str:
    import base64

    return "Basic " + base64.b64encode(f"{ADMIN}:{ADMIN_PASSWORD}".encode()).decode()


@contextmanager
def running(case: Case, tmp: Path, ca: Path) -> Iterator[tuple[str, int]]:
    """The case's server on a free port, prepared (one schema, read once); its URL and
    process id."""
    port = free_port()
    command = [*case.command, "--port", str(port)]
    if case.command[0] != sys.executable:  # regcast serve
        command += ["--host", "127.0.0.1"]
    log = (tmp / f"{case.name.replace(' ', '_')}.log").open("ab")
    process = subprocess.Popen(
        command,
        env=dict(os.environ, **case.env),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    scheme = "https" if case.tls else "http"
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        if not wait_for_port("127.0.0.1", port, 30):
            raise RuntimeError(f"{case.name}: server did not start (see {log.name})")
        if case.registry:
            headers = {"Content-Type": MEDIA}
            if case.auth:
                headers["Authorization"] = _authorization()
            verify = ssl.create_default_context(cafile=str(ca))
            with httpx.Client(base_url=url, headers=headers, verify=verify, timeout=30) as http:
                body = {"schema": bench_schema("Bench0")}
                http.post("/subjects/bench-0/versions", json=body).raise_for_status()
                http.get(PATH).raise_for_status()
        yield url, process.pid
    finally:
        stop_process(process)
        log.close()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S  # utime, stime


def wrk(url: str, seconds: int, authorization: str | None) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 in ms, the count of non-2xx answers and of
    all requests."""
    command = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency"]
    if authorization:
        command += ["-H", f"Authorization: {authorization}"]
    out = subprocess.run([*command, url + PATH], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "requests": float(total.group(1)) if total else rate * seconds,
        "requests_per_s": rate,
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def run(
    seconds: int = 10, rounds: int = 3, only: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    from tests.integration.registry.auth_support import user_entry
    from tests.support.tls import make_certificates

    best: dict[str, dict[str, Any]] = {}
    cpu_seen: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        certs = make_certificates(tmp / "certs")
        users = tmp / "users.json"
        users.write_text(json.dumps({"users": [user_entry(ADMIN, ADMIN_PASSWORD, ["admin"])]}))
        all_cases = [c for c in cases(tmp, certs, users) if only is None or c.name in only]
        for round_number in range(rounds):
            for case in all_cases:
                if case.registry:  # a fresh database for each registry
                    (tmp / "registry.db").unlink(missing_ok=True)
                with running(case, tmp, certs.ca) as (url, pid):
                    cpu_before = cpu_seconds(pid)
                    result = wrk(url, seconds, _authorization() if case.auth else None)
                    cpu = cpu_seconds(pid) - cpu_before
                result["server_cpu_us"] = cpu / max(result["requests"], 1) * 1e6
                if result["non_2xx"]:
                    raise RuntimeError(f"{case.name}: {result['non_2xx']:.0f} non-2xx answers")
                print(
                    f"  round {round_number + 1} {case.name:24} "
                    f"{result['requests_per_s']:9,.0f} req/s  p99 {result['p99_ms']:.2f} ms  "
                    f"srv cpu {result['server_cpu_us']:.1f} us/req",
                    file=sys.stderr,
                    flush=True,
                )
                kept = best.get(case.name)
                if kept is None or result["requests_per_s"] > kept["requests_per_s"]:
                    best[case.name] = {"case": case.name, "tls": case.tls, **result}
                cpu_seen.setdefault(case.name, []).append(result["server_cpu_us"])
                time.sleep(0.5)
    rows = list(best.values())
    for row in rows:
        row["least_cpu_us"] = min(cpu_seen[row["case"]])
    for row in rows:
        base = best.get("TLS ceiling" if row["tls"] else "ceiling")
        row["vs_ceiling"] = row["requests_per_s"] / base["requests_per_s"] if base else 0.0
        row["cpu_vs_ceiling"] = base["least_cpu_us"] / row["least_cpu_us"] if base else 0.0
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        f"{'case':24} {'req/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'vs ceiling':>10} "
        f"{'srv cpu us':>10} {'vs ceiling (cpu)':>16}"
    )
    for row in rows:
        print(
            f"{row['case']:24} {row['requests_per_s']:9,.0f} {row['p50_ms']:7.2f} "
            f"{row['p99_ms']:7.2f} {row['vs_ceiling']:9.2f}x {row['least_cpu_us']:10.1f} "
            f"{row['cpu_vs_ceiling']:15.2f}x"
        )


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """Issue 16's targets with the measured figures."""
    by = {row["case"]: row for row in rows}
    lines = []
    for name in ("serve basic auth", "serve TLS"):
        row = by.get(name)
        if row is None:
            continue
        ok = row["vs_ceiling"] >= 0.5 and row["p99_ms"] < 20
        lines.append(
            f"{name}: {row['vs_ceiling']:.2f}x its ceiling, p99 {row['p99_ms']:.2f} ms "
            f"(target >= 0.5x, p99 < 20 ms): {'met' if ok else 'MISSED'}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--case", action="append", help="run only this case (repeatable; default: all)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (`make tools` installs it)")
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"serve benchmark: wrk -t2 -c32 -d{args.seconds}s, best of {args.rounds}; load {load}")
    rows = run(args.seconds, args.rounds, frozenset(args.case) if args.case else None)
    print_table(rows)
    print("\nTargets\n" + "\n".join(f"  {line}" for line in targets(rows)))


if __name__ == "__main__":
    main()

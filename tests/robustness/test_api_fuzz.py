"""Random bad requests against a real registry process (``strategies.requests``).

Each example sends one request and checks the answer by ``conftest.check_answer``: no
5xx, Confluent's error body, stored data unchanged by a refused request, the process
alive. The examples of one backend share one registry, so requests meet the subjects,
versions, configs and modes earlier ones created. SQLite gets the long run, PostgreSQL a
shorter one (the same code above the store; the store's own answers differ).
"""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, Phase, given, settings

from tests.robustness.conftest import Registry, check_answer
from tests.robustness.strategies import Request, requests


def robust(max_examples: int) -> settings:
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=max_examples,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def send(registry: Registry, request: Request) -> httpx.Response:
    return registry.client.request(
        request.method,
        registry.url + request.path,  # absolute: a relative path may not start with //
        params=request.params,
        content=request.content,
        headers=request.headers,
    )


def exercise(registry: Registry, request: Request) -> None:
    before = registry.snapshot()
    check_answer(registry, send(registry, request), before)


@robust(max_examples=1500)
@given(request=requests())
def test_bad_requests_on_sqlite(registry_sqlite: Registry, request: Request) -> None:
    exercise(registry_sqlite, request)


@robust(max_examples=300)
@given(request=requests())
def test_bad_requests_on_postgres(registry_postgres: Registry, request: Request) -> None:
    exercise(registry_postgres, request)

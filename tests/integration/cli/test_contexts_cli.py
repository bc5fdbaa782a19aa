"""``--context``: the registry commands working inside one schema context."""

from __future__ import annotations

import json

from tests.integration.cli.conftest import REPO, RunCli, output_of

ORDER_AVSC = REPO / "schemas/avro/order.avsc"
ORDER_PROTO = REPO / "schemas/protobuf/order.proto"


def test_register_get_and_check_inside_a_context(
    run_cli: RunCli, cli_registry: str, unique: str
) -> None:
    context = f"ctx{unique}"
    subject = f"orders-{unique}-value"
    registry = ("--registry", cli_registry)
    inside = (*registry, "--context", context)

    result = run_cli("register", subject, str(ORDER_PROTO), *inside, "--json", cwd=REPO)
    assert result.returncode == 0, output_of(result)
    registered = json.loads(result.stdout)
    # A fresh context counts its ids from 1; the import lands in the same context.
    assert [r["id"] for r in registered] == [1, 2]

    listed = json.loads(run_cli("subjects", *inside, "--json").stdout)
    assert listed == [f":.{context}:common/types.proto", f":.{context}:{subject}"]
    everything = json.loads(run_cli("subjects", *registry, "--json").stdout)
    assert f":.{context}:{subject}" in everything and subject not in everything

    shown = json.loads(run_cli("get", subject, *inside, "--json").stdout)
    assert (shown["version"], shown["id"]) == (1, 2)
    assert shown["references"][0]["subject"] == f":.{context}:common/types.proto"
    by_id = run_cli("get", "--id", "2", *inside, "--raw")
    assert "message Order" in by_id.stdout, output_of(by_id)
    assert json.loads(run_cli("versions", subject, *inside, "--json").stdout) == [1]
    assert run_cli("versions", subject, *registry).returncode == 2  # not in the default one

    # The qualified name reaches the same subject without --context.
    qualified = run_cli("versions", f":.{context}:{subject}", *registry, "--json")
    assert json.loads(qualified.stdout) == [1]

    checked = run_cli(
        "check",
        str(ORDER_AVSC),
        "--subject",
        f"avro-{unique}",
        *inside,
        "--format",
        "json",
        cwd=REPO,
    )
    assert checked.returncode == 0, output_of(checked)

    bad = run_cli("subjects", *registry, "--context", "a:b")
    assert bad.returncode == 2 and "not a context name" in bad.stderr

"""``regcast auth add-user``: the hash it writes is one the registry accepts.

The command runs through typer's CliRunner (the prompt reads the runner's input, twice
for the confirmation); the users file it writes is then served by ``create_app`` with
``REGCAST_AUTH=basic``. The password never appears in the output or in the file.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from regcast.cli import app as cli
from registry_service.app import create_app
from registry_service.settings import Settings

PASSWORD = "correct horse battery staple"


def auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_add_user_writes_a_hash_the_registry_accepts(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    runner = CliRunner()
    prompted = runner.invoke(
        cli,
        ["auth", "add-user", "ci", "--file", str(users), "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert "user 'ci' added" in prompted.output
    piped = runner.invoke(
        cli,
        ["auth", "add-user", "app", "--file", str(users), "--password-stdin"],
        input="app-secret\n",
    )
    assert piped.exit_code == 0, piped.output
    for result in (prompted, piped):
        assert PASSWORD not in result.output and "app-secret" not in result.output
    text = users.read_text()
    assert PASSWORD not in text and "app-secret" not in text
    assert users.stat().st_mode & 0o777 == 0o600
    entries = json.loads(text)["users"]
    assert [(e["username"], e["algorithm"], e.get("roles")) for e in entries] == [
        ("ci", "scrypt", ["admin"]),
        ("app", "scrypt", None),
    ]

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'registry.db'}",
        cache_poll_interval_ms=0,
        auth="basic",
        auth_file=users,
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/subjects", headers=auth("ci", PASSWORD)).status_code == 200
        assert client.get("/subjects", headers=auth("ci", "wrong")).status_code == 401
        # app has no permissions: authenticated, sees an empty listing, may not write
        assert client.get("/subjects", headers=auth("app", "app-secret")).json() == []
        schema = json.dumps({"type": "record", "name": "A", "fields": []})
        denied = client.post(
            "/subjects/a/versions", json={"schema": schema}, headers=auth("app", "app-secret")
        )
        assert denied.status_code == 403

    changed = runner.invoke(
        cli, ["auth", "add-user", "ci", "--file", str(users), "--password-stdin"], input="new\n"
    )
    assert changed.exit_code == 0 and "user 'ci' updated" in changed.output
    assert json.loads(users.read_text())["users"][0]["roles"] == ["admin"]  # roles kept


def test_add_user_refuses_mismatched_prompts_and_bad_input(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    runner = CliRunner()
    mismatch = runner.invoke(
        cli, ["auth", "add-user", "x", "--file", str(users)], input="one\ntwo\none\none\n"
    )
    assert mismatch.exit_code == 0  # typer asks again until both entries match
    assert "one" not in mismatch.output.replace("Password", "")
    empty = runner.invoke(
        cli, ["auth", "add-user", "y", "--file", str(users), "--password-stdin"], input="\n"
    )
    assert empty.exit_code == 2 and "empty" in empty.output
    colon = runner.invoke(
        cli, ["auth", "add-user", "a:b", "--file", str(users), "--password-stdin"], input="p\n"
    )
    assert colon.exit_code == 2
    role = runner.invoke(
        cli,
        ["auth", "add-user", "z", "--file", str(users), "--password-stdin", "--role", "ghosts"],
        input="p\n",
    )
    assert role.exit_code == 2 and "ghosts" in role.output

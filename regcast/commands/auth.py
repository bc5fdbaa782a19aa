"""``regcast auth``: manage the registry's users file (``REGCAST_AUTH_FILE``).

``regcast auth add-user NAME`` asks for the password twice without echoing it (or reads
one line from stdin with ``--password-stdin``, for scripts), hashes it with scrypt and a
new salt (``registry_service.auth.passwords``), and adds the user to the file or replaces
the user's hash (keeping its roles unless ``--role`` is given). The file is replaced
atomically and created readable by its owner only. The password is never printed.
A running registry picks the change up within ``REGCAST_AUTH_RELOAD_INTERVAL_MS``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from regcast.commands._common import console, fail

AUTH_FILE_ENV = "REGCAST_AUTH_FILE"

app = typer.Typer(
    name="auth",
    help="Manage the registry's users file (REGCAST_AUTH_FILE).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        fail("the password is empty")
    return password


@app.command("add-user")
def add_user(
    name: Annotated[str, typer.Argument(help="User name (no ':').")],
    file: Annotated[
        Path,
        typer.Option(
            "--file",
            "-f",
            envvar=AUTH_FILE_ENV,
            help="Users file to write (JSON; created if missing).",
        ),
    ] = Path("regcast-users.json"),
    role: Annotated[
        list[str] | None,
        typer.Option(
            "--role",
            help="Role to give (repeatable): 'admin' or one defined in the file's roles. "
            "Without it an existing user keeps its roles.",
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Add a user to the users file, or set a user's password."""
    from registry_service.auth import users_file
    from registry_service.auth.passwords import hash_password, new_salt

    if not name or ":" in name:
        fail("the user name must be non-empty and hold no ':'")
    try:
        document = users_file.read_document(file) if file.exists() else {}
    except users_file.UsersFileError as exc:
        fail(str(exc))
    password = _read_password(password_stdin)
    salt = new_salt()
    try:
        added = users_file.set_user(document, name, salt, hash_password(password, salt), role)
        users_file.write_document(file, document)
    except (users_file.UsersFileError, OSError) as exc:
        fail(f"{file}: {exc}")
    verb = "added" if added else "updated"
    console.print(f"user {name!r} {verb} in {file}", highlight=False)

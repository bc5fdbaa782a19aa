"""``regcast check``: the CI gate for schema changes (logic in :mod:`regcast.checking`).

Three output formats over the same :class:`~regcast.checking.CheckReport`:

- ``text``: one verdict line per file, each reason under it as ``file:line: message``;
- ``json``: one document for tools (``exit_code``, per-file ``verdict`` and ``findings``);
- ``github``: GitHub Actions workflow commands (``::error file=...,line=...::...``) so
  each reason shows on the pull request's diff, plus a one-line summary.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from regcast.checking import CheckReport, FileResult, Verdict, collect_schema_files, run_check
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
)
from regcast.config import ConfigError


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    GITHUB = "github"


_STYLE = {
    Verdict.UNCHANGED: ("[green]✓[/]", "green"),
    Verdict.NEW: ("[green]✓[/]", "green"),
    Verdict.COMPATIBLE: ("[green]✓[/]", "green"),
    Verdict.INCOMPATIBLE: ("[red]✗[/]", "red"),
    Verdict.INVALID: ("[red]✗[/]", "red"),
    Verdict.BLOCKED: ("[yellow]-[/]", "yellow"),
    Verdict.ERROR: ("[red]![/]", "red"),
}


def _describe(result: FileResult) -> str:
    verdict = result.verdict
    if verdict is Verdict.UNCHANGED:
        text = f"unchanged (registered as version {result.registered_version})"
    elif verdict is Verdict.NEW:
        text = "new subject"
    elif verdict is Verdict.COMPATIBLE:
        text = "compatible"
    else:
        text = str(verdict)
    if result.level is not None:
        text += f" [{result.level}]"
    if result.newly_registered:
        text += f", registered version {result.registered_version} (id {result.registered_id})"
    return text


def _summary(report: CheckReport) -> str:
    counts: dict[str, int] = {}
    for r in report.results:
        counts[str(r.verdict)] = counts.get(str(r.verdict), 0) + 1
    parts = ", ".join(f"{n} {v}" for v, n in counts.items())
    registered = sum(1 for r in report.results if r.newly_registered)
    tail = f"; registered {registered}" if registered else ""
    noun = "file" if len(report.results) == 1 else "files"
    return f"{len(report.results)} {noun}: {parts}{tail}"


def _print_text(report: CheckReport) -> None:
    console.print(f"checking against {report.registry_url}", style="dim", highlight=False)
    for r in report.results:
        mark, colour = _STYLE[r.verdict]
        origin = f" (imported by {r.import_of})" if r.import_of else ""
        console.print(
            f"{mark} {r.display}{origin} → [bold]{r.subject}[/]: [{colour}]{_describe(r)}[/]",
            highlight=False,
        )
        for finding in r.findings:
            where = r.display if finding.line is None else f"{r.display}:{finding.line}"
            if finding.line is not None and finding.column is not None:
                where += f":{finding.column}"
            console.print(f"    {where}: {finding.message}", highlight=False, markup=False)
        for note in r.notes:
            console.print(f"    note: {note}", style="dim", highlight=False, markup=False)
    code = report.exit_code
    colour = "green" if code == 0 else "red"
    console.print(f"[{colour}]{_summary(report)}[/]", highlight=False)


def _json_document(report: CheckReport) -> dict[str, Any]:
    return {
        "registry": report.registry_url,
        "exit_code": report.exit_code,
        "ok": report.exit_code == 0,
        "results": [
            {
                "file": r.display,
                "subject": r.subject,
                "schemaType": str(r.schema_type),
                "verdict": str(r.verdict),
                "passed": r.verdict.passed,
                "compatibility": r.level,
                "findings": [
                    {
                        "message": f.message,
                        "line": f.line,
                        "column": f.column,
                        "errorType": f.error_type,
                    }
                    for f in r.findings
                ],
                "notes": r.notes,
                "importedBy": r.import_of,
                "registered": (
                    None
                    if r.registered_id is None
                    else {"id": r.registered_id, "version": r.registered_version}
                ),
                "newlyRegistered": r.newly_registered,
            }
            for r in report.results
        ],
    }


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _print_github(report: CheckReport) -> None:
    for r in report.results:
        if r.verdict.passed:
            continue
        title = f"regcast check: {r.subject} {r.verdict}"
        findings = r.findings or []
        if not findings:
            print(f"::error file={_gh_property(r.display)},title={_gh_property(title)}::{title}")
        for finding in findings:
            props = [f"file={_gh_property(r.display)}"]
            if finding.line is not None:
                props.append(f"line={finding.line}")
                if finding.column is not None:
                    props.append(f"col={finding.column}")
            props.append(f"title={_gh_property(title)}")
            print(f"::error {','.join(props)}::{_gh_data(finding.message)}")
    summary = _summary(report)
    if report.exit_code == 0:
        print(f"regcast check passed: {summary}")
    else:
        print(f"regcast check failed: {summary}")


def check(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Schema files or folders (searched for *.avsc, *.proto and *.json "
            "with $schema) "
            "[default: every file in regcast.toml].",
            show_default=False,
        ),
    ] = None,
    registry: RegistryOption = None,
    context: ContextOption = None,
    registry_user: RegistryUserOption = None,
    registry_password: RegistryPasswordOption = None,
    registry_token: RegistryTokenOption = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", "-s", help="Check the one file given against this subject."),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="text, json, or github (Actions annotations)."),
    ] = OutputFormat.TEXT,
    register: Annotated[
        bool,
        typer.Option("--register", help="Register every file that passes (e.g. on main)."),
    ] = False,
    normalize: Annotated[
        bool, typer.Option("--normalize", help="Ask the registry to normalize schemas.")
    ] = False,
    schema_type: Annotated[
        str | None,
        typer.Option("--type", "-t", help="avro, protobuf or json [default: from the extension]."),
    ] = None,
    config_path: ConfigOption = None,
) -> None:
    """Check schema files against the registry before they ship (the CI command).

    Each file is mapped to a subject (regcast.toml, else <stem>-value, or the import
    path for an imported .proto) and tested at the subject's compatibility level.
    Exit 0 if every file is compatible (or new, or unchanged), 1 if any is
    incompatible or does not parse, 2 on usage, network or registry errors.
    """
    config = load_cli_config(config_path)
    url = context_url(config.effective_registry_url(registry), context)
    try:
        if paths:
            files = collect_schema_files(paths)
        else:
            if not config.schemas:
                where = config.source or "regcast.toml (none found)"
                fail(f"nothing to check: give schema files or folders, or list them in {where}")
            files = [e.path for e in config.schemas]
        client = open_registry(
            url, user=registry_user, password=registry_password, token=registry_token
        )
        with client:
            report = run_check(
                client,
                url,
                files,
                config,
                subject=subject,
                schema_type=schema_type,
                register=register,
                normalize=normalize,
            )
    except ConfigError as exc:
        fail(str(exc))
    if output is OutputFormat.JSON:
        print(json.dumps(_json_document(report), indent=2))
    elif output is OutputFormat.GITHUB:
        _print_github(report)
    else:
        _print_text(report)
    code = report.exit_code
    if code != ExitCode.OK:
        raise typer.Exit(code)

"""The docs build, and every Python example in them runs against real peers.

``mkdocs build --strict`` fails on a broken link, a missing anchor or a page left out of
the navigation. Each Python example of README.md and docs/**/*.md (grouped and marked as
tests/docs/markdown_examples.py describes) runs in a module of its own, from the
repository root, with a fresh Tansu broker and a fresh registry standing in for the
placeholders it names. An example fails the test the way it would fail a reader: by
raising, or by printing something other than the output the page shows.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import typer.main

from regcast.cli import app
from tests.docs.markdown_examples import (
    BOOTSTRAP_PLACEHOLDER,
    REGISTRY_PLACEHOLDER,
    Example,
    examples_in,
    parse_blocks,
)

REPO = Path(__file__).resolve().parents[2]
PAGES = [Path("README.md"), *sorted(p.relative_to(REPO) for p in (REPO / "docs").rglob("*.md"))]
PROTOS = REPO / "tests" / "integration" / "serdes" / "protos"  # regcast_demo/order_pb2.py


def _all_examples() -> list[Example]:
    return [e for page in PAGES for e in examples_in((REPO / page).read_text(), page)]


EXAMPLES = _all_examples()


def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's end-of-life banner
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "developing" / "index.html").is_file()


def test_readme_links_point_at_pages_that_exist() -> None:
    readme = (REPO / "README.md").read_text()
    targets = re.findall(r"\]\((?!https?://|#)([^)\s]+)\)", readme)
    assert any(t.startswith("docs/") for t in targets), "the README links into docs/"
    for target in targets:
        file, _, anchor = target.partition("#")
        path = REPO / file
        assert path.is_file(), f"README links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.MULTILINE)
            assert anchor in {_slug(h) for h in headings}, f"no heading #{anchor} in {file}"


def _slug(heading: str) -> str:
    """The anchor GitHub and MkDocs both give a plain heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_the_docs_have_examples_and_few_skips() -> None:
    ran = [e for e in EXAMPLES if e.skip_reason is None]
    assert any(e.first.path == Path("README.md") for e in ran), "the README's example runs"
    assert len(ran) >= 10
    assert len(EXAMPLES) - len(ran) <= 3, [e.test_id() for e in EXAMPLES if e.skip_reason]


_COMMAND_PREFIX = {"console": r"\$ ", "yaml": r"(?:- )?run: ", "bash": "", "sh": ""}
"""Where a command starts a line, per block language: after the prompt, in a run step."""


def test_regcast_commands_in_shell_examples_exist_with_those_options() -> None:
    """``$ regcast ...`` lines (console, bash) and ``run: regcast ...`` steps (yaml)."""
    cli = typer.main.get_command(app)
    commands: dict[str, Any] = cli.commands  # type: ignore[attr-defined]  # a TyperGroup

    def options(command: Any) -> set[str]:
        return {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}

    seen = 0
    for page in PAGES:
        for block in parse_blocks((REPO / page).read_text(), page):
            if block.language not in _COMMAND_PREFIX:
                continue
            prefix = _COMMAND_PREFIX[block.language]
            text = re.sub(r"\\\n\s*", " ", block.text)  # join continued lines
            for line in re.findall(rf"^\s*{prefix}regcast( .*)?$", text, flags=re.MULTILINE):
                words = line.split("#")[0].split()
                seen += 1
                if words and not words[0].startswith("-"):
                    name, *rest = words
                    assert name in commands, f"{block.where()}: no command regcast {name}"
                    known = options(commands[name])
                else:
                    rest, known = words, options(cli)
                used = {w.split("=")[0] for w in rest if w.startswith("-")}
                assert used <= known, f"{block.where()}: regcast {line.strip()}: {used - known}"
    assert seen >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=Example.test_id)
def test_example_runs(
    example: Example, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if example.skip_reason is not None:
        pytest.skip(example.skip_reason)
    source = example.source
    replacements = {}
    if REGISTRY_PLACEHOLDER in source:
        replacements[REGISTRY_PLACEHOLDER] = request.getfixturevalue("registry_url")
    if BOOTSTRAP_PLACEHOLDER in source:
        replacements[BOOTSTRAP_PLACEHOLDER] = request.getfixturevalue("kafka_broker").bootstrap
    monkeypatch.chdir(REPO)  # examples name files as a reader in a checkout would
    monkeypatch.syspath_prepend(str(PROTOS))
    name = f"docs_example_{abs(hash(example.test_id()))}"
    module = types.ModuleType(name)  # dataclasses and type hints look their module up
    monkeypatch.setitem(sys.modules, name, module)
    try:
        for index, block in enumerate(example.blocks):
            code = block.text
            for placeholder, actual in replacements.items():
                code = code.replace(placeholder, actual)
            # padded so that a traceback names the Markdown file and the line in it
            compiled = compile("\n" * block.line + code, str(REPO / block.path), "exec")
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    exec(compiled, module.__dict__)
            finally:
                sys.stdout.write(printed.getvalue())  # pytest shows it when the test fails
            expected = example.outputs.get(index)
            if expected is not None:
                assert _lines(printed.getvalue()) == _lines(expected), (
                    f"{block.where()} printed something else than the page shows"
                )
    finally:
        # what the example left open (a confluent-kafka producer, a client) goes before
        # its broker and registry do, rather than retrying against them after the test
        module.__dict__.clear()
        gc.collect()


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip().splitlines()]

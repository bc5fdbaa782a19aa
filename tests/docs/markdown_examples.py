"""Find the Python examples in the Markdown docs, with their ``docs-test`` directives.

The convention (docs/developing.md, "Examples in the docs are tests"):

- Every fenced ```` ```python ```` block in README.md and docs/**/*.md is run by
  tests/docs/test_docs.py. A block starts a new example, in a fresh module namespace.
- An HTML comment on the last non-blank line before a fence gives a directive, invisible
  on GitHub and in the built site:

  - ``<!-- docs-test: continue -->``: this block continues the previous example of the
    same file (same namespace, same fixtures), so one example can be explained in parts;
  - ``<!-- docs-test: skip -->``: not run; the block must be preceded by an admonition
    ``!!! note "Not run by the docs tests"`` whose text says why, which readers see and
    the test reports as the skip reason;
  - ``<!-- docs-test: output -->`` before a non-Python block: what the preceding Python
    block prints, compared exactly (trailing whitespace aside).

- Placeholders stand for the test's peers: ``127.0.0.1:9092`` becomes the bootstrap
  address of a fresh Tansu broker (the ``kafka_broker`` fixture) and
  ``http://127.0.0.1:8081`` the URL of a fresh registry (``registry_url``); an example
  that names neither starts neither.

Everything here is pure text handling; running the examples is the test's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BOOTSTRAP_PLACEHOLDER",
    "REGISTRY_PLACEHOLDER",
    "SKIP_ADMONITION",
    "Block",
    "DirectiveError",
    "Example",
    "examples_in",
    "parse_blocks",
]

BOOTSTRAP_PLACEHOLDER = "127.0.0.1:9092"
REGISTRY_PLACEHOLDER = "http://127.0.0.1:8081"
SKIP_ADMONITION = '!!! note "Not run by the docs tests"'
DIRECTIVES = ("continue", "skip", "output")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<words>.*?)\s*-->\s*$")
_PYTHON = ("python", "py", "python3")


class DirectiveError(ValueError):
    """A ``docs-test`` comment that the convention does not allow; names file and line."""


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: where it is, its language, its (dedented) text, its directive."""

    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    directive: str | None
    skip_reason: str | None = None

    @property
    def is_python(self) -> bool:
        return self.language in _PYTHON

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(slots=True)
class Example:
    """Python blocks run one after another in one namespace, with their expected output."""

    blocks: list[Block] = field(default_factory=list)
    outputs: dict[int, str] = field(default_factory=dict)  # block index -> expected stdout

    @property
    def first(self) -> Block:
        return self.blocks[0]

    @property
    def skip_reason(self) -> str | None:
        return self.first.skip_reason

    @property
    def source(self) -> str:
        return "\n".join(block.text for block in self.blocks)

    def test_id(self) -> str:
        lines = ",".join(str(block.line) for block in self.blocks)
        return f"{self.first.path.as_posix()}:{lines}"


def _directive(lines: list[str], fence_index: int, path: Path) -> tuple[str | None, int]:
    """The directive on the last non-blank line before the fence, and that line's index."""
    index = fence_index - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    if index < 0:
        return None, -1
    match = _DIRECTIVE.match(lines[index])
    if match is None:
        if "docs-test" in lines[index]:
            raise DirectiveError(f"{path}:{index + 1}: malformed docs-test comment")
        return None, index
    words = match["words"]
    if words not in DIRECTIVES:
        raise DirectiveError(
            f"{path}:{index + 1}: unknown docs-test directive {words!r}; "
            f"use one of {', '.join(DIRECTIVES)}"
        )
    return words, index


def _skip_reason(lines: list[str], comment_index: int, path: Path) -> str:
    """The text of the admonition right before a skip comment: the visible reason."""
    index = comment_index - 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    body: list[str] = []
    while index >= 0 and (lines[index].startswith(("    ", "\t")) or not lines[index].strip()):
        body.insert(0, lines[index].strip())
        index -= 1
    if index < 0 or lines[index].strip() != SKIP_ADMONITION or not any(body):
        raise DirectiveError(
            f"{path}:{comment_index + 1}: a skipped example must follow an admonition "
            f"{SKIP_ADMONITION} that tells the reader why it cannot run here"
        )
    return " ".join(part for part in body if part)


def parse_blocks(text: str, path: Path) -> list[Block]:
    """Every fenced block of one Markdown text, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        language = opening["info"].strip().split(" ")[0].lower()
        directive, comment_index = _directive(lines, index, path)
        end = index + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence) and not lines[end].strip().strip("`")
        ):
            end += 1
        if end == len(lines):
            raise DirectiveError(f"{path}:{index + 1}: code fence is never closed")
        body = [
            line[len(indent) :] if line.startswith(indent) else line
            for line in lines[index + 1 : end]
        ]
        reason = _skip_reason(lines, comment_index, path) if directive == "skip" else None
        blocks.append(Block(path, index + 1, language, "\n".join(body) + "\n", directive, reason))
        index = end + 1
    return blocks


def examples_in(text: str, path: Path) -> list[Example]:
    """Group one file's Python blocks into examples (``continue``) with their outputs."""
    examples: list[Example] = []
    previous: Block | None = None
    for block in parse_blocks(text, path):
        if block.directive == "output":
            if previous is None or not previous.is_python or block.is_python:
                raise DirectiveError(
                    f"{block.where()}: an output block must follow a Python block directly"
                )
            example = examples[-1]
            example.outputs[len(example.blocks) - 1] = block.text
        elif block.is_python:
            if block.directive == "continue":
                if not examples:
                    raise DirectiveError(f"{block.where()}: nothing before it to continue")
                if examples[-1].skip_reason is not None:
                    raise DirectiveError(f"{block.where()}: continues a skipped example")
                examples[-1].blocks.append(block)
            else:
                examples.append(Example([block]))
        elif block.directive is not None:
            raise DirectiveError(
                f"{block.where()}: docs-test {block.directive} on a {block.language or 'plain'}"
                " block; only Python blocks run"
            )
        previous = block
    return examples

"""The docs-test convention itself: how blocks are grouped, marked and refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.markdown_examples import DirectiveError, examples_in

PAGE = Path("page.md")


def test_continue_joins_the_previous_example_and_output_follows_its_block() -> None:
    text = """
```python
a = 1
```

Some prose.

<!-- docs-test: continue -->
```python
print(a + 1)
```

<!-- docs-test: output -->
```text
2
```

```python
b = 2
```
"""
    first, second = examples_in(text, PAGE)
    assert [block.line for block in first.blocks] == [2, 9]
    assert first.outputs == {1: "2\n"}
    assert first.test_id() == "page.md:2,9"
    assert second.source == "b = 2\n"


def test_indented_fences_are_dedented() -> None:
    text = "- item\n\n    ```python\n    x = 1\n    ```\n"
    (example,) = examples_in(text, PAGE)
    assert example.source == "x = 1\n"


def test_a_skip_takes_its_reason_from_the_admonition_before_it() -> None:
    text = """
!!! note "Not run by the docs tests"
    It needs a secured cluster.

<!-- docs-test: skip -->
```python
connect()
```
"""
    (example,) = examples_in(text, PAGE)
    assert example.skip_reason == "It needs a secured cluster."


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("<!-- docs-test: skip -->\n```python\nx()\n```\n", "must follow an admonition"),
        ("<!-- docs-test: sikp -->\n```python\nx()\n```\n", "unknown docs-test directive"),
        ("<!-- docs-test: continue -->\n```python\nx()\n```\n", "nothing before it"),
        ("```console\n$ ls\n```\n<!-- docs-test: output -->\n```text\nx\n```\n", "must follow"),
        ("<!-- docs-test: continue -->\n```bash\nls\n```\n", "only Python blocks run"),
        ("```python\nx = 1\n", "never closed"),
    ],
)
def test_directives_that_break_the_convention_are_refused(text: str, complaint: str) -> None:
    with pytest.raises(DirectiveError, match=complaint):
        examples_in(text, PAGE)

"""The README's examples run as written: the quick start and each machine's section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTIONS = ["Quick start", "Notices and the change journal", "Gateway", "Membership", "Buckets", "Outbox"]


def example(section: str) -> str:
    """The first Python block of a ``##`` section."""
    text = README.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None, section
    return code.group(1)


def test_quick_start_is_short() -> None:
    assert len(example("Quick start").strip().splitlines()) <= 15


@pytest.mark.parametrize("section", SECTIONS)
def test_example_runs(section: str) -> None:
    exec(compile(example(section), f"{README}: {section}", "exec"), {})


def test_top_readme_quick_start_runs() -> None:
    """The repository README's Python quick start runs as written (it asserts its totals)."""
    top = README.parents[1] / "README.md"
    text = top.read_text().split("\n## Quick start (Python)\n", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None and "assert " in code.group(1)
    exec(compile(code.group(1), f"{top}: Quick start (Python)", "exec"), {})

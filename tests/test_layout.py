"""The floor plan: which top-level part may import which, read from the code's own imports.

constructs_lib/ is the library: it imports none of the app, the tools or the rehearsal. The
tools in summarizer/ import the library's pure modules and the app's loader, never the CDK.
stacks/ composes the library. Nothing imports the rehearsal or the benchmarks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("constructs_lib", "stacks", "summarizer", "model_code", "rehearsal", "bench", "scripts")
# What each part may import of the others (app.py and tests are not parts).
ALLOWED = {
    "constructs_lib": set(),
    "model_code": set(),
    "stacks": {"constructs_lib"},
    "summarizer": {"constructs_lib", "stacks"},
    "scripts": {"constructs_lib"},
    "bench": {"constructs_lib", "stacks", "summarizer", "model_code"},
    "rehearsal": {"constructs_lib", "stacks", "summarizer", "model_code"},
}
CDK = ("aws_cdk", "constructs", "jsii", "cdk_nag")


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (relative imports excluded)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def files_of(part: str) -> list[Path]:
    return sorted((ROOT / part).rglob("*.py"))


@pytest.mark.parametrize("part", PARTS)
def test_each_part_imports_only_the_parts_below_it(part: str) -> None:
    crossing = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files_of(part)
        for module in imported_modules(path)
        if module.split(".")[0] in PARTS
        and module.split(".")[0] != part
        and module.split(".")[0] not in ALLOWED[part]
    )
    assert crossing == []


def test_the_tools_import_nothing_of_the_cdk() -> None:
    found = sorted(
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files_of("summarizer")
        for module in imported_modules(path)
        if module.split(".")[0] in CDK
    )
    assert found == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "example.py"
    module.write_text("from stacks.config import load_configs\nimport aws_cdk as cdk\n")
    assert imported_modules(module) == {"stacks.config", "aws_cdk"}

"""The README is the way in: it links every page of docs/ once, and no link in the README or in
docs/ points at a file or a heading that does not exist (a moved section would leave one)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

_FENCE = re.compile(r"^\s*(```|~~~)")
# [text](target) and ![alt](target); a target has no spaces (titles are not used here).
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^()\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose(text: str) -> list[str]:
    """The lines outside fenced code blocks (a `# comment` in a bash block is no heading)."""
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _links(page: Path) -> list[str]:
    return [target for line in _prose(page.read_text()) for target in _LINK.findall(line)]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    anchors: set[str] = set()
    seen: Counter[str] = Counter()
    for line in _prose(page.read_text()):
        match = _HEADING.match(line)
        if match:
            slug = _slug(match.group(2))
            anchors.add(slug if not seen[slug] else f"{slug}-{seen[slug]}")
            seen[slug] += 1
    return anchors


def _local(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # not https:, mailto:, ...


def test_the_slug_follows_githubs_rule() -> None:
    assert _slug("Choosing in the app's configuration (`stacks/hosting.py`)") == (
        "choosing-in-the-apps-configuration-stackshostingpy"
    )
    assert _slug("Compliance: checkov and AWS Control Tower") == (
        "compliance-checkov-and-aws-control-tower"
    )
    assert _slug("The data path (`data_path`)") == "the-data-path-data_path"


def test_the_readme_links_every_docs_page_exactly_once() -> None:
    linked = Counter(
        (README.parent / target.split("#", 1)[0]).resolve()
        for target in _links(README)
        if _local(target) and target.split("#", 1)[0]
    )
    counts = {page.name: linked[page.resolve()] for page in DOCS}
    assert DOCS, "docs/ has pages"
    assert {name: n for name, n in counts.items() if n != 1} == {}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken: list[str] = []
    for target in _links(page):
        if not _local(target):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target}: no heading with that anchor in {file.name}")
    assert broken == []

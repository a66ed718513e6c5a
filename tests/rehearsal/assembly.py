"""Break a synthesized cloud assembly on purpose, the way a wiring mistake would.

A copy of ``cdk.out`` is edited (a template value, a file of a Lambda asset), and every content
hash the CDK CLI publishes by is renamed so the CLI uploads and deploys the edited content: an
asset or template whose key already exists in the assets bucket is not uploaded again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any


def copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _replace_everywhere(assembly: Path, old: str, new: str) -> None:
    for path in assembly.glob("*.json"):
        text = path.read_text()
        if old in text:
            path.write_text(text.replace(old, new))


def _rehash_template(assembly: Path, stack: str) -> None:
    assets = json.loads((assembly / f"{stack}.assets.json").read_text())
    template = assembly / f"{stack}.template.json"
    new = hashlib.sha256(template.read_bytes()).hexdigest()
    for old, entry in assets["files"].items():
        if entry["source"]["path"] == template.name and old != new:
            _replace_everywhere(assembly, old, new)


def edit_template(assembly: Path, stack: str, edit: Callable[[dict[str, Any]], None]) -> None:
    path = assembly / f"{stack}.template.json"
    template = json.loads(path.read_text())
    edit(template)
    path.write_text(json.dumps(template, indent=1))
    _rehash_template(assembly, stack)


def function(template: dict[str, Any], fragment: str) -> dict[str, Any]:
    """The one Lambda function whose logical id contains ``fragment``."""
    (found,) = [
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and fragment in logical_id
    ]
    return found


def remove_from_asset(assembly: Path, stack: str, fragment: str, relative: str) -> None:
    """Delete ``relative`` from the code asset of the function ``fragment`` names."""
    template = json.loads((assembly / f"{stack}.template.json").read_text())
    key = function(template, fragment)["Properties"]["Code"]["S3Key"]
    old = key.split(".")[0]
    folder = assembly / f"asset.{old}"
    (folder / relative).unlink()
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    new = digest.hexdigest()
    folder.rename(assembly / f"asset.{new}")
    _replace_everywhere(assembly, old, new)
    _rehash_template(assembly, stack)

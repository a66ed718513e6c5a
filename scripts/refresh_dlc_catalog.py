"""Regenerate constructs_lib/huggingface_dlc.json from the SageMaker Python SDK's image catalog.

Synthesis must not call the SDK (it needs a concrete region and pulls in 450 MB), so the stack
reads this committed table instead; tests/test_dlc_image.py checks that this script would write
exactly the committed file today, so a region or version the SDK adds cannot go unnoticed.
Run with sagemaker-core installed (requirements-dev.txt pins it; bump the pin first to pick up
a newer catalog):  .venv/bin/python scripts/refresh_dlc_catalog.py

The table holds the registry account of every region with a Hugging Face inference DLC, and the
regions where the SDK knows other SageMaker images but no Hugging Face one: an
environment-agnostic stack deployed there is refused by name before anything is created.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "constructs_lib" / "huggingface_dlc.json"
# transformers 4.x only: 5.x dropped the summarization pipeline the handler is tested against.
SUPPORTED = [("4.37.0", "2.1.0"), ("4.48.0", "2.3.0"), ("4.49.0", "2.6.0"), ("4.51.3", "2.6.0")]


def _registry_regions(node: Any) -> set[str]:
    """Every region named in a ``registries`` table anywhere under ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("registries"), dict):
            found |= set(node["registries"])
        for value in node.values():
            found |= _registry_regions(value)
    elif isinstance(node, list):
        for value in node:
            found |= _registry_regions(value)
    return found


def sagemaker_image_regions() -> set[str]:
    """Regions where the SDK's catalog has any SageMaker image (every framework's config)."""
    from sagemaker.core import image_uris

    config_dir = Path(image_uris.__file__).with_name("image_uri_config")
    regions: set[str] = set()
    for path in sorted(config_dir.glob("*.json")):
        regions |= _registry_regions(json.loads(path.read_text()))
    return regions


def build_table() -> dict[str, Any]:
    """The table as the installed SDK's catalog says it should be."""
    from sagemaker.core import image_uris

    catalog = image_uris.config_for_framework("huggingface")["inference"]["versions"]
    versions = {}
    registries = []
    for transformers, pytorch in SUPPORTED:
        entry = catalog[transformers][f"pytorch{pytorch}"]
        versions[f"{transformers}/{pytorch}"] = {
            "transformers": transformers,
            "pytorch": pytorch,
            "python": entry["py_versions"][-1],
            "repository": entry["repository"],
            "gpu_suffix": entry["container_version"]["gpu"],
            "cpu_suffix": entry["container_version"]["cpu"],
        }
        registries.append(dict(sorted(entry["registries"].items())))
    # One region -> account table serves every version; stop if the catalog ever disagrees.
    if any(r != registries[0] for r in registries):
        raise SystemExit("registry accounts differ between versions: extend the table format")
    return {
        "registries": registries[0],
        "regions_without_registry": sorted(sagemaker_image_regions() - set(registries[0])),
        "versions": versions,
    }


def render(table: dict[str, Any]) -> str:
    return json.dumps(table, indent=2, sort_keys=True) + "\n"


def main() -> None:
    table = build_table()
    OUT.write_text(render(table))
    print(
        f"wrote {OUT.relative_to(Path.cwd())} ({len(table['versions'])} versions, "
        f"{len(table['registries'])} regions, {len(table['regions_without_registry'])} without)"
    )


if __name__ == "__main__":
    main()

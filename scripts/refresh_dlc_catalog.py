"""Regenerate constructs_lib/huggingface_dlc.json from the SageMaker Python SDK's image catalog.

Synthesis must not call the SDK (it needs a concrete region and pulls in 450 MB), so the stack
reads this committed table instead; tests/test_dlc_image.py checks it still matches the catalog.
Run with sagemaker-core installed:  .venv/bin/python scripts/refresh_dlc_catalog.py
"""

from __future__ import annotations

import json
from pathlib import Path

from sagemaker.core import image_uris

OUT = Path(__file__).resolve().parent.parent / "constructs_lib" / "huggingface_dlc.json"
# transformers 4.x only: 5.x dropped the summarization pipeline the handler is tested against.
SUPPORTED = [("4.37.0", "2.1.0"), ("4.48.0", "2.3.0"), ("4.49.0", "2.6.0"), ("4.51.3", "2.6.0")]


def main() -> None:
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
    table = {"registries": registries[0], "versions": versions}
    OUT.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    print(f"wrote {OUT.relative_to(Path.cwd())} ({len(versions)} versions)")


if __name__ == "__main__":
    main()

"""The app in the configurations the default templates do not show, synthesized once per session.

Deployment guardrails that roll, an endpoint without guardrails, a real-time endpoint with data
capture, and staged uncompressed model data: one app with one environment each, under cdk-nag's
AwsSolutions pack and AWS Control Tower's rules (the cfn-guard plugin), so that the gates
(tests/test_gates.py) and the template tests read the same synthesis.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STAGED_PREFIX = "s3://example-models/google--pegasus-large/0123abcd/v1/"

VARIANTS: dict[str, dict[str, Any]] = {
    # A fleet that never drops below two instances may roll in batches.
    "rolling": {
        "initial_instance_count": 2,
        "scaling": {"min_capacity": 2, "max_capacity": 4},
        "deployment": {
            "strategy": "ROLLING",
            "step_percent": 25,
            "rollback_step_percent": 50,
            "wait_interval_seconds": 60,
            "maximum_execution_timeout_seconds": 1800,
            "max_model_latency_seconds": None,
        },
    },
    # SageMaker's default update, and no data path to roll back on.
    "unguarded": {"deployment": None, "data_path": {"enabled": False}},
    "capture": {
        "hosting": "realtime",
        "data_capture": {"enabled": True, "sampling_percentage": 20, "retention_days": 14},
    },
    "staged": {
        "production": True,
        "model_data_uri": STAGED_PREFIX,
        "model_data_compression": "none",
        "model_data_key_arn": KEY_ARN,
        "network_isolation": True,
        "model_data_download_timeout_seconds": 900,
    },
}


@dataclass(frozen=True)
class Variants:
    """Templates (by environment), the two plugins' reports and the template files."""

    templates: dict[str, dict[str, Any]]
    nag_report: dict[str, Any]
    guard_report: dict[str, Any]
    template_files: list[Path]

    def template(self, environment: str) -> Any:
        from aws_cdk.assertions import Template

        return Template.from_json(self.templates[environment])


def variants_context() -> dict[str, Any]:
    from tests.conftest import cdk_json_context

    context = cdk_json_context()
    context["summarizer"] = {"environments": VARIANTS}
    return context


@cache
def variants() -> Variants:
    """Synthesize every variant once, under both plugins."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

    from app import build_app
    from stacks.config import load_configs

    outdir = Path(tempfile.mkdtemp(prefix="variants-"))
    context = variants_context()
    app = cdk.App(context=context, outdir=str(outdir))
    # Loaded from the mapping itself: jsii drops the nulls (``"deployment": null``) that the
    # CLI's context keeps (app.raw_cli_context reads those as JSON).
    build_app(app, load_configs(context))
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), CfnGuardValidator(control_tower_rules_enabled=True)
    )
    # Synthesis raises on unacknowledged findings; the reports say which.
    with contextlib.suppress(Exception):
        app.synth()
    reports = {
        r["pluginName"]: r
        for r in json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    }
    files = sorted(outdir.glob("*.template.json"))
    templates = {
        path.name.removesuffix(".template.json").removeprefix("PegasusSummarizer-"): json.loads(
            path.read_text()
        )
        for path in files
    }
    return Variants(templates, reports["AwsSolutions"], reports["cdk-validator-cfnguard"], files)

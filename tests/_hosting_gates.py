"""Synthesize a test or example app once with cdk-nag, and lint every template it wrote.

The hosting tests share one synthesis per module: the templates, cdk-nag's report and cfn-lint's
findings all come from the same run (a nag finding makes ``synth`` raise after the templates are
written, so the report and templates are read from the output directory).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Gated:
    """What one synthesis produced: templates by stack name, the nag report, lint findings."""

    templates: dict[str, Any]
    nag_report: dict[str, Any]
    lint_findings: list[str]
    synth_error: str | None

    def template(self, stack_name: str | None = None) -> Any:
        """The ``Template`` of ``stack_name`` (default: the only stack)."""
        if stack_name is None:
            (only,) = self.templates.values()
            return only
        return self.templates[stack_name]

    def unacknowledged(self) -> list[tuple[str, list[str]]]:
        """Every nag finding nobody acknowledged, with the constructs it names."""
        return [
            (v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
            for v in self.nag_report["violations"]
        ]

    def acknowledged(self) -> list[dict[str, Any]]:
        """Every acknowledged finding, with its id and reason."""
        return list(self.nag_report["suppressedViolations"])


def synth_gated(app: Any, outdir: Path) -> Gated:
    """Synthesize ``app`` (built with ``outdir``) under cdk-nag and cfn-lint its templates."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from cdk_nag import AwsSolutionsChecks
    from cfnlint.api import ManualArgs, lint_file

    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    error: str | None = None
    try:
        app.synth()
    except Exception as raised:  # the report read below says which findings failed it
        error = str(raised)
    report_file = outdir / "validation-report.json"
    report: dict[str, Any] = {"violations": [], "suppressedViolations": []}
    if report_file.exists():
        (report,) = json.loads(report_file.read_text())["pluginReports"]
    templates = {}
    findings = []
    for path in sorted(outdir.glob("*.template.json")):
        templates[path.name.removesuffix(".template.json")] = Template.from_json(
            json.loads(path.read_text())
        )
        with contextlib.suppress(StopIteration):
            findings += [
                f"{path.name}: {m.rule.id} {m.message} (line {m.linenumber})"
                for m in lint_file(path, ManualArgs())
            ]
    return Gated(templates, report, findings, error)


def app_in(outdir: Path) -> Any:
    """An App with cdk.json's feature flags writing to ``outdir``."""
    import aws_cdk as cdk

    from tests.conftest import cdk_json_context

    return cdk.App(context=cdk_json_context(), outdir=str(outdir))


def assert_gates_clean(gated: Gated) -> None:
    """No synthesis error, no cfn-lint finding, no unacknowledged cdk-nag finding, and every
    acknowledgement names its one finding with a reason."""
    assert gated.synth_error is None, gated.synth_error
    assert gated.lint_findings == []
    assert gated.unacknowledged() == []
    assert gated.nag_report["conclusion"] == "success"
    for violation in gated.acknowledged():
        assert violation["acknowledgedId"] == f"AwsSolutions::{violation['ruleName']}"
        assert len(violation["reason"]) > 40, violation

"""The library's example apps (examples/*/app.py): each synthesizes, lints and nags clean."""

from __future__ import annotations

import contextlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT, cdk_json_context

EXAMPLES = {"existing_endpoint": "ExistingEndpointOperations"}


def load(example: str) -> ModuleType:
    path = ROOT / "examples" / example / "app.py"
    spec = importlib.util.spec_from_file_location(f"example_{example}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def synthesized(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(example name, template path, nag report) of each example, synthesized with cdk-nag."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    example = request.param
    outdir = tmp_path_factory.mktemp(example)
    app = cdk.App(context=cdk_json_context(), outdir=str(outdir))
    module = load(example)
    stack_class = getattr(module, EXAMPLES[example])
    stack = stack_class(app, EXAMPLES[example], settings=dict(module.DEFAULTS))
    module.apply_org_guardrails(
        stack, permissions_boundary_arn="arn:aws:iam::123456789012:policy/boundary"
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with contextlib.suppress(Exception):
        app.synth()
    (report,) = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    return example, outdir / f"{EXAMPLES[example]}.template.json", report


def test_example_passes_cfn_lint(synthesized: Any) -> None:
    from cfnlint.api import ManualArgs, lint_file

    _, template, _ = synthesized
    assert [f"{m.rule.id} {m.message}" for m in lint_file(template, ManualArgs())] == []


def test_example_has_no_unacknowledged_cdk_nag_finding(synthesized: Any) -> None:
    _, _, report = synthesized
    assert [v["ruleName"] for v in report["violations"]] == []


def test_every_role_of_the_example_carries_the_boundary(synthesized: Any) -> None:
    _, template, _ = synthesized
    resources = json.loads(Path(template).read_text())["Resources"]
    roles = [r for r in resources.values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        assert role["Properties"]["PermissionsBoundary"] == (
            "arn:aws:iam::123456789012:policy/boundary"
        )

"""AWS Control Tower proactive controls (cfn-guard rules) over every template, as a test.

Governed accounts enforce these controls at deploy time with CloudFormation hooks. The
cdk-validator-cfnguard plugin bundles the same rules; every finding is either complied with or
acknowledged on the one construct it concerns, with the reason, and the README's compliance
table lists exactly those acknowledgements.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest

from tests.conftest import ROOT, Governed, cdk_json_context


@pytest.fixture(scope="module")
def guard_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import aws_cdk as cdk
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

    from app import build_app, context_of
    from stacks.config import load_configs

    outdir = tmp_path_factory.mktemp("guard")
    context = cdk_json_context()
    app = cdk.App(context=context, outdir=str(outdir))
    build_app(app, load_configs(context_of(app)))
    cdk.Validations.of(app).add_plugins(CfnGuardValidator(control_tower_rules_enabled=True))
    # Synthesis raises on unacknowledged findings; the report says which.
    with contextlib.suppress(Exception):
        app.synth()
    reports = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    # Construct warnings (e.g. the production model-source one) arrive as a report of their own.
    (report,) = [r for r in reports if r["pluginName"] == "cdk-validator-cfnguard"]
    return dict(report)


def _control(description: str) -> str:
    match = re.match(r"\[(CT\.[A-Z0-9.]+)\]", description)
    assert match, description
    return match.group(1)


def test_every_control_tower_control_holds_or_is_acknowledged(
    guard_report: dict[str, Any],
) -> None:
    unacknowledged = [
        (_control(v["description"]), [c["constructPath"] for c in v["violatingConstructs"]])
        for v in guard_report["violations"]
    ]
    assert unacknowledged == []
    assert guard_report["conclusion"] == "success"


def _resource(construct_path: str) -> str:
    """``Stack/Storage/Data/Resource`` -> ``Storage/Data``: the construct, without the stack."""
    parts = construct_path.split("/")[1:]
    return "/".join(parts[:-1] if parts[-1] == "Resource" else parts)


def _readme_table() -> dict[tuple[str, str], str]:
    """(control, resource) -> reason, from the README's compliance table."""
    rows: dict[tuple[str, str], str] = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"^\| (CT\.[A-Z0-9.]+) \| ([^|]+) \| acknowledged \| ([^|]+) \|$", line)
        if match:
            rows[(match.group(1), match.group(2).strip())] = match.group(3).strip()
    return rows


def test_the_readme_lists_every_acknowledged_control_with_its_reason(
    guard_report: dict[str, Any],
) -> None:
    acknowledged = {
        (_control(v["description"]), _resource(c["constructPath"]))
        for v in guard_report.get("suppressedViolations", [])
        for c in v["violatingConstructs"]
    }
    for violation in guard_report.get("suppressedViolations", []):
        assert len(violation["reason"]) > 40, violation
    assert acknowledged, "the report should show the acknowledged controls"
    assert set(_readme_table()) == acknowledged


def _governed_table() -> dict[str, str]:
    """control -> the settings it needs, from the README's "In a governed account" table."""
    rows: dict[str, str] = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"^\| (CT\.[A-Z0-9.]+) \| ([^|]+) \|$", line)
        if match:
            rows[match.group(1)] = match.group(2).strip()
    return rows


def _controls(report: dict[str, Any], kind: str) -> set[str]:
    return {_control(v["description"]) for v in report.get(kind, [])}


def test_a_governed_account_can_turn_on_each_control_the_readme_names(
    guard_report: dict[str, Any], governed: Governed
) -> None:
    """With the settings of each row (prod, retained, data_path.vpc), the control holds without
    a single acknowledgement, as a CloudFormation hook would evaluate it; a row saying "any
    settings" holds in the default app too."""
    report = governed.report
    table = _governed_table()
    assert set(table) == {"CT.S3.PR.4", "CT.LAMBDA.PR.3"}
    flagged = _controls(report, "violations") | _controls(report, "suppressedViolations")
    assert sorted(set(table) & flagged) == []
    everywhere = [c for c, settings in table.items() if settings == "any settings"]
    default = _controls(guard_report, "violations") | _controls(
        guard_report, "suppressedViolations"
    )
    assert everywhere and sorted(set(everywhere) & default) == []


def test_every_control_the_default_app_acknowledges_is_either_unavoidable_or_in_the_table(
    guard_report: dict[str, Any], governed: Governed
) -> None:
    """No control that settings can satisfy is missing from the governed table."""
    report = governed.report
    acknowledged = _controls(guard_report, "suppressedViolations")
    still = _controls(report, "suppressedViolations") | _controls(report, "violations")
    assert sorted(acknowledged - still) == sorted(set(_governed_table()) - {"CT.S3.PR.4"})

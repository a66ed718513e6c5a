"""cfn-lint and cdk-nag over every synthesized template: no findings, each acknowledgement named."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Governed, cdk_json_context, synthesize

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def templates_of(assembly: Any) -> list[Path]:
    return sorted(Path(assembly.directory).glob("*.template.json"))


def templates(assembly: Any) -> list[Path]:
    found = templates_of(assembly)
    assert len(found) == 2, found
    return found


def test_cfn_lint_reports_nothing_on_any_template(assembly: Any) -> None:
    from cfnlint.api import ManualArgs, lint_file

    # Errors and warnings; informational hints (such as Fn::Sub over Fn::Join) are CDK's style.
    findings = [
        f"{path.name}: {match.rule.id} {match.message} (line {match.linenumber})"
        for path in templates(assembly)
        for match in lint_file(path, ManualArgs())
    ]
    assert findings == []


@pytest.fixture(scope="module")
def nag_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """cdk-nag's AwsSolutions pack over the whole app, as a validation plugin."""
    outdir = tmp_path_factory.mktemp("nag")
    # Synthesis raises on findings; the report says which, and the tests below show them.
    with contextlib.suppress(Exception):
        synthesize(cdk_json_context(), outdir, nag=True)
    reports = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    # Construct annotations (e.g. the production model-source warning) are a report of their own.
    (report,) = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    return dict(report)


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding(nag_report: dict[str, Any]) -> None:
    unacknowledged = [
        (v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
        for v in nag_report["violations"]
    ]
    assert unacknowledged == []
    assert nag_report["conclusion"] == "success"


# Every finding we accept, and nothing else: a new wildcard must be argued for here.
ACCEPTED = {
    "AwsSolutions-IAM5[Resource::*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
    "log-group:/aws/sagemaker/Endpoints/*]",
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
    "log-group:/aws/sagemaker/Endpoints/*:log-stream:*]",
    # The data path's Lambda functions run on Python 3.12, the runtime the data path contract
    # pins (and the Powertools layer build it loads); not the newest Lambda offers.
    "AwsSolutions-L1",
    # aws-cdk-lib's S3 notifications handler (it applies the inputs/ -> dispatch queue
    # notification at deploy time) comes with this managed policy; it only writes its logs.
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]",
}


def test_every_acknowledgement_names_one_finding_and_a_reason(
    nag_report: dict[str, Any], dev: Any
) -> None:
    (data_bucket,) = [
        logical_id
        for logical_id, bucket in dev.find_resources("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    ]
    accepted = ACCEPTED | {
        f"AwsSolutions-IAM5[Resource::<{data_bucket}.Arn>/{prefix}/*]"
        # The data path reads and writes documents under requests/ and curated/summaries/ too.
        for prefix in ("inputs", "results", "failures", "requests", "curated/summaries")
    }
    suppressed = nag_report["suppressedViolations"]
    assert suppressed, "the execution role's acknowledgements should be reported"
    for violation in suppressed:
        rule = violation["ruleName"]
        assert violation["acknowledgedId"] == f"AwsSolutions::{rule}"
        assert len(violation["reason"]) > 40, violation
        assert rule in accepted, rule


def checkov_findings(template_files: list[Path]) -> tuple[list[str], list[str]]:
    """checkov over ``template_files``: (failed checks, skipped checks without a reason)."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: `make test` installs it"
    args = [str(CHECKOV), "--framework", "cloudformation", "--compact", "-o", "json"]
    for path in template_files:
        args += ["-f", str(path)]
    run = subprocess.run(args, capture_output=True, text=True, check=False)
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed, unexplained = [], []
    for report in reports:
        results = report["results"]
        failed += [
            f"{Path(c['file_path']).name}: {c['check_id']} {c['resource']}"
            for c in results["failed_checks"]
        ]
        unexplained += [
            f"{c['check_id']} {c['resource']}"
            for c in results["skipped_checks"]
            if len((c.get("check_result") or {}).get("suppress_comment") or "") < 20
        ]
    return failed, unexplained


def test_checkov_reports_nothing_that_is_not_suppressed_with_a_reason(assembly: Any) -> None:
    failed, unexplained = checkov_findings(templates(assembly))
    assert failed == []
    assert unexplained == []


def test_with_staged_weights_and_network_isolation_checkov_skips_nothing_on_the_model(
    tmp_path: Path,
) -> None:
    context = cdk_json_context()
    context["summarizer.environment"] = "prod"
    context["summarizer.model_data_uri"] = "s3://example-models/pegasus-large/model.tar.gz"
    context["summarizer.network_isolation"] = "true"
    assembly = synthesize(context, tmp_path)
    failed, unexplained = checkov_findings(templates_of(assembly))
    assert failed == []
    assert unexplained == []
    (template,) = templates_of(assembly)
    (model,) = [
        resource
        for resource in json.loads(template.read_text())["Resources"].values()
        if resource["Type"] == "AWS::SageMaker::Model"
    ]
    assert model["Properties"]["EnableNetworkIsolation"] is True
    # Nothing left to excuse on the model: CKV_AWS_370 passes instead of being skipped.
    assert "checkov" not in model.get("Metadata", {})


def test_a_governed_configuration_passes_cfn_lint_and_checkov(governed: Governed) -> None:
    """prod with the data path's functions in a VPC (tests/conftest.py)."""
    from cfnlint.api import ManualArgs, lint_file

    findings = [
        f"{match.rule.id} {match.message} (line {match.linenumber})"
        for match in lint_file(governed.template_file, ManualArgs())
    ]
    assert findings == []
    failed, unexplained = checkov_findings([governed.template_file])
    assert failed == []
    assert unexplained == []

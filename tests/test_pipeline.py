"""The delivery pipeline: stage order, build gates, smoke permissions, approval, notifications,
encryption, cfn-lint and cdk-nag over its templates, and its configuration errors.

The example configuration (examples/pipeline.json) is synthesized once per module, with cdk-nag
as a validation plugin, and every test reads that one cloud assembly.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from constructs_lib.guardrail_settings import GuardrailSettings
from tests.conftest import cdk_json_context
from tests.test_gates import ACCEPTED

STAGING_KEY = "arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555"

EXAMPLE = "examples/pipeline.json"
PIPELINE_STACK = "PegasusSummarizer-pipeline"


def pipeline_context(**extra: Any) -> dict[str, Any]:
    context = cdk_json_context()
    context["summarizer.pipeline"] = EXAMPLE
    context.update(extra)
    return context


def synthesize_pipeline(context: dict[str, Any], outdir: Path) -> None:
    """Build the app as app.py does (pipeline hook included), with cdk-nag, into ``outdir``."""
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from app import build_app, build_pipeline, context_of
    from stacks.config import load_configs

    app = cdk.App(context=context, outdir=str(outdir))
    found = context_of(app)
    configs = load_configs(found)
    if not build_pipeline(app, found, configs):
        build_app(app, configs)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # Synthesis raises on findings; the report says which, and the gate tests below show them.
    with contextlib.suppress(Exception):
        app.synth()


@pytest.fixture(scope="module")
def outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pipeline.out")
    synthesize_pipeline(pipeline_context(), directory)
    return directory


def template_json(outdir: Path, pattern: str) -> dict[str, Any]:
    (path,) = outdir.glob(pattern)
    found: dict[str, Any] = json.loads(path.read_text())
    return found


@pytest.fixture(scope="module")
def pipeline(outdir: Path) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(template_json(outdir, f"{PIPELINE_STACK}.template.json"))


@pytest.fixture(scope="module")
def stages(pipeline: Any) -> list[dict[str, Any]]:
    (definition,) = pipeline.find_resources("AWS::CodePipeline::Pipeline").values()
    found: list[dict[str, Any]] = definition["Properties"]["Stages"]
    return found


def stage(stages: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    (found,) = [s for s in stages if s["Name"] == name]
    return sorted(found["Actions"], key=lambda a: a.get("RunOrder", 1))


def projects(pipeline: Any) -> list[dict[str, Any]]:
    return list(pipeline.find_resources("AWS::CodeBuild::Project").values())


def build_spec(project: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(project["Properties"]["Source"]["BuildSpec"])
    return spec


def project_running(pipeline: Any, command_prefix: str) -> dict[str, Any]:
    (found,) = [
        p
        for p in projects(pipeline)
        if any(
            c.startswith(command_prefix)
            for c in build_spec(p).get("phases", {}).get("build", {}).get("commands", [])
        )
    ]
    return found


# --- the pipeline's shape ------------------------------------------------------------------------


def test_stages_run_source_build_update_assets_then_each_environment(
    stages: list[dict[str, Any]],
) -> None:
    assert [s["Name"] for s in stages] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "dev",
        "prod",
    ]


def test_dev_deploys_then_smoke_tests_and_prod_waits_for_approval_first(
    stages: list[dict[str, Any]],
) -> None:
    def shape(name: str) -> list[tuple[str, str, int]]:
        return [
            (a["Name"], a["ActionTypeId"]["Category"], a.get("RunOrder", 1))
            for a in stage(stages, name)
        ]

    assert shape("dev") == [
        ("PegasusSummarizer-dev.Prepare", "Deploy", 1),
        ("PegasusSummarizer-dev.Deploy", "Deploy", 2),
        ("SmokeTest", "Build", 3),
    ]
    assert shape("prod") == [
        ("Approve", "Approval", 1),
        ("PegasusSummarizer-prod.Prepare", "Deploy", 2),
        ("PegasusSummarizer-prod.Deploy", "Deploy", 3),
        ("SmokeTest", "Build", 4),
    ]
    (approve, *_) = stage(stages, "prod")
    assert approve["Configuration"]["CustomData"].startswith("Deploy PegasusSummarizer-prod?")


def test_source_is_the_configured_connection_and_branch(stages: list[dict[str, Any]]) -> None:
    (source,) = stage(stages, "Source")
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    example = json.loads(Path(EXAMPLE).read_text())
    assert source["Configuration"] == {
        "ConnectionArn": example["connection_arn"],
        "FullRepositoryId": "your-org/pegasus-async-summarizer",
        "BranchName": "main",
        "DetectChanges": True,
    } | {k: v for k, v in source["Configuration"].items() if k == "OutputArtifactFormat"}


def test_build_runs_make_test_before_synthesizing_the_same_configuration(pipeline: Any) -> None:
    project = project_running(pipeline, "make test")
    spec = build_spec(project)
    assert spec["phases"]["build"]["commands"] == ["make test", f"make synth PIPELINE={EXAMPLE}"]
    assert spec["phases"]["install"]["runtime-versions"] == {"python": "3.11", "nodejs": "24"}
    assert spec["cache"]["paths"] == ["/root/.cache/pip/**/*", "/root/.npm/**/*"]
    environment = project["Properties"]["Environment"]
    assert environment["Image"] == "aws/codebuild/standard:7.0"
    assert {"Name": "PIP_EXTRA_INDEX_URL", "Type": "PLAINTEXT", "Value": (
        "https://download.pytorch.org/whl/cpu"
    )} in environment["EnvironmentVariables"]  # fmt: skip
    assert project["Properties"]["Cache"]["Type"] == "S3"


def package_pins() -> dict[str, str]:
    from tests.conftest import ROOT

    pins: dict[str, str] = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    return pins


def test_self_mutation_installs_the_pinned_cdk_cli(pipeline: Any) -> None:
    project = project_running(pipeline, "cdk -a")
    assert package_pins()["aws-cdk"] == "2.1148.1"
    assert "npm install -g aws-cdk@2.1148.1" in build_spec(project)["phases"]["install"]["commands"]


def test_asset_steps_install_the_cdk_assets_that_package_json_pins(pipeline: Any) -> None:
    pinned = package_pins()["cdk-assets"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned)
    publishers = [
        p
        for p in projects(pipeline)
        if build_spec(p)["phases"]["build"]["commands"][0].startswith("cdk-assets ")
    ]
    assert publishers
    for project in publishers:
        assert build_spec(project)["phases"]["install"]["commands"] == [
            f"npm install -g cdk-assets@{pinned}"
        ]
    # Nothing the pipeline runs is whatever npm serves that day.
    for project in projects(pipeline):
        assert "@latest" not in project["Properties"]["Source"]["BuildSpec"]


def test_every_build_runs_on_a_node_still_supported(pipeline: Any) -> None:
    # Node 20 reached its end of life on 2026-04-30; aws/codebuild/standard:7.0 has 22 and 24.
    for project in projects(pipeline):
        assert project["Properties"]["Environment"]["Image"] == "aws/codebuild/standard:7.0"
        assert build_spec(project)["phases"]["install"]["runtime-versions"] == {
            "python": "3.11",
            "nodejs": "24",
        }


def test_every_build_logs_to_one_retained_log_group(pipeline: Any) -> None:
    pipeline.has_resource(
        "AWS::Logs::LogGroup",
        {"Properties": {"RetentionInDays": 365}, "DeletionPolicy": "Retain"},
    )
    (log_group,) = pipeline.find_resources("AWS::Logs::LogGroup")
    for project in projects(pipeline):
        assert project["Properties"]["LogsConfig"] == {
            "CloudWatchLogs": {"GroupName": {"Ref": log_group}, "Status": "ENABLED"}
        }


# --- the smoke step ------------------------------------------------------------------------------


def staged_outputs(outdir: Path) -> set[str]:
    """The output keys of the staged dev stack (the data path adds JobsTableName and others)."""
    return set(template_json(outdir, "assembly-*-dev/*.template.json")["Outputs"])


def test_smoke_step_runs_make_smoke_with_the_stage_outputs(
    stages: list[dict[str, Any]], outdir: Path
) -> None:
    from constructs_lib.client.smoke import OUTPUT_ENV, REQUIRED_OUTPUTS

    prepare, deploy, smoke_action = stage(stages, "dev")
    namespace = deploy["Namespace"]
    variables = json.loads(smoke_action["Configuration"]["EnvironmentVariables"])
    by_name = {v["name"]: v["value"] for v in variables}
    outputs = staged_outputs(outdir)
    assert set(REQUIRED_OUTPUTS) <= outputs
    # Every contract output the stack has, and nothing else, reaches the step.
    assert {k: v for k, v in by_name.items() if k.startswith("SMOKE_")} == {
        **{var: f"#{{{namespace}.{key}}}" for key, var in OUTPUT_ENV.items() if key in outputs},
    }
    assert by_name["SMOKE_ENDPOINT_NAME"] == f"#{{{namespace}.EndpointName}}"
    assert prepare["Configuration"]["StackName"] == "PegasusSummarizer-dev"


def test_smoke_command_names_the_environment_role_and_budget(pipeline: Any, outdir: Path) -> None:
    project = project_running(pipeline, "make smoke ENV=dev")
    (role_arn,) = [
        v["Value"]
        for v in project["Properties"]["Environment"]["EnvironmentVariables"]
        if v["Name"] == "SMOKE_ROLE_ARN"
    ]
    assert json.dumps(role_arn).endswith(':role/PegasusSummarizer-smoke-dev"]]}')
    assert project["Properties"]["TimeoutInMinutes"] == 25 + 15
    spec = build_spec(project)
    (command,) = spec["phases"]["build"]["commands"]
    assert command.startswith(
        'make smoke ENV=dev SMOKE_ARGS=\'--outputs-from-environment --role-arn "$SMOKE_ROLE_ARN" '
        "--timeout-minutes 25"
    )
    # Without the data path's jobs table the step says so, instead of waiting for a record.
    if "JobsTableName" in staged_outputs(outdir):
        assert command.endswith("--timeout-minutes 25'")
    else:
        assert command.endswith(" --no-notification-check'")


def test_smoke_runner_may_only_assume_its_environments_smoke_role(pipeline: Any) -> None:
    runners = pipeline.find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "PegasusSummarizer-smoke-runner-dev"}}
    )
    (runner,) = runners
    (policy,) = pipeline.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": runner}]}}
    ).values()
    assumes = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if "sts:" in str(s["Action"])
    ]
    assert assumes == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":iam::",
                        {"Ref": "AWS::AccountId"},
                        ":role/PegasusSummarizer-smoke-dev",
                    ],
                ]
            },
        }
    ]


def test_smoke_role_grants_exactly_the_round_trips(outdir: Path) -> None:
    from aws_cdk.assertions import Template

    dev = Template.from_json(template_json(outdir, "assembly-*-dev/*.template.json"))
    (role_id, role) = next(
        iter(
            dev.find_resources(
                "AWS::IAM::Role", {"Properties": {"RoleName": "PegasusSummarizer-smoke-dev"}}
            ).items()
        )
    )
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {
        "ArnEquals": {
            "aws:PrincipalArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":iam::",
                        {"Ref": "AWS::AccountId"},
                        ":role/PegasusSummarizer-smoke-runner-dev",
                    ],
                ]
            }
        }
    }
    (policy,) = dev.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}}
    ).values()
    (endpoint,) = dev.find_resources("AWS::SageMaker::Endpoint")
    (data_bucket,) = [
        logical_id
        for logical_id, bucket in dev.find_resources("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    ]
    (storage_key,) = [
        logical_id
        for logical_id, key in dev.find_resources("AWS::KMS::Key").items()
        if "inputs" in key["Properties"]["Description"]
    ]

    def objects(prefix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [data_bucket, "Arn"]}, f"/{prefix}*"]]}

    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = {
        (json.dumps(s["Action"]), json.dumps(s["Resource"], sort_keys=True)) for s in statements
    }
    endpoint_arn = {"Ref": endpoint}  # an endpoint's Ref is its ARN
    expected = [
        ('"sagemaker:InvokeEndpointAsync"', endpoint_arn),
        ('"s3:PutObject"', objects("requests/smoke/")),
        ('"s3:GetObject"', [objects("failures/"), objects("results/")]),
        ('["kms:Decrypt", "kms:GenerateDataKey"]', {"Fn::GetAtt": [storage_key, "Arn"]}),
    ]
    table_output = dev.to_json()["Outputs"].get("JobsTableName")
    if table_output is not None:
        table_arn = {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":dynamodb:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":table/",
                    table_output["Value"],
                ],
            ]
        }
        expected.append(('"dynamodb:GetItem"', table_arn))
    assert actions == {(a, json.dumps(r, sort_keys=True)) for a, r in expected}


def test_smoke_role_reads_the_jobs_table_when_the_stack_has_one() -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    from app import summarization_stack
    from stacks.config import load_configs
    from stacks.pipeline_stage import SmokeTestAccess

    app = cdk.App(context=cdk_json_context())
    (dev, _) = load_configs({"summarizer": cdk_json_context()["summarizer"]})
    stack = summarization_stack(app, dev)
    access = SmokeTestAccess(
        stack,
        "SmokeTestAccess",
        stack=stack,
        role_name="smoke",
        runner_role_name="runner",
        pipeline_account=None,
    )
    assert access.checks_notifications
    statements = Template.from_stack(stack).find_resources(
        "AWS::IAM::Policy",
        {"Properties": {"PolicyName": cdk.assertions.Match.string_like_regexp("SmokeTestAccess")}},
    )
    (policy,) = statements.values()
    gets = [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "dynamodb:GetItem"
    ]
    (table_id,) = Template.from_stack(stack).find_resources("AWS::DynamoDB::Table")
    (get,) = gets
    # GetItem on exactly the data path's jobs table, named by its output.
    assert json.dumps(get["Resource"]).count(json.dumps({"Ref": table_id})) == 1
    assert ":table/" in json.dumps(get["Resource"])


# --- notifications and encryption ----------------------------------------------------------------


def test_failures_notify_an_encrypted_topic_through_a_notification_rule(pipeline: Any) -> None:
    (rule,) = pipeline.find_resources("AWS::CodeStarNotifications::NotificationRule").values()
    (pipeline_id,) = pipeline.find_resources("AWS::CodePipeline::Pipeline")
    (topic_id, topic) = next(iter(pipeline.find_resources("AWS::SNS::Topic").items()))
    props = rule["Properties"]
    assert props["EventTypeIds"] == [
        "codepipeline-pipeline-pipeline-execution-failed",
        "codepipeline-pipeline-manual-approval-needed",
    ]
    assert props["DetailType"] == "FULL"
    assert props["Targets"] == [{"TargetAddress": {"Ref": topic_id}, "TargetType": "SNS"}]
    assert "Fn::Join" in json.dumps(props["Resource"]) and pipeline_id in json.dumps(
        props["Resource"]
    )
    key = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key_policy = pipeline.find_resources("AWS::KMS::Key")[key]["Properties"]["KeyPolicy"]
    assert any(
        s.get("Principal") == {"Service": "codestar-notifications.amazonaws.com"}
        and {"kms:Decrypt", "kms:GenerateDataKey"} <= set(s["Action"])
        for s in key_policy["Statement"]
    )
    pipeline.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "platform-team@example.com",
            "TopicArn": {"Ref": topic_id},
        },
    )


def test_artifacts_are_encrypted_with_a_rotated_customer_key_and_tls_only(pipeline: Any) -> None:
    (definition,) = pipeline.find_resources("AWS::CodePipeline::Pipeline").values()
    store = definition["Properties"]["ArtifactStore"]
    bucket_id = store["Location"]["Ref"]
    key_id = store["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    assert pipeline.find_resources("AWS::KMS::Key")[key_id]["Properties"]["EnableKeyRotation"]
    bucket = pipeline.find_resources("AWS::S3::Bucket")[bucket_id]["Properties"]
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
        "SSEAlgorithm": "aws:kms",
    }
    assert "LoggingConfiguration" in bucket
    (policy,) = pipeline.find_resources(
        "AWS::S3::BucketPolicy", {"Properties": {"Bucket": {"Ref": bucket_id}}}
    ).values()
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )


# --- the environments are the app's stacks -------------------------------------------------------


def test_stages_deploy_the_very_stacks_a_workstation_deploys(outdir: Path, dev: Any) -> None:
    staged = template_json(outdir, "assembly-*-dev/*.template.json")
    extra = {k for k in staged["Resources"] if k.startswith("SmokeTestAccess")}
    assert len(extra) == 2  # the smoke role and its policy
    workstation = dev.to_json()

    def comparable(resources: dict[str, Any]) -> dict[str, Any]:
        # CDK names scaling policies, and the logical ids of event source mappings, after the
        # construct path, which a stage lengthens: compare those by their other properties.
        found = copy.deepcopy({k: v for k, v in resources.items() if k not in extra})
        for resource in found.values():
            if resource["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy":
                resource["Properties"].pop("PolicyName")
        mappings = sorted(
            json.dumps(found.pop(k), sort_keys=True)
            for k in [k for k, v in found.items() if v["Type"] == "AWS::Lambda::EventSourceMapping"]
        )
        return {**found, "event source mappings": mappings}

    assert comparable(staged["Resources"]) == comparable(workstation["Resources"])
    assert staged["Outputs"] == workstation["Outputs"]
    manifest = json.loads(
        (outdir / "assembly-PegasusSummarizer-pipeline-dev/manifest.json").read_text()
    )
    names = [
        a["properties"]["stackName"]
        for a in manifest["artifacts"].values()
        if a["type"] == "aws:cloudformation:stack"
    ]
    assert names == ["PegasusSummarizer-dev"]


def test_the_app_without_a_pipeline_section_builds_exactly_the_environment_stacks(
    assembly: Any,
) -> None:
    assert sorted(s.stack_name for s in assembly.stacks) == [
        "PegasusSummarizer-dev",
        "PegasusSummarizer-prod",
    ]
    for stack in assembly.stacks:
        assert "AWS::CodePipeline::Pipeline" not in json.dumps(stack.template)


# --- gates ---------------------------------------------------------------------------------------


def test_cfn_lint_reports_nothing_on_the_pipeline_and_stage_templates(outdir: Path) -> None:
    from cfnlint.api import ManualArgs, lint_file

    paths = sorted(outdir.rglob("*.template.json"))
    assert len(paths) == 3, paths
    findings = [
        f"{path.name}: {match.rule.id} {match.message} (line {match.linenumber})"
        for path in paths
        for match in lint_file(path, ManualArgs())
    ]
    assert findings == []


@pytest.fixture(scope="module")
def nag_report(outdir: Path) -> dict[str, Any]:
    reports = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    (report,) = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    return dict(report)


def test_cdk_nag_has_no_unacknowledged_finding_on_the_pipeline(nag_report: dict[str, Any]) -> None:
    unacknowledged = [
        (v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
        for v in nag_report["violations"]
    ]
    assert unacknowledged == []
    assert nag_report["conclusion"] == "success"


def test_every_pipeline_acknowledgement_names_one_finding_and_a_reason(
    nag_report: dict[str, Any],
) -> None:
    suppressed = nag_report["suppressedViolations"]
    paths = {c["constructPath"].split("/")[1] for v in suppressed for c in v["violatingConstructs"]}
    assert {"Pipeline", "SmokeRunner-dev", "dev", "prod"} <= paths
    for violation in suppressed:
        assert violation["acknowledgedId"] == f"AwsSolutions::{violation['ruleName']}"
        assert len(violation["reason"]) > 40, violation
        # Only IAM5, and the data path's two argued findings (tests/test_gates.py ACCEPTED).
        rule = violation["ruleName"]
        assert rule.startswith("AwsSolutions-IAM5[") or rule in ACCEPTED, violation


# --- configuration -------------------------------------------------------------------------------


def example() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(Path(EXAMPLE).read_text())
    return found


def environments(**pins: dict[str, str]) -> dict[str, Any]:
    from stacks.config import AppConfig

    return {name: AppConfig(name=name, **pins.get(name, {})) for name in ("dev", "prod")}


def problems_of(section: Any, envs: dict[str, Any] | None = None) -> tuple[str, ...]:
    from stacks.pipeline_config import load_pipeline_settings

    with pytest.raises(ConfigurationError) as error:
        load_pipeline_settings(section, envs or environments())
    assert str(error.value).startswith("Invalid summarizer configuration: ")
    return error.value.problems


def test_example_and_defaults_load() -> None:
    from stacks.pipeline_config import load_pipeline_settings

    settings = load_pipeline_settings(example(), environments(), config_file=EXAMPLE)
    assert [(s.environment, s.approval) for s in settings.stages] == [
        ("dev", False),
        ("prod", True),
    ]
    assert (settings.branch, settings.smoke_timeout_minutes, settings.config_file) == (
        "main",
        25,
        EXAMPLE,
    )
    minimal = {k: example()[k] for k in ("connection_arn", "repository")}
    defaults = load_pipeline_settings(minimal, environments())
    assert defaults.stages == settings.stages
    assert not defaults.cross_account(environments())


def test_every_pipeline_problem_is_reported_at_once_with_its_value() -> None:
    section = {
        **example(),
        "connection_arn": "arn:aws:codeconnections:us-east-1:123:connection/x",
        "repository": "just-a-name",
        "branch": "my branch",
        "stages": [{"environment": "dev"}, {"environment": "staging"}, {"environment": "dev"}],
        "smoke_timeout_minutes": 2,
        "log_retention_days": 42,
        "notification_emails": ["nope"],
        "pipeline_name": "has spaces",
    }
    assert problems_of(section) == (
        "pipeline.pipeline_name: must be 1-30 letters, digits and . @ _ - (the smoke roles' "
        "names start with it) (got 'has spaces')",
        "pipeline.connection_arn: must be a CodeConnections ARN, e.g. 'arn:aws:codeconnections:"
        "us-east-1:123456789012:connection/<uuid>' "
        "(got 'arn:aws:codeconnections:us-east-1:123:connection/x')",
        "pipeline.repository: must look like 'owner/name' (got 'just-a-name')",
        "pipeline.branch: must be a git branch name without spaces (got 'my branch')",
        "pipeline.stages[1].environment: unknown environment 'staging' (known: dev, prod)",
        "pipeline.stages[2].environment: 'dev' is deployed by an earlier stage already; each "
        "environment appears once",
        "pipeline.smoke_timeout_minutes: must be at least 5 (got 2)",
        "pipeline.notification_emails: 'nope' is not an e-mail address",
        "pipeline.log_retention_days: must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, "
        "365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (got 42)",
    )


def test_types_and_unknown_keys_are_refused_by_name() -> None:
    section = {**example(), "stages": "dev", "smoke_timeout": 25, "trigger_on_push": "yes"}
    assert problems_of(section) == (
        "pipeline.smoke_timeout: unknown key (known: account, branch, connection_arn, "
        "guardrails, log_retention_days, notification_emails, notification_topic_arn, "
        "pipeline_name, region, repository, smoke_timeout_minutes, source_bucket, source_key, "
        "stage_model, stages, trigger_on_push)",
        "pipeline.trigger_on_push: must be bool (got 'yes')",
        "pipeline.stages: must be a list (got 'dev')",
    )
    assert problems_of(["not", "an", "object"]) == (
        "pipeline: must be an object (got ['not', 'an', 'object'])",
    )


def test_exactly_one_source_is_required() -> None:
    both = {**example(), "source_bucket": "my-sources", "source_key": "repo.zip"}
    assert problems_of(both) == (
        "pipeline.source: give either connection_arn and repository (CodeConnections) or "
        "source_bucket and source_key (S3), not both (got {'connection_arn': "
        f"'{example()['connection_arn']}', 'repository': 'your-org/pegasus-async-summarizer', "
        "'source_bucket': 'my-sources', 'source_key': 'repo.zip'})",
    )
    assert problems_of({}) == (
        "pipeline.connection_arn: required with repository (got None)",
        "pipeline.repository: required with connection_arn (got None)",
    )
    assert problems_of({"source_bucket": "Bad_Bucket", "source_key": "/repo.tar"}) == (
        "pipeline.source_bucket: must be an S3 bucket name (got 'Bad_Bucket')",
        "pipeline.source_key: must be the key of a .zip of the repository, without a leading '/' "
        "(got '/repo.tar')",
    )


def test_cross_account_stages_need_the_pipelines_own_account_and_agree_with_the_environment() -> (
    None
):
    from stacks.pipeline_config import load_pipeline_settings

    section = {
        **example(),
        "stages": [{"environment": "dev"}, {"environment": "prod", "account": "222222222222"}],
    }
    assert problems_of(section) == (
        "pipeline.stages[1].account: deploying to account '222222222222' needs pipeline.account "
        "(the pipeline's own account) to compare with (got None)",
    )
    pinned = environments(prod={"account": "333333333333"})
    assert problems_of({**section, "account": "111111111111"}, pinned) == (
        "pipeline.stages[1].account: '222222222222' contradicts environments.prod.account "
        "('333333333333'); set it in one place",
    )
    settings = load_pipeline_settings({**section, "account": "111111111111"}, environments())
    assert settings.cross_account(environments())


def test_pipeline_guardrails_are_validated_and_fit_the_smoke_role_names() -> None:
    bad = {**example(), "guardrails": {"role_path": "delivery", "tags": {"aws:x": "y"}}}
    assert problems_of(bad) == (
        "pipeline.guardrails.role_path: must start and end with '/', printable ASCII without "
        "spaces, at most 512 characters, e.g. '/workloads/' (got 'delivery')",
        "pipeline.guardrails.tags: key 'aws:x' must be 1 to 128 letters, digits, spaces or "
        "'+-=._:/@' and must not start with 'aws:'",
    )
    # The smoke roles carry the prefixes: their names must still fit IAM's 64 characters.
    long_prefix = "p" * 32
    section = {
        **example(),
        "pipeline_name": "N" * 30,
        "guardrails": {"role_name_prefix": long_prefix},
    }
    envs = environments(prod={"guardrails": GuardrailSettings(role_name_prefix="e" * 30)})
    runner = f"{long_prefix}{'N' * 30}-smoke-runner-dev"
    assert problems_of(section, envs) == (
        f"pipeline.stages[0].environment: the smoke runner role name {runner!r} is "
        f"{len(runner)} characters, more than IAM's 64; shorten pipeline_name or the "
        "guardrails.role_name_prefix",
        f"pipeline.stages[1].environment: the smoke role name '{'e' * 30}{'N' * 30}-smoke-prod' "
        "is 71 characters, more than IAM's 64; shorten pipeline_name or the "
        "guardrails.role_name_prefix",
        f"pipeline.stages[1].environment: the smoke runner role name "
        f"'{long_prefix}{'N' * 30}-smoke-runner-prod' is 80 characters, more than IAM's 64; "
        "shorten pipeline_name or the guardrails.role_name_prefix",
    )


def test_topic_and_emails_exclude_each_other() -> None:
    section = {**example(), "notification_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"}
    assert problems_of(section) == (
        "pipeline.notification_emails: only apply to the pipeline's own topic, not to "
        "notification_topic_arn (got ['platform-team@example.com'])",
    )
    bad_arn = {**section, "notification_emails": [], "notification_topic_arn": "ops"}
    assert problems_of(bad_arn) == (
        "pipeline.notification_topic_arn: must be an SNS topic ARN, e.g. "
        "'arn:aws:sns:us-east-1:123456789012:operations' (got 'ops')",
    )


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (
            "/etc/pipeline.json",
            "summarizer.pipeline: must be a path inside the repository, relative to cdk.json, so "
            "the pipeline finds it again when it rebuilds itself (got '/etc/pipeline.json')",
        ),
        (
            "examples/missing.json",
            "summarizer.pipeline: cannot read 'examples/missing.json' (No such file or directory)",
        ),
        ("README.md", "summarizer.pipeline: 'README.md' is not valid JSON (Expecting value: "),
    ],
)
def test_a_bad_pipeline_file_is_refused_by_name(path: str, problem: str) -> None:
    from stacks.pipeline_config import pipeline_section

    with pytest.raises(ConfigurationError) as error:
        pipeline_section({"summarizer.pipeline": path})
    (found,) = error.value.problems
    assert found.startswith(problem)


def test_the_summarizer_block_accepts_a_pipeline_section() -> None:
    from stacks.config import load_configs
    from stacks.pipeline_config import pipeline_section

    block = copy.deepcopy(cdk_json_context()["summarizer"])
    block["pipeline"] = example()
    assert [c.name for c in load_configs({"summarizer": block})] == ["dev", "prod"]
    assert pipeline_section({"summarizer": block}) == (example(), None)
    assert pipeline_section({"summarizer": cdk_json_context()["summarizer"]}) is None


# --- a variant: S3 source, model staging, another account for prod, an existing topic -----------

VARIANT = {
    "account": "111111111111",
    "region": "us-east-1",
    "source_bucket": "my-sources",
    "source_key": "repo.zip",
    "stages": [
        {"environment": "dev"},
        {"environment": "prod", "approval": True, "account": "222222222222"},
    ],
    "notification_topic_arn": "arn:aws:sns:us-east-1:111111111111:ops",
    "stage_model": {
        "target_uri": "s3://models-bucket/pegasus/",
        "revision": "a" * 40,
        "kms_key_arn": STAGING_KEY,
    },
    # A governed organization: the pipeline's own roles under its guardrails...
    "guardrails": {
        "permissions_boundary_arn": "arn:aws:iam::111111111111:policy/delivery-boundary",
        "role_path": "/delivery/",
        "role_name_prefix": "cicd-",
        "tags": {"cost-center": "platform"},
    },
}
# ... and prod's under its own (dev has none).
PROD_GUARDRAILS = {
    "permissions_boundary_arn": "arn:aws:iam::222222222222:policy/workload-boundary",
    "role_path": "/workloads/summarizer/",
    "role_name_prefix": "acme-",
}


@pytest.fixture(scope="module")
def variant_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("variant.out")
    context = cdk_json_context()
    context["summarizer"]["pipeline"] = VARIANT
    context["summarizer"]["environments"]["prod"]["guardrails"] = PROD_GUARDRAILS
    synthesize_pipeline(context, directory)
    return directory


@pytest.fixture(scope="module")
def variant(variant_outdir: Path) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(template_json(variant_outdir, f"{PIPELINE_STACK}.template.json"))


def test_variant_sources_from_s3_and_stages_the_model_before_the_first_environment(
    variant: Any,
) -> None:
    (definition,) = variant.find_resources("AWS::CodePipeline::Pipeline").values()
    found = definition["Properties"]["Stages"]
    (source,) = stage(found, "Source")
    assert source["ActionTypeId"]["Provider"] == "S3"
    assert source["Configuration"]["S3Bucket"] == "my-sources"
    assert source["Configuration"]["S3ObjectKey"] == "repo.zip"
    assert [a["Name"] for a in stage(found, "dev")][:2] == [
        "StageModel",
        "PegasusSummarizer-dev.Prepare",
    ]
    spec = build_spec(project_running(variant, "make stage-model"))
    assert spec["phases"]["build"]["commands"] == [
        f"make stage-model MODEL_ID=google/pegasus-large MODEL_REVISION={'a' * 40} "
        f"BUCKET=models-bucket PREFIX=pegasus/ KMS_KEY={STAGING_KEY}"
    ]
    variant.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": cdk_match().array_with(
                    [
                        {
                            "Action": [
                                "s3:AbortMultipartUpload",
                                "s3:GetObject",
                                "s3:PutObject",
                            ],
                            "Effect": "Allow",
                            "Resource": "arn:aws:s3:::models-bucket/pegasus/*",
                        },
                        {
                            "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                            "Effect": "Allow",
                            "Resource": STAGING_KEY,
                        },
                    ]
                )
            }
        },
    )


def cdk_match() -> Any:
    from aws_cdk.assertions import Match

    return Match


def test_variant_smoke_test_of_another_account_assumes_the_role_there(
    variant: Any, variant_outdir: Path
) -> None:
    from aws_cdk.assertions import Template

    smoke_role = (
        "arn:aws:iam::222222222222:role/workloads/summarizer/acme-PegasusSummarizer-smoke-prod"
    )
    variant.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": cdk_match().array_with(
                    [{"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": smoke_role}]
                )
            }
        },
    )
    prod = Template.from_json(template_json(variant_outdir, "assembly-*-prod/*.template.json"))
    prod.has_resource_properties(
        "AWS::IAM::Role",
        {
            "RoleName": "acme-PegasusSummarizer-smoke-prod",
            "Path": "/workloads/summarizer/",
            "AssumeRolePolicyDocument": {
                "Statement": [
                    cdk_match().object_like(
                        {
                            "Condition": {
                                "ArnEquals": {
                                    "aws:PrincipalArn": {
                                        "Fn::Join": [
                                            "",
                                            [
                                                "arn:",
                                                {"Ref": "AWS::Partition"},
                                                ":iam::111111111111:role/delivery/"
                                                "cicd-PegasusSummarizer-smoke-runner-prod",
                                            ],
                                        ]
                                    }
                                }
                            }
                        }
                    )
                ]
            },
        },
    )


def _arn_of(role: dict[str, Any], account: str) -> str:
    """The ARN IAM gives a role: its path is part of it."""
    properties = role["Properties"]
    return f"arn:aws:iam::{account}:role{properties.get('Path', '/')}{properties['RoleName']}"


@pytest.mark.parametrize(
    ("environment", "account"), [("dev", "111111111111"), ("prod", "222222222222")]
)
def test_variant_smoke_roles_are_assumed_by_the_arns_iam_gives_them(
    variant: Any, variant_outdir: Path, environment: str, account: str
) -> None:
    """Under guardrail paths and prefixes, the runner and the smoke role still find each other."""
    (stage_template,) = variant_outdir.glob(f"assembly-*-{environment}/*.template.json")
    stage_resources = json.loads(stage_template.read_text())["Resources"]
    (smoke_role,) = [
        r
        for r in stage_resources.values()
        if r["Type"] == "AWS::IAM::Role" and "-smoke-" in str(r["Properties"].get("RoleName"))
    ]
    project = project_running(variant, f"make smoke ENV={environment}")
    (runner_arn,) = [
        v["Value"]
        for v in project["Properties"]["Environment"]["EnvironmentVariables"]
        if v["Name"] == "SMOKE_ROLE_ARN"
    ]
    # What the step passes to the client is the role the stage created.
    assert runner_arn == _arn_of(smoke_role, account)
    runners = variant.find_resources(
        "AWS::IAM::Role",
        {"Properties": {"RoleName": f"cicd-PegasusSummarizer-smoke-runner-{environment}"}},
    )
    ((runner_id, runner),) = runners.items()
    (policy,) = variant.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": runner_id}]}}
    ).values()
    assert {"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": runner_arn} in policy[
        "Properties"
    ]["PolicyDocument"]["Statement"]
    # And the smoke role trusts the runner by the runner's real ARN.
    (trust,) = smoke_role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    principal_arn = trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert principal_arn == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, _arn_of(runner, "111111111111")[len("arn:aws") :]],
        ]
    }


def test_variant_every_role_of_the_pipeline_stack_is_governed(variant: Any) -> None:
    roles = variant.find_resources("AWS::IAM::Role")
    # CDK Pipelines' own roles: pipeline, source/approval action roles, CodeBuild projects,
    # self-mutation, asset publishing; and the smoke runners.
    assert len(roles) >= 9
    for logical_id, role in roles.items():
        properties = role["Properties"]
        assert (
            properties.get("PermissionsBoundary")
            == VARIANT["guardrails"]["permissions_boundary_arn"]
        ), logical_id
        assert properties.get("Path") == "/delivery/", logical_id
        assert properties["RoleName"].startswith("cicd-"), logical_id
        assert len(properties["RoleName"]) <= 64, logical_id
    for kind in ("AWS::CodePipeline::Pipeline", "AWS::CodeBuild::Project", "AWS::S3::Bucket"):
        for logical_id, resource in variant.find_resources(kind).items():
            assert {"Key": "cost-center", "Value": "platform"} in resource["Properties"]["Tags"], (
                logical_id
            )


def test_variant_notifies_the_given_topic_and_makes_none_of_its_own(variant: Any) -> None:
    variant.resource_count_is("AWS::SNS::Topic", 0)
    variant.has_resource_properties(
        "AWS::CodeStarNotifications::NotificationRule",
        {
            "Targets": [
                {"TargetAddress": "arn:aws:sns:us-east-1:111111111111:ops", "TargetType": "SNS"}
            ]
        },
    )


def test_variant_passes_cfn_lint_and_cdk_nag(variant_outdir: Path) -> None:
    from cfnlint.api import ManualArgs, lint_file

    findings = [
        f"{path.name}: {m.rule.id} {m.message}"
        for path in sorted(variant_outdir.rglob("*.template.json"))
        for m in lint_file(path, ManualArgs())
    ]
    assert findings == []
    reports = json.loads((variant_outdir / "validation-report.json").read_text())["pluginReports"]
    (report,) = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    # prod is pinned to another account here: acknowledgements must match literal ARNs too.
    assert [v["ruleName"] for v in report["violations"]] == []


def test_variant_artifact_key_lets_the_other_accounts_deploy_role_decrypt(variant: Any) -> None:
    (definition,) = variant.find_resources("AWS::CodePipeline::Pipeline").values()
    key_id = definition["Properties"]["ArtifactStore"]["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    statements = variant.find_resources("AWS::KMS::Key")[key_id]["Properties"]["KeyPolicy"][
        "Statement"
    ]
    assert any(
        "kms:Decrypt" in s["Action"]
        and "222222222222:role/cdk-hnb659fds-deploy-role-222222222222" in json.dumps(s)
        for s in statements
    )


def test_app_py_prints_a_bad_pipeline_section_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    context = {
        "summarizer": {
            "environments": {"dev": {}},
            "pipeline": {"repository": "owner/name", "stages": [{"environment": "qa"}]},
        }
    }
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            "CDK_CONTEXT_JSON": json.dumps(context),
            "CDK_OUTDIR": str(tmp_path),
            "CDK_VALIDATION": "false",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "Invalid summarizer configuration: 2 problems:\n"
        "  - pipeline.connection_arn: required with repository (got None)\n"
        "  - pipeline.stages[0].environment: unknown environment 'qa' (known: dev)\n"
    )


def test_variant_from_cdk_json_synthesizes_with_plain_make_synth(variant: Any) -> None:
    spec = build_spec(project_running(variant, "make test"))
    assert spec["phases"]["build"]["commands"] == ["make test", "make synth"]


def test_stage_model_needs_its_target_uri() -> None:
    assert problems_of({**example(), "stage_model": {}}) == (
        "pipeline.stage_model.target_uri: required",
        "pipeline.stage_model.revision: required",
        "pipeline.stage_model.kms_key_arn: required",
    )
    staging = {"target_uri": "models/", "revision": "main", "kms_key_arn": STAGING_KEY}
    assert problems_of({**example(), "stage_model": staging}) == (
        "pipeline.stage_model.target_uri: must look like 's3://bucket/prefix/' (got 'models/')",
        "pipeline.stage_model.revision: must be the 40-hex commit sha of the Hub revision "
        "(got 'main')",
    )


def test_pipeline_fields_cannot_be_overridden_on_the_command_line() -> None:
    from stacks.config import load_configs
    from stacks.pipeline_config import pipeline_section

    context = {
        "summarizer": cdk_json_context()["summarizer"],
        "summarizer.pipeline": EXAMPLE,
        "summarizer.pipeline.branch": "feature",
    }
    assert len(load_configs(context)) == 2  # not mistaken for an environment field
    with pytest.raises(ConfigurationError) as error:
        pipeline_section(context)
    assert error.value.problems == (
        "summarizer.pipeline.branch: pipeline settings cannot be given with -c, because the "
        "pipeline rebuilds itself from the repository; put them in the pipeline file or cdk.json",
    )


def test_synthesis_needs_nothing_but_the_cdk() -> None:
    # `make synth` installs only requirements.txt (aws-cdk-lib, constructs): no boto3, whose
    # clients (the smoke test, the data path's runtime) are installed by `make test` alone.
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import sys\n"
        "sys.modules['boto3'] = None\n"
        "sys.modules['botocore'] = None\n"
        "import app, stacks.pipeline_stack, stacks.pipeline_stage, stacks.summarization_stack\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout.strip()) == (0, "ok"), result.stderr


# No cdk-assets on npm reads the asset manifests aws-cdk-lib 2.275 writes (cloud assembly schema
# 55; the newest release, 4.7.3, stops at 54: "Cloud assembly schema version mismatch", the break
# of aws/aws-cdk#32744). Strict: pinning a release that reads them turns this into a failure
# that says to remove the mark.
@pytest.mark.xfail(
    strict=True,
    reason="cdk-assets 4.7.3 reads cloud assembly schema up to 54; aws-cdk-lib 2.275 writes 55",
)
def test_the_pinned_cdk_assets_reads_the_asset_manifests_the_pipeline_publishes(
    outdir: Path,
) -> None:
    import subprocess

    from tests.conftest import ROOT

    tool = ROOT / "node_modules" / "cdk-assets" / "bin" / "cdk-assets.js"
    if not tool.exists():
        pytest.skip("node_modules has no cdk-assets: run npm ci (package.json pins it)")
    (manifest, *_) = sorted(outdir.glob("assembly-*-dev/*.assets.json"))
    result = subprocess.run(
        ["node", str(tool), "--path", str(manifest), "ls"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr

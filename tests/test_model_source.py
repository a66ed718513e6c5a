"""Where the model comes from, what its container may be told, and who may read its results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from tests.conftest import construct_app, endpoint_in, only

STAGED = "s3://models-bucket/pegasus/model.tar.gz"
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0b7c1e2a-3f4d-4e5f-8a9b-0c1d2e3f4a5b"


def warnings_of(assembly: Any, stack_name: str) -> list[str]:
    stack = assembly.get_stack_by_name(stack_name)
    from aws_cdk.cx_api import SynthesisMessageLevel

    return [str(m.entry.data) for m in stack.messages if m.level == SynthesisMessageLevel.WARNING]


def test_prod_without_a_pinned_model_warns_at_synth(assembly: Any) -> None:
    (warning,) = [w for w in warnings_of(assembly, "PegasusSummarizer-prod") if "Hub" in w]
    assert warning.startswith(
        "production: google/pegasus-large comes from the Hugging Face Hub with no "
        "model_revision so every scale-from-zero downloads"
    )
    assert warning.endswith(
        "or at least pin model_revision to a 40-hex commit sha "
        "[ack: summarizer:production-model-source]"
    )


def test_dev_is_not_production_and_does_not_warn(assembly: Any) -> None:
    assert not [w for w in warnings_of(assembly, "PegasusSummarizer-dev") if "production" in w]


def hugging_face_model(stack: Any, code_dir: Path, **options: Any) -> Any:
    from constructs_lib import DlcVersion, HuggingFaceModel

    return HuggingFaceModel(
        stack,
        "Model",
        code_dir=code_dir,
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        **options,
    )


def test_staged_weights_run_with_network_isolation(code_dir: Path) -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Match, Template

    stack = cdk.Stack(construct_app(), "Isolated")
    hugging_face_model(
        stack,
        code_dir,
        model_data_uri=STAGED,
        model_data_key_arn=KEY_ARN,
        enable_network_isolation=True,
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "EnableNetworkIsolation": True,
            "PrimaryContainer": {
                "ModelDataUrl": STAGED,
                "Environment": Match.object_like({"HF_MODEL_ID": Match.absent()}),
            },
        },
    )
    _, policy = only(template, "AWS::IAM::Policy")
    reads = [
        s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "s3:GetObject"
    ]
    assert reads == [
        {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":s3:::models-bucket/pegasus/model.tar.gz"],
            ]
        }
    ]
    decrypts = [
        s["Resource"]
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "kms:Decrypt"
    ]
    assert decrypts == [KEY_ARN]


def test_hub_models_keep_network_access(dev: Any) -> None:
    from aws_cdk.assertions import Match

    dev.has_resource_properties("AWS::SageMaker::Model", {"EnableNetworkIsolation": Match.absent()})


@pytest.mark.parametrize(
    ("options", "problems"),
    [
        (
            {"model_id": "google/pegasus-large", "enable_network_isolation": True},
            (
                "enable_network_isolation: needs model_data_uri, an isolated container cannot "
                "download a Hub model_id",
            ),
        ),
        (
            {"model_id": "google/pegasus-large", "environment": {"HF_TASK": "translation"}},
            (
                "environment: 'HF_TASK' is set by the model construct from its own settings and "
                "may not be overridden (reserved: HF_MODEL_ID, HF_MODEL_REVISION, HF_TASK)",
            ),
        ),
        (
            {"model_id": "google pegasus", "model_revision": ""},
            (
                "model_id: must be a Hugging Face Hub repo id '[namespace/]name', each part 1 to "
                "96 letters, digits, '-', '_' or '.', not starting or ending with '-' or '.', "
                "without '--' or '..' (got 'google pegasus')",
                "model_revision: must be a branch, tag or 40-hex commit sha of the Hub repo, or "
                "left out for 'main' (got '')",
            ),
        ),
        (
            {"model_id": "google/pegasus-large", "model_data_key_arn": "alias/models"},
            (
                "model_data_key_arn: must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/"
                "<key id> (got 'alias/models')",
                "model_data_key_arn: only applies to a staged model_data_uri",
            ),
        ),
        (
            {"model_data_uri": "s3://10.0.0.1/model.tar.gz"},
            (
                "model_data_uri: bucket '10.0.0.1' is not a valid S3 bucket name (not formatted "
                "as an IP address) (got 's3://10.0.0.1/model.tar.gz')",
            ),
        ),
    ],
)
def test_the_model_construct_refuses_bad_sources(
    code_dir: Path, options: dict[str, Any], problems: tuple[str, ...]
) -> None:
    import aws_cdk as cdk

    stack = cdk.Stack(construct_app(), "Refused")
    with pytest.raises(ConfigurationError) as raised:
        hugging_face_model(stack, code_dir, **options)
    assert (raised.value.subject, raised.value.problems) == ("HuggingFaceModel", problems)


def test_the_endpoint_refuses_to_email_embedded_results(code_dir: Path) -> None:
    import aws_cdk as cdk

    stack = cdk.Stack(construct_app(), "Emailed")
    with pytest.raises(ConfigurationError) as raised:
        endpoint_in(
            stack,
            code_dir,
            emails=("ops@example.com",),
            include_response_in_notifications=True,
        )
    assert (raised.value.subject, raised.value.problems) == (
        "AsyncEndpoint",
        (
            "include_response_in_notifications: must be False while the topics have e-mail "
            "subscriptions: SageMaker would embed each result in the notification and SNS would "
            "e-mail it in plain text, outside the KMS key (got True)",
        ),
    )


def test_duplicate_subscriptions_are_a_configuration_error_not_a_jsii_one() -> None:
    import aws_cdk as cdk

    from constructs_lib import AsyncNotifications

    stack = cdk.Stack(construct_app(), "Twice")
    with pytest.raises(ConfigurationError) as raised:
        AsyncNotifications(stack, "Notifications", emails=("a@example.com", "a@example.com"))
    assert raised.value.problems == ("emails: 'a@example.com' is listed more than once",)


def test_the_stack_runs_a_staged_isolated_model_from_configuration(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    from tests.conftest import cdk_json_context, synthesize

    context = cdk_json_context()
    context["summarizer"]["environments"]["prod"].update(
        model_data_uri=STAGED, model_data_key_arn=KEY_ARN, network_isolation=True
    )
    context["summarizer.environment"] = "prod"
    assembly = synthesize(context, tmp_path)
    template = Template.from_json(assembly.get_stack_by_name("PegasusSummarizer-prod").template)
    _, model = only(template, "AWS::SageMaker::Model")
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert model["Properties"]["PrimaryContainer"]["ModelDataUrl"] == STAGED
    assert warnings_of(assembly, "PegasusSummarizer-prod") == []
    # The staged, isolated variant passes the same cfn-lint gate as the default templates.
    from cfnlint.api import ManualArgs, lint_file

    artifact = assembly.get_stack_by_name("PegasusSummarizer-prod")
    findings = lint_file(Path(assembly.directory, artifact.template_file), ManualArgs())
    assert [f"{m.rule.id} {m.message}" for m in findings] == []

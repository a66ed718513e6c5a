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


def hugging_face_model(stack: Any, **options: Any) -> Any:
    from constructs_lib import DlcVersion, HuggingFaceModel

    return HuggingFaceModel(
        stack,
        "Model",
        instance_type="ml.g5.xlarge",
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        **options,
    )


def test_staged_weights_run_with_network_isolation() -> None:
    import aws_cdk as cdk
    from aws_cdk.assertions import Match, Template

    from constructs_lib import ModelSource

    stack = cdk.Stack(construct_app(), "Isolated")
    hugging_face_model(
        stack,
        source=ModelSource.from_s3(STAGED, key_arn=KEY_ARN),
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


def test_local_weights_are_packed_with_the_code_and_run_isolated(
    code_dir: Path, tmp_path: Path
) -> None:
    import tarfile

    import aws_cdk as cdk
    from aws_cdk.assertions import Match, Template

    from constructs_lib import ModelSource
    from constructs_lib.model.archive import write_model_archive

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    stack = cdk.Stack(construct_app(), "Local")
    model = hugging_face_model(
        stack,
        source=ModelSource.from_local(code_dir, weights_dir=weights),
        enable_network_isolation=True,
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "EnableNetworkIsolation": True,
            "PrimaryContainer": {
                "ModelDataUrl": Match.any_value(),
                "Environment": Match.object_like({"HF_MODEL_ID": Match.absent()}),
            },
        },
    )
    # The archive the asset uploads, at its content-addressed path: weights at the root.
    packed = write_model_archive(code_dir, weights_dir=weights)
    with tarfile.open(packed) as tar:
        assert tar.getnames() == ["config.json", "code/inference.py"]
    assert model.model_data_compression == "gzip"


def test_hub_models_keep_network_access(dev: Any) -> None:
    from aws_cdk.assertions import Match

    dev.has_resource_properties("AWS::SageMaker::Model", {"EnableNetworkIsolation": Match.absent()})


def test_the_model_construct_refuses_a_source_it_cannot_run(code_dir: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib import ModelSource

    cases = [
        (
            {
                "source": ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
                "enable_network_isolation": True,
            },
            "enable_network_isolation: needs the weights in the model data "
            "(ModelSource.from_s3 or from_local), an isolated container cannot download from "
            "the Hub (got ModelSource.from_hub('google/pegasus-large'))",
        ),
        (
            {"source": ModelSource.from_hub("google/pegasus-large", revision="v1")},
            "source: HuggingFaceModel serves with your inference code: give "
            "ModelSource.from_hub(..., code_dir=<folder with inference.py>) "
            "(got ModelSource.from_hub('google/pegasus-large', revision='v1'))",
        ),
        (
            {"source": "google/pegasus-large"},
            "source: must be a ModelSource (ModelSource.from_hub, from_s3 or from_local) "
            "(got 'google/pegasus-large')",
        ),
        (
            {
                "source": ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
                "environment": {"HF_TASK": "translation"},
            },
            "environment: 'HF_TASK' is set by the model construct from its own settings and "
            "may not be overridden (reserved: HF_MODEL_ID, HF_MODEL_REVISION, HF_TASK)",
        ),
    ]
    for index, (options, problem) in enumerate(cases):
        stack = cdk.Stack(construct_app(), f"Refused{index}")
        with pytest.raises(ConfigurationError) as raised:
            hugging_face_model(stack, **options)
        assert (raised.value.subject, raised.value.problems) == ("HuggingFaceModel", (problem,))


HUB_ID_RULE = (
    "must be a Hugging Face Hub repo id '[namespace/]name', each part 1 to 96 letters, digits, "
    "'-', '_' or '.', not starting or ending with '-' or '.', without '--' or '..'"
)


@pytest.mark.parametrize(
    ("factory", "arguments", "problems"),
    [
        (
            "from_hub",
            {"model_id": "google pegasus", "revision": "", "code_dir": Path("/nowhere")},
            (
                f"model_id: {HUB_ID_RULE} (got 'google pegasus')",
                "revision: must be a branch, tag or 40-hex commit sha of the Hub repo, or left "
                "out for 'main' (got '')",
                "code_dir: /nowhere has no inference.py",
            ),
        ),
        (
            "from_hub",
            {"model_id": None, "revision": 3, "code_dir": 7},
            (
                "model_id: must be a string (got None)",
                "revision: must be a string (got 3)",
                "code_dir: must be a path to a folder holding inference.py (got 7)",
            ),
        ),
        (
            "from_s3",
            {"uri": "s3://10.0.0.1/model.tar.gz", "key_arn": "alias/models"},
            (
                "uri: bucket '10.0.0.1' is not a valid S3 bucket name (not formatted as an IP "
                "address) (got 's3://10.0.0.1/model.tar.gz')",
                "key_arn: must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> "
                "(got 'alias/models')",
            ),
        ),
        (
            "from_s3",
            {"uri": "s3://models-bucket/pegasus/", "compression": "gzip"},
            ("uri: must be 's3://<bucket>/<key>.tar.gz' (got 's3://models-bucket/pegasus/')",),
        ),
        (
            "from_s3",
            {"uri": STAGED, "compression": "none"},
            (
                "uri: must be 's3://<bucket>/<prefix>/', a key prefix ending with '/', with "
                f"uncompressed model data (got '{STAGED}')",
            ),
        ),
        (
            "from_s3",
            {"uri": STAGED, "compression": "zip"},
            ("compression: must be one of gzip, none (got 'zip')",),
        ),
        (
            "from_local",
            {"code_dir": Path("/nowhere"), "weights_dir": Path("/no/weights")},
            (
                "code_dir: /nowhere has no inference.py",
                "weights_dir: /no/weights is not a folder",
            ),
        ),
    ],
)
def test_each_factory_names_every_bad_argument_with_its_value(
    factory: str, arguments: dict[str, Any], problems: tuple[str, ...]
) -> None:
    from constructs_lib import ModelSource

    model_id_or_uri = arguments.pop("model_id", arguments.pop("uri", None))
    positional = [] if factory == "from_local" else [model_id_or_uri]
    with pytest.raises(ConfigurationError) as raised:
        getattr(ModelSource, factory)(*positional, **arguments)
    assert (raised.value.subject, raised.value.problems) == (f"ModelSource.{factory}", problems)


def test_local_weights_may_not_hold_the_code_folder(code_dir: Path, tmp_path: Path) -> None:
    from constructs_lib import ModelSource

    (tmp_path / "code").mkdir()
    with pytest.raises(ConfigurationError) as raised:
        ModelSource.from_local(code_dir, weights_dir=tmp_path)
    assert raised.value.problems == (
        f"weights_dir: {tmp_path} has code/, the place of code_dir in the archive",
    )


def test_factories_accept_unresolved_tokens_where_the_template_can_carry_them() -> None:
    import aws_cdk as cdk

    from constructs_lib import ModelSource

    stack = cdk.Stack(construct_app(), "Tokens")
    key = cdk.CfnParameter(stack, "Key").value_as_string
    revision = cdk.CfnParameter(stack, "Revision").value_as_string
    assert ModelSource.from_s3(STAGED, key_arn=key).key_arn == key
    assert ModelSource.from_hub(revision, revision=revision).revision == revision
    # The role's grants name the staged data's bucket and key: a deploy-time URI cannot.
    uri = cdk.CfnParameter(stack, "Uri").value_as_string
    with pytest.raises(ConfigurationError) as raised:
        ModelSource.from_s3(uri)
    assert raised.value.problems == (
        "uri: must be written out at synth time (s3://<bucket>/<key>): the model's role is "
        "granted exactly that object or prefix (got a token resolved at deploy time)",
    )


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

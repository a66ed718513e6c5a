"""Configuration: the embedded default, overrides, and one error listing every problem."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import ConfigurationError
from stacks.config import AppConfig, load_configs
from tests.conftest import ROOT, cdk_json_context


def context(**overrides: Any) -> dict[str, Any]:
    """The summarizer context of cdk.json plus ``summarizer.*`` command-line style keys."""
    ctx: dict[str, Any] = {"summarizer": copy.deepcopy(cdk_json_context()["summarizer"])}
    ctx.update({f"summarizer.{k}": v for k, v in overrides.items()})
    return ctx


def with_environment(**fields: Any) -> dict[str, Any]:
    ctx = context()
    ctx["summarizer"]["environments"]["dev"].update(fields)
    return ctx


def problems_of(ctx: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(ConfigurationError) as error:
        load_configs(ctx)
    return error.value.problems


def test_embedded_default_gives_dev_and_prod() -> None:
    dev, prod = load_configs(context())
    assert (dev.name, prod.name) == ("dev", "prod")
    assert dev.model_id == prod.model_id == "google/pegasus-large"
    assert dev.instance_type == "ml.g5.xlarge"
    assert dev.max_concurrent_invocations_per_instance == 1
    assert (dev.removal_policy, prod.removal_policy) == ("destroy", "retain")
    assert (dev.termination_protection, prod.termination_protection) == (False, True)
    assert (dev.dlc.transformers, dev.dlc.pytorch) == ("4.51.3", "2.6.0")
    assert dev.stack_name == "PegasusSummarizer-dev"


def test_environment_selects_one_stack() -> None:
    (prod,) = load_configs(context(environment="prod"))
    assert prod.name == "prod"


def test_command_line_values_are_parsed_and_nested_keys_merge() -> None:
    (dev,) = load_configs(
        context(
            environment="dev",
            instance_type="ml.m5.xlarge",
            initial_instance_count="2",
            notification_emails='["a@example.com"]',
            **{"dlc.transformers": "4.49.0"},
        )
    )
    assert dev.instance_type == "ml.m5.xlarge"
    assert dev.initial_instance_count == 2
    assert dev.notification_emails == ("a@example.com",)
    assert (dev.dlc.transformers, dev.dlc.pytorch) == ("4.49.0", "2.6.0")


def test_command_line_overrides_a_nested_section_without_dropping_its_other_keys() -> None:
    (dev,) = load_configs(context(environment="dev", **{"scaling.max_capacity": "9"}))
    defaults = AppConfig(name="x").scaling
    assert dev.scaling.max_capacity == 9
    assert dev.scaling.min_capacity == defaults.min_capacity


def test_every_problem_is_reported_at_once_with_its_bad_value() -> None:
    ctx = with_environment(
        instance_type="g5.xlarge",
        initial_instance_count=-1,
        instnce_type="ml.g5.xlarge",
        notification_emails=["ops@example.com", "not-an-email"],
        removal_policy="keep",
        dlc={"transformers": "9.9.9", "pytorch": "2.6.0"},
        model_data_uri="https://example.com/model.tar.gz",
        input_retention_days=0,
        account="12345",
    )
    with pytest.raises(ConfigurationError) as error:
        load_configs(ctx)
    assert str(error.value).startswith("Invalid summarizer configuration: 9 problems:\n  - [dev] ")
    assert error.value.problems == (
        "[dev] instnce_type: unknown key (known: account, batch, "
        "container_startup_timeout_seconds, data_capture, data_path, deployment, dlc, "
        "guardrails, hosting, include_response_in_notifications, initial_instance_count, "
        "input_retention_days, instance_type, max_concurrent_invocations_per_instance, "
        "model_data_compression, model_data_download_timeout_seconds, model_data_key_arn, "
        "model_data_uri, model_environment, model_id, model_revision, monitoring, "
        "network_isolation, notification_emails, production, realtime, region, removal_policy, "
        "result_retention_days, scaling, serverless, termination_protection)",
        "[dev] account: must be a 12-digit AWS account id (got '12345')",
        "[dev] model_data_uri: must be 's3://<bucket>/<key>.tar.gz' "
        "(got 'https://example.com/model.tar.gz')",
        "[dev] dlc: transformers 9.9.9 with pytorch 2.6.0 is not a known Hugging Face inference "
        "DLC (known transformers/pytorch pairs: 4.37.0/2.1.0, 4.48.0/2.3.0, 4.49.0/2.6.0, "
        "4.51.3/2.6.0)",
        "[dev] instance_type: must look like 'ml.<family>.<size>', e.g. 'ml.g5.xlarge' "
        "(got 'g5.xlarge')",
        "[dev] initial_instance_count: must be at least 1 (got -1)",
        "[dev] input_retention_days: must be at least 1 (got 0)",
        "[dev] removal_policy: must be one of retain, destroy (got 'keep')",
        "[dev] notification_emails: 'not-an-email' is not an e-mail address",
    )


def test_wrong_types_are_reported_per_field() -> None:
    assert problems_of(
        with_environment(
            initial_instance_count="two",
            termination_protection="yes",
            notification_emails="ops@example.com",
            model_environment={"BATCH": 4},
        )
    ) == (
        "[dev] initial_instance_count: must be int (got 'two')",
        "[dev] termination_protection: must be bool (got 'yes')",
        "[dev] notification_emails: must be a list (got 'ops@example.com')",
        "[dev] model_environment: must be an object of strings (got {'BATCH': 4})",
    )


def test_non_finite_numbers_are_refused() -> None:
    found = problems_of(with_environment(scaling={"target_backlog_per_instance": float("nan")}))
    assert len(found) == 1
    assert found[0].startswith("[dev] scaling.target_backlog_per_instance: ")
    assert found[0].endswith("(got nan)")


def test_problems_from_every_environment_are_listed_together() -> None:
    ctx = context()
    ctx["summarizer"]["environments"]["dev"]["max_concurrent_invocations_per_instance"] = 0
    ctx["summarizer"]["environments"]["prod"]["result_retention_days"] = -5
    assert problems_of(ctx) == (
        "[dev] max_concurrent_invocations_per_instance: must be at least 1 (got 0)",
        "[prod] result_retention_days: must be at least 1 (got -5)",
    )


def test_unknown_environment_names_the_known_ones() -> None:
    assert problems_of(context(environment="staging")) == (
        "environment: unknown environment 'staging' (known: dev, prod)",
    )


def test_model_revision_does_not_apply_to_a_staged_archive() -> None:
    assert problems_of(
        with_environment(model_revision="main", model_data_uri="s3://my-bucket/pegasus.tar.gz")
    ) == ("[dev] model_revision: only applies to a Hub model, not to model_data_uri (got 'main')",)


def test_staged_archive_replaces_the_hub_model() -> None:
    (dev,) = load_configs(
        context(environment="dev", model_data_uri="s3://my-bucket/models/pegasus.tar.gz")
    )
    assert dev.model_data_uri == "s3://my-bucket/models/pegasus.tar.gz"


def test_scaling_and_monitoring_problems_carry_their_section() -> None:
    found = problems_of(
        with_environment(scaling={"min_capacity": -1}, monitoring={"alarm_emails": ["x"]})
    )
    assert any(p.startswith("[dev] scaling.min_capacity: ") for p in found)
    assert any(p.startswith("[dev] monitoring.alarm_emails: ") for p in found)


def test_missing_summarizer_block_is_explained() -> None:
    with pytest.raises(ConfigurationError) as error:
        load_configs({})
    assert error.value.problems == (
        "summarizer: cdk.json context must hold {'environments': {...}}",
    )


def test_app_exits_with_the_message_and_no_traceback(tmp_path: Any) -> None:
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            "CDK_CONTEXT_JSON": (
                '{"summarizer": {"environments": {"dev": {"instance_type": "m5"}}}}'
            ),
            "CDK_OUTDIR": str(tmp_path),
            "CDK_VALIDATION": "false",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Invalid summarizer configuration: 1 problem:\n"
        "  - [dev] instance_type: must look like 'ml.<family>.<size>', e.g. 'ml.g5.xlarge' "
        "(got 'm5')"
    )


# --- issue 8: configuration hardening ------------------------------------------------------------

SHA = "0123456789abcdef0123456789abcdef01234567"


def dev_problems(**fields: Any) -> tuple[str, ...]:
    return problems_of(with_environment(**fields))


def test_embedded_default_marks_prod_as_production_and_embeds_no_results() -> None:
    dev, prod = load_configs(context())
    assert (dev.production, prod.production) == (False, True)
    assert dev.include_response_in_notifications is False
    assert prod.network_isolation is False


def test_emailed_notifications_refuse_embedded_results() -> None:
    assert dev_problems(
        notification_emails=["ops@example.com"], include_response_in_notifications=True
    ) == (
        "[dev] include_response_in_notifications: must be false while notification_emails is "
        "set: SageMaker would embed each summary in the success notification and SNS would "
        "e-mail it in plain text, outside the KMS key (got true)",
    )


def test_embedded_results_without_emails_and_emails_without_them_both_load() -> None:
    (dev,) = load_configs(
        with_environment(include_response_in_notifications=True) | {"summarizer.environment": "dev"}
    )
    assert dev.include_response_in_notifications is True
    (dev,) = load_configs(
        with_environment(notification_emails=["ops@example.com"])
        | {"summarizer.environment": "dev"}
    )
    assert dev.notification_emails == ("ops@example.com",)


@pytest.mark.parametrize(
    ("instance_type", "message"),
    [
        (
            "ml.foo.bar",
            "instance_type: unknown SageMaker hosting instance family 'foo' (known families: ",
        ),
        (
            "ml.c6gd.xlarge",
            "instance_type: ml.c6gd has arm64 CPUs (Graviton or Grace) and the Hugging Face DLC "
            "(transformers 4.51.3, pytorch 2.6.0) has no arm64 image; choose an x86_64 family, "
            "e.g. ml.c6i or ml.m5 (CPU) or ml.g5 (GPU) (got 'ml.c6gd.xlarge')",
        ),
        (
            "ml.p6-b200.48xlarge",
            "instance_type: ml.p6-b200 (NVIDIA B200) needs CUDA 12.8 or later, and the GPU image "
            "of the Hugging Face DLC (transformers 4.51.3, pytorch 2.6.0) is built for CUDA 12.4; "
            "choose another GPU family (e.g. ml.g6e, ml.p5) or a DLC built for CUDA 12.8+ "
            "(got 'ml.p6-b200.48xlarge')",
        ),
    ],
)
def test_instance_types_the_dlc_cannot_run_are_refused(instance_type: str, message: str) -> None:
    (found,) = dev_problems(instance_type=instance_type)
    assert found.startswith(f"[dev] {message}")
    assert found.endswith(f"(got {instance_type!r})")


def test_gpu_families_with_instance_store_load() -> None:
    (dev,) = load_configs(context(environment="dev", instance_type="ml.p5en.48xlarge"))
    assert dev.instance_type == "ml.p5en.48xlarge"


def test_network_isolation_needs_staged_weights() -> None:
    assert dev_problems(network_isolation=True) == (
        "[dev] network_isolation: needs model_data_uri, because an isolated container cannot "
        "download model_id from the Hub (stage it with `make stage-model`) (got true)",
    )


def test_production_without_a_fixed_model_source_warns() -> None:
    dev, prod = load_configs(context())
    assert dev.warnings() == []
    assert prod.warnings() == [
        "production: google/pegasus-large comes from the Hugging Face Hub with no "
        "model_revision so every scale-from-zero downloads whatever the Hub serves that minute "
        "(and fails while it is unreachable). Stage a pinned checkpoint with `make stage-model "
        "MODEL_REVISION=<sha> BUCKET=<bucket> KMS_KEY=<key>` and set model_data_uri with "
        "network_isolation: true, or at least pin model_revision to a 40-hex commit sha"
    ]


@pytest.mark.parametrize(
    ("fields", "warnings"),
    [
        ({"model_revision": SHA}, []),
        (
            {
                "model_data_uri": "s3://models-bucket/pegasus/model.tar.gz",
                "network_isolation": True,
            },
            [],
        ),
        (
            {"model_data_uri": "s3://models-bucket/pegasus/model.tar.gz"},
            [
                "production: model_data_uri is staged, but network_isolation is off: set "
                "network_isolation: true so the container cannot reach the internet"
            ],
        ),
    ],
)
def test_production_model_sources(fields: dict[str, Any], warnings: list[str]) -> None:
    ctx = context(environment="prod")
    ctx["summarizer"]["environments"]["prod"].update(fields)
    (prod,) = load_configs(ctx)
    assert prod.warnings() == warnings


def test_a_branch_revision_is_not_a_pin() -> None:
    ctx = context(environment="prod", model_revision="v1.0")
    (prod,) = load_configs(ctx)
    (warning,) = prod.warnings()
    assert "with model_revision 'v1.0', a branch or tag that can move, so every" in warning


def test_duplicate_notification_emails_are_a_configuration_error() -> None:
    assert dev_problems(notification_emails=["ops@example.com", "ops@example.com"]) == (
        "[dev] notification_emails: 'ops@example.com' is listed more than once",
    )


@pytest.mark.parametrize("region", ["xx-fake-1", "ap-southeast-5"])
def test_regions_without_a_dlc_registry_are_refused(region: str) -> None:
    (found,) = dev_problems(region=region)
    assert found.startswith(
        f"[dev] region: {region!r} has no Hugging Face inference DLC registry in the image "
        "catalog (regions with one: af-south-1, ap-east-1, "
    )


def test_a_spike_threshold_beyond_any_number_is_refused() -> None:
    found = dev_problems(scaling={"target_backlog_per_instance": 1e308, "spike_enabled": True})
    assert found == (
        "[dev] scaling.target_backlog_per_instance: must be at most 2^360 (about 2.35e108), the "
        "largest target value Application Auto Scaling accepts (got 1e+308)",
    )
    found = dev_problems(
        scaling={
            "target_backlog_per_instance": 1e108,
            "spike_threshold_multiple": 1e300,
            "spike_enabled": True,
        }
    )
    assert found == (
        "[dev] scaling.spike_threshold_multiple: target_backlog_per_instance x "
        "spike_threshold_multiple x 2 must be at most 2^360 (about 2.35e108) (got 1e+300 with "
        "target 1e+108)",
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"scaling": {"max_capacity": 10**20}},
            "scaling.max_capacity: must be at most 2147483647 (got 100000000000000000000)",
        ),
        (
            {"scaling": {"scale_in_cooldown_seconds": 10**11}},
            "scaling.scale_in_cooldown_seconds: must be at most 2147483647 (got 100000000000)",
        ),
        (
            {"result_retention_days": 10**11},
            "result_retention_days: must be at most 2147483647 (got 100000000000)",
        ),
        (
            {"initial_instance_count": 3},
            "initial_instance_count: must be at most scaling.max_capacity (2), the most "
            "instances autoscaling allows (got 3)",
        ),
        (
            {"model_id": "a" * 5000},
            "model_id: must be a Hugging Face Hub repo id '[namespace/]name', each part 1 to 96 "
            "letters, digits, '-', '_' or '.', not starting or ending with '-' or '.', without "
            f"'--' or '..' (got '{'a' * 60}... (5000 chars)')",
        ),
        (
            {"model_id": "google/pegasus large!!"},
            "model_id: must be a Hugging Face Hub repo id '[namespace/]name', each part 1 to 96 "
            "letters, digits, '-', '_' or '.', not starting or ending with '-' or '.', without "
            "'--' or '..' (got 'google/pegasus large!!')",
        ),
        (
            {"model_environment": {"1 BAD-NAME": "x"}},
            "model_environment: '1 BAD-NAME' is not a valid variable name: letters, digits and "
            "'_', not starting with a digit, at most 1024 bytes",
        ),
        (
            {"model_environment": {"HF_MODEL_ID": "evil/model"}},
            "model_environment: 'HF_MODEL_ID' is set by the model construct from its own "
            "settings and may not be overridden (reserved: HF_MODEL_ID, HF_MODEL_REVISION, "
            "HF_TASK)",
        ),
        (
            {"model_environment": {"BATCH": "x" * 1025}},
            "model_environment.BATCH: must be at most 1024 bytes, SageMaker's limit for a "
            "container environment value (got 1025 bytes)",
        ),
        (
            {"model_revision": ""},
            "model_revision: must be a branch, tag or 40-hex commit sha of the Hub repo, or left "
            "out for 'main' (got '')",
        ),
        (
            {"model_data_uri": "s3://my..bucket/model.tar.gz"},
            "model_data_uri: bucket 'my..bucket' is not a valid S3 bucket name (no two adjacent "
            "dots) (got 's3://my..bucket/model.tar.gz')",
        ),
        (
            {"model_data_uri": "s3://192.168.1.10/model.tar.gz"},
            "model_data_uri: bucket '192.168.1.10' is not a valid S3 bucket name (not formatted "
            "as an IP address) (got 's3://192.168.1.10/model.tar.gz')",
        ),
        (
            {"monitoring": {"alarm_emails": ["ops@example.com", "ops@example.com", "nobody"]}},
            "monitoring.alarm_emails: 'ops@example.com' is listed more than once",
        ),
        (
            {
                "scaling": {
                    "scheduled_actions": [
                        {"name": "day", "schedule": "cron(0  8 ? * MON-FRI *)", "min_capacity": 1}
                    ]
                }
            },
            "scaling.scheduled_actions[0].schedule: cron fields must be separated by exactly one "
            "space, with none before or after (got 'cron(0  8 ? * MON-FRI *)')",
        ),
    ],
)
def test_values_aws_would_refuse_or_misread_are_refused(
    fields: dict[str, Any], expected: str
) -> None:
    assert f"[dev] {expected}" in dev_problems(**fields)


def test_every_alarm_email_problem_is_reported() -> None:
    assert dev_problems(
        monitoring={"alarm_emails": ["ops@example.com", "ops@example.com", "nobody"]}
    ) == (
        "[dev] monitoring.alarm_emails: 'ops@example.com' is listed more than once",
        "[dev] monitoring.alarm_emails: 'nobody' is not an e-mail address",
    )


def test_a_null_environment_is_named() -> None:
    ctx = context()
    ctx["summarizer"]["environments"]["dev"] = None
    assert problems_of(ctx) == (
        "environments.dev: must be an object of settings, {} for all defaults (got null)",
    )


def test_no_environments_is_named() -> None:
    assert problems_of({"summarizer": {"environments": {}}}) == (
        'summarizer.environments: must name at least one environment, e.g. {"dev": {}} (got {})',
    )


def test_string_fields_take_command_line_text_that_looks_like_json() -> None:
    (dev,) = load_configs(
        context(
            environment="dev",
            account="123456789012",
            model_revision="1234567890123456789012345678901234567890",
        )
    )
    assert dev.account == "123456789012"
    assert dev.model_revision == "1234567890123456789012345678901234567890"


def test_a_model_environment_value_from_the_command_line_stays_text() -> None:
    (dev,) = load_configs(context(environment="dev", **{"model_environment.BATCH_SIZE": "8"}))
    assert dev.model_environment == {"BATCH_SIZE": "8"}


def run_app(context_json: str, tmp_path: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            "CDK_CONTEXT_JSON": context_json,
            "CDK_OUTDIR": str(tmp_path),
            "CDK_VALIDATION": "false",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )


NULL_DEV = (
    "Invalid summarizer configuration: 1 problem:\n"
    "  - environments.dev: must be an object of settings, {} for all defaults (got null)"
)


def test_app_names_a_null_environment_that_jsii_would_drop(tmp_path: Any) -> None:
    result = run_app('{"summarizer": {"environments": {"dev": null, "prod": {}}}}', tmp_path)
    assert (result.returncode, result.stderr.strip()) == (1, NULL_DEV)


def test_app_reads_context_the_cli_passes_in_a_file_too(tmp_path: Any) -> None:
    # The CLI writes large contexts to a file named by CONTEXT_OVERFLOW_LOCATION_ENV instead.
    overflow = tmp_path / "context.json"
    overflow.write_text('{"summarizer": {"environments": {"dev": null}}}')
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            "CONTEXT_OVERFLOW_LOCATION_ENV": str(overflow),
            "CDK_OUTDIR": str(tmp_path / "out"),
            "CDK_VALIDATION": "false",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr.strip()) == (1, NULL_DEV)


def test_the_app_configuration_loads_without_the_cdk() -> None:
    # The app's one loader, which the simulator and the planner read configurations through:
    # every settings module it names (the hosting options' included) is pure Python, so no
    # Node process starts and the tools need no CDK installed.
    code = (
        "import sys, stacks.config\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aws_cdk', 'jsii', 'constructs')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_guardrails_from_the_configuration_govern_every_role(tmp_path: Path) -> None:
    from aws_cdk.assertions import Template

    from tests.conftest import synthesize

    context = cdk_json_context()
    context["summarizer.environment"] = "dev"
    context["summarizer.guardrails.permissions_boundary_arn"] = (
        "arn:aws:iam::123456789012:policy/boundary"
    )
    context["summarizer.guardrails.role_path"] = "/workloads/"
    context["summarizer.guardrails.tags"] = '{"cost-center": "research-42"}'
    (stack,) = synthesize(context, tmp_path).stacks
    template = Template.from_json(stack.template)
    roles = template.find_resources("AWS::IAM::Role")
    assert len(roles) > 3  # the model's, the data path's, CDK's custom-resource roles
    for role in roles.values():
        assert role["Properties"]["PermissionsBoundary"] == (
            "arn:aws:iam::123456789012:policy/boundary"
        )
        assert role["Properties"]["Path"] == "/workloads/"
    (table,) = template.find_resources("AWS::DynamoDB::Table").values()
    assert {"Key": "cost-center", "Value": "research-42"} in table["Properties"]["Tags"]


def test_bad_guardrails_are_refused_with_the_value() -> None:
    assert problems_of(with_environment(guardrails={"role_path": "workloads"})) == (
        "[dev] guardrails.role_path: must start and end with '/', printable ASCII without "
        "spaces, at most 512 characters, e.g. '/workloads/' (got 'workloads')",
    )

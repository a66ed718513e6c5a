"""Configuration: the embedded default, overrides, and one error listing every problem."""

from __future__ import annotations

import copy
import subprocess
import sys
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
    assert dev.max_concurrent_invocations_per_instance == 2
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
            initial_instance_count="3",
            notification_emails='["a@example.com"]',
            **{"dlc.transformers": "4.49.0"},
        )
    )
    assert dev.instance_type == "ml.m5.xlarge"
    assert dev.initial_instance_count == 3
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
        "[dev] instnce_type: unknown key (known: account, container_startup_timeout_seconds, "
        "data_path, dlc, include_response_in_notifications, initial_instance_count, "
        "input_retention_days, instance_type, max_concurrent_invocations_per_instance, "
        "model_data_uri, "
        "model_environment, model_id, model_revision, monitoring, notification_emails, "
        "region, removal_policy, result_retention_days, scaling, termination_protection)",
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

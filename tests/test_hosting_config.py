"""Choosing the hosting option in configuration (stacks/hosting.py), and building each choice."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated

# --- what each option allows -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        ({}, []),
        ({"hosting": "async", "scaling": {"min_capacity": 0}}, []),
        (
            {"hosting": "lambda"},
            ["hosting: must be one of async, realtime, serverless, batch (got 'lambda')"],
        ),
        (
            {"hosting": "serverless", "instance_type": "ml.g5.xlarge"},
            [
                "instance_type: serverless endpoints have no instances and no GPUs; size them "
                "with serverless.memory_size_mb (got 'ml.g5.xlarge')"
            ],
        ),
        (
            # Not refused: an environment's scaling stays written when it tries serverless
            # (AppConfig.warnings reports it as not applying).
            {"hosting": "serverless", "scaling": {"max_capacity": 3}},
            [],
        ),
        (
            {
                "hosting": "serverless",
                "serverless": {"memory_size_mb": 3000, "max_concurrency": 300},
            },
            [
                "serverless.memory_size_mb: must be one of 1024, 2048, 3072, 4096, 5120, 6144 "
                "(1 GB steps) (got 3000)",
                "serverless.max_concurrency: must be at most 200 (got 300)",
            ],
        ),
        (
            {
                "hosting": "realtime",
                "scaling": {"min_capacity": 0},
                "realtime": {"initial_instance_count": 0},
            },
            [
                "scaling.min_capacity: a real-time variant keeps at least one instance; to "
                "scale to zero, host the model as an inference component "
                "(realtime.inference_component: requests fail while it wakes) or use hosting "
                "'async' or 'serverless' (got 0)",
                "realtime.initial_instance_count: must be at least 1 (got 0)",
            ],
        ),
        ({"hosting": "realtime", "realtime": {"inference_component": {}}}, []),
        (
            {
                "hosting": "realtime",
                "realtime": {
                    "inference_component": {},
                    "min_capacity": 0,
                    "invocations_per_instance_target": 10,
                    "blue_green": True,
                },
            },
            [
                "realtime.min_capacity: set scaling.min_capacity, the one capacity section of "
                "every endpoint family (got 0)",
                "realtime.invocations_per_instance_target: only applies to a variant without "
                "inference components; with realtime.inference_component use "
                "inference_component.invocations_per_copy_target (got 10)",
                "realtime.blue_green: only applies to a variant without inference components; "
                "with realtime.inference_component SageMaker updates the component blue/green "
                "by itself (no rollback alarms yet) (got True)",
            ],
        ),
        (
            {
                "hosting": "realtime",
                "scaling": {"scale_in_cooldown_seconds": -1},
                "realtime": {
                    "initial_instance_count": 3,
                    "inference_component": {
                        "max_instance_count": 2,
                        "routing_strategy": "ROUND_ROBIN",
                        "min_memory_mb": 100,
                        "min_copies": 2,
                        "initial_copies": 1,
                        "invocations_per_copy_target": None,
                        "concurrent_requests_per_copy_target": 0,
                    },
                },
            },
            [
                "scaling.scale_in_cooldown_seconds: must be at least 0 (got -1)",
                "realtime.initial_instance_count: must not exceed "
                "inference_component.max_instance_count 2 (got 3)",
                "realtime.inference_component.routing_strategy: must be one of "
                "LEAST_OUTSTANDING_REQUESTS, RANDOM (got 'ROUND_ROBIN')",
                "realtime.inference_component.min_memory_mb: must be at least 128 (got 100)",
                "realtime.inference_component.concurrent_requests_per_copy_target: must be "
                "greater than 0 (got 0.0)",
                "realtime.inference_component.initial_copies: must be within min_copies 2 and "
                "max_copies 4 (got 1)",
            ],
        ),
        (
            {
                "hosting": "realtime",
                "instance_type": "ml.m5.xlarge",
                "realtime": {"inference_component": {"copies": 1}},
            },
            [
                "realtime.inference_component.copies: unknown key (known: accelerators, "
                "concurrent_requests_per_copy_target, cpu_cores, initial_copies, "
                "invocations_per_copy_target, max_copies, max_instance_count, max_memory_mb, "
                "min_copies, min_instance_count, min_memory_mb, routing_strategy, "
                "wake_up_cooldown_seconds, wake_up_failure_minutes)"
            ],
        ),
        (
            {
                "hosting": "realtime",
                "instance_type": "ml.m5.xlarge",
                "realtime": {"inference_component": {}},
            },
            [
                "realtime.inference_component.accelerators: instance type 'ml.m5.xlarge' has no "
                "GPU to reserve; leave it null there (got 1)"
            ],
        ),
        (
            {
                "hosting": "realtime",
                "scaling": {"min_capacity": 2},
                "realtime": {"initial_instance_count": 1},
            },
            [
                "realtime.initial_instance_count: must be within scaling.min_capacity 2 and "
                "scaling.max_capacity 4 (got 1)"
            ],
        ),
        (
            # One scaling section: the async keys a real-time endpoint does not read pass.
            {"hosting": "realtime", "scaling": {"min_capacity": 1, "spike_enabled": True}},
            [],
        ),
        (
            {
                "hosting": "realtime",
                "realtime": {"max_capacity": 6, "scale_out_cooldown_seconds": 30},
            },
            [
                "realtime.max_capacity: set scaling.max_capacity, the one capacity section of "
                "every endpoint family (got 6)",
                "realtime.scale_out_cooldown_seconds: set scaling.scale_out_cooldown_seconds, "
                "the one capacity section of every endpoint family (got 30)",
            ],
        ),
        (
            {"hosting": "realtime", "max_concurrent_invocations_per_instance": 2},
            [
                "max_concurrent_invocations_per_instance: only async endpoints queue "
                "invocations, not hosting 'realtime' (got 2)"
            ],
        ),
        (
            {"hosting": "batch", "scaling": {}, "batch": {"batch_strategy": "All"}},
            [
                "batch.batch_strategy: must be one of MultiRecord, SingleRecord (got 'All')",
            ],
        ),
        (
            {"hosting": "batch", "batch": {"instance_type": "ml.c5.xlarge"}},
            [
                "batch.instance_type: the job runs on the top-level instance_type "
                "(got 'ml.c5.xlarge')"
            ],
        ),
        (
            {"hosting": "batch", "batch": {"max_payload_mb": "6"}},
            ["batch.max_payload_mb: must be int (got '6')"],
        ),
        (
            {"hosting": "async", "realtime": {"min_capacity": 2}},
            ["realtime: only applies to hosting 'realtime' (got hosting 'async')"],
        ),
    ],
)
def test_hosting_problems_says_what_each_option_allows(
    config: dict[str, Any], problems: list[str]
) -> None:
    from stacks.hosting import hosting_problems

    assert hosting_problems(config) == problems


def test_the_loader_raises_one_error_listing_every_hosting_problem() -> None:
    from constructs_lib import ConfigurationError
    from stacks.config import load_configs

    written = {
        "hosting": "serverless",
        "instance_type": "ml.m5.xlarge",
        "initial_instance_count": 2,
    }
    with pytest.raises(ConfigurationError) as raised:
        load_configs({"summarizer": {"environments": {"dev": written}}})
    assert str(raised.value) == (
        "Invalid summarizer configuration: 2 problems:\n"
        "  - [dev] instance_type: serverless endpoints have no instances; size them with "
        "serverless.memory_size_mb (got 'ml.m5.xlarge')\n"
        "  - [dev] initial_instance_count: serverless endpoints scale by themselves up to "
        "serverless.max_concurrency (got 2)"
    )


def environment(written: dict[str, Any]) -> Any:
    """One environment's ``AppConfig`` as the app's loader reads it from ``written``."""
    from stacks.config import load_configs

    (config,) = load_configs({"summarizer": {"environments": {"test": written}}})
    return config


def test_the_loader_reads_the_sections() -> None:
    from stacks.hosting_resources import model_instance_type

    config = environment(
        {"hosting": "realtime", "instance_type": "ml.c5.xlarge", "scaling": {"max_capacity": 6}}
    )
    assert (config.hosting, config.instance_type, config.realtime.max_capacity) == (
        "realtime",
        "ml.c5.xlarge",
        6,
    )
    # Floats given as whole numbers in JSON stay floats.
    assert environment(
        {"hosting": "realtime", "realtime": {"invocations_per_instance_target": 100}}
    ).realtime.invocations_per_instance_target == pytest.approx(100.0)
    assert model_instance_type(environment({"hosting": "serverless"})) == "ml.m5.xlarge"
    assert model_instance_type(config) == "ml.c5.xlarge"


# --- build_hosting in plain stacks -------------------------------------------------------------


def build(app: Any, name: str, config: Any, code_dir: Path) -> Any:
    import aws_cdk as cdk

    from constructs_lib import (
        AsyncInferenceStorage,
        AsyncNotifications,
        DlcVersion,
        HuggingFaceModel,
        ModelSource,
    )
    from stacks.hosting_resources import build_hosting, model_instance_type

    stack = cdk.Stack(app, name)
    storage = AsyncInferenceStorage(stack, "Storage")
    notifications = AsyncNotifications(stack, "Notifications")
    model = HuggingFaceModel(
        stack,
        "Model",
        instance_type=model_instance_type(config),
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )
    return build_hosting(stack, config, storage, notifications, model)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, code_dir: Path) -> Any:
    outdir = tmp_path_factory.mktemp("hosting-config")
    app = app_in(outdir)
    configs = {
        "Realtime": {"hosting": "realtime", "realtime": {"blue_green": True}},
        "Components": {"hosting": "realtime", "realtime": {"inference_component": {}}},
        "Serverless": {"hosting": "serverless", "serverless": {"provisioned_concurrency": 1}},
        "Batch": {
            "hosting": "batch",
            "removal_policy": "destroy",
            "batch": {"schedule": "rate(1 day)"},
        },
    }
    resources = {
        name: build(app, name, environment(config), code_dir) for name, config in configs.items()
    }
    gated = synth_gated(app, outdir)
    return SimpleNamespace(gated=gated, resources=resources)


def test_gates_are_clean_for_every_choice(built: Any) -> None:
    assert sorted(built.gated.templates) == ["Batch", "Components", "Realtime", "Serverless"]
    assert_gates_clean(built.gated)


def test_realtime_builds_an_endpoint_with_scaling_and_guardrails(built: Any) -> None:
    template = built.gated.template("Realtime")
    ((_, endpoint),) = template.find_resources("AWS::SageMaker::Endpoint").items()
    assert "BlueGreenUpdatePolicy" in endpoint["Properties"]["DeploymentConfig"]
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 1)
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 4}
    )
    assert "EndpointName" in template.find_outputs("*")
    assert built.resources["Realtime"].batch is None


def test_realtime_with_an_inference_component_scales_to_zero(built: Any) -> None:
    template = built.gated.template("Components")
    template.resource_count_is("AWS::SageMaker::InferenceComponent", 1)
    ((_, config),) = template.find_resources("AWS::SageMaker::EndpointConfig").items()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 0,
        "MaxInstanceCount": 4,
    }
    ((_, component),) = template.find_resources("AWS::SageMaker::InferenceComponent").items()
    name = component["Properties"]["InferenceComponentName"]
    assert component["Properties"]["Specification"]["ComputeResourceRequirements"] == {
        "MinMemoryRequiredInMb": 4096,
        "NumberOfAcceleratorDevicesRequired": 1,
    }
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"ResourceId": f"inference-component/{name}", "MinCapacity": 0, "MaxCapacity": 4},
    )
    # Clients need both names: InvokeEndpoint(EndpointName=..., InferenceComponentName=...).
    outputs = template.find_outputs("*")
    assert outputs["InferenceComponentName"]["Value"] == name
    assert "EndpointName" in outputs
    # The wake-up failure alarm and the component's 5xx alarm page the error topic.
    for metric, periods in (("NoCapacityInvocationFailures", 15), ("Invocation5XXErrors", 1)):
        ((_, alarm),) = template.find_resources(
            "AWS::CloudWatch::Alarm",
            {"Properties": {"MetricName": metric, "EvaluationPeriods": periods}},
        ).items()
        assert alarm["Properties"]["Dimensions"] == [
            {"Name": "InferenceComponentName", "Value": name}
        ]
        (action,) = alarm["Properties"]["AlarmActions"]
        assert "Ref" in action and "Error" in action["Ref"], action
    assert built.resources["Components"].scaling is None


def test_serverless_builds_a_serverless_variant_on_the_cpu_image(built: Any) -> None:
    from aws_cdk.assertions import Match

    template = built.gated.template("Serverless")
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like(
                    {
                        "ServerlessConfig": {
                            "MemorySizeInMB": 6144,
                            "MaxConcurrency": 10,
                            "ProvisionedConcurrency": 1,
                        }
                    }
                )
            ]
        },
    )
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    assert "-cpu-" in str(model["Properties"]["PrimaryContainer"]["Image"])


def test_endpoints_get_a_dashboard_of_their_own_metrics(built: Any) -> None:
    import json

    for name in ("Realtime", "Serverless"):
        template = built.gated.template(name)
        ((_, dashboard),) = template.find_resources("AWS::CloudWatch::Dashboard").items()
        body = json.dumps(dashboard["Properties"]["DashboardBody"])
        for metric in ("Invocations", "ModelLatency", "Invocation5XXErrors", "CPUUtilization"):
            assert f'\\"{metric}\\"' in body, (name, metric)
        assert "/aws/sagemaker/Endpoints" in body


def test_endpoints_alarm_on_5xx_errors_to_the_error_topic(built: Any) -> None:
    for name in ("Realtime", "Serverless"):
        template = built.gated.template(name)
        alarms = template.find_resources(
            "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "Invocation5XXErrors"}}
        )
        actions = [a["Properties"].get("AlarmActions") for a in alarms.values()]
        assert any(actions), (name, alarms)


def test_batch_builds_a_state_machine_and_no_endpoint(built: Any) -> None:
    template = built.gated.template("Batch")
    template.resource_count_is("AWS::SageMaker::Endpoint", 0)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.has_resource_properties(
        "AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(1 day)"}
    )
    assert {"StateMachineArn", "BatchInputLocation", "BatchOutputLocation"} <= set(
        template.find_outputs("*")
    )
    # Destroy in dev: the ops key and log group go with the stack.
    for log_group in template.find_resources("AWS::Logs::LogGroup").values():
        assert log_group["DeletionPolicy"] == "Delete"


def test_build_hosting_refuses_async(tmp_path: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib import ConfigurationError
    from stacks.hosting_resources import build_hosting

    with pytest.raises(ConfigurationError) as raised:
        build_hosting(cdk.Stack(cdk.App(), "A"), environment({}), None, None, None)  # type: ignore[arg-type]
    assert raised.value.problems == (
        "hosting: build_hosting builds realtime, serverless or batch (got 'async'); async is "
        "SummarizationStack's own",
    )


def test_loading_the_hosting_configuration_does_not_import_step_functions() -> None:
    # stacks/hosting.py is imported by every synth of the app; the batch construct's modules
    # (Step Functions, Scheduler, EC2) cost about 0.4 s and are imported only to build batch.
    import subprocess
    import sys

    from tests.conftest import ROOT

    heavy = ("batch_transform", "stepfunctions_tasks")
    code = (
        f"import sys, stacks.hosting; print(sorted(m for m in sys.modules if m.endswith({heavy})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_inference_component_section_loads_through_the_app_configuration() -> None:
    from stacks.config import load_configs

    context = {
        "summarizer": {"environments": {"prod": {"hosting": "realtime"}}},
        # As the command line gives them: JSON text.
        "summarizer.realtime.inference_component": '{"max_copies": 2}',
        "summarizer.realtime.inference_component.concurrent_requests_per_copy_target": "1",
    }
    (config,) = load_configs(context)
    section = config.realtime.inference_component
    assert section is not None
    assert (section.min_copies, section.max_copies, section.min_instance_count) == (0, 2, 0)
    assert section.concurrent_requests_per_copy_target == 1.0
    assert section.compute().min_memory_mb == 4096
    # Off unless asked for: a real-time variant that names its model stays the default.
    (default,) = load_configs({"summarizer": {"environments": {"dev": {"hosting": "realtime"}}}})
    assert default.realtime.inference_component is None


def test_the_sections_load_through_the_app_configuration() -> None:
    from stacks.config import load_configs

    context = {
        "summarizer": {
            "environments": {
                "prod": {
                    "hosting": "realtime",
                    "scaling": {"max_capacity": 6},
                    "realtime": {"invocations_per_instance_target": 100},
                }
            }
        }
    }
    (config,) = load_configs(context)
    assert config.hosting == "realtime"
    assert config.realtime.max_capacity == 6
    # Given as an integer in JSON, kept as the float the section declares.
    assert config.realtime.invocations_per_instance_target == 100.0
    assert isinstance(config.realtime.invocations_per_instance_target, float)


# --- every hosting option from the default cdk.json (one scaling section) ----------------------


@pytest.fixture(scope="module")
def default_dev_hosted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """dev of the default cdk.json (its scaling and deployment blocks written for async),
    synthesized with ``-c summarizer.hosting=<option>`` for each other option."""
    from aws_cdk.assertions import Template

    from tests.conftest import cdk_json_context, synthesize

    templates = {}
    for hosting in ("realtime", "serverless", "batch"):
        context = {
            **cdk_json_context(),
            "summarizer.environment": "dev",
            "summarizer.hosting": hosting,
        }
        if hosting == "realtime":
            context["summarizer.container_startup_timeout_seconds"] = "900"
        assembly = synthesize(context, tmp_path_factory.mktemp(f"dev-{hosting}"))
        stack = assembly.get_stack_by_name("PegasusSummarizer-dev")
        templates[hosting] = (Template.from_json(stack.template), stack.messages)
    return templates


def test_every_hosting_option_synthesizes_from_the_default_dev_environment(
    default_dev_hosted: dict[str, Any],
) -> None:
    from aws_cdk.assertions import Match

    realtime, _ = default_dev_hosted["realtime"]
    realtime.resource_count_is("AWS::SageMaker::Endpoint", 1)
    serverless, _ = default_dev_hosted["serverless"]
    serverless.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {"ProductionVariants": [Match.object_like({"ServerlessConfig": Match.any_value()})]},
    )
    batch, _ = default_dev_hosted["batch"]
    batch.resource_count_is("AWS::SageMaker::Endpoint", 0)
    batch.resource_count_is("AWS::StepFunctions::StateMachine", 1)


def test_scaling_max_capacity_means_the_same_for_a_real_time_endpoint(
    default_dev_hosted: dict[str, Any],
) -> None:
    # dev's scaling.max_capacity 2 bounds the real-time variant as it bounds the async one;
    # min_capacity and the cooldowns keep the real-time defaults where scaling does not set them.
    realtime, _ = default_dev_hosted["realtime"]
    realtime.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 2}
    )


def test_settings_that_do_not_apply_to_the_hosting_are_reported_not_refused(
    default_dev_hosted: dict[str, Any],
) -> None:
    def warnings(hosting: str) -> list[str]:
        _, messages = default_dev_hosted[hosting]
        return [
            str(m.entry.data)
            for m in messages
            if "settings-of-another-hosting" in str(m.entry.data)
        ]

    assert warnings("realtime") == [
        "deployment: guardrails of the async endpoint's updates do not apply to hosting "
        "'realtime' (real-time: realtime.blue_green); ignored "
        "[ack: summarizer:settings-of-another-hosting]"
    ]
    assert warnings("serverless") == [
        "scaling.max_capacity: does not apply (hosting 'serverless' has no instances to scale); "
        "ignored [ack: summarizer:settings-of-another-hosting]",
        "deployment: guardrails of the async endpoint's updates do not apply to hosting "
        "'serverless'; ignored [ack: summarizer:settings-of-another-hosting]",
    ]


def test_real_time_hosting_passes_the_container_startup_timeout(
    default_dev_hosted: dict[str, Any],
) -> None:
    from aws_cdk.assertions import Match

    realtime, _ = default_dev_hosted["realtime"]
    realtime.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "ProductionVariants": [
                Match.object_like({"ContainerStartupHealthCheckTimeoutInSeconds": 900})
            ]
        },
    )

"""Inference components: a real-time endpoint that scales to zero instances and back."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated
from tests.test_hosting_realtime import hf_model

SLR = (
    ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, code_dir: Path) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms

    from constructs_lib.hosting import (
        ComputeRequirements,
        CopyScaling,
        InferenceComponentEndpoint,
        InferenceComponentSpec,
    )

    outdir = tmp_path_factory.mktemp("inference-components")
    app = app_in(outdir)
    stack = cdk.Stack(app, "Components")
    gpu_model = hf_model(stack, "GpuModel", code_dir, "ml.g5.xlarge")
    to_zero = InferenceComponentEndpoint(
        stack,
        "ToZero",
        instance_type="ml.g5.xlarge",
        max_instance_count=3,
        components=[
            InferenceComponentSpec(
                id="Summarizer",
                model=gpu_model,
                compute=ComputeRequirements(
                    min_memory_mb=4096, max_memory_mb=8192, accelerators=1, cpu_cores=2
                ),
                scaling=CopyScaling(
                    max_copies=3,
                    invocations_per_copy_target=10,
                    concurrent_requests_per_copy_target=2,
                ),
            )
        ],
    )
    cpu_model = hf_model(stack, "CpuModel", code_dir, "ml.m5.xlarge")
    key = kms.Key(stack, "VolumeKey", enable_key_rotation=True)
    shared = InferenceComponentEndpoint(
        stack,
        "Shared",
        instance_type="ml.m5.xlarge",
        min_instance_count=1,
        routing_strategy="RANDOM",
        volume_key=key,
        components=[
            InferenceComponentSpec(
                id="Fixed",
                model=cpu_model,
                compute=ComputeRequirements(min_memory_mb=2048, cpu_cores=1),
                initial_copies=2,
                scaling=None,
            ),
            InferenceComponentSpec(
                id="Warm",
                model=cpu_model,
                compute=ComputeRequirements(min_memory_mb=1024),
                scaling=CopyScaling(min_copies=1, max_copies=2),
            ),
        ],
    )
    gated = synth_gated(app, outdir)
    resolve = stack.resolve
    (component,) = to_zero.components
    return SimpleNamespace(
        gated=gated,
        template=gated.template(),
        to_zero=to_zero,
        shared=shared,
        component=component,
        name=component.inference_component_name,
        ic_id=resolve(component.cfn_inference_component.logical_id),
        gpu_role_id=resolve(gpu_model.role.node.default_child.logical_id),
        gpu_model_id=resolve(gpu_model.cfn_model.logical_id),
        endpoint_id=resolve(to_zero.cfn_endpoint.logical_id),
        key_id=resolve(key.node.default_child.logical_id),
    )


def _resource(template: Any, logical_id: str) -> dict[str, Any]:
    resources: dict[str, Any] = template.to_json()["Resources"]
    return dict(resources[logical_id])


def _only(template: Any, resource_type: str, props: Any) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(resource_type, {"Properties": props})
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def test_gates_are_clean(built: Any) -> None:
    # cfn-lint checks every property against the CloudFormation schema it ships.
    assert_gates_clean(built.gated)


def test_the_endpoint_config_has_a_role_and_a_variant_without_a_model(built: Any) -> None:
    _, config = _only(
        built.template,
        "AWS::SageMaker::EndpointConfig",
        {"ProductionVariants": [{"InstanceType": "ml.g5.xlarge"}]},
    )
    assert config["Properties"] == {
        # Required once the variant names no model.
        "ExecutionRoleArn": {"Fn::GetAtt": [built.gpu_role_id, "Arn"]},
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.xlarge",
                # The API's minimum, even with a minimum of zero instances.
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 0,
                    "MaxInstanceCount": 3,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
                "ContainerStartupHealthCheckTimeoutInSeconds": 600,
                "ModelDataDownloadTimeoutInSeconds": 600,
            }
        ],
        # g5 has NVMe storage: no volume key.
    }


def test_a_volume_key_and_the_routing_strategy_reach_the_config(built: Any) -> None:
    from aws_cdk.assertions import Match

    built.template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "KmsKeyId": {"Fn::GetAtt": [built.key_id, "Arn"]},
            "ProductionVariants": [
                Match.object_like(
                    {
                        "InstanceType": "ml.m5.xlarge",
                        "ManagedInstanceScaling": {
                            "Status": "ENABLED",
                            "MinInstanceCount": 1,
                            "MaxInstanceCount": 4,
                        },
                        "RoutingConfig": {"RoutingStrategy": "RANDOM"},
                    }
                )
            ],
        },
    )


def test_the_component_names_its_model_requirements_and_first_copy(built: Any) -> None:
    component = _resource(built.template, built.ic_id)
    assert component["Type"] == "AWS::SageMaker::InferenceComponent"
    assert component["Properties"] == {
        "InferenceComponentName": built.name,
        "EndpointName": {"Fn::GetAtt": [built.endpoint_id, "EndpointName"]},
        "VariantName": "AllTraffic",
        "Specification": {
            "ModelName": {"Fn::GetAtt": [built.gpu_model_id, "ModelName"]},
            "ComputeResourceRequirements": {
                "MinMemoryRequiredInMb": 4096,
                "MaxMemoryRequiredInMb": 8192,
                "NumberOfAcceleratorDevicesRequired": 1,
                "NumberOfCpuCoresRequired": 2,
            },
            "StartupParameters": {
                "ContainerStartupHealthCheckTimeoutInSeconds": 600,
                "ModelDataDownloadTimeoutInSeconds": 600,
            },
        },
        # SageMaker refuses 0 at creation: one copy, scaled in once idle.
        "RuntimeConfig": {"CopyCount": 1},
    }
    # Deterministic, valid for SageMaker, and ending with the instance type.
    assert built.name.endswith("-g5-xlarge")
    assert len(built.name) <= 63


def test_the_copies_scale_between_zero_and_the_maximum(built: Any) -> None:
    target_id, target = _only(
        built.template,
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"ResourceId": f"inference-component/{built.name}"},
    )
    properties = dict(target["Properties"])
    role = json.dumps(properties.pop("RoleARN"))
    assert SLR in role
    assert properties == {
        "ServiceNamespace": "sagemaker",
        "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
        "ResourceId": f"inference-component/{built.name}",
        "MinCapacity": 0,
        "MaxCapacity": 3,
    }
    # The ResourceId names the component literally: registration waits for it explicitly.
    assert target["DependsOn"] == [built.ic_id]
    assert target_id != built.ic_id


def test_target_tracking_on_invocations_and_concurrency_per_copy(built: Any) -> None:
    policies = built.template.find_resources(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"Properties": {"PolicyType": "TargetTrackingScaling"}},
    )
    (target_id,) = built.template.find_resources(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"Properties": {"ResourceId": f"inference-component/{built.name}"}},
    )
    configs = sorted(
        (
            policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
            for policy in policies.values()
            if policy["Properties"]["ScalingTargetId"] == {"Ref": target_id}
        ),
        key=json.dumps,
    )
    assert configs == [
        {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": (
                    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
                )
            },
            "TargetValue": 2,
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
        {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
            "TargetValue": 10,
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    ]


def test_a_step_policy_adds_one_copy_when_a_request_finds_none(built: Any) -> None:
    step_id, step = _only(
        built.template,
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {"PolicyType": "StepScaling"},
    )
    (target_id,) = built.template.find_resources(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"Properties": {"ResourceId": f"inference-component/{built.name}"}},
    )
    assert step["Properties"]["ScalingTargetId"] == {"Ref": target_id}
    assert step["Properties"]["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "MetricAggregationType": "Maximum",
        # Longer than a cold start: a copy still starting earns no second one.
        "Cooldown": 600,
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }
    _, alarm = _only(
        built.template,
        "AWS::CloudWatch::Alarm",
        {"AlarmActions": [{"Ref": step_id}]},
    )
    properties = dict(alarm["Properties"])
    properties.pop("AlarmDescription")
    assert properties == {
        "AlarmActions": [{"Ref": step_id}],
        "Namespace": "AWS/SageMaker",
        "MetricName": "NoCapacityInvocationFailures",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": built.name}],
        "Statistic": "Sum",
        "Period": 60,
        # >= 1, not the documentation example's > 1: one failed request wakes the component.
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "TreatMissingData": "notBreaching",
    }


def test_an_alarm_reports_a_wake_up_that_keeps_failing(built: Any) -> None:
    alarms = built.template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"EvaluationPeriods": 15}}
    )
    ((_, alarm),) = alarms.items()
    properties = alarm["Properties"]
    assert "AlarmActions" not in properties  # the app sends it to its error topic
    assert {k: properties[k] for k in properties if k != "AlarmDescription"} == {
        "Namespace": "AWS/SageMaker",
        "MetricName": "NoCapacityInvocationFailures",
        "Dimensions": [{"Name": "InferenceComponentName", "Value": built.name}],
        "Statistic": "Sum",
        "Period": 60,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 1,
        "EvaluationPeriods": 15,
        "DatapointsToAlarm": 15,
        "TreatMissingData": "notBreaching",
    }
    assert built.component.alarms == [built.component.wake_up_failure_alarm]


def test_components_that_do_not_scale_to_zero_get_no_wake_up(built: Any) -> None:
    fixed, warm = built.shared.components
    assert fixed.scalable_target is None
    assert (warm.wake_up_action, warm.wake_up_alarm, warm.wake_up_failure_alarm) == (None,) * 3
    built.template.has_resource_properties(
        "AWS::SageMaker::InferenceComponent",
        {
            "InferenceComponentName": fixed.inference_component_name,
            "RuntimeConfig": {"CopyCount": 2},
        },
    )
    targets = built.template.find_resources("AWS::ApplicationAutoScaling::ScalableTarget")
    resource_ids = sorted(t["Properties"]["ResourceId"] for t in targets.values())
    assert resource_ids == sorted(
        f"inference-component/{name}" for name in (built.name, warm.inference_component_name)
    )
    # One wake-up step policy in the whole stack: the scale-to-zero component's.
    built.template.resource_properties_count_is(
        "AWS::ApplicationAutoScaling::ScalingPolicy", {"PolicyType": "StepScaling"}, 1
    )
    assert built.shared.alarms == []


def test_the_role_may_write_component_logs_and_metrics(built: Any) -> None:
    (policy,) = built.template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": built.gpu_role_id}]}}
    ).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (logs,) = [s for s in statements if "logs:PutLogEvents" in s["Action"]]
    # Each component logs to a group of its own under /aws/sagemaker/InferenceComponents/.
    groups = [json.dumps(r)[-70:] for r in logs["Resource"]]
    assert sum(':log-group:/aws/sagemaker/InferenceComponents/*"' in g for g in groups) == 1
    assert sum("/aws/sagemaker/InferenceComponents/*:log-stream:*" in g for g in groups) == 1
    assert {
        "Action": "cloudwatch:PutMetricData",
        "Condition": {
            "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/InferenceComponents"}
        },
        "Effect": "Allow",
        "Resource": "*",
    } in statements


def grant_statements(grant: Any) -> list[dict[str, Any]]:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    stack = cdk.Stack(cdk.App(), "Caller")
    role = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    grant(role)
    document = stack.resolve(role.node.find_child("DefaultPolicy").document.to_json())
    return list(document["Statement"])


def test_grants_name_the_endpoint_and_its_components_only(built: Any) -> None:
    import aws_cdk as cdk

    resolve = cdk.Stack.of(built.to_zero).resolve
    endpoint_arn = resolve(built.to_zero.endpoint_arn)
    (one,) = grant_statements(built.component.grant_invoke)
    assert one["Action"] == "sagemaker:InvokeEndpoint"
    assert one["Resource"] == [endpoint_arn, resolve(built.component.inference_component_arn)]
    assert "Condition" not in one
    (every,) = grant_statements(built.shared.grant_invoke)
    assert every["Resource"] == [
        resolve(built.shared.endpoint_arn),
        *(resolve(c.inference_component_arn) for c in built.shared.components),
    ]


def test_metrics_are_per_component_and_the_endpoint_shows_reservations(built: Any) -> None:
    metric = built.component.metric_invocations_per_copy()
    assert (metric.namespace, metric.metric_name, metric.statistic) == (
        "AWS/SageMaker",
        "InvocationsPerCopy",
        "Sum",
    )
    assert metric.dimensions == {"InferenceComponentName": built.name}
    assert built.component.metric("GPUUtilizationNormalized").namespace == (
        "/aws/sagemaker/InferenceComponents"
    )
    reservation = built.to_zero.metric("GPUReservation")
    assert reservation.namespace == "/aws/sagemaker/Endpoints"
    with pytest.raises(ValueError) as raised:
        built.to_zero.metric_invocations()
    assert str(raised.value) == (
        "Invocations: an endpoint with inference components publishes it per component "
        "(dimension InferenceComponentName): use components[i].metric('Invocations')"
    )
    assert built.to_zero.component("Summarizer") is built.component
    with pytest.raises(KeyError, match="known: Summarizer"):
        built.to_zero.component("Other")


def test_the_dashboard_row_reads_the_component_metrics(built: Any) -> None:
    import aws_cdk as cdk

    resolve = cdk.Stack.of(built.to_zero).resolve
    body = json.dumps([resolve(w.to_json()) for w in built.to_zero.dashboard_widgets()])
    for metric in (
        "NoCapacityInvocationFailures",
        "ModelLatency",
        "Invocation5XXErrors",
        "InvocationsPerCopy",
        "ConcurrentRequestsPerCopy",
        "GPUUtilizationNormalized",
        "GPUReservation",
    ):
        assert f'"{metric}"' in body, metric
    assert f'"InferenceComponentName", "{built.name}"' in body


def test_a_new_instance_type_creates_the_component_anew(code_dir: Path) -> None:
    # UpdateInferenceComponent cannot move a component to another endpoint: with the instance
    # type in its logical id and name, CloudFormation creates a new one on the new endpoint and
    # deletes the old one afterwards. The scalable target's construct stays put.
    import aws_cdk as cdk

    from constructs_lib.hosting import (
        ComputeRequirements,
        InferenceComponentEndpoint,
        InferenceComponentSpec,
    )

    def synth(instance_type: str) -> tuple[str, str, list[str]]:
        stack = cdk.Stack(cdk.App(), "Move")
        model = hf_model(stack, "Model", code_dir, "ml.g5.xlarge")
        endpoint = InferenceComponentEndpoint(
            stack,
            "Endpoint",
            instance_type=instance_type,
            components=[
                InferenceComponentSpec(
                    id="Summarizer",
                    model=model,
                    compute=ComputeRequirements(min_memory_mb=4096, accelerators=1),
                )
            ],
        )
        (component,) = endpoint.components
        return (
            stack.resolve(component.cfn_inference_component.logical_id),
            component.inference_component_name,
            [
                stack.resolve(c.logical_id)
                for c in component.node.find_all()
                if isinstance(c, cdk.CfnResource) and c is not component.cfn_inference_component
            ],
        )

    small_id, small_name, small_rest = synth("ml.g5.xlarge")
    large_id, large_name, large_rest = synth("ml.g5.2xlarge")
    assert small_id != large_id
    assert (small_name.removesuffix("-g5-xlarge"), large_name) == (
        large_name.removesuffix("-g5-2xlarge"),
        large_name,
    )
    assert small_rest == large_rest


def test_cfn_lint_checks_components_against_its_schema(tmp_path: Path, built: Any) -> None:
    # The gate above is not vacuous for this resource type: a copy count below zero and a
    # property the schema does not know are both reported.
    from cfnlint.api import ManualArgs, lint_file

    template = built.template.to_json()
    component = template["Resources"][built.ic_id]["Properties"]
    component["RuntimeConfig"]["CopyCount"] = -1
    component["Specification"]["ComputeResourceRequirements"]["MinMemoryRequiredInMb"] = 64
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(template))
    messages = [m.message for m in lint_file(path, ManualArgs())]
    assert any("-1 is less than the minimum of 0" in m for m in messages), messages
    assert any("64 is less than the minimum of 128" in m for m in messages), messages


# --- bad properties ----------------------------------------------------------------------------


def test_bad_properties_are_refused_with_every_problem(code_dir: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib import ConfigurationError
    from constructs_lib.hosting import (
        ComputeRequirements,
        CopyScaling,
        InferenceComponentEndpoint,
        InferenceComponentSpec,
    )

    stack = cdk.Stack(cdk.App(), "Bad")
    model = hf_model(stack, "Model", code_dir, "ml.m5.xlarge")
    with pytest.raises(ConfigurationError) as raised:
        InferenceComponentEndpoint(
            stack,
            "Endpoint",
            instance_type="ml.m5.xlarge",
            initial_instance_count=0,
            min_instance_count=3,
            max_instance_count=2,
            routing_strategy="ROUND_ROBIN",
            container_startup_timeout_seconds=30,
            components=[
                InferenceComponentSpec(
                    id="Summarizer",
                    model=model,
                    compute=ComputeRequirements(
                        min_memory_mb=64, max_memory_mb=32, accelerators=1, cpu_cores=0.1
                    ),
                    initial_copies=0,
                    scaling=CopyScaling(
                        min_copies=3,
                        max_copies=2,
                        invocations_per_copy_target=None,
                        wake_up_failure_minutes=0,
                    ),
                ),
                InferenceComponentSpec(
                    id="Summarizer",
                    model=model,
                    compute=ComputeRequirements(min_memory_mb=1024),
                    initial_copies=5,
                ),
            ],
        )
    assert raised.value.subject == "InferenceComponentEndpoint"
    assert raised.value.problems == (
        "initial_instance_count: must be at least 1 (got 0)",
        "min_instance_count: must not exceed max_instance_count 2 (got 3)",
        "routing_strategy: must be one of LEAST_OUTSTANDING_REQUESTS, RANDOM (got 'ROUND_ROBIN')",
        "container_startup_timeout_seconds: must be at least 60 (got 30)",
        "components[0].compute.min_memory_mb: must be at least 128 (got 64)",
        "components[0].compute.max_memory_mb: must be at least 128 (got 32)",
        "components[0].compute.accelerators: instance type 'ml.m5.xlarge' has no GPU to "
        "reserve; leave it null there (got 1)",
        "components[0].compute.cpu_cores: must be at least 0.25 (got 0.1)",
        "components[0].scaling.min_copies: must not exceed max_copies 2 (got 3)",
        "components[0].scaling.invocations_per_copy_target: give it or "
        "concurrent_requests_per_copy_target: only target tracking scales copies in (got no "
        "target at all)",
        "components[0].scaling.wake_up_failure_minutes: must be at least 1 (got 0)",
        "components[0].initial_copies: must be at least 1 (got 0)",
        "components[1].initial_copies: must be within min_copies 0 and max_copies 4 (got 5)",
        "components[1].id: must be unique on the endpoint (got 'Summarizer' twice)",
    )


def test_no_component_and_a_bad_instance_type_are_refused() -> None:
    from constructs_lib.hosting.inference_components import endpoint_problems

    assert endpoint_problems(
        components=[],
        instance_type="g5.xlarge",
        initial_instance_count=1,
        min_instance_count=0,
        max_instance_count=1,
        routing_strategy="RANDOM",
        variant_name="all traffic",
        container_startup_timeout_seconds=600,
    ) == [
        "instance_type: must look like 'ml.<family>.<size>', e.g. 'ml.g5.xlarge' (got 'g5.xlarge')",
        "variant_name: must be 1-63 letters, digits or inner hyphens (got 'all traffic')",
        "components: must list at least one InferenceComponentSpec (got [])",
    ]


def test_tokens_pass_validation(code_dir: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib.hosting import ComputeRequirements, CopyScaling, InferenceComponentSpec
    from constructs_lib.hosting.inference_components import endpoint_problems

    target = cdk.Token.as_number(cdk.Fn.ref("Target"))
    assert CopyScaling(invocations_per_copy_target=target).problems() == []
    stack = cdk.Stack(cdk.App(), "Tokens")
    spec = InferenceComponentSpec(
        id="Summarizer",
        model=hf_model(stack, "Model", code_dir, "ml.g5.xlarge"),
        compute=ComputeRequirements(min_memory_mb=1024, accelerators=1, cpu_cores=target),
    )
    assert (
        endpoint_problems(
            components=[spec],
            instance_type=cdk.Fn.ref("InstanceType"),
            initial_instance_count=1,
            min_instance_count=0,
            max_instance_count=2,
            routing_strategy=cdk.Fn.ref("Routing"),
            variant_name="AllTraffic",
            container_startup_timeout_seconds=600,
        )
        == []
    )

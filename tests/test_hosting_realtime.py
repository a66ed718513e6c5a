"""Real-time endpoint, blue/green guardrails and the autoscaling article's policies."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests._hosting_gates import app_in, assert_gates_clean, synth_gated


def hf_model(stack: Any, construct_id: str, code_dir: Path, instance_type: str) -> Any:
    from constructs_lib import DlcVersion, HuggingFaceModel, ModelSource

    return HuggingFaceModel(
        stack,
        construct_id,
        instance_type=instance_type,
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
        source=ModelSource.from_hub("google/pegasus-large", code_dir=code_dir),
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, code_dir: Path) -> Any:
    import aws_cdk as cdk
    from aws_cdk import aws_kms as kms

    from constructs_lib.hosting import (
        BlueGreenDeployment,
        RealtimeEndpoint,
        RealtimeScaling,
        RealtimeScalingSettings,
    )
    from constructs_lib.scaling.settings import ScheduledCapacity

    outdir = tmp_path_factory.mktemp("realtime")
    app = app_in(outdir)
    stack = cdk.Stack(app, "Realtime")
    guarded = RealtimeEndpoint(
        stack,
        "Guarded",
        model=hf_model(stack, "GpuModel", code_dir, "ml.g5.xlarge"),
        instance_type="ml.g5.xlarge",
        deployment=BlueGreenDeployment(traffic_routing="CANARY", max_model_latency_ms=2000),
    )
    scaling = RealtimeScaling(
        stack,
        "Scaling",
        endpoint=guarded,
        settings=RealtimeScalingSettings(
            min_capacity=1,
            max_capacity=8,
            invocations_per_instance_target=5000,
            cpu_utilization_target_percent=50,
            step_threshold_invocations_per_instance=6000,
            scheduled_actions=(
                ScheduledCapacity(
                    name="business-hours", schedule="cron(0 8 ? * MON-FRI *)", min_capacity=2
                ),
            ),
        ),
    )
    key = kms.Key(stack, "VolumeKey", enable_key_rotation=True)
    plain = RealtimeEndpoint(
        stack,
        "Plain",
        model=hf_model(stack, "CpuModel", code_dir, "ml.m5.xlarge"),
        instance_type="ml.m5.xlarge",
        volume_key=key,
    )
    gated = synth_gated(app, outdir)
    resolve = stack.resolve
    return SimpleNamespace(
        gated=gated,
        template=gated.template(),
        guarded=guarded,
        plain=plain,
        scaling=scaling,
        key_id=resolve(key.node.default_child.logical_id),
        guarded_name=guarded.endpoint_name,
    )


def test_gates_are_clean(built: Any) -> None:
    assert_gates_clean(built.gated)


def test_the_variant_is_instance_based_and_synchronous(built: Any) -> None:
    from aws_cdk.assertions import Match

    configs = built.template.find_resources(
        "AWS::SageMaker::EndpointConfig",
        {
            "Properties": {
                "ProductionVariants": [
                    Match.object_like({"InstanceType": "ml.g5.xlarge", "InitialInstanceCount": 1})
                ]
            }
        },
    )
    ((_, config),) = configs.items()
    assert "AsyncInferenceConfig" not in config["Properties"]
    # g5 has local NVMe storage, which refuses a volume key.
    assert "KmsKeyId" not in config["Properties"]


def test_a_volume_key_is_used_and_granted_with_exact_actions(built: Any) -> None:
    from aws_cdk.assertions import Match

    built.template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "KmsKeyId": {"Fn::GetAtt": [built.key_id, "Arn"]},
            "ProductionVariants": [Match.object_like({"InstanceType": "ml.m5.xlarge"})],
        },
    )
    built.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": [
                                    "kms:CreateGrant",
                                    "kms:Decrypt",
                                    "kms:DescribeKey",
                                    "kms:GenerateDataKeyWithoutPlaintext",
                                ],
                                "Resource": {"Fn::GetAtt": [built.key_id, "Arn"]},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_blue_green_canary_rolls_back_on_the_endpoints_own_alarms(built: Any) -> None:
    from aws_cdk.assertions import Capture

    alarms = Capture()
    built.template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "EndpointName": built.guarded_name,
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                        "WaitIntervalInSeconds": 300,
                    },
                    "TerminationWaitInSeconds": 0,
                },
                "AutoRollbackConfiguration": {"Alarms": alarms},
            },
        },
    )
    # A deterministic name, valid for SageMaker (letters, digits, inner hyphens, <= 63).
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", built.guarded_name)
    refs = sorted(a["AlarmName"]["Ref"] for a in alarms.as_array())
    found = built.template.find_resources("AWS::CloudWatch::Alarm")
    metrics = sorted(found[ref]["Properties"]["MetricName"] for ref in refs)
    assert metrics == ["Invocation5XXErrors", "ModelLatency"]
    for ref in refs:
        dimensions = found[ref]["Properties"]["Dimensions"]
        # The literal endpoint name, not a GetAtt on the endpoint: that would be a cycle.
        assert {"Name": "EndpointName", "Value": built.guarded_name} in dimensions
        assert {"Name": "VariantName", "Value": "AllTraffic"} in dimensions
    latency = next(found[r] for r in refs if found[r]["Properties"]["MetricName"] == "ModelLatency")
    assert latency["Properties"]["Threshold"] == 2_000_000  # microseconds


def test_the_execution_role_may_describe_exactly_the_rollback_alarms(built: Any) -> None:
    # SageMaker reads the rollback alarms with the execution role during a deployment
    # (deployment-guardrails-configuration.html): without the grant the guardrails cannot work.
    from aws_cdk.assertions import Capture

    alarms = Capture()
    built.template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "EndpointName": built.guarded_name,
            "DeploymentConfig": {"AutoRollbackConfiguration": {"Alarms": alarms}},
        },
    )
    arns = [{"Fn::GetAtt": [a["AlarmName"]["Ref"], "Arn"]} for a in alarms.as_array()]
    found = [
        (policy["Properties"]["Roles"], statement)
        for policy in built.template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "cloudwatch:DescribeAlarms" in str(statement["Action"])
    ]
    # One statement, on the guarded endpoint's role only, naming its rollback alarms only.
    ((roles, statement),) = found
    assert statement == {"Action": "cloudwatch:DescribeAlarms", "Effect": "Allow", "Resource": arns}
    assert len(roles) == 1


def test_an_endpoint_without_guardrails_is_named_after_its_instance_type_only(built: Any) -> None:
    endpoints = built.template.find_resources("AWS::SageMaker::Endpoint")
    plain = [e for e in endpoints.values() if "DeploymentConfig" not in e["Properties"]]
    assert len(plain) == 1
    # Named so that a new instance type replaces it (tests/test_instance_type_change.py); its
    # users still read the name with GetAtt.
    assert plain[0]["Properties"]["EndpointName"].endswith("-m5-xlarge")
    assert built.plain.endpoint_name != plain[0]["Properties"]["EndpointName"]
    assert plain[0]["Properties"]["RetainAllVariantProperties"] is True
    assert built.guarded_name.endswith("-g5-xlarge")


def test_target_tracking_on_the_predefined_invocations_metric(built: Any) -> None:
    built.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "TargetValue": 5000,
                "ScaleInCooldown": 300,
                "ScaleOutCooldown": 60,
            },
        },
    )


def test_cpu_target_tracking_is_customized_and_normalized_by_cores(built: Any) -> None:
    built.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": {
                "CustomizedMetricSpecification": {
                    "MetricName": "CPUUtilization",
                    "Namespace": "/aws/sagemaker/Endpoints",
                    "Dimensions": [
                        {"Name": "EndpointName", "Value": built.guarded_name},
                        {"Name": "VariantName", "Value": "AllTraffic"},
                    ],
                    "Statistic": "Average",
                    "Unit": "Percent",
                },
                # 50 % per core on the 4 vCPUs of ml.g5.xlarge.
                "TargetValue": 200,
            },
        },
    )


def test_the_step_policy_uses_the_articles_steps_on_an_invocations_alarm(built: Any) -> None:
    from aws_cdk.assertions import Match

    built.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "StepScaling",
            "StepScalingPolicyConfiguration": Match.object_like(
                {
                    "AdjustmentType": "ChangeInCapacity",
                    "StepAdjustments": [
                        {
                            "MetricIntervalLowerBound": 0,
                            "MetricIntervalUpperBound": 5,
                            "ScalingAdjustment": 1,
                        },
                        {
                            "MetricIntervalLowerBound": 5,
                            "MetricIntervalUpperBound": 80,
                            "ScalingAdjustment": 3,
                        },
                        {"MetricIntervalLowerBound": 80, "ScalingAdjustment": 4},
                    ],
                }
            ),
        },
    )
    built.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "InvocationsPerInstance",
            "Namespace": "AWS/SageMaker",
            "Statistic": "Sum",
            "Threshold": 6000,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )


def test_the_scalable_target_has_the_bounds_and_the_schedule(built: Any) -> None:
    built.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "MinCapacity": 1,
            "MaxCapacity": 8,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ResourceId": f"endpoint/{built.guarded_name}/variant/AllTraffic",
            "ScheduledActions": [
                {
                    "ScheduledActionName": "business-hours",
                    "Schedule": "cron(0 8 ? * MON-FRI *)",
                    "ScalableTargetAction": {"MinCapacity": 2},
                }
            ],
        },
    )


def test_grant_invoke_is_invoke_endpoint_on_this_endpoint_only(built: Any) -> None:
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    stack = cdk.Stack(cdk.App(), "Grant")
    role = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    built.plain.grant_invoke(role)
    statements = stack.resolve(role.node.find_child("DefaultPolicy").document.to_json())
    (statement,) = statements["Statement"]
    assert statement["Action"] == "sagemaker:InvokeEndpoint"
    assert "Condition" not in statement


# --- bad settings ------------------------------------------------------------------------------


def problems_of(**settings: Any) -> list[str]:
    from constructs_lib.hosting import RealtimeScalingSettings

    return RealtimeScalingSettings(**settings).problems("ml.g5.xlarge")


def test_a_real_time_variant_cannot_scale_to_zero_but_inference_components_can() -> None:
    assert problems_of(min_capacity=0) == [
        "min_capacity: a real-time variant keeps at least one instance; to scale to zero, host "
        "the model as an inference component (InferenceComponentEndpoint) or use an "
        "asynchronous or serverless endpoint (got 0)"
    ]


def test_scheduled_actions_are_checked_as_for_the_async_endpoint() -> None:
    from constructs_lib import ScheduledCapacity

    night = ScheduledCapacity(name="night", schedule="cron(0 20 ? * * *)", max_capacity=1)
    assert problems_of(scheduled_actions=(night, night)) == [
        "scheduled_actions[1].name: must be unique among scheduled actions (got 'night')"
    ]


def test_a_cpu_target_needs_known_cores() -> None:
    from constructs_lib.hosting import RealtimeScalingSettings

    assert RealtimeScalingSettings(cpu_utilization_target_percent=50).problems("ml.x9.weird") == [
        "vcpus: needed to normalize the CPU target for instance type 'ml.x9.weird' (got None)"
    ]
    assert problems_of(cpu_utilization_target_percent=150) == [
        "cpu_utilization_target_percent: must be at most 100 (got 150)"
    ]


def test_step_adjustments_must_be_contiguous_and_end_unbounded() -> None:
    from constructs_lib.hosting import StepAdjustment

    assert problems_of(
        step_threshold_invocations_per_instance=100,
        step_adjustments=(
            StepAdjustment(lower=0, upper=5, change=1),
            StepAdjustment(lower=10, upper=20, change=2),
        ),
    ) == [
        "step_adjustments[1].lower: must start where the previous step ends, at 5 (got 10)",
        "step_adjustments[1].upper: the last step must be unbounded (got 20)",
    ]


def test_at_least_one_policy_is_required() -> None:
    assert problems_of(invocations_per_instance_target=None) == [
        "invocations_per_instance_target: give it, cpu_utilization_target_percent or "
        "step_threshold_invocations_per_instance (got no scaling policy at all)"
    ]


def test_bad_guardrails_are_refused_by_the_construct_with_every_problem(code_dir: Path) -> None:
    import aws_cdk as cdk

    from constructs_lib import ConfigurationError
    from constructs_lib.hosting import BlueGreenDeployment, RealtimeEndpoint

    stack = cdk.Stack(cdk.App(), "Bad")
    model = hf_model(stack, "Model", code_dir, "ml.m5.xlarge")
    with pytest.raises(ConfigurationError) as raised:
        RealtimeEndpoint(
            stack,
            "Endpoint",
            model=model,
            instance_type="m5.xlarge",
            deployment=BlueGreenDeployment(
                traffic_routing="LINEAR", step_percent=5, alarm_on_5xx_errors=False
            ),
        )
    assert raised.value.problems == (
        "instance_type: must look like 'ml.<family>.<size>', e.g. 'ml.g5.xlarge' (got 'm5.xlarge')",
        "deployment.step_percent: must be at least 10 (got 5)",
        "deployment: auto-rollback needs 1 to 10 alarms (got 0)",
    )

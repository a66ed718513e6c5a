"""AsyncEndpointMonitoring: the dashboard, the alarms, the operations topic and the settings.

One stack with the real storage, topics, model and endpoint is synthesized once for the module;
its monitoring uses non-default settings everywhere, so each value seen in the template can only
have come from the settings.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Capture, Match, Template
from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

from constructs_lib._validation import ConfigurationError
from constructs_lib.endpoint import AsyncEndpoint
from constructs_lib.monitoring import AsyncEndpointMonitoring, MonitoringSettings
from tests.conftest import construct_app, endpoint_in

ASYNC = "AWS/SageMaker"
INSTANCE = "/aws/sagemaker/Endpoints"
OPS_TOPIC_NAME = "Summarization endpoint alarms"
EMAILS = ("oncall@example.com", "team@example.org")

SETTINGS = MonitoringSettings(
    alarm_emails=EMAILS,
    invocation_failures_threshold=3,
    invocation_failures_period_seconds=600,
    invocation_failures_evaluation_periods=2,
    invocation_failures_datapoints_to_alarm=2,
    stuck_queue_age_seconds=2400,
    stuck_queue_period_seconds=120,
    stuck_queue_evaluation_periods=4,
    stuck_queue_datapoints_to_alarm=3,
    wake_up_failure_period_seconds=60,
    wake_up_failure_evaluation_periods=20,
    wake_up_failure_datapoints_to_alarm=18,
    notification_failures_threshold=2,
    notification_failures_period_seconds=180,
    notification_failures_evaluation_periods=3,
    notification_failures_datapoints_to_alarm=1,
    s3_failures_threshold=4,
    s3_failures_period_seconds=900,
    s3_failures_evaluation_periods=2,
    s3_failures_datapoints_to_alarm=2,
)


@dataclass(frozen=True)
class Built:
    stack: cdk.Stack
    endpoint: AsyncEndpoint
    monitoring: AsyncEndpointMonitoring
    template: Template

    def resolve(self, value: Any) -> Any:
        return self.stack.resolve(value)


@pytest.fixture(scope="module")
def built(code_dir: Path) -> Built:
    stack = cdk.Stack(construct_app(), "MonitoringTest")
    endpoint = endpoint_in(stack, code_dir)
    monitoring = AsyncEndpointMonitoring(stack, "Monitoring", endpoint=endpoint, settings=SETTINGS)
    return Built(stack, endpoint, monitoring, Template.from_stack(stack))


def one(template: Template, resource_type: str, props: Any = None) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(resource_type, props or {})
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, dict(resource)


@pytest.fixture(scope="module")
def endpoint_name(built: Built) -> dict[str, Any]:
    endpoint_id, _ = one(built.template, "AWS::SageMaker::Endpoint")
    return {"Fn::GetAtt": [endpoint_id, "EndpointName"]}


@pytest.fixture(scope="module")
def ops_topic_id(built: Built) -> str:
    topic_id, _ = one(
        built.template, "AWS::SNS::Topic", {"Properties": {"DisplayName": OPS_TOPIC_NAME}}
    )
    return topic_id


# --- the dashboard body -------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    widgets: list[dict[str, Any]]
    tokens: dict[str, Any]  # placeholder -> the CloudFormation token it stands for

    def untoken(self, value: Any) -> Any:
        return self.tokens.get(value, value) if isinstance(value, str) else value

    def readable(self, text: str, names: dict[str, Any]) -> str:
        """``text`` with each placeholder replaced by the name of its token in ``names``."""
        for placeholder, token in self.tokens.items():
            for name, known in names.items():
                if token == known:
                    text = text.replace(placeholder, name)
        return text


@dataclass(frozen=True)
class DashboardMetric:
    namespace: str
    name: str
    dimensions: dict[str, Any]
    options: dict[str, Any]
    widget: dict[str, Any]

    @property
    def stat(self) -> str:
        # The dashboard leaves out "stat" when it is CloudWatch's default for graphs, Average.
        return str(self.options.get("stat", "Average"))

    @property
    def visible(self) -> bool:
        return bool(self.options.get("visible", True))


@pytest.fixture(scope="module")
def dashboard(built: Built) -> Dashboard:
    """The DashboardBody (an Fn::Join of JSON text and tokens) as JSON, tokens as placeholders."""
    _, resource = one(built.template, "AWS::CloudWatch::Dashboard")
    separator, parts = resource["Properties"]["DashboardBody"]["Fn::Join"]
    assert separator == ""
    tokens: dict[str, Any] = {}
    text = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
        else:
            placeholder = f"__token{len(tokens)}__"
            tokens[placeholder] = part
            text.append(placeholder)
    body = json.loads("".join(text))
    return Dashboard(widgets=body["widgets"], tokens=tokens)


def metrics_of(dashboard: Dashboard) -> list[DashboardMetric]:
    found = []
    for widget in dashboard.widgets:
        for row in widget["properties"].get("metrics", []):
            if isinstance(row[0], dict):  # a math expression
                continue
            namespace, name, *rest = row
            options = rest.pop() if rest and isinstance(rest[-1], dict) else {}
            dimensions = {
                key: dashboard.untoken(value)
                for key, value in zip(rest[::2], rest[1::2], strict=True)
            }
            found.append(DashboardMetric(namespace, name, dimensions, options, widget))
    return found


def expressions_of(dashboard: Dashboard) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [
        (row[0], widget)
        for widget in dashboard.widgets
        for row in widget["properties"].get("metrics", [])
        if isinstance(row[0], dict)
    ]


ROWS = ["Alarms", "Queue", "Throughput and latency", "Errors", "Instances"]


def headers(dashboard: Dashboard) -> list[tuple[int, str]]:
    """(y, title) of the full-width text headers, top to bottom."""
    found = [
        (widget["y"], widget["properties"]["markdown"].split("\n")[0].removeprefix("## "))
        for widget in dashboard.widgets
        if widget["type"] == "text"
        and widget["width"] == 24
        and widget["properties"]["markdown"].startswith("## ")
    ]
    return sorted(found)


def row_of(dashboard: Dashboard, widget: dict[str, Any]) -> str:
    """The title of the header the widget sits under."""
    above = [title for y, title in headers(dashboard) if y < widget["y"]]
    assert above, f"widget {widget['properties'].get('title')!r} has no header above it"
    return above[-1]


def test_rows_read_top_to_bottom_each_under_a_text_header(dashboard: Dashboard) -> None:
    assert [title for _, title in headers(dashboard)] == ROWS
    for y, _ in headers(dashboard):
        (header,) = [w for w in dashboard.widgets if w["y"] == y and w["type"] == "text"]
        assert header["x"] == 0


ENDPOINT_ONLY = ("EndpointName",)
PER_VARIANT = ("EndpointName", "VariantName")

# metric -> (namespace, dimension keys, statistic, row)
DASHBOARD_METRICS = {
    "ApproximateBacklogSize": (ASYNC, ENDPOINT_ONLY, "Average", "Queue"),
    "ApproximateBacklogSizePerInstance": (ASYNC, ENDPOINT_ONLY, "Average", "Queue"),
    "ApproximateAgeOfOldestRequest": (ASYNC, ENDPOINT_ONLY, "Maximum", "Queue"),
    "HasBacklogWithoutCapacity": (ASYNC, ENDPOINT_ONLY, "Average", "Queue"),
    "InvocationsProcesssed": (ASYNC, PER_VARIANT, "Sum", "Throughput and latency"),
    "TotalProcessingTime": (ASYNC, PER_VARIANT, "Average", "Throughput and latency"),
    "TimeInBacklog": (ASYNC, PER_VARIANT, "Average", "Throughput and latency"),
    "ModelLatency": (ASYNC, PER_VARIANT, "Average", "Throughput and latency"),
    "InvocationFailures": (ASYNC, PER_VARIANT, "Sum", "Errors"),
    "RequestDownloadFailures": (ASYNC, PER_VARIANT, "Sum", "Errors"),
    "ResponseUploadFailures": (ASYNC, PER_VARIANT, "Sum", "Errors"),
    "NotificationFailures": (ASYNC, PER_VARIANT, "Sum", "Errors"),
    "ExpiredRequests": (ASYNC, PER_VARIANT, "Sum", "Errors"),
    "Invocation4XXErrors": (ASYNC, PER_VARIANT, "Sum", "Errors"),
    "Invocation5XXErrors": (ASYNC, PER_VARIANT, "Sum", "Errors"),
    "CPUUtilization": (INSTANCE, PER_VARIANT, "Average", "Instances"),
    "MemoryUtilization": (INSTANCE, PER_VARIANT, "Average", "Instances"),
    "GPUUtilization": (INSTANCE, PER_VARIANT, "Average", "Instances"),
    "GPUMemoryUtilization": (INSTANCE, PER_VARIANT, "Average", "Instances"),
    "DiskUtilization": (INSTANCE, PER_VARIANT, "Average", "Instances"),
}


@pytest.mark.parametrize("metric_name", sorted(DASHBOARD_METRICS))
def test_dashboard_graphs_each_metric_with_its_namespace_dimensions_and_statistic(
    dashboard: Dashboard, endpoint_name: dict[str, Any], metric_name: str
) -> None:
    namespace, dimension_keys, stat, row = DASHBOARD_METRICS[metric_name]
    (metric,) = [m for m in metrics_of(dashboard) if m.name == metric_name and m.visible]
    assert metric.namespace == namespace
    assert tuple(metric.dimensions) == dimension_keys
    assert metric.dimensions["EndpointName"] == endpoint_name
    if "VariantName" in dimension_keys:
        assert metric.dimensions["VariantName"] == "AllTraffic"
    assert metric.stat == stat
    assert metric.options["period"] == 60
    assert metric.widget["type"] == "metric"
    assert row_of(dashboard, metric.widget) == row


def test_dashboard_shows_no_metric_async_endpoints_do_not_publish(dashboard: Dashboard) -> None:
    shown = {m.name for m in metrics_of(dashboard)}
    assert shown == set(DASHBOARD_METRICS)
    assert not shown & {"Invocations", "InvocationsPerInstance", "OverheadLatency"}


def test_instance_count_is_the_per_minute_sample_count_of_cpu_utilization(
    dashboard: Dashboard, endpoint_name: dict[str, Any]
) -> None:
    ((expression, widget),) = expressions_of(dashboard)
    assert expression["expression"] == "FILL(cpu_samples, 0) * 60 / PERIOD(cpu_samples)"
    assert expression["label"] == "Instances in service"
    (samples,) = [m for m in metrics_of(dashboard) if m.options.get("id") == "cpu_samples"]
    assert samples.widget is widget
    assert (samples.namespace, samples.name) == (INSTANCE, "CPUUtilization")
    assert samples.dimensions == {"EndpointName": endpoint_name, "VariantName": "AllTraffic"}
    assert samples.stat == "SampleCount"
    assert samples.visible is False
    assert row_of(dashboard, widget) == "Instances"


def test_age_graph_marks_the_stuck_queue_threshold(dashboard: Dashboard) -> None:
    (age,) = [m for m in metrics_of(dashboard) if m.name == "ApproximateAgeOfOldestRequest"]
    annotations = age.widget["properties"]["annotations"]["horizontal"]
    assert [a["value"] for a in annotations] == [SETTINGS.stuck_queue_age_seconds]


def test_alarm_status_widget_shows_every_alarm_in_the_top_row(
    built: Built, dashboard: Dashboard
) -> None:
    (widget,) = [w for w in dashboard.widgets if w["type"] == "alarm"]
    shown = [dashboard.untoken(arn) for arn in widget["properties"]["alarms"]]
    alarm_ids = sorted(built.template.find_resources("AWS::CloudWatch::Alarm"))
    assert sorted(arn["Fn::GetAtt"][0] for arn in shown) == alarm_ids
    assert all(arn["Fn::GetAtt"][1] == "Arn" for arn in shown)
    assert row_of(dashboard, widget) == "Alarms"


def test_text_widget_links_to_the_endpoint_log_group_in_the_console(
    dashboard: Dashboard, endpoint_name: dict[str, Any]
) -> None:
    (links,) = [
        w
        for w in dashboard.widgets
        if w["type"] == "text" and "Container logs" in w["properties"]["markdown"]
    ]
    markdown = dashboard.readable(
        links["properties"]["markdown"],
        {"<region>": {"Ref": "AWS::Region"}, "<endpoint>": endpoint_name},
    )
    assert (
        "[Container logs: /aws/sagemaker/Endpoints/<endpoint>]"
        "(https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>"
        "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FEndpoints$252F<endpoint>)"
    ) in markdown
    assert "__token" not in markdown
    assert row_of(dashboard, links) == "Alarms"


def test_dashboard_has_no_physical_name_by_default(built: Built) -> None:
    built.template.has_resource_properties(
        "AWS::CloudWatch::Dashboard", {"DashboardName": Match.absent()}
    )


# --- alarms -------------------------------------------------------------------------------------


def test_every_alarm_notifies_the_ops_topic_when_it_fires_and_when_it_resolves(
    built: Built, ops_topic_id: str
) -> None:
    built.template.resource_count_is("AWS::CloudWatch::Alarm", 5)
    alarm_actions, ok_actions = Capture(), Capture()
    built.template.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmActions": alarm_actions, "OKActions": ok_actions}
    )
    captured = [alarm_actions.as_array()]
    while alarm_actions.next():
        captured.append(alarm_actions.as_array())
    oks = [ok_actions.as_array()]
    while ok_actions.next():
        oks.append(ok_actions.as_array())
    assert captured == [[{"Ref": ops_topic_id}]] * 5
    assert oks == [[{"Ref": ops_topic_id}]] * 5


GTE = "GreaterThanOrEqualToThreshold"

# attribute -> (metric, statistic, dimension keys, threshold, comparison, period, evaluation
# periods, datapoints to alarm, missing data)
SINGLE_METRIC_ALARMS = {
    "invocation_failures_alarm": (
        "InvocationFailures", "Sum", PER_VARIANT, 3, GTE, 600, 2, 2, "notBreaching"
    ),
    "stuck_queue_alarm": (
        "ApproximateAgeOfOldestRequest", "Maximum", ENDPOINT_ONLY, 2400,
        "GreaterThanThreshold", 120, 4, 3, "notBreaching",
    ),
    "wake_up_failure_alarm": (
        "HasBacklogWithoutCapacity", "Average", ENDPOINT_ONLY, 1, GTE, 60, 20, 18, "missing"
    ),
    "notification_failures_alarm": (
        "NotificationFailures", "Sum", PER_VARIANT, 2, GTE, 180, 3, 1, "notBreaching"
    ),
}  # fmt: skip


@pytest.mark.parametrize("attribute", sorted(SINGLE_METRIC_ALARMS))
def test_single_metric_alarm(
    built: Built, endpoint_name: dict[str, Any], ops_topic_id: str, attribute: str
) -> None:
    metric, stat, keys, threshold, comparison, period, periods, datapoints, missing = (
        SINGLE_METRIC_ALARMS[attribute]
    )
    dimensions = [{"Name": "EndpointName", "Value": endpoint_name}]
    if "VariantName" in keys:
        dimensions.append({"Name": "VariantName", "Value": "AllTraffic"})
    alarm_id, _ = one(
        built.template,
        "AWS::CloudWatch::Alarm",
        {
            "Properties": {
                "Namespace": ASYNC,
                "MetricName": metric,
                "Statistic": stat,
                "Dimensions": dimensions,
                "Period": period,
                "Threshold": threshold,
                "ComparisonOperator": comparison,
                "EvaluationPeriods": periods,
                "DatapointsToAlarm": datapoints,
                "TreatMissingData": missing,
                # A unit filter that differs from the published unit starves an alarm.
                "Unit": Match.absent(),
                "AlarmActions": [{"Ref": ops_topic_id}],
                "OKActions": [{"Ref": ops_topic_id}],
            }
        },
    )
    alarm = getattr(built.monitoring, attribute)
    assert built.resolve(alarm.alarm_arn) == {"Fn::GetAtt": [alarm_id, "Arn"]}


def test_s3_failures_alarm_sums_request_download_and_response_upload_failures(
    built: Built, endpoint_name: dict[str, Any], ops_topic_id: str
) -> None:
    dimensions = [
        {"Name": "EndpointName", "Value": endpoint_name},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]

    def member(metric_id: str, metric_name: str) -> dict[str, Any]:
        return {
            "Id": metric_id,
            "MetricStat": {
                "Metric": {"Namespace": ASYNC, "MetricName": metric_name, "Dimensions": dimensions},
                "Period": 900,
                "Stat": "Sum",
            },
            "ReturnData": False,
        }

    alarm_id, _ = one(
        built.template,
        "AWS::CloudWatch::Alarm",
        {
            "Properties": {
                "Metrics": [
                    Match.object_like(
                        {
                            "Expression": "FILL(downloads, 0) + FILL(uploads, 0)",
                            "ReturnData": True,
                        }
                    ),
                    member("downloads", "RequestDownloadFailures"),
                    member("uploads", "ResponseUploadFailures"),
                ],
                "Threshold": 4,
                "ComparisonOperator": GTE,
                "EvaluationPeriods": 2,
                "DatapointsToAlarm": 2,
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": ops_topic_id}],
                "OKActions": [{"Ref": ops_topic_id}],
            }
        },
    )
    assert built.resolve(built.monitoring.s3_failures_alarm.alarm_arn) == {
        "Fn::GetAtt": [alarm_id, "Arn"]
    }


def test_alarms_attribute_lists_the_five_alarms(built: Built) -> None:
    m = built.monitoring
    assert m.alarms == (
        m.invocation_failures_alarm,
        m.stuck_queue_alarm,
        m.wake_up_failure_alarm,
        m.notification_failures_alarm,
        m.s3_failures_alarm,
    )


# --- the operations topic -----------------------------------------------------------------------


def test_ops_topic_is_encrypted_with_its_own_rotated_customer_key(
    built: Built, ops_topic_id: str
) -> None:
    _, topic = one(
        built.template, "AWS::SNS::Topic", {"Properties": {"DisplayName": OPS_TOPIC_NAME}}
    )
    key_id, attribute = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"]
    assert attribute == "Arn"
    key = built.template.find_resources("AWS::KMS::Key")[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"  # the default removal policy
    assert built.resolve(built.monitoring.ops_topic.topic.topic_arn) == {"Ref": ops_topic_id}


def test_ops_topic_refuses_publishing_without_tls(built: Built, ops_topic_id: str) -> None:
    built.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": ops_topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "sns:Publish",
                                "Resource": {"Ref": ops_topic_id},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


ALARMS_OF_THIS_ACCOUNT = {
    "ArnLike": {
        "aws:SourceArn": {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":cloudwatch:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    ":alarm:*",
                ],
            ]
        }
    },
    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
}


def test_cloudwatch_may_publish_to_the_topic_and_use_its_key(
    built: Built, ops_topic_id: str
) -> None:
    _, topic = one(
        built.template, "AWS::SNS::Topic", {"Properties": {"DisplayName": OPS_TOPIC_NAME}}
    )
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = built.template.find_resources("AWS::KMS::Key")[key_id]
    cloudwatch = {"Service": "cloudwatch.amazonaws.com"}
    statements = [
        statement
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
        if statement["Effect"] == "Allow" and statement["Principal"] == cloudwatch
    ]
    granted = [
        action for statement in statements for action in typing.cast(list[str], statement["Action"])
    ]
    # Confused deputy: only this account's alarms may use the key through CloudWatch.
    for statement in statements:
        assert statement["Condition"] == ALARMS_OF_THIS_ACCOUNT, statement
    # SNS calls GenerateDataKey and Decrypt on the publisher's behalf.
    for needed in ("kms:Decrypt", "kms:GenerateDataKey"):
        assert any(fnmatch.fnmatchcase(needed, action) for action in granted), (needed, granted)

    built.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": ops_topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": cloudwatch,
                                "Action": "sns:Publish",
                                "Resource": {"Ref": ops_topic_id},
                                "Condition": ALARMS_OF_THIS_ACCOUNT,
                            }
                        )
                    ]
                )
            },
        },
    )


def test_alarm_emails_subscribe_to_the_ops_topic(built: Built, ops_topic_id: str) -> None:
    subscribed = built.template.find_resources(
        "AWS::SNS::Subscription", {"Properties": {"TopicArn": {"Ref": ops_topic_id}}}
    )
    assert sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"]) for s in subscribed.values()
    ) == [("email", email) for email in sorted(EMAILS)]


def test_template_passes_cfn_lint_without_errors_or_warnings(built: Built) -> None:
    matches = lint(json.dumps(built.template.to_json()), config=ManualArgs(regions=["us-east-1"]))
    findings = [f"{m.rule.id}: {m.message}" for m in matches if m.rule.id[0] in "EW"]
    assert findings == []


# --- settings -----------------------------------------------------------------------------------

DOCUMENTED_DEFAULTS = {
    "alarm_emails": (),
    "invocation_failures_threshold": 1,
    "invocation_failures_period_seconds": 300,
    "invocation_failures_evaluation_periods": 1,
    "invocation_failures_datapoints_to_alarm": 1,
    "stuck_queue_age_seconds": 1800,
    "stuck_queue_period_seconds": 60,
    "stuck_queue_evaluation_periods": 5,
    "stuck_queue_datapoints_to_alarm": 5,
    "wake_up_failure_period_seconds": 60,
    "wake_up_failure_evaluation_periods": 15,
    "wake_up_failure_datapoints_to_alarm": 15,
    "notification_failures_threshold": 1,
    "notification_failures_period_seconds": 300,
    "notification_failures_evaluation_periods": 1,
    "notification_failures_datapoints_to_alarm": 1,
    "s3_failures_threshold": 1,
    "s3_failures_period_seconds": 300,
    "s3_failures_evaluation_periods": 1,
    "s3_failures_datapoints_to_alarm": 1,
}


def test_defaults_are_the_documented_ones_and_valid() -> None:
    defaults = MonitoringSettings()
    assert dataclasses.asdict(defaults) == DOCUMENTED_DEFAULTS
    assert defaults.problems() == []


def test_settings_are_frozen_keyword_only_and_of_config_friendly_types() -> None:
    with pytest.raises(TypeError):
        MonitoringSettings(("a@example.com",))  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        MonitoringSettings().stuck_queue_age_seconds = 60  # type: ignore[misc]
    simple = {int, float, bool, str, tuple[str, ...]}
    hints = typing.get_type_hints(MonitoringSettings)
    assert {name: hints[name] for name in hints if hints[name] not in simple} == {}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"alarm_emails": ("ops@example.com", "not-an-address")},
            "alarm_emails: 'not-an-address' is not an e-mail address",
        ),
        (
            {"alarm_emails": "ops@example.com"},
            "alarm_emails: must be a list of e-mail addresses (got 'ops@example.com')",
        ),
        (
            {"alarm_emails": ("ops@example.com", "ops@example.com")},
            "alarm_emails: 'ops@example.com' is listed more than once",
        ),
        (
            {"invocation_failures_threshold": 0},
            "invocation_failures_threshold: must be at least 1 (got 0)",
        ),
        (
            {"notification_failures_threshold": 1.5},
            "notification_failures_threshold: must be a whole number (got 1.5)",
        ),
        (
            {"s3_failures_threshold": True},
            "s3_failures_threshold: must be a whole number (got True)",
        ),
        ({"stuck_queue_age_seconds": 59}, "stuck_queue_age_seconds: must be at least 60 (got 59)"),
        (
            {"stuck_queue_age_seconds": 21600},
            "stuck_queue_age_seconds: must be less than the default request TTL of 21600 s, "
            "when queued requests expire (got 21600)",
        ),
        (
            {"invocation_failures_period_seconds": 30},
            "invocation_failures_period_seconds: must be at least 60 (got 30)",
        ),
        (
            {"stuck_queue_period_seconds": 90},
            "stuck_queue_period_seconds: must be a multiple of 60, SageMaker publishes "
            "one-minute metrics (got 90)",
        ),
        (
            {"s3_failures_period_seconds": "300"},
            "s3_failures_period_seconds: must be a whole number (got '300')",
        ),
        (
            {"notification_failures_evaluation_periods": 0},
            "notification_failures_evaluation_periods: must be at least 1 (got 0)",
        ),
        (
            {"invocation_failures_datapoints_to_alarm": 0},
            "invocation_failures_datapoints_to_alarm: must be at least 1 (got 0)",
        ),
        (
            {"s3_failures_evaluation_periods": 2, "s3_failures_datapoints_to_alarm": 3},
            "s3_failures_datapoints_to_alarm: must be at most s3_failures_evaluation_periods (2) "
            "(got 3)",
        ),
        (
            {"invocation_failures_evaluation_periods": 289},
            "invocation_failures_evaluation_periods: 289 periods of 300 s span 86700 s, more "
            "than the 86400 s CloudWatch allows (got 289)",
        ),
        (
            {
                "notification_failures_period_seconds": 3600,
                "notification_failures_evaluation_periods": 169,
            },
            "notification_failures_evaluation_periods: 169 periods of 3600 s span 608400 s, "
            "more than the 604800 s CloudWatch allows (got 169)",
        ),
        (
            {"wake_up_failure_evaluation_periods": 9, "wake_up_failure_datapoints_to_alarm": 9},
            "wake_up_failure_datapoints_to_alarm: 9 periods of 60 s is shorter than a cold "
            "start (600 s), so the alarm would fire on every scale-from-zero (got 9)",
        ),
    ],
)
def test_each_bad_setting_is_reported_with_its_value(changes: dict[str, Any], message: str) -> None:
    assert MonitoringSettings(**changes).problems() == [message]


def test_windows_of_an_hour_or_more_may_span_seven_days() -> None:
    settings = MonitoringSettings(
        notification_failures_period_seconds=3600, notification_failures_evaluation_periods=168
    )
    assert settings.problems() == []


def test_every_problem_is_reported_at_once_by_the_construct(built: Built) -> None:
    bad = MonitoringSettings(
        alarm_emails=("nobody",),
        invocation_failures_threshold=0,
        stuck_queue_period_seconds=45,
        wake_up_failure_datapoints_to_alarm=16,
    )
    # A fresh app: the construct must raise before it adds anything, whatever the scope.
    scope = cdk.Stack(cdk.App(), "Bad")
    with pytest.raises(ConfigurationError) as raised:
        AsyncEndpointMonitoring(
            scope,
            "Monitoring",
            endpoint=built.endpoint,
            settings=bad,
            dashboard_name="has spaces",
        )
    assert raised.value.subject == "AsyncEndpointMonitoring"
    assert raised.value.problems == (
        "alarm_emails: 'nobody' is not an e-mail address",
        "invocation_failures_threshold: must be at least 1 (got 0)",
        "stuck_queue_period_seconds: must be at least 60 (got 45)",
        "wake_up_failure_datapoints_to_alarm: must be at most "
        "wake_up_failure_evaluation_periods (15) (got 16)",
        "dashboard_name: must be 1 to 255 letters, digits, '-' or '_' (got 'has spaces')",
    )

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
from constructs_lib.endpoint.construct import AsyncEndpoint
from constructs_lib.monitoring.alarms import AsyncEndpointAlarms
from constructs_lib.monitoring.construct import AsyncEndpointMonitoring
from constructs_lib.monitoring.dashboard import AsyncEndpointDashboard
from constructs_lib.monitoring.settings import AlarmThreshold, MonitoringSettings
from tests.conftest import construct_app, endpoint_in

ASYNC = "AWS/SageMaker"
INSTANCE = "/aws/sagemaker/Endpoints"
OPS_TOPIC_NAME = "Summarization endpoint alarms"
EMAILS = ("oncall@example.com", "team@example.org")

SETTINGS = MonitoringSettings(
    alarm_emails=EMAILS,
    invocation_failures=AlarmThreshold(
        threshold=3, period_seconds=600, evaluation_periods=2, datapoints_to_alarm=2
    ),
    stuck_queue=AlarmThreshold(
        threshold=2400, period_seconds=120, evaluation_periods=4, datapoints_to_alarm=3
    ),
    wake_up_failure=AlarmThreshold(
        threshold=1, period_seconds=60, evaluation_periods=20, datapoints_to_alarm=18
    ),
    notification_failures=AlarmThreshold(
        threshold=2, period_seconds=180, evaluation_periods=3, datapoints_to_alarm=1
    ),
    s3_failures=AlarmThreshold(
        threshold=4, period_seconds=900, evaluation_periods=2, datapoints_to_alarm=2
    ),
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
    assert SETTINGS.stuck_queue is not None
    assert [a["value"] for a in annotations] == [SETTINGS.stuck_queue.threshold]


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
    assert built.monitoring.ops_topic is not None
    assert built.resolve(built.monitoring.ops_topic.topic.topic_arn) == {"Ref": ops_topic_id}
    assert built.resolve(built.monitoring.topic.topic_arn) == {"Ref": ops_topic_id}


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


# --- the pieces on their own ---------------------------------------------------------------------

# Two alarms off, a topic the team already has: only three alarms, no topic or key of ours.
PIECES_SETTINGS = MonitoringSettings(stuck_queue=None, wake_up_failure=None)
EXISTING = "research-summarizer"


@dataclass(frozen=True)
class Pieces:
    stack: cdk.Stack
    alarms: AsyncEndpointAlarms
    dashboard: AsyncEndpointDashboard
    template: Template


@pytest.fixture(scope="module")
def pieces() -> Pieces:
    from aws_cdk import aws_sns as sns

    stack = cdk.Stack(construct_app(), "Pieces")
    endpoint = AsyncEndpoint.from_endpoint_name(stack, "Existing", EXISTING)
    team_topic = sns.Topic.from_topic_arn(
        stack, "TeamTopic", "arn:aws:sns:eu-west-1:123456789012:team-pager"
    )
    alarms = AsyncEndpointAlarms(
        stack, "Alarms", endpoint=endpoint, settings=PIECES_SETTINGS, topic=team_topic
    )
    dashboard = AsyncEndpointDashboard(stack, "Dashboard", endpoint=endpoint)
    return Pieces(stack, alarms, dashboard, Template.from_stack(stack))


def test_alarms_alone_page_the_given_topic_and_make_no_topic_or_key(pieces: Pieces) -> None:
    pieces.template.resource_count_is("AWS::SNS::Topic", 0)
    pieces.template.resource_count_is("AWS::KMS::Key", 0)
    pieces.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)  # only the dashboard piece
    team = "arn:aws:sns:eu-west-1:123456789012:team-pager"
    alarms = pieces.template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 3
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [team]
        assert alarm["Properties"]["OKActions"] == [team]
    assert pieces.alarms.ops_topic is None
    assert pieces.stack.resolve(pieces.alarms.topic.topic_arn) == team


def test_an_alarm_set_to_none_is_not_made(pieces: Pieces) -> None:
    a = pieces.alarms
    assert a.stuck_queue_alarm is None
    assert a.wake_up_failure_alarm is None
    assert a.alarms == (
        a.invocation_failures_alarm,
        a.notification_failures_alarm,
        a.s3_failures_alarm,
    )
    names = {
        alarm["Properties"].get("MetricName")
        for alarm in pieces.template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    assert names == {"InvocationFailures", "NotificationFailures", None}  # None: the S3 math
    assert not names & {"ApproximateAgeOfOldestRequest", "HasBacklogWithoutCapacity"}


def test_alarms_alone_use_each_threshold_object(pieces: Pieces) -> None:
    pieces.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "InvocationFailures",
            "Dimensions": Match.array_with([{"Name": "EndpointName", "Value": EXISTING}]),
            "Threshold": 1,
            "Period": 300,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
        },
    )


def test_dashboard_alone_has_links_but_no_alarm_widget_or_threshold_line(pieces: Pieces) -> None:
    _, resource = one(pieces.template, "AWS::CloudWatch::Dashboard")
    separator, parts = resource["Properties"]["DashboardBody"]["Fn::Join"]
    body = json.loads(separator.join(p if isinstance(p, str) else "TOKEN" for p in parts))
    widgets = body["widgets"]
    assert not [w for w in widgets if w["type"] == "alarm"]
    assert not [w for w in widgets if "annotations" in w["properties"]]
    titles = [
        w["properties"]["markdown"].split("\n")[0]
        for w in sorted(widgets, key=lambda w: w["y"])
        if w["type"] == "text" and w["properties"]["markdown"].startswith("## ")
    ]
    assert titles == [
        "## Endpoint",
        "## Queue",
        "## Throughput and latency",
        "## Errors",
        "## Instances",
    ]
    (links,) = [w for w in widgets if "Container logs" in w["properties"].get("markdown", "")]
    assert links["width"] == 24
    assert f"/aws/sagemaker/Endpoints/{EXISTING}" in links["properties"]["markdown"]


def test_dashboard_add_section_adds_a_header_status_and_widgets() -> None:
    from aws_cdk import aws_cloudwatch as cloudwatch

    stack = cdk.Stack(construct_app(), "Section")
    endpoint = AsyncEndpoint.from_endpoint_name(stack, "Existing", EXISTING)
    piece = AsyncEndpointDashboard(stack, "Dashboard", endpoint=endpoint)
    alarm = cloudwatch.Alarm(
        stack,
        "Other",
        metric=endpoint.metric("ExpiredRequests"),
        threshold=1,
        evaluation_periods=1,
    )
    piece.add_section("Other", "Another part.", [cloudwatch.TextWidget(markdown="x")], [alarm])
    body = json.dumps(Template.from_stack(stack).to_json())
    assert "## Other\\\\nAnother part." in body
    assert '\\"title\\":\\"Other: alarm status\\"' in body


def test_facade_keeps_the_ids_its_resources_had_before_the_split(built: Built) -> None:
    """The topic key is retained: a new logical id would orphan it and make another."""
    from aws_cdk import aws_cloudwatch as cloudwatch
    from constructs import Construct

    from constructs_lib.endpoint.notifications import EncryptedTopic

    # The shape before the split: the resources directly under the "Monitoring" construct.
    reference = cdk.Stack(construct_app(), "Reference")
    old = Construct(reference, "Monitoring")
    old_topic = EncryptedTopic(old, "AlarmTopic", display_name="x")
    old_dashboard = cloudwatch.Dashboard(old, "Dashboard")

    def logical_id(stack: cdk.Stack, construct: Construct) -> str:
        return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))  # type: ignore[arg-type]

    m = built.monitoring
    assert m.ops_topic is not None
    assert logical_id(built.stack, m.ops_topic.key) == logical_id(reference, old_topic.key)
    assert logical_id(built.stack, m.ops_topic.topic) == logical_id(reference, old_topic.topic)
    assert logical_id(built.stack, m.dashboard) == logical_id(reference, old_dashboard)
    for attribute in SINGLE_METRIC_ALARMS:
        alarm = getattr(m, attribute)
        assert logical_id(built.stack, alarm).startswith("Monitoring" + alarm.node.id), attribute


def test_facade_without_the_stuck_queue_alarm_draws_no_threshold_line() -> None:
    stack = cdk.Stack(construct_app(), "NoStuckQueue")
    endpoint = AsyncEndpoint.from_endpoint_name(stack, "Existing", EXISTING)
    monitoring = AsyncEndpointMonitoring(
        stack, "Monitoring", endpoint=endpoint, settings=MonitoringSettings(stuck_queue=None)
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudWatch::Alarm", 4)
    assert monitoring.stuck_queue_alarm is None
    assert len(monitoring.alarms) == 4
    assert '"annotations"' not in json.dumps(template.to_json())


def test_given_topic_with_alarm_emails_is_refused(built: Built) -> None:
    from aws_cdk import aws_sns as sns

    scope = cdk.Stack(cdk.App(), "Refused")
    topic = sns.Topic.from_topic_arn(scope, "T", "arn:aws:sns:eu-west-1:123456789012:pager")
    for construct in (AsyncEndpointAlarms, AsyncEndpointMonitoring):
        with pytest.raises(ConfigurationError) as raised:
            construct(
                scope,
                construct.__name__,
                endpoint=built.endpoint,
                settings=MonitoringSettings(alarm_emails=("ops@example.com",)),
                topic=topic,
            )
        assert raised.value.subject == construct.__name__
        assert raised.value.problems == (
            "alarm_emails: only subscribes to the topic the alarms make; subscribe the "
            "addresses to the given topic yourself (got ['ops@example.com'])",
        )


def test_dashboard_alone_refuses_a_bad_name(built: Built) -> None:
    scope = cdk.Stack(cdk.App(), "BadName")
    with pytest.raises(ConfigurationError) as raised:
        AsyncEndpointDashboard(scope, "D", endpoint=built.endpoint, dashboard_name="x" * 256)
    assert raised.value.subject == "AsyncEndpointDashboard"
    assert raised.value.problems == (
        f"dashboard_name: must be 1 to 255 letters, digits, '-' or '_' (got {'x' * 256!r})",
    )
    assert scope.node.children == []


# --- settings -----------------------------------------------------------------------------------


def window(threshold: int, period: int, periods: int, datapoints: int) -> dict[str, int]:
    return {
        "threshold": threshold,
        "period_seconds": period,
        "evaluation_periods": periods,
        "datapoints_to_alarm": datapoints,
    }


DOCUMENTED_DEFAULTS = {
    "alarm_emails": (),
    "invocation_failures": window(1, 300, 1, 1),
    "stuck_queue": window(1800, 60, 5, 5),
    "wake_up_failure": window(1, 60, 15, 15),
    "notification_failures": window(1, 300, 1, 1),
    "s3_failures": window(1, 300, 1, 1),
}


def test_defaults_are_the_documented_ones_and_valid() -> None:
    defaults = MonitoringSettings()
    assert dataclasses.asdict(defaults) == DOCUMENTED_DEFAULTS
    assert defaults.problems() == []


def test_every_alarm_may_be_turned_off() -> None:
    off = MonitoringSettings(**dict.fromkeys(DOCUMENTED_DEFAULTS.keys() - {"alarm_emails"}))
    assert off.problems() == []


def test_settings_are_frozen_keyword_only_and_of_config_friendly_types() -> None:
    with pytest.raises(TypeError):
        MonitoringSettings(("a@example.com",))  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        AlarmThreshold(1, 60, 1, 1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        AlarmThreshold(threshold=1)  # type: ignore[call-arg]  # every field is required
    with pytest.raises(dataclasses.FrozenInstanceError):
        MonitoringSettings().stuck_queue = None  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        window_of = MonitoringSettings().stuck_queue
        assert window_of is not None
        window_of.threshold = 60  # type: ignore[misc]
    hints = typing.get_type_hints(MonitoringSettings)
    assert hints == {
        "alarm_emails": tuple[str, ...],
        **dict.fromkeys(DOCUMENTED_DEFAULTS.keys() - {"alarm_emails"}, AlarmThreshold | None),
    }
    assert set(typing.get_type_hints(AlarmThreshold).values()) == {int}


def replaced(name: str, **changes: Any) -> MonitoringSettings:
    """The default settings with ``changes`` to the threshold object of alarm ``name``."""
    default = getattr(MonitoringSettings(), name)
    return dataclasses.replace(
        MonitoringSettings(), **{name: dataclasses.replace(default, **changes)}
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            MonitoringSettings(alarm_emails=("ops@example.com", "not-an-address")),
            "alarm_emails: 'not-an-address' is not an e-mail address",
        ),
        (
            MonitoringSettings(alarm_emails="ops@example.com"),  # type: ignore[arg-type]
            "alarm_emails: must be a list of e-mail addresses (got 'ops@example.com')",
        ),
        (
            MonitoringSettings(alarm_emails=("ops@example.com", "ops@example.com")),
            "alarm_emails: 'ops@example.com' is listed more than once",
        ),
        (
            MonitoringSettings(stuck_queue=1800),  # type: ignore[arg-type]
            "stuck_queue: must be an AlarmThreshold or None (got 1800)",
        ),
        (
            replaced("invocation_failures", threshold=0),
            "invocation_failures.threshold: must be at least 1 (got 0)",
        ),
        (
            replaced("notification_failures", threshold=1.5),
            "notification_failures.threshold: must be a whole number (got 1.5)",
        ),
        (
            replaced("s3_failures", threshold=True),
            "s3_failures.threshold: must be a whole number (got True)",
        ),
        (
            replaced("stuck_queue", threshold=59),
            "stuck_queue.threshold: must be at least 60 (got 59)",
        ),
        (
            replaced("stuck_queue", threshold=21600),
            "stuck_queue.threshold: must be less than the default request TTL of 21600 s, "
            "when queued requests expire (got 21600)",
        ),
        (
            replaced("wake_up_failure", threshold=2),
            "wake_up_failure.threshold: must be 1, HasBacklogWithoutCapacity is 0 or 1 (got 2)",
        ),
        (
            replaced("invocation_failures", period_seconds=30),
            "invocation_failures.period_seconds: must be at least 60 (got 30)",
        ),
        (
            replaced("stuck_queue", period_seconds=90),
            "stuck_queue.period_seconds: must be a multiple of 60, SageMaker publishes "
            "one-minute metrics (got 90)",
        ),
        (
            replaced("s3_failures", period_seconds="300"),
            "s3_failures.period_seconds: must be a whole number (got '300')",
        ),
        (
            replaced("notification_failures", evaluation_periods=0),
            "notification_failures.evaluation_periods: must be at least 1 (got 0)",
        ),
        (
            replaced("invocation_failures", datapoints_to_alarm=0),
            "invocation_failures.datapoints_to_alarm: must be at least 1 (got 0)",
        ),
        (
            replaced("s3_failures", evaluation_periods=2, datapoints_to_alarm=3),
            "s3_failures.datapoints_to_alarm: must be at most s3_failures.evaluation_periods (2) "
            "(got 3)",
        ),
        (
            replaced("invocation_failures", evaluation_periods=289),
            "invocation_failures.evaluation_periods: 289 periods of 300 s span 86700 s, more "
            "than the 86400 s CloudWatch allows (got 289)",
        ),
        (
            replaced("notification_failures", period_seconds=3600, evaluation_periods=169),
            "notification_failures.evaluation_periods: 169 periods of 3600 s span 608400 s, "
            "more than the 604800 s CloudWatch allows (got 169)",
        ),
        (
            replaced("wake_up_failure", evaluation_periods=9, datapoints_to_alarm=9),
            "wake_up_failure.datapoints_to_alarm: 9 periods of 60 s is shorter than a cold "
            "start (600 s), so the alarm would fire on every scale-from-zero (got 9)",
        ),
    ],
)
def test_each_bad_setting_is_reported_with_its_value(
    settings: MonitoringSettings, message: str
) -> None:
    assert settings.problems() == [message]


def test_windows_of_an_hour_or_more_may_span_seven_days() -> None:
    settings = replaced("notification_failures", period_seconds=3600, evaluation_periods=168)
    assert settings.problems() == []


def test_every_problem_is_reported_at_once_by_the_construct(built: Built) -> None:
    bad = MonitoringSettings(
        alarm_emails=("nobody",),
        invocation_failures=AlarmThreshold(
            threshold=0, period_seconds=300, evaluation_periods=1, datapoints_to_alarm=1
        ),
        stuck_queue=AlarmThreshold(
            threshold=1800, period_seconds=45, evaluation_periods=5, datapoints_to_alarm=5
        ),
        wake_up_failure=AlarmThreshold(
            threshold=1, period_seconds=60, evaluation_periods=15, datapoints_to_alarm=16
        ),
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
        "invocation_failures.threshold: must be at least 1 (got 0)",
        "stuck_queue.period_seconds: must be at least 60 (got 45)",
        "wake_up_failure.datapoints_to_alarm: must be at most "
        "wake_up_failure.evaluation_periods (15) (got 16)",
        "dashboard_name: must be 1 to 255 letters, digits, '-' or '_' (got 'has spaces')",
    )
    assert scope.node.children == []


# --- the monitoring section of cdk.json ---------------------------------------------------------


def load_monitoring(section: Any, **cli: str) -> MonitoringSettings:
    from stacks.config import load_configs

    context: dict[str, Any] = {
        "summarizer": {"environments": {"dev": {"monitoring": section}}},
        **{f"summarizer.monitoring.{key}": value for key, value in cli.items()},
    }
    (config,) = load_configs(context)
    return config.monitoring


def monitoring_problems(section: Any) -> tuple[str, ...]:
    with pytest.raises(ConfigurationError) as raised:
        load_monitoring(section)
    return raised.value.problems


def test_a_partial_alarm_object_merges_key_by_key_into_its_defaults() -> None:
    loaded = load_monitoring({"stuck_queue": {"threshold": 900}, "alarm_emails": ["a@example.com"]})
    assert loaded == dataclasses.replace(
        MonitoringSettings(),
        alarm_emails=("a@example.com",),
        stuck_queue=AlarmThreshold(
            threshold=900, period_seconds=60, evaluation_periods=5, datapoints_to_alarm=5
        ),
    )


def test_null_turns_an_alarm_off_in_cdk_json_and_on_the_command_line() -> None:
    assert load_monitoring({"s3_failures": None}) == MonitoringSettings(s3_failures=None)
    from_cli = load_monitoring({}, wake_up_failure="null", **{"stuck_queue.period_seconds": "120"})
    assert from_cli.wake_up_failure is None
    assert from_cli.stuck_queue == AlarmThreshold(
        threshold=1800, period_seconds=120, evaluation_periods=5, datapoints_to_alarm=5
    )


KNOWN = (
    "alarm_emails, invocation_failures, notification_failures, s3_failures, stuck_queue, "
    "wake_up_failure"
)


@pytest.mark.parametrize(
    ("old_key", "new_key"),
    [
        ("stuck_queue_age_seconds", "stuck_queue.threshold"),
        ("invocation_failures_threshold", "invocation_failures.threshold"),
        ("wake_up_failure_period_seconds", "wake_up_failure.period_seconds"),
        ("notification_failures_evaluation_periods", "notification_failures.evaluation_periods"),
        ("s3_failures_datapoints_to_alarm", "s3_failures.datapoints_to_alarm"),
    ],
)
def test_an_old_flat_key_says_where_it_went(old_key: str, new_key: str) -> None:
    assert monitoring_problems({old_key: 2}) == (
        f"[dev] monitoring.{old_key}: unknown key (known: {KNOWN}) (monitoring settings are now "
        f"one object per alarm: use {new_key})",
    )


def test_bad_alarm_objects_name_the_alarm_and_key() -> None:
    assert monitoring_problems(
        {
            "invocation_failures": 3,
            "stuck_queue": {"treshold": 900},
            "s3_failures": {"threshold": 0},
            "wake_up_failure": {"period_seconds": "60"},
            "nobody_knows": 1,
        }
    ) == (
        f"[dev] monitoring.nobody_knows: unknown key (known: {KNOWN})",
        "[dev] monitoring.invocation_failures: must be an object (got 3)",
        "[dev] monitoring.stuck_queue.treshold: unknown key (known: datapoints_to_alarm, "
        "evaluation_periods, period_seconds, threshold)",
        "[dev] monitoring.wake_up_failure.period_seconds: must be int (got '60')",
    )
    assert monitoring_problems({"s3_failures": {"threshold": 0}}) == (
        "[dev] monitoring.s3_failures.threshold: must be at least 1 (got 0)",
    )

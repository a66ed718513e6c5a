"""The asynchronous PEGASUS summarization service: one stack class for every environment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_cdk import Annotations, CfnOutput, Stack
from constructs import Construct

from constructs_lib.endpoint.construct import AsyncEndpoint
from constructs_lib.endpoint.notifications import AsyncNotifications
from constructs_lib.endpoint.storage import AsyncInferenceStorage
from constructs_lib.guardrails.aspects import apply_guardrail_settings
from constructs_lib.model.construct import HuggingFaceModel
from constructs_lib.model.source import ModelSource
from constructs_lib.monitoring.construct import AsyncEndpointMonitoring
from constructs_lib.scaling.construct import AsyncEndpointScaling

from .config import AppConfig
from .hosting_resources import build_hosting, model_instance_type

if TYPE_CHECKING:
    from constructs_lib.data_path.construct import DataPath

MODEL_CODE_DIR = Path(__file__).resolve().parent.parent / "model_code"


class SummarizationStack(Stack):
    """Storage, topics, the PEGASUS model, its async endpoint, scaling and monitoring.

    With ``config.data_path.enabled`` also the data path (uploads under ``inputs/`` grouped into
    requests, outcomes recorded as jobs and curated summaries) with its dashboard row, alarms
    and the outputs the ``summarizer`` client reads; without it the stack is the endpoint alone.

    Differences between environments arrive as ``config``; ``kwargs`` (env, tags, ...) go to
    ``Stack``.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: AppConfig, **kwargs: Any
    ) -> None:
        kwargs.setdefault("termination_protection", config.termination_protection)
        kwargs.setdefault(
            "description",
            f"Asynchronous PEGASUS summarization on SageMaker ({config.name})",
        )
        super().__init__(scope, construct_id, **kwargs)
        apply_guardrail_settings(self, config.guardrails)
        removal_policy = config.cdk_removal_policy
        for warning in config.warnings():
            # One id per kind of warning, so each can be acknowledged on its own.
            if warning.startswith("data_path:"):
                kind = "powertools-layer"
            elif warning.startswith(("scaling.", "deployment:")):
                kind = "settings-of-another-hosting"
            else:
                kind = "production-model-source"
            Annotations.of(self).add_warning_v2(f"summarizer:{kind}", warning)

        self.storage = AsyncInferenceStorage(
            self,
            "Storage",
            input_retention_days=config.input_retention_days,
            result_retention_days=config.result_retention_days,
            removal_policy=removal_policy,
        )
        self.notifications = AsyncNotifications(
            self,
            "Notifications",
            emails=config.notification_emails,
            removal_policy=removal_policy,
        )
        self.model = HuggingFaceModel(
            self,
            "Model",
            source=(
                ModelSource.from_s3(
                    config.model_data_uri,
                    key_arn=config.model_data_key_arn,
                    compression=config.model_data_compression,
                )
                if config.model_data_uri
                else ModelSource.from_hub(
                    config.model_id, revision=config.model_revision, code_dir=MODEL_CODE_DIR
                )
            ),
            instance_type=model_instance_type(config),
            dlc_version=config.dlc,
            # The model server gives up on a request when SageMaker would (the data path's
            # InvocationTimeoutSeconds); model_environment may still override it on purpose.
            environment={
                "MMS_DEFAULT_RESPONSE_TIMEOUT_SECONDS": str(
                    config.data_path.invocation_timeout_seconds
                ),
                **config.model_environment,
            },
            enable_network_isolation=config.network_isolation,
        )
        if config.hosting != "async":
            # Real-time, serverless or batch: stacks/hosting_resources.py builds the rest (and
            # its outputs).
            self.hosting = build_hosting(self, config, self.storage, self.notifications, self.model)
            if config.data_capture.enabled and self.hosting.endpoint is not None:
                # Imported here: only a capturing stack loads it.
                from constructs_lib.hosting.data_capture import EndpointDataCapture

                capture = EndpointDataCapture(
                    self,
                    "DataCapture",
                    endpoint=self.hosting.endpoint,
                    storage=self.storage,
                    settings=config.data_capture,
                )
                CfnOutput(
                    self,
                    "CaptureLocation",
                    value=capture.destination_uri,
                    description="Sampled requests and responses (customer content)",
                )
            return
        self.endpoint = AsyncEndpoint(
            self,
            "Endpoint",
            model=self.model,
            storage=self.storage,
            notifications=self.notifications,
            instance_type=config.instance_type,
            initial_instance_count=config.initial_instance_count,
            max_concurrent_invocations_per_instance=config.max_concurrent_invocations_per_instance,
            include_response_in_notifications=config.include_response_in_notifications,
            container_startup_timeout_seconds=config.container_startup_timeout_seconds,
            model_data_download_timeout_seconds=config.model_data_download_timeout_seconds,
            deployment=config.deployment,
        )
        self.scaling = AsyncEndpointScaling(
            self, "Scaling", endpoint=self.endpoint, settings=config.scaling
        )
        self.monitoring = AsyncEndpointMonitoring(
            self,
            "Monitoring",
            endpoint=self.endpoint,
            settings=config.monitoring,
            removal_policy=removal_policy,
        )

        self.data_path: DataPath | None = None
        if config.data_path.enabled:
            # Imported here: a stack without the data path does not load its CDK modules.
            from constructs_lib.data_path.construct import DataPath

            self.data_path = DataPath(
                self,
                "DataPath",
                endpoint=self.endpoint,
                settings=config.data_path,
                model_id=config.model_id,
                model_revision=config.model_revision,
                removal_policy=removal_policy,
                request_retention_days=config.input_retention_days,
            )
            deployment = config.deployment
            if deployment is not None and deployment.rollback_on_data_path_errors:
                # The recorder reads what the new model writes; the dispatcher's alarms would
                # read the endpoint's name (a cycle), and its calls work during an update.
                self.endpoint.add_rollback_alarms([self.data_path.alarms.errors_alarms["Recorder"]])
            self.monitoring.add_section(
                "Data path",
                "Uploads under inputs/ queue for the dispatcher; outcomes queue for the recorder. "
                "Anything in a DLQ failed repeatedly; it is kept "
                f"{self.data_path.dead_letter_retention_days} days (a day less than the "
                "documents it names): redrive it before then.",
                self.data_path.alarms.widgets(),
                self.data_path.alarms.alarms,
            )

        outputs = {
            "EndpointName": (self.endpoint.endpoint_name, "Pass to InvokeEndpointAsync"),
            "InputLocation": (self.storage.input_uri, "Upload articles under this prefix"),
            "OutputLocation": (self.storage.output_uri, "Summaries are written here"),
            "FailureLocation": (self.storage.failure_uri, "Errors are written here"),
            "SuccessTopicArn": (self.notifications.success_topic_arn, "Success events"),
            "ErrorTopicArn": (self.notifications.error_topic_arn, "Error events"),
        }
        if self.storage.access_logs_bucket is not None:  # None only for a bucket not ours
            outputs["AccessLogsBucketName"] = (
                self.storage.access_logs_bucket.bucket_name,
                "Access logs; kept when the stack is deleted, each log expires on its own",
            )
        if self.data_path is not None:
            path = self.data_path
            catalog = path.catalog
            outputs |= {
                "DataBucketName": (self.storage.bucket_name, "The data bucket"),
                "InputPrefix": (self.storage.input_prefix, "Uploads here are summarized"),
                "RequestPrefix": (path.request_prefix, "The dispatcher's request bodies"),
                "DirectRequestPrefix": (
                    path.direct_request_prefix,
                    "Where direct InvokeEndpointAsync callers put request bodies",
                ),
                "JobsTableName": (path.jobs.table_name, "One item per summarization job"),
                "DispatchQueueUrl": (path.dispatch.queue_url, "Re-dispatch messages"),
                "AthenaWorkGroup": (catalog.workgroup_name, "Athena workgroup for the dataset"),
                "GlueDatabase": (catalog.database_name, "Glue database of the dataset"),
                "GlueTable": (catalog.table_name, "Glue table of the curated summaries"),
            }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)

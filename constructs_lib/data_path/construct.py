"""The data path: uploads under inputs/ become grouped requests, outcomes become job records."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from constructs_lib import _values as cdk_values
from constructs_lib._validation import check_int, raise_if_problems
from constructs_lib.data_path import access
from constructs_lib.data_path.catalog import DEFAULT_BYTES_SCANNED_CUTOFF, SummariesCatalog
from constructs_lib.data_path.delivery import (
    allow_log_encryption,
    grant_send,
    subscribe_bucket,
    subscribe_topics,
)
from constructs_lib.data_path.functions import DataPathFunction, architecture_name, powertools_layer
from constructs_lib.data_path.jobs_table import JobsTable
from constructs_lib.data_path.layout import (
    ATHENA_RESULTS_PREFIX,
    CURATED_PREFIX,
    DATASET_PREFIX,
    DIRECT_REQUEST_PREFIX,
    REQUEST_PREFIX,
)
from constructs_lib.data_path.operations import DataPathAlarms
from constructs_lib.data_path.queues import (
    DEFAULT_RETENTION_DAYS,
    MAX_VISIBILITY_SECONDS,
    WorkQueue,
    dead_letter_retention_days,
    visibility_timeout_seconds,
)
from constructs_lib.data_path.settings import (
    DataPathSettings,
    layer_architecture_problems,
    powertools_layer_problems,
)
from constructs_lib.endpoint.construct import AsyncEndpoint
from constructs_lib.endpoint.keys import customer_key

# Lambda's SQS event source: above 10 messages per batch it needs a batching window.
MAX_UNWINDOWED_BATCH = 10
# A dead letter is kept a day less than the objects it names, so those live two days at least.
MIN_OBJECT_RETENTION_DAYS = 2
DISPATCHER_TIMEOUT = cdk_values.minutes(2)
RECORDER_TIMEOUT = cdk_values.minutes(1)


class DataPath(Construct):
    """Upload-driven summarization with job records and a SQL-queryable result set.

    Makes, around an existing ``AsyncEndpoint`` (its storage bucket and topics):

    * ``dispatch`` (``WorkQueue``): receives the bucket's ObjectCreated events under
      ``inputs/`` (straight from S3) and re-dispatch messages; its DLQ after
      ``settings.max_receive_count`` receives.
    * ``dispatcher`` (``DataPathFunction``, handler ``runtime.dispatcher.handler``): groups up to
      ``max_documents_per_request`` documents per batch (batching window
      ``batching_window_seconds``, partial batch responses), writes ``requests/``, calls
      ``InvokeEndpointAsync``.
    * ``recorder_queue`` (``WorkQueue``) subscribed, raw, to the success and error topics, and
      ``recorder`` (handler ``runtime.recorder.handler``): records outcomes in ``jobs`` and
      appends summaries under ``curated/summaries/``.
    * ``jobs`` (``JobsTable`` on the storage key), ``catalog`` (Glue + Athena), ``alarms``.

    The queues' DLQs keep messages a day less than the shortest of the request, input and
    result retentions (at most 14 days; 14 with an existing bucket, whose lifecycle must then
    keep them 15 days or more), so a redriven message finds what it names; those retentions must
    be 2 days or more. The curated dataset expires after ``settings.job_ttl_days``, like the job
    records.

    Args:
        endpoint: the async endpoint whose storage bucket and topics the path works on.
        settings: batching, retries, retention and the Lambda packaging (``DataPathSettings``).
        model_id: recorded with every job.
        model_revision: recorded with every job. Default: ``None``.
        key: encrypts the queues and the functions' log groups. Default: ``None`` (a new
            customer-managed key).
        removal_policy: for the table, the key, the queues, the log groups and the workgroup.
            Default: ``RemovalPolicy.RETAIN``.
        architecture: the functions' architecture. Default: ``lambda_.Architecture.ARM_64``.
        powertools_layer_arn: the Powertools layer, needed where Powertools publishes no SSM
            parameter (outside the commercial partition); ``settings.powertools`` "bundled"
            packages Powertools into the functions' code instead. Default: ``None``
            (``settings.powertools_layer_arn``, else resolved at deploy time from Powertools'
            public SSM parameter).
        dispatcher_timeout: the dispatcher's timeout and, six-fold, its queue's visibility
            timeout. Default: ``DISPATCHER_TIMEOUT`` (2 minutes).
        recorder_timeout: the recorder's, likewise. Default: ``RECORDER_TIMEOUT`` (1 minute).
        memory_size: MB per function. Default: ``512``.
        recorder_batch_size: notifications per recorder invocation. Default: ``10``.
        request_retention_days: expiry of ``requests/``. Default: ``7``.
        athena_results_retention_days: expiry of ``athena-results/``. Default: ``7``.
        log_retention: the functions' log groups. Default: ``logs.RetentionDays.ONE_YEAR`` (as
            AWS Control Tower's CT.CLOUDWATCH.PR.2 asks).
        bytes_scanned_cutoff: stops runaway Athena queries. Default:
            ``DEFAULT_BYTES_SCANNED_CUTOFF`` (10 GB).
        metrics_namespace: the functions' Powertools metrics namespace. Default: ``None`` (the
            stack name).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: AsyncEndpoint,
        settings: DataPathSettings,
        model_id: str,
        model_revision: str | None = None,
        key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        powertools_layer_arn: str | None = None,
        dispatcher_timeout: Duration = DISPATCHER_TIMEOUT,
        recorder_timeout: Duration = RECORDER_TIMEOUT,
        memory_size: int = 512,
        recorder_batch_size: int = 10,
        request_retention_days: int = 7,
        athena_results_retention_days: int = 7,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        bytes_scanned_cutoff: Size = DEFAULT_BYTES_SCANNED_CUTOFF,
        metrics_namespace: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = [f"settings.{p}" for p in settings.problems()]
        if not settings.enabled:
            problems.append("settings.enabled: is false; leave the DataPath out instead")
        check_int(problems, "memory_size", memory_size, minimum=128, maximum=10_240)
        check_int(problems, "recorder_batch_size", recorder_batch_size, minimum=1, maximum=10)
        # What the data bucket's lifecycle keeps (an existing bucket's is its owner's: none).
        retention_days = [
            days
            for days in (
                None if endpoint.storage.existing else request_retention_days,
                endpoint.storage.input_retention_days,
                endpoint.storage.result_retention_days,
            )
            if isinstance(days, int)
        ]
        check_int(problems, "request_retention_days", request_retention_days, minimum=1)
        if retention_days and min(retention_days) < MIN_OBJECT_RETENTION_DAYS:
            problems.append(
                f"retention: the data path needs requests, inputs and results kept at least "
                f"{MIN_OBJECT_RETENTION_DAYS} days, so that its dead-letter queues (which keep "
                "messages a day less than the objects they name) can hold a message at all "
                f"(got request_retention_days={request_retention_days!r}, the storage's "
                f"input_retention_days={endpoint.storage.input_retention_days!r} and "
                f"result_retention_days={endpoint.storage.result_retention_days!r})"
            )
        check_int(
            problems, "athena_results_retention_days", athena_results_retention_days, minimum=1
        )
        window = settings.batching_window_seconds
        if (
            isinstance(window, int)
            and window == 0
            and isinstance(settings.max_documents_per_request, int)
            and settings.max_documents_per_request > MAX_UNWINDOWED_BATCH
        ):
            problems.append(
                "settings.batching_window_seconds: must be at least 1 when "
                f"max_documents_per_request is above {MAX_UNWINDOWED_BATCH}; Lambda only "
                f"gathers larger batches over a window (got {window!r})"
            )
        dispatch_seconds = int(dispatcher_timeout.to_seconds())
        record_seconds = int(recorder_timeout.to_seconds())
        for name, seconds, extra in (
            ("dispatcher_timeout", dispatch_seconds, window if isinstance(window, int) else 0),
            ("recorder_timeout", record_seconds, 0),
        ):
            visibility = visibility_timeout_seconds(seconds, extra)
            if seconds > 900:
                problems.append(f"{name}: must be at most 900 s, Lambda's limit (got {seconds})")
            elif visibility > MAX_VISIBILITY_SECONDS:
                problems.append(
                    f"{name}: six times it plus the batching window ({visibility} s) exceeds "
                    f"SQS's {MAX_VISIBILITY_SECONDS} s visibility timeout (got {seconds} s)"
                )
        layer_arn = (
            powertools_layer_arn
            if powertools_layer_arn is not None
            else settings.powertools_layer_arn
        )
        if powertools_layer_arn is not None:
            if settings.powertools_layer_arn not in (None, powertools_layer_arn):
                problems.append(
                    "powertools_layer_arn: given both here and in settings, differently; pass "
                    f"one (got {powertools_layer_arn!r})"
                )
            if settings.powertools == "bundled":
                problems.append(
                    "powertools_layer_arn: only applies with settings.powertools 'layer' (got "
                    f"{powertools_layer_arn!r})"
                )
            problems += powertools_layer_problems("powertools_layer_arn", powertools_layer_arn)
        if layer_arn is not None:
            problems += layer_architecture_problems(
                "powertools_layer_arn", layer_arn, architecture_name(architecture)
            )
        raise_if_problems("DataPath", problems)

        storage = endpoint.storage
        notifications = endpoint.notifications
        bucket = storage.bucket
        self.settings = settings
        self.endpoint = endpoint
        self.storage = storage
        self.request_prefix = REQUEST_PREFIX
        self.direct_request_prefix = DIRECT_REQUEST_PREFIX
        self.dataset_prefix = DATASET_PREFIX

        storage.add_prefix("request", REQUEST_PREFIX, retention_days=request_retention_days)
        storage.add_prefix("curated", CURATED_PREFIX, retention_days=settings.job_ttl_days)
        storage.add_prefix(
            "athena_results", ATHENA_RESULTS_PREFIX, retention_days=athena_results_retention_days
        )
        # Grouped requests (and direct ones of clients) are read from requests/ by the endpoint.
        storage.grant_read_prefixes(endpoint.model.role, REQUEST_PREFIX)

        self.key = key or customer_key(
            self,
            "Key",
            description="Encrypts the data path's queues and function logs",
            removal_policy=removal_policy,
        )
        allow_log_encryption(self.key)

        self.jobs = JobsTable(self, "Jobs", key=storage.key, removal_policy=removal_policy)
        self.catalog = SummariesCatalog(
            self,
            "Catalog",
            bucket_name=storage.bucket_name,
            key=storage.key,
            dataset_prefix=DATASET_PREFIX,
            results_prefix=ATHENA_RESULTS_PREFIX,
            bytes_scanned_cutoff=bytes_scanned_cutoff,
            removal_policy=removal_policy,
        )

        # Dead letters name documents (inputs/), request bodies (requests/) and outputs
        # (results/): kept a day less than those, a redriven message still finds them. The
        # queues themselves keep a message at most that long too.
        self.dead_letter_retention_days = dead_letter_retention_days(retention_days)
        dead_letter_retention = cdk_values.days(self.dead_letter_retention_days)
        retention = cdk_values.days(min(DEFAULT_RETENTION_DAYS, self.dead_letter_retention_days))
        self.dispatch = WorkQueue(
            self,
            "Dispatch",
            key=self.key,
            visibility_timeout=cdk_values.seconds(
                visibility_timeout_seconds(dispatch_seconds, window)
            ),
            max_receive_count=settings.max_receive_count,
            retention=retention,
            dead_letter_retention=dead_letter_retention,
            removal_policy=removal_policy,
        )
        self.recorder_queue = WorkQueue(
            self,
            "Record",
            key=self.key,
            visibility_timeout=cdk_values.seconds(visibility_timeout_seconds(record_seconds, 0)),
            max_receive_count=settings.max_receive_count,
            retention=retention,
            dead_letter_retention=dead_letter_retention,
            removal_policy=removal_policy,
        )
        subscribe_bucket(bucket, storage.input_prefix, self.dispatch, self.key)
        subscribe_topics(self, notifications.topic_arns, self.recorder_queue, self.key)

        layer = (
            None
            if settings.powertools == "bundled"
            else powertools_layer(self, architecture, layer_arn)
        )
        namespace = metrics_namespace or Stack.of(self).stack_name

        def function(
            construct_id: str,
            *,
            handler: str,
            description: str,
            environment: dict[str, str],
            timeout: Duration,
            reserved_concurrency: int | None,
        ) -> DataPathFunction:
            return DataPathFunction(
                self,
                construct_id,
                handler=handler,
                description=description,
                environment=environment,
                timeout=timeout,
                reserved_concurrency=reserved_concurrency,
                layer=layer,
                key=self.key,
                memory_size=memory_size,
                architecture=architecture,
                tracing=settings.tracing,
                log_retention=log_retention,
                removal_policy=removal_policy,
                vpc=settings.vpc,
            )

        model = {"MODEL_ID": model_id, "MODEL_REVISION": model_revision or ""}
        self.dispatcher = function(
            "Dispatcher",
            handler="runtime.dispatcher.handler",
            description="Groups uploaded documents into JSON Lines requests to the endpoint",
            environment={
                "ENDPOINT_NAME": endpoint.endpoint_name,
                "DATA_BUCKET": storage.bucket_name,
                "INPUT_PREFIX": storage.input_prefix,
                "REQUEST_PREFIX": REQUEST_PREFIX,
                "JOBS_TABLE": self.jobs.table_name,
                "MAX_DOCUMENTS_PER_REQUEST": str(settings.max_documents_per_request),
                "MAX_REQUEST_BYTES": str(settings.max_request_bytes),
                "LARGE_DOCUMENT_BYTES": str(settings.large_document_bytes),
                "INVOCATION_TIMEOUT_SECONDS": str(settings.invocation_timeout_seconds),
                "REQUEST_TTL_SECONDS": str(settings.request_ttl_seconds),
                "JOB_TTL_DAYS": str(settings.job_ttl_days),
                # The queue's redrive count: on the last receive the dispatcher records its
                # documents' jobs as failed instead of leaving them queued for the DLQ.
                "MAX_RECEIVE_COUNT": str(settings.max_receive_count),
                **model,
                "POWERTOOLS_SERVICE_NAME": "dispatcher",
                "POWERTOOLS_METRICS_NAMESPACE": namespace,
            },
            timeout=dispatcher_timeout,
            reserved_concurrency=settings.dispatcher_reserved_concurrency,
        )
        self.recorder = function(
            "Recorder",
            handler="runtime.recorder.handler",
            description="Records async inference outcomes as jobs and curated summaries",
            environment={
                "JOBS_TABLE": self.jobs.table_name,
                "DATA_BUCKET": storage.bucket_name,
                "CURATED_PREFIX": DATASET_PREFIX,
                # Only bodies the dispatcher wrote here name jobs the recorder may update.
                "REQUEST_PREFIX": REQUEST_PREFIX,
                "DISPATCH_QUEUE_URL": self.dispatch.queue_url,
                "JOB_TTL_DAYS": str(settings.job_ttl_days),
                **model,
                "POWERTOOLS_SERVICE_NAME": "recorder",
                "POWERTOOLS_METRICS_NAMESPACE": namespace,
            },
            timeout=recorder_timeout,
            reserved_concurrency=settings.recorder_reserved_concurrency,
        )
        self._grant_dispatcher()
        self._grant_recorder()
        self._add_event_sources(recorder_batch_size)

        self.alarms = DataPathAlarms(
            self,
            "Alarms",
            dispatch=self.dispatch,
            record=self.recorder_queue,
            functions={"Dispatcher": self.dispatcher, "Recorder": self.recorder},
            metrics_namespace=namespace,
        )

    # --- wiring -------------------------------------------------------------------------------

    # Each grant matches a call of the runtime code (tests/test_data_path_permissions.py reads
    # the calls from the code and compares): nothing more, so nothing goes unused.

    def _grant_dispatcher(self) -> None:
        role = self.dispatcher.role
        storage = self.storage
        # The dispatcher reads the exact version an S3 event names (the bucket is versioned).
        storage.grant_read_prefixes(role, storage.input_prefix, versions=True)
        # One PutObject per request body, never in parts.
        storage.grant_write_prefixes(role, REQUEST_PREFIX, multipart=False)
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["sagemaker:InvokeEndpointAsync"],
            resource_arns=[self.endpoint.endpoint_arn],
        )
        self.jobs.grant_record(role)
        access.grant_list_prefixes(role, storage=storage, prefixes=[storage.input_prefix])

    def _grant_recorder(self) -> None:
        role = self.recorder.role
        storage = self.storage
        # The request body (its job ids) and the endpoint's output; the failure location is
        # recorded from the notification, never read.
        storage.grant_read_prefixes(role, storage.output_prefix, REQUEST_PREFIX)
        storage.grant_write_prefixes(role, DATASET_PREFIX, multipart=False)
        self.jobs.grant_record(role, batch_reads=True)
        self.jobs.grant_find_waiting(role)
        grant_send(self.dispatch, self.key, role)
        access.grant_list_prefixes(
            role, storage=storage, prefixes=[REQUEST_PREFIX, storage.output_prefix]
        )

    def _grant_consume(self, function: DataPathFunction, work: WorkQueue) -> None:
        """What Lambda's SQS poller does with the function's role, and nothing else.

        Lambda Developer Guide, "Using Lambda with Amazon SQS", execution role permissions:
        sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes, and kms:Decrypt for
        an encrypted queue. (SqsEventSource grants Queue.grantConsumeMessages, which adds
        sqs:ChangeMessageVisibility and sqs:GetQueueUrl that the poller does not use.)
        """
        iam.Grant.add_to_principal(
            grantee=function.role,
            actions=["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            resource_arns=[work.queue_arn],
        )
        self.key.grant(function.role, "kms:Decrypt")

    def _add_event_sources(self, recorder_batch_size: int) -> None:
        s = self.settings
        window = s.batching_window_seconds
        self._grant_consume(self.dispatcher, self.dispatch)
        self.dispatcher.function.add_event_source_mapping(
            "DispatchQueueSource",
            event_source_arn=self.dispatch.queue_arn,
            batch_size=s.max_documents_per_request,
            max_batching_window=cdk_values.seconds(window) if window else None,
            report_batch_item_failures=True,
            # Caps the poller without reserving concurrency; with a reservation it is at most
            # that, so the poller stops there instead of being throttled by it (throttled
            # batches go back to the queue and count toward the DLQ redrive).
            max_concurrency=s.dispatcher_max_concurrency,
        )
        self._grant_consume(self.recorder, self.recorder_queue)
        self.recorder.function.add_event_source_mapping(
            "RecordQueueSource",
            event_source_arn=self.recorder_queue.queue_arn,
            batch_size=recorder_batch_size,
            report_batch_item_failures=True,
            max_concurrency=s.recorder_max_concurrency,
        )

    # --- what callers use ---------------------------------------------------------------------

    @property
    def dispatch_queue(self) -> sqs.IQueue:
        """The queue of S3 events and re-dispatch messages the dispatcher consumes."""
        return self.dispatch.queue

    def grant_redispatch(self, grantee: iam.IGrantable) -> iam.Grant:
        """Send re-dispatch messages to the dispatch queue (a client's ``retry``)."""
        return grant_send(self.dispatch, self.key, grantee)

    def grant_client(self, grantee: iam.IGrantable) -> iam.Grant:
        """Everything the ``summarizer`` client does, and nothing else.

        Read this stack's outputs, upload under ``inputs/`` (the data path) and
        ``requests/direct/`` (direct ``InvokeEndpointAsync``; the rest of ``requests/`` is the
        dispatcher's), call the endpoint, read results, failures and the curated summaries,
        read jobs (both indexes) and re-dispatch failed ones.
        """
        storage = self.storage
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["cloudformation:DescribeStacks"],
            resource_arns=[Stack.of(self).stack_id],
        )
        grant = grant.combine(
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["sagemaker:InvokeEndpointAsync"],
                resource_arns=[self.endpoint.endpoint_arn],
            )
        )
        grant = grant.combine(
            storage.grant_write_prefixes(grantee, storage.input_prefix, DIRECT_REQUEST_PREFIX)
        )
        grant = grant.combine(
            storage.grant_read_prefixes(
                grantee, storage.output_prefix, storage.failure_prefix, DATASET_PREFIX
            )
        )
        grant = grant.combine(self.jobs.grant_read(grantee))
        return grant.combine(self.grant_redispatch(grantee))

    def grant_query(self, grantee: iam.IGrantable) -> iam.Grant:
        """Run Athena queries over the summaries in this data path's workgroup (see access.py)."""
        return access.grant_query(grantee, storage=self.storage, catalog=self.catalog)

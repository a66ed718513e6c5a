"""Typed, validated configuration of the app, read from ``cdk.json`` context.

``cdk.json`` holds the embedded default under the context key ``summarizer``:
``{"environments": {"dev": {...}, "prod": {...}}}``. Each environment overrides the defaults of
``AppConfig`` (nested sections merge key by key). Any field can be overridden from the command line
with ``-c summarizer.<field>=<value>`` (nested: ``-c summarizer.scaling.max_capacity=10``);
``-c summarizer.environment=prod`` synthesizes only that environment. Values given on the command
line are parsed as JSON where the field is not a string; a string field takes the text as given
(``-c summarizer.account=123456789012`` is the account id, not a number).

Every problem is collected and reported at once, with the bad value; nothing falls back to a
default silently. Pure Python: importing this module does not import aws_cdk, so the capacity
planner and the scaling simulator load configurations without starting the CDK's Node process.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from constructs_lib._validation import ConfigurationError, check_int
from constructs_lib.data_path.settings import (
    POWERTOOLS_SSM_REGIONS,
    DataPathSettings,
    layer_architecture_problems,
    partition_of,
    powertools_layer_problems,
)
from constructs_lib.endpoint.deployment_settings import DeploymentSettings, scaling_floor_problems
from constructs_lib.endpoint.emails import email_problems
from constructs_lib.guardrails.settings import GuardrailSettings
from constructs_lib.hosting.batch_settings import BatchTransformSettings
from constructs_lib.hosting.data_capture_settings import DataCaptureSettings
from constructs_lib.model.dlc_catalog import DlcVersion, region_problems
from constructs_lib.model.s3_uri import model_data_source_problems
from constructs_lib.model.source import (
    RESERVED_ENVIRONMENT,
    environment_problems,
    is_commit_sha,
    kms_key_arn_problems,
    model_id_problems,
    model_revision_problems,
)
from constructs_lib.monitoring.settings import MonitoringSettings
from constructs_lib.scaling.settings import ScalingSettings

from .hosting import (
    DEFAULT_INSTANCE_TYPE,
    RealtimeHosting,
    ServerlessHosting,
    hosting_problems,
    realtime_section,
)
from .schema import build, cli_value, merge, without_none

if TYPE_CHECKING:
    from aws_cdk import RemovalPolicy

CONTEXT_KEY = "summarizer"
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
ACCOUNT = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
REMOVAL_POLICIES = ("retain", "destroy")
# The data path's functions run on arm64 (DataPath's default, which the stack keeps).
DATA_PATH_ARCHITECTURE = "arm64"
# S3 lifecycle expiration Days is an Integer (32 bits) in the S3 API; nothing larger is valid.
MAX_LIFECYCLE_DAYS = 2**31 - 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppConfig:
    """One environment's configuration. Defaults are the documented production-minded values.

    ``production`` marks an environment whose model source must not move: it should run weights
    staged in S3 (``model_data_uri``, ideally with ``network_isolation``) or at least a Hub
    revision pinned to a 40-hex commit sha; otherwise synthesis warns (see ``warnings``).
    """

    name: str
    account: str | None = None
    region: str | None = None
    production: bool = False
    model_id: str = "google/pegasus-large"
    model_revision: str | None = None
    model_data_uri: str | None = None
    model_data_key_arn: str | None = None
    # "gzip": model_data_uri is a model.tar.gz; "none": a prefix of uncompressed files.
    model_data_compression: str = "gzip"
    network_isolation: bool = False
    dlc: DlcVersion = dataclasses.field(
        default_factory=lambda: DlcVersion(transformers="4.51.3", pytorch="2.6.0")
    )
    instance_type: str = DEFAULT_INSTANCE_TYPE
    initial_instance_count: int = 1
    # One: the model server runs one worker per GPU and serves one request at a time, so a second
    # concurrent invocation only waits inside the container with its timeout running, unseen by
    # the backlog metrics scaling reads (model_code/README.md, measured on the real server).
    max_concurrent_invocations_per_instance: int = 1
    container_startup_timeout_seconds: int = 600
    # None: the same as container_startup_timeout_seconds (what both were before they split).
    model_data_download_timeout_seconds: int | None = None
    input_retention_days: int = 7
    result_retention_days: int = 30
    removal_policy: str = "retain"
    termination_protection: bool = False
    notification_emails: tuple[str, ...] = ()
    # Off by default: an embedded result is customer content in the notification itself.
    include_response_in_notifications: bool = False
    model_environment: dict[str, str] = dataclasses.field(default_factory=dict)
    scaling: ScalingSettings = dataclasses.field(default_factory=ScalingSettings)
    monitoring: MonitoringSettings = dataclasses.field(default_factory=MonitoringSettings)
    # Guardrails of the async endpoint's updates (docs/deployments.md); null: SageMaker's
    # default, all at once with no baking and no rollback.
    deployment: DeploymentSettings | None = dataclasses.field(default_factory=DeploymentSettings)
    # Capture of a real-time endpoint's requests and responses; off (customer content).
    data_capture: DataCaptureSettings = dataclasses.field(default_factory=DataCaptureSettings)
    # How the model is hosted (stacks/hosting.py): the async endpoint by default; each other
    # option has its own section, which only applies with that option.
    hosting: str = "async"
    realtime: RealtimeHosting = dataclasses.field(default_factory=RealtimeHosting)
    serverless: ServerlessHosting = dataclasses.field(default_factory=ServerlessHosting)
    # BatchTransformSettings: its instance_type is the top-level one (stacks/hosting.py).
    batch: BatchTransformSettings = dataclasses.field(default_factory=BatchTransformSettings)
    data_path: DataPathSettings = dataclasses.field(default_factory=DataPathSettings)
    # Organization guardrails on every role (boundary, path, name prefix) and tags.
    guardrails: GuardrailSettings = dataclasses.field(default_factory=GuardrailSettings)

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack name of this environment."""
        return f"PegasusSummarizer-{self.name}"

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        """``removal_policy`` as the CDK's enum (imported here, not when the module loads)."""
        from aws_cdk import RemovalPolicy

        return RemovalPolicy.RETAIN if self.removal_policy == "retain" else RemovalPolicy.DESTROY

    def problems(self) -> list[str]:
        """Cross-field and value checks (types were checked while loading)."""
        problems: list[str] = []
        if not ENVIRONMENT_NAME.match(self.name):
            problems.append(
                f"environment name: must be lowercase letters, digits and '-', starting with a "
                f"letter, at most 20 characters (got {self.name!r})"
            )
        if self.account is not None and not ACCOUNT.match(self.account):
            problems.append(f"account: must be a 12-digit AWS account id (got {self.account!r})")
        if self.region is not None:
            if not REGION.match(self.region):
                problems.append(f"region: must look like 'us-east-1' (got {self.region!r})")
            else:
                problems += region_problems("region", self.region)
        problems += self._model_problems()
        check_int(problems, "initial_instance_count", self.initial_instance_count, minimum=1)
        initial, ceiling = self.initial_instance_count, self.scaling.max_capacity
        if _is_int(initial) and _is_int(ceiling) and initial > ceiling:
            problems.append(
                f"initial_instance_count: must be at most scaling.max_capacity ({ceiling}), the "
                f"most instances autoscaling allows (got {initial})"
            )
        check_int(
            problems,
            "max_concurrent_invocations_per_instance",
            self.max_concurrent_invocations_per_instance,
            minimum=1,
            maximum=1000,
        )
        check_int(
            problems,
            "container_startup_timeout_seconds",
            self.container_startup_timeout_seconds,
            minimum=60,
            maximum=3600,
        )
        if self.model_data_download_timeout_seconds is not None:
            check_int(
                problems,
                "model_data_download_timeout_seconds",
                self.model_data_download_timeout_seconds,
                minimum=60,
                maximum=3600,
            )
        problems += self._deployment_problems()
        problems += [f"data_capture.{p}" for p in self.data_capture.problems()]
        if self.data_capture.enabled is True and self.hosting != "realtime":
            problems.append(
                "data_capture.enabled: SageMaker documents data capture for real-time endpoints "
                f"only, not for hosting {self.hosting!r}"
                + (
                    ": an async endpoint's requests and results are S3 objects already "
                    "(inputs/, requests/, results/, failures/, kept input_retention_days and "
                    "result_retention_days)"
                    if self.hosting == "async"
                    else ""
                )
                + " (got true)"
            )
        for field in ("input_retention_days", "result_retention_days"):
            days = getattr(self, field)
            check_int(problems, field, days, minimum=1, maximum=MAX_LIFECYCLE_DAYS)
            if self.data_path.enabled and _is_int(days) and days == 1:
                problems.append(
                    f"{field}: must be at least 2 with the data path on: its dead-letter "
                    "queues keep messages a day less than the documents, request bodies and "
                    "results they name, so that a redrive still finds them (got 1)"
                )
        if self.removal_policy not in REMOVAL_POLICIES:
            problems.append(
                f"removal_policy: must be one of {', '.join(REMOVAL_POLICIES)} "
                f"(got {self.removal_policy!r})"
            )
        problems += email_problems("notification_emails", self.notification_emails)
        if self.include_response_in_notifications and self.notification_emails:
            problems.append(
                "include_response_in_notifications: must be false while notification_emails is "
                "set: SageMaker would embed each summary in the success notification and SNS "
                "would e-mail it in plain text, outside the KMS key (got true)"
            )
        problems += [f"scaling.{p}" for p in self.scaling.problems()]
        problems += [f"monitoring.{p}" for p in self.monitoring.problems()]
        problems += [f"data_path.{p}" for p in self.data_path.problems()]
        problems += self._powertools_problems()
        problems += [f"guardrails.{p}" for p in self.guardrails.problems()]
        return problems

    def _deployment_problems(self) -> list[str]:
        """The guardrails' own bounds, and stepped strategies against the fewest instances the
        endpoint can have when it is updated."""
        deployment = self.deployment
        if deployment is None:
            return []
        problems = [f"deployment.{p}" for p in deployment.problems()]
        if self.hosting == "async":
            problems += scaling_floor_problems(
                deployment, self.scaling.min_capacity, prefix="scaling."
            )
            problems += deployment.instance_floor_problems(
                "initial_instance_count", self.initial_instance_count
            )
        return problems

    def _powertools_problems(self) -> list[str]:
        """The Powertools layer against the pinned region: its region, partition, architecture,
        and whether Powertools' public SSM parameter exists there at all."""
        path = self.data_path
        if not path.enabled or path.powertools != "layer":
            return []
        arn = path.powertools_layer_arn
        if arn is not None:
            key = "data_path.powertools_layer_arn"
            region_problems = powertools_layer_problems(key, arn, region=self.region)
            shape_problems = powertools_layer_problems(key, arn)
            return [p for p in region_problems if p not in shape_problems] + (
                layer_architecture_problems(key, arn, DATA_PATH_ARCHITECTURE)
            )
        if self.region is None or not REGION.match(self.region):
            return []
        partition = partition_of(self.region)
        if partition == "aws":
            return []
        return [
            f"data_path.powertools_layer_arn: required in {self.region} (partition {partition}): "
            "Powertools publishes its public SSM parameter in commercial regions only; give the "
            "ARN of its layer in that region (its documentation lists those of cn-north-1 and "
            "the GovCloud regions) or set data_path.powertools to 'bundled' (got null)"
        ]

    def _model_problems(self) -> list[str]:
        problems = model_id_problems("model_id", self.model_id)
        if self.model_revision is not None and self.model_data_uri is not None:
            problems.append(
                "model_revision: only applies to a Hub model, not to model_data_uri "
                f"(got {self.model_revision!r})"
            )
        else:
            problems += model_revision_problems("model_revision", self.model_revision)
        problems += model_data_source_problems(
            "model_data_uri",
            self.model_data_uri,
            "model_data_compression",
            self.model_data_compression,
        )
        if self.model_data_compression == "none" and self.hosting in ("serverless", "batch"):
            problems.append(
                "model_data_compression: SageMaker cannot load uncompressed model data "
                f"(ModelDataSource) for hosting {self.hosting!r} (batch transform and serverless "
                "endpoints take a model.tar.gz); use 'gzip' (got 'none')"
            )
        problems += kms_key_arn_problems("model_data_key_arn", self.model_data_key_arn)
        if self.model_data_key_arn is not None and self.model_data_uri is None:
            problems.append(
                "model_data_key_arn: only applies to a staged model_data_uri "
                f"(got {self.model_data_key_arn!r})"
            )
        if self.network_isolation and self.model_data_uri is None:
            problems.append(
                "network_isolation: needs model_data_uri, because an isolated container cannot "
                "download model_id from the Hub (stage it with `make stage-model`) (got true)"
            )
        problems += self.dlc.problems("dlc")
        problems += self.dlc.instance_type_problems("instance_type", self.instance_type)
        problems += environment_problems(
            "model_environment", self.model_environment, reserved=RESERVED_ENVIRONMENT
        )
        return problems

    def warnings(self) -> list[str]:
        """Valid but risky choices, reported as synth warnings (Powertools' SSM parameter in an
        unlisted region, production model source)."""
        found: list[str] = []
        path = self.data_path
        if (
            path.enabled
            and path.powertools == "layer"
            and path.powertools_layer_arn is None
            and self.region is not None
            and partition_of(self.region) == "aws"
            and self.region not in POWERTOOLS_SSM_REGIONS
        ):
            found.append(
                f"data_path: Powertools is not known to publish its public SSM parameter in "
                f"{self.region} (it lists {len(POWERTOOLS_SSM_REGIONS)} regions), so the deploy "
                "may fail to resolve /aws/service/powertools/...: set "
                "data_path.powertools_layer_arn to its layer in that region, or "
                "data_path.powertools to 'bundled'"
            )
        return found + self._model_warnings() + self._hosting_warnings()

    def _hosting_warnings(self) -> list[str]:
        """Settings written for another hosting option, which this one does not read."""
        if self.hosting == "async":
            return []
        found: list[str] = []
        written, default = self.scaling, ScalingSettings()
        ignored: tuple[str, ...]
        if self.hosting == "realtime" and self.realtime.inference_component is None:
            ignored = _ASYNC_SCALING_KEYS
            why = "only the async endpoint reads it"
        elif self.hosting == "realtime":
            ignored = tuple(
                k
                for k in dataclasses.asdict(default)
                if k not in ("scale_in_cooldown_seconds", "scale_out_cooldown_seconds")
            )
            why = (
                "an inference component bounds its instances and copies with "
                "realtime.inference_component"
            )
        else:
            ignored = tuple(dataclasses.asdict(default))
            why = f"hosting {self.hosting!r} has no instances to scale"
        for key in ignored:
            if getattr(written, key) != getattr(default, key):
                found.append(f"scaling.{key}: does not apply ({why}); ignored")
        if self.deployment is not None and self.deployment != DeploymentSettings():
            found.append(
                "deployment: guardrails of the async endpoint's updates do not apply to hosting "
                f"{self.hosting!r}"
                + (" (real-time: realtime.blue_green)" if self.hosting == "realtime" else "")
                + "; ignored"
            )
        return found

    def _model_warnings(self) -> list[str]:
        if not self.production:
            return []
        if self.model_data_uri is not None:
            if self.network_isolation:
                return []
            return [
                "production: model_data_uri is staged, but network_isolation is off: set "
                "network_isolation: true so the container cannot reach the internet"
            ]
        if is_commit_sha(self.model_revision):
            return []
        pinned = (
            "no model_revision"
            if self.model_revision is None
            else f"model_revision {self.model_revision!r}, a branch or tag that can move,"
        )
        return [
            f"production: {self.model_id} comes from the Hugging Face Hub with {pinned} so every "
            "scale-from-zero downloads whatever the Hub serves that minute (and fails while it is "
            "unreachable). Stage a pinned checkpoint with `make stage-model MODEL_REVISION=<sha> "
            "BUCKET=<bucket> KMS_KEY=<key>` and set model_data_uri with network_isolation: true, "
            "or at least pin model_revision to a 40-hex commit sha"
        ]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Keys of the async endpoint that no other hosting option reads, and why. ``deployment`` is not
# among them: an environment's guardrails stay written when it tries another hosting option
# (``AppConfig.warnings`` reports them as not applying).
_ASYNC_ENDPOINT_KEYS = {
    "model_data_download_timeout_seconds": "a setting of the async endpoint's variant",
}
# Keys of ``scaling`` that only the async endpoint reads (its backlog target and policies).
_ASYNC_SCALING_KEYS = (
    "target_backlog_per_instance",
    "wake_up_period_seconds",
    "wake_up_evaluation_periods",
    "wake_up_cooldown_seconds",
    "spike_enabled",
    "spike_threshold_multiple",
    "spike_step_instances",
    "spike_large_step_instances",
    "spike_period_seconds",
    "spike_evaluation_periods",
)


def _async_only_problems(data: Mapping[str, Any]) -> list[str]:
    """Keys written for another hosting option that only the async endpoint reads."""
    hosting = data.get("hosting", "async")
    if hosting == "async":
        return []
    return [
        f"{key}: {why}, not hosting {hosting!r} (got {json.dumps(data[key])})"
        for key, why in _ASYNC_ENDPOINT_KEYS.items()
        if key in data
    ]


# --- loading -------------------------------------------------------------------------------------


def _field_type(path: list[str]) -> Any:
    """The annotation of the AppConfig field at ``path`` (``["scaling", "max_capacity"]``)."""
    tp: Any = AppConfig
    for part in path:
        tp = without_none(tp)
        if typing.get_origin(tp) is dict:
            # A key of a mapping field (model_environment.BATCH): its value type.
            tp = typing.get_args(tp)[1]
            continue
        if not dataclasses.is_dataclass(tp):
            return None
        tp = typing.get_type_hints(tp).get(part)
        if tp is None:
            return None
    return without_none(tp)


def _cli_overrides(context: Mapping[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for key, raw in sorted(context.items()):
        if not key.startswith(f"{CONTEXT_KEY}.") or key == f"{CONTEXT_KEY}.environment":
            continue
        if key.split(".")[1] == "pipeline":  # pipeline hook: not an environment field
            continue
        *parents, leaf = key[len(CONTEXT_KEY) + 1 :].split(".")
        node = overrides
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = cli_value(raw, _field_type([*parents, leaf]))
    return overrides


def load_configs(context: Mapping[str, Any]) -> list[AppConfig]:
    """Every selected environment's configuration, or one ConfigurationError listing all problems.

    ``context`` maps context keys to values: the ``summarizer`` block from cdk.json, and any
    ``summarizer.*`` keys given with ``-c``.
    """
    problems: list[str] = []
    block = context.get(CONTEXT_KEY)
    if not isinstance(block, Mapping) or not isinstance(block.get("environments"), Mapping):
        raise ConfigurationError(
            "Invalid summarizer configuration",
            [f"{CONTEXT_KEY}: cdk.json context must hold {{'environments': {{...}}}}"],
        )
    for key in block:
        # Pipeline hook: the `pipeline` section is read by stacks/pipeline_config.py.
        if key not in ("environments", "pipeline"):
            problems.append(f"{CONTEXT_KEY}.{key}: unknown key (known: environments, pipeline)")
    environments: Mapping[str, Any] = block["environments"]
    if not environments:
        raise ConfigurationError(
            "Invalid summarizer configuration",
            [
                f"{CONTEXT_KEY}.environments: must name at least one environment, e.g. "
                '{"dev": {}} (got {})'
            ],
        )
    selected = context.get(f"{CONTEXT_KEY}.environment")
    names = list(environments)
    if selected is not None:
        if selected not in environments:
            problems.append(
                f"environment: unknown environment {selected!r} (known: {', '.join(names)})"
            )
            names = []
        else:
            names = [selected]
    overrides = _cli_overrides(context)
    configs: list[AppConfig] = []
    for name in names:
        section = environments[name]
        if not isinstance(section, Mapping):
            problems.append(
                f"environments.{name}: must be an object of settings, {{}} for all defaults "
                f"(got {json.dumps(section)})"
            )
            continue
        data = merge(section, overrides)
        found: list[str] = []
        if "name" in data:
            found.append("name: unknown key (the environment's key in cdk.json names it)")
            data = {k: v for k, v in data.items() if k != "name"}
        # A real-time endpoint reads its capacity keys from ``scaling`` (one section for all).
        realtime = data.get("hosting") == "realtime"
        built = {**data, "realtime": realtime_section(data)} if realtime else data
        config = build(AppConfig, {"name": name, **built}, "", found, frozenset({"name"}))
        if config is not None:
            found += config.problems()
            # What each hosting option allows depends on which keys were written, not defaults.
            found += [p for p in hosting_problems(data) if p not in found]
            found += _async_only_problems(data)
        problems += [f"[{name}] {p}" for p in found]
        if config is not None and not found:
            configs.append(config)
    if problems:
        raise ConfigurationError("Invalid summarizer configuration", problems)
    return configs

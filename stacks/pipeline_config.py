"""Typed, validated configuration of the delivery pipeline (the ``pipeline`` section).

The section sits in the ``summarizer`` block of ``cdk.json`` (``{"environments": ..., "pipeline":
{...}}``), or in a JSON file of the repository named on the command line with
``-c summarizer.pipeline=examples/pipeline.json`` (what ``make synth PIPELINE=...`` does). Either
way it must be committed: the pipeline synthesizes itself from the repository on every run
(self-mutation), so a value given only on a workstation's command line would be lost at the first
release.

Like ``stacks/config.py``, every problem is collected and reported at once, naming the key, the
value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs_lib._validation import ConfigurationError, check_int
from constructs_lib.endpoint.notifications import email_problems
from constructs_lib.guardrails.settings import ROLE_NAME_LIMIT, GuardrailSettings
from constructs_lib.model.source import is_commit_sha, kms_key_arn_problems, model_id_problems

from .config import ACCOUNT, CONTEXT_KEY, REGION
from .schema import build

SECTION = "pipeline"
ROOT = Path(__file__).resolve().parent.parent
CONNECTION_ARN = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:\d{12}:"
    r"connection/[0-9a-f-]{36}$"
)
# GitHub/Bitbucket `owner/name`; GitLab also allows nested groups (`group/subgroup/name`).
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
BRANCH = re.compile(r"^[^\s~^:?*\[\\]+$")
BUCKET = re.compile(r"^(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}$")
# At most 30 characters: the smoke roles' names (at most 64) are built from it.
PIPELINE_NAME = re.compile(r"^[A-Za-z0-9.@_-]{1,30}$")
# The smoke step assumes its role from CodeBuild's own role session (role chaining), which AWS
# caps at one hour; the rest of the hour is left for installing the client.
MAX_SMOKE_MINUTES = 45
S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")
# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip


@dataclasses.dataclass(frozen=True, kw_only=True)
class PipelineStageSettings:
    """One environment the pipeline deploys, in order.

    ``environment`` names an environment of ``summarizer.environments``. ``approval`` (default
    false) puts a manual approval before it. ``account``/``region`` (default: the environment's own,
    else the pipeline's) say where it is deployed; an account other than the pipeline's turns on
    cross-account keys and needs that account bootstrapped with ``--trust``.
    """

    environment: str
    approval: bool = False
    account: str | None = None
    region: str | None = None


def _default_stages() -> tuple[PipelineStageSettings, ...]:
    return (
        PipelineStageSettings(environment="dev"),
        PipelineStageSettings(environment="prod", approval=True),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class StageModelSettings:
    """The optional model staging step: ``make stage-model`` once per pipeline run.

    ``target_uri`` (required) is the ``s3://bucket/prefix/`` the staging command publishes
    ``model.tar.gz`` under (its key names the revision and the archive digest, so a run with an
    unchanged revision and code rewrites the same object); the step's role may write and read
    only there. ``revision`` (required) is the 40-hex commit of ``model_id`` (default
    ``google/pegasus-large``) on the Hub; ``kms_key_arn`` (required) encrypts the archive.
    """

    target_uri: str
    revision: str
    kms_key_arn: str
    model_id: str = "google/pegasus-large"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PipelineSettings:
    """The delivery pipeline. Defaults are the documented values.

    Source: a CodeConnections connection (``connection_arn`` + ``repository`` + ``branch``,
    default ``main``) or, for accounts without a connection, an S3 object (``source_bucket`` +
    ``source_key``, a zip of the repository; the bucket must be versioned). ``stages`` defaults to
    dev, then prod behind a manual approval. ``smoke_timeout_minutes`` (default 25) bounds each
    smoke test, cold start included. Failures go to ``notification_topic_arn`` when given (its
    policy and key must let ``codestar-notifications.amazonaws.com`` publish), else to the
    pipeline's own encrypted topic with ``notification_emails``. ``log_retention_days`` (default
    365) keeps the CodeBuild logs; ``stage_model`` (default off) adds the model staging step.
    """

    account: str | None = None
    region: str | None = None
    pipeline_name: str = "PegasusSummarizer"
    connection_arn: str | None = None
    repository: str | None = None
    branch: str = "main"
    trigger_on_push: bool = True
    source_bucket: str | None = None
    source_key: str | None = None
    stages: tuple[PipelineStageSettings, ...] = dataclasses.field(default_factory=_default_stages)
    smoke_timeout_minutes: int = 25
    notification_topic_arn: str | None = None
    notification_emails: tuple[str, ...] = ()
    log_retention_days: int = 365
    stage_model: StageModelSettings | None = None
    guardrails: GuardrailSettings = dataclasses.field(default_factory=GuardrailSettings)
    # Where the section came from: None for cdk.json, else the repository path of its JSON file.
    # The synth step passes it again, so the pipeline rebuilds itself from the same file.
    config_file: str | None = None

    @property
    def stack_name(self) -> str:
        return f"{self.pipeline_name}-pipeline"

    @property
    def uses_connection(self) -> bool:
        return self.connection_arn is not None

    def smoke_role_name(self, environment: str, prefix: str | None = None) -> str:
        """Physical name of an environment's smoke-test role (in the environment's account).

        ``prefix`` is that environment's ``guardrails.role_name_prefix``: the role lives in its
        stack, under its guardrails.
        """
        return f"{prefix or ''}{self.pipeline_name}-smoke-{environment}"

    def smoke_runner_role_name(self, environment: str) -> str:
        """Physical name of the CodeBuild role that runs an environment's smoke test."""
        prefix = self.guardrails.role_name_prefix or ""
        return f"{prefix}{self.pipeline_name}-smoke-runner-{environment}"

    def problems(self, environments: Mapping[str, Any]) -> list[str]:
        """Value and cross-field checks; ``environments`` maps known names to their AppConfig."""
        problems: list[str] = []
        if self.account is not None and not ACCOUNT.match(self.account):
            problems.append(f"account: must be a 12-digit AWS account id (got {self.account!r})")
        if self.region is not None and not REGION.match(self.region):
            problems.append(f"region: must look like 'us-east-1' (got {self.region!r})")
        if not PIPELINE_NAME.match(self.pipeline_name):
            problems.append(
                "pipeline_name: must be 1-30 letters, digits and . @ _ - (the smoke roles' "
                f"names start with it) (got {self.pipeline_name!r})"
            )
        problems += self._source_problems()
        problems += self._stage_problems(environments)
        check_int(
            problems,
            "smoke_timeout_minutes",
            self.smoke_timeout_minutes,
            minimum=5,
            maximum=MAX_SMOKE_MINUTES,
        )
        if self.notification_topic_arn is not None:
            if not TOPIC_ARN.match(self.notification_topic_arn):
                problems.append(
                    "notification_topic_arn: must be an SNS topic ARN, "
                    "e.g. 'arn:aws:sns:us-east-1:123456789012:operations' "
                    f"(got {self.notification_topic_arn!r})"
                )
            if self.notification_emails:
                problems.append(
                    "notification_emails: only apply to the pipeline's own topic, not to "
                    f"notification_topic_arn (got {list(self.notification_emails)!r})"
                )
        problems += email_problems("notification_emails", self.notification_emails)
        problems += [f"guardrails.{p}" for p in self.guardrails.problems()]
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            problems.append(
                "log_retention_days: must be one of "
                f"{', '.join(map(str, LOG_RETENTION_DAYS))} (got {self.log_retention_days!r})"
            )
        staging = self.stage_model
        if staging is not None:
            if not S3_URI.match(staging.target_uri):
                problems.append(
                    "stage_model.target_uri: must look like 's3://bucket/prefix/' "
                    f"(got {staging.target_uri!r})"
                )
            if not is_commit_sha(staging.revision):
                problems.append(
                    "stage_model.revision: must be the 40-hex commit sha of the Hub revision "
                    f"(got {staging.revision!r})"
                )
            problems += [
                f"stage_model.{p}" for p in model_id_problems("model_id", staging.model_id)
            ]
            problems += [
                f"stage_model.{p}" for p in kms_key_arn_problems("kms_key_arn", staging.kms_key_arn)
            ]
        return problems

    def _source_problems(self) -> list[str]:
        problems: list[str] = []
        connection = {"connection_arn": self.connection_arn, "repository": self.repository}
        s3 = {"source_bucket": self.source_bucket, "source_key": self.source_key}
        given = {k: v for k, v in {**connection, **s3}.items() if v is not None}
        if any(v is not None for v in connection.values()) and any(
            v is not None for v in s3.values()
        ):
            return [
                "source: give either connection_arn and repository (CodeConnections) or "
                f"source_bucket and source_key (S3), not both (got {given!r})"
            ]
        chosen = s3 if any(v is not None for v in s3.values()) else connection
        for key, value in chosen.items():
            if value is None:
                other = " and ".join(k for k in chosen if k != key)
                problems.append(f"{key}: required with {other} (got None)")
        if self.connection_arn is not None and not CONNECTION_ARN.match(self.connection_arn):
            problems.append(
                "connection_arn: must be a CodeConnections ARN, e.g. 'arn:aws:codeconnections:"
                "us-east-1:123456789012:connection/<uuid>' "
                f"(got {self.connection_arn!r})"
            )
        if self.repository is not None and not REPOSITORY.match(self.repository):
            problems.append(f"repository: must look like 'owner/name' (got {self.repository!r})")
        if not BRANCH.match(self.branch):
            problems.append(
                f"branch: must be a git branch name without spaces (got {self.branch!r})"
            )
        if self.source_bucket is not None and not BUCKET.match(self.source_bucket):
            problems.append(
                f"source_bucket: must be an S3 bucket name (got {self.source_bucket!r})"
            )
        if self.source_key is not None and not (
            self.source_key.endswith(".zip") and not self.source_key.startswith("/")
        ):
            problems.append(
                "source_key: must be the key of a .zip of the repository, without a leading '/' "
                f"(got {self.source_key!r})"
            )
        return problems

    def _stage_problems(self, environments: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        if not self.stages:
            return ["stages: must list at least one environment (got [])"]
        seen: set[str] = set()
        for index, stage in enumerate(self.stages):
            path = f"stages[{index}]"
            if stage.environment not in environments:
                problems.append(
                    f"{path}.environment: unknown environment {stage.environment!r} "
                    f"(known: {', '.join(environments)})"
                )
            elif stage.environment in seen:
                problems.append(
                    f"{path}.environment: {stage.environment!r} is deployed by an earlier stage "
                    "already; each environment appears once"
                )
            seen.add(stage.environment)
            problems += self._role_name_problems(path, stage, environments)
            for field, pattern, example in (
                ("account", ACCOUNT, "a 12-digit AWS account id"),
                ("region", REGION, "like 'us-east-1'"),
            ):
                value = getattr(stage, field)
                if value is not None and not pattern.match(value):
                    problems.append(f"{path}.{field}: must be {example} (got {value!r})")
                config = environments.get(stage.environment)
                own = getattr(config, field, None)
                if value is not None and own is not None and value != own:
                    problems.append(
                        f"{path}.{field}: {value!r} contradicts environments."
                        f"{stage.environment}.{field} ({own!r}); set it in one place"
                    )
            account, region = (
                self.stage_account(stage, environments),
                self.stage_region(stage, environments),
            )
            if account is not None and self.account is None:
                problems.append(
                    f"{path}.account: deploying to account {account!r} needs pipeline.account "
                    "(the pipeline's own account) to compare with (got None)"
                )
            if region is not None and self.region is None:
                problems.append(
                    f"{path}.region: deploying to region {region!r} needs pipeline.region "
                    "(the pipeline's own region) to compare with (got None)"
                )
        return problems

    def _role_name_problems(
        self, path: str, stage: PipelineStageSettings, environments: Mapping[str, Any]
    ) -> list[str]:
        """The smoke roles' physical names must fit IAM's limit, guardrail prefixes included."""
        config = environments.get(stage.environment)
        guardrails = getattr(config, "guardrails", None)
        prefix = getattr(guardrails, "role_name_prefix", None)
        names = {
            "smoke role": self.smoke_role_name(stage.environment, prefix),
            "smoke runner role": self.smoke_runner_role_name(stage.environment),
        }
        return [
            f"{path}.environment: the {what} name {name!r} is {len(name)} characters, more than "
            f"IAM's {ROLE_NAME_LIMIT}; shorten pipeline_name or the guardrails.role_name_prefix"
            for what, name in names.items()
            if len(name) > ROLE_NAME_LIMIT
        ]

    def stage_account(
        self, stage: PipelineStageSettings, environments: Mapping[str, Any]
    ) -> str | None:
        """The account a stage deploys to, if pinned (stage, then environment)."""
        return stage.account or getattr(environments.get(stage.environment), "account", None)

    def stage_region(
        self, stage: PipelineStageSettings, environments: Mapping[str, Any]
    ) -> str | None:
        """The region a stage deploys to, if pinned (stage, then environment)."""
        return stage.region or getattr(environments.get(stage.environment), "region", None)

    def cross_account(self, environments: Mapping[str, Any]) -> bool:
        """True when any stage deploys to an account other than the pipeline's."""
        return any(
            (account := self.stage_account(stage, environments)) is not None
            and account != self.account
            for stage in self.stages
        )


def pipeline_section(context: Mapping[str, Any]) -> tuple[Any, str | None] | None:
    """The raw pipeline section and the file it came from (None: cdk.json), or None if absent.

    ``-c summarizer.pipeline=<path>`` (a JSON file of the repository) wins over the ``pipeline``
    key of cdk.json's ``summarizer`` block.
    """
    overrides = sorted(k for k in context if k.startswith(f"{CONTEXT_KEY}.{SECTION}."))
    if overrides:
        raise ConfigurationError(
            "Invalid summarizer configuration",
            [
                f"{key}: pipeline settings cannot be given with -c, because the pipeline "
                "rebuilds itself from the repository; put them in the pipeline file or cdk.json"
                for key in overrides
            ],
        )
    path = context.get(f"{CONTEXT_KEY}.{SECTION}")
    if path is not None:
        return _read_file(path), str(path)
    block = context.get(CONTEXT_KEY)
    if isinstance(block, Mapping) and SECTION in block:
        return block[SECTION], None
    return None


def _read_file(path: Any) -> Any:
    where = f"{CONTEXT_KEY}.{SECTION}"
    if not isinstance(path, str) or not path.strip():
        raise ConfigurationError(
            "Invalid summarizer configuration",
            [f"{where}: must be the path of a JSON file in the repository (got {path!r})"],
        )
    file = Path(path)
    if file.is_absolute() or ".." in file.parts:
        raise ConfigurationError(
            "Invalid summarizer configuration",
            [
                f"{where}: must be a path inside the repository, relative to cdk.json, so the "
                f"pipeline finds it again when it rebuilds itself (got {path!r})"
            ],
        )
    try:
        return json.loads((ROOT / file).read_text(encoding="utf-8"))
    except OSError as error:
        reason = error.strerror or type(error).__name__
        problem = f"{where}: cannot read {path!r} ({reason})"
    except ValueError as error:
        problem = f"{where}: {path!r} is not valid JSON ({error})"
    raise ConfigurationError("Invalid summarizer configuration", [problem])


def load_pipeline_settings(
    section: Any, environments: Mapping[str, Any], *, config_file: str | None = None
) -> PipelineSettings:
    """The validated pipeline settings, or one ConfigurationError listing every problem.

    ``section`` is the raw ``pipeline`` object; ``environments`` maps every configured
    environment's name to its AppConfig (the stages pick from them).
    """
    problems: list[str] = []
    settings: PipelineSettings | None = None
    if not isinstance(section, Mapping):
        problems.append(f"{SECTION}: must be an object (got {section!r})")
    else:
        if "config_file" in section:
            problems.append(
                f"{SECTION}.config_file: unknown key (set by -c {CONTEXT_KEY}.{SECTION}=<file>)"
            )
            section = {k: v for k, v in section.items() if k != "config_file"}
        settings = build(
            PipelineSettings,
            {**section, "config_file": config_file},
            SECTION,
            problems,
            frozenset({"config_file"}),
        )
    if settings is not None:
        problems += [f"{SECTION}.{p}" for p in settings.problems(environments)]
    if problems or settings is None:
        raise ConfigurationError("Invalid summarizer configuration", problems)
    return settings

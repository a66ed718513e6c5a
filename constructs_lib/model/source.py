"""Checks of where a model comes from (Hub id, revision) and of its container environment.

Pure Python, shared by ``HuggingFaceModel`` and the configuration loader. Limits are SageMaker's
(CreateModel ``ContainerDefinition.Environment``: keys match ``[a-zA-Z_][a-zA-Z0-9_]*``, keys
and values at most 1,024 bytes each, at most 100 entries, 32 KB in all) and the Hub's (a repo
id is ``[namespace/]name``, each part at most 96 letters, digits, ``-``, ``_`` or ``.``, not
starting or ending with ``-`` or ``.``, without ``--`` or ``..``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from constructs_lib._validation import is_token

# Set by HuggingFaceModel from its own arguments: an environment entry must not silently
# override which model is served or which task it runs.
RESERVED_ENVIRONMENT = frozenset({"HF_MODEL_ID", "HF_MODEL_REVISION", "HF_TASK"})

MAX_ENVIRONMENT_ENTRIES = 100
MAX_ENVIRONMENT_BYTES = 1024
MAX_ENVIRONMENT_TOTAL_BYTES = 32 * 1024
ENVIRONMENT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

_HUB_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")
COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
KMS_KEY_ARN = re.compile(
    r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$"
)
# A git ref name as the Hub accepts it for a revision: branch, tag or commit.
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")


def is_commit_sha(revision: str | None) -> bool:
    """True for a full 40-hex commit sha, the only revision that never moves."""
    return isinstance(revision, str) and bool(COMMIT_SHA.match(revision))


def model_id_problems(name: str, model_id: str) -> list[str]:
    """Problems with a Hugging Face Hub repo id such as ``google/pegasus-large``."""
    if is_token(model_id):
        return []
    shown = model_id if len(model_id) <= 80 else f"{model_id[:60]}... ({len(model_id)} chars)"
    parts = model_id.split("/")
    if (
        len(parts) > 2
        or not all(_HUB_PART.match(part) for part in parts)
        or "--" in model_id
        or ".." in model_id
    ):
        return [
            f"{name}: must be a Hugging Face Hub repo id '[namespace/]name', each part 1 to 96 "
            "letters, digits, '-', '_' or '.', not starting or ending with '-' or '.', without "
            f"'--' or '..' (got {shown!r})"
        ]
    return []


def model_revision_problems(name: str, revision: str | None) -> list[str]:
    """Problems with a Hub revision (branch, tag or 40-hex commit sha); None means ``main``."""
    if revision is None or is_token(revision):
        return []
    if not _REVISION.match(revision) or ".." in revision:
        return [
            f"{name}: must be a branch, tag or 40-hex commit sha of the Hub repo, or left out "
            f"for 'main' (got {revision!r})"
        ]
    return []


def kms_key_arn_problems(name: str, arn: str | None) -> list[str]:
    """Problems with the ARN of a KMS key (a key ARN: aliases cannot be granted in IAM)."""
    if arn is None or is_token(arn) or KMS_KEY_ARN.match(arn):
        return []
    return [
        f"{name}: must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (got {arn!r})"
    ]


def environment_problems(
    name: str, environment: Mapping[str, str], *, reserved: Iterable[str] = ()
) -> list[str]:
    """Problems with container environment variables, including names the caller reserves."""
    problems: list[str] = []
    reserved_names = frozenset(reserved)
    for key, value in environment.items():
        if is_token(key):
            continue
        if key in reserved_names:
            problems.append(
                f"{name}: {key!r} is set by the model construct from its own settings and may "
                f"not be overridden (reserved: {', '.join(sorted(reserved_names))})"
            )
        elif not ENVIRONMENT_NAME.match(key) or len(key.encode()) > MAX_ENVIRONMENT_BYTES:
            problems.append(
                f"{name}: {key!r} is not a valid variable name: letters, digits and '_', not "
                f"starting with a digit, at most {MAX_ENVIRONMENT_BYTES} bytes"
            )
        if isinstance(value, str) and not is_token(value):
            size = len(value.encode())
            if size > MAX_ENVIRONMENT_BYTES:
                problems.append(
                    f"{name}.{key}: must be at most {MAX_ENVIRONMENT_BYTES} bytes, SageMaker's "
                    f"limit for a container environment value (got {size} bytes)"
                )
    if len(environment) > MAX_ENVIRONMENT_ENTRIES:
        problems.append(
            f"{name}: at most {MAX_ENVIRONMENT_ENTRIES} variables, SageMaker's limit "
            f"(got {len(environment)})"
        )
    return problems


def container_environment_problems(name: str, environment: Mapping[str, str]) -> list[str]:
    """SageMaker's limits on a whole container environment: entry count and total size."""
    if any(is_token(k) or is_token(v) for k, v in environment.items()):
        return []
    total = sum(len(k.encode()) + len(v.encode()) for k, v in environment.items())
    if total > MAX_ENVIRONMENT_TOTAL_BYTES:
        return [
            f"{name}: keys and values add up to {total} bytes, SageMaker allows "
            f"{MAX_ENVIRONMENT_TOTAL_BYTES} for a container's environment"
        ]
    return []

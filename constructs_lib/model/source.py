"""Where a model comes from (``ModelSource`` and its factories), the checks of its Hub id,
revision and key, and of its container environment.

Pure Python (no CDK import), shared by ``HuggingFaceModel`` and the configuration loader.
Limits are SageMaker's (CreateModel ``ContainerDefinition.Environment``: keys match
``[a-zA-Z_][a-zA-Z0-9_]*``, keys and values at most 1,024 bytes each, at most 100 entries, 32 KB
in all) and the Hub's (a repo id is ``[namespace/]name``, each part at most 96 letters, digits,
``-``, ``_`` or ``.``, not starting or ending with ``-`` or ``.``, without ``--`` or ``..``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from constructs_lib._validation import is_token, raise_if_problems
from constructs_lib.model.s3_uri import model_data_source_problems

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


# How the weights reach the container: downloaded from the Hub at every start, or in the model
# data (a staged S3 location, or the archive asset packed from a local folder).
SOURCE_KINDS = ("hub", "s3", "local")


@dataclass(frozen=True)
class ModelSource:
    """Where a model's weights and inference code come from. Make one with a factory:

    - ``ModelSource.from_hub(model_id, code_dir=..., revision=...)``: weights downloaded from
      the Hugging Face Hub when the container starts, our code packed as the archive asset;
    - ``ModelSource.from_s3(uri, key_arn=..., compression=...)``: a staged ``model.tar.gz`` (or
      an uncompressed prefix) that already holds the weights and ``code/``;
    - ``ModelSource.from_local(code_dir, weights_dir=...)``: code and weights from local
      folders, packed together as the archive asset.

    Each factory checks its own arguments and raises ``ConfigurationError`` listing every
    problem, so an argument that belongs to another source cannot be given at all.
    """

    #: ``"hub"``, ``"s3"`` or ``"local"``: the factory that made it.
    kind: str
    #: The Hub repo id (``from_hub``). Default: ``None``.
    model_id: str | None = None
    #: The Hub revision (``from_hub``). Default: ``None`` (``main``).
    revision: str | None = None
    #: The folder packed as ``code/`` (``from_hub``, ``from_local``). Default: ``None``.
    code_dir: Path | None = None
    #: The folder packed at the archive's root (``from_local``). Default: ``None``.
    weights_dir: Path | None = None
    #: The staged model data (``from_s3``). Default: ``None``.
    uri: str | None = None
    #: The KMS key of the staged data (``from_s3``). Default: ``None``.
    key_arn: str | None = None
    #: ``"gzip"`` (a ``model.tar.gz``) or ``"none"`` (files under a prefix). Default: ``"gzip"``.
    compression: str = "gzip"

    @classmethod
    def from_hub(
        cls, model_id: str, *, code_dir: Path | None = None, revision: str | None = None
    ) -> ModelSource:
        """Weights from the Hugging Face Hub, downloaded when the container starts.

        Args:
            model_id: the Hub repo id, e.g. ``google/pegasus-large`` (``HF_MODEL_ID``).
            code_dir: a folder holding ``inference.py``, packed as ``code/`` of a deterministic
                ``model.tar.gz`` asset. ``HuggingFaceModel`` needs it. Default: ``None`` (the
                DLC's own handler; a processing-free ``ContainerSpec``).
            revision: a branch, tag or commit of the repo (``HF_MODEL_REVISION``); pin a
                40-hex commit sha for production. Default: ``None`` (the Hub's ``main`` at
                every cold start).
        """
        problems = _text_problems("model_id", model_id)
        if not problems:
            problems = model_id_problems("model_id", model_id)
        if revision is not None:
            problems += _text_problems("revision", revision) or model_revision_problems(
                "revision", revision
            )
        if code_dir is not None:
            problems += code_dir_problems("code_dir", code_dir)
        raise_if_problems("ModelSource.from_hub", problems)
        return cls(
            "hub",
            model_id=model_id,
            revision=revision,
            code_dir=None if code_dir is None else Path(code_dir),
        )

    @classmethod
    def from_s3(
        cls, uri: str, *, key_arn: str | None = None, compression: str = "gzip"
    ) -> ModelSource:
        """Model data staged in S3 that already holds the weights and ``code/``
        (``make stage-model`` builds and uploads it): no Hub at cold start, so the container
        may run network-isolated.

        Args:
            uri: ``s3://<bucket>/<key>.tar.gz`` for ``compression="gzip"`` (the container's
                ``ModelDataUrl``); ``s3://<bucket>/<prefix>/`` for ``compression="none"``.
            key_arn: the KMS key that encrypts the staged objects; the model's role gets
                ``kms:Decrypt`` on it. Default: ``None`` (no key to grant: SSE-S3).
            compression: ``"gzip"``, a ``model.tar.gz``; ``"none"``, files under the prefix
                ``uri``, given as ``ModelDataSource`` (``S3Prefix``, ``CompressionType: None``)
                so SageMaker copies them to ``/opt/ml/model`` without gunzip and untar
                ("Deploying uncompressed models",
                https://docs.aws.amazon.com/sagemaker/latest/dg/large-model-inference-uncompressed.html:
                not for batch transform, serverless or multi-model endpoints). Default:
                ``"gzip"``.
        """
        if is_token(uri):
            # The role's grants name the bucket and the key (or prefix) of the data, which a
            # value resolved only at deploy time cannot give at synth.
            problems = [
                "uri: must be written out at synth time (s3://<bucket>/<key>): the model's role "
                "is granted exactly that object or prefix (got a token resolved at deploy time)"
            ]
        else:
            problems = _text_problems("uri", uri) or model_data_source_problems(
                "uri", uri, "compression", compression
            )
        if key_arn is not None:
            problems += _text_problems("key_arn", key_arn) or kms_key_arn_problems(
                "key_arn", key_arn
            )
        raise_if_problems("ModelSource.from_s3", problems)
        return cls("s3", uri=uri, key_arn=key_arn, compression=compression)

    @classmethod
    def from_local(cls, code_dir: Path, *, weights_dir: Path | None = None) -> ModelSource:
        """Code and weights from local folders, packed into one deterministic ``model.tar.gz``
        asset at synth time (weights at its root, the code as ``code/``).

        Every synth reads the weights to pack them: for small models. Stage a large checkpoint
        in S3 once (``make stage-model``) and use ``from_s3``.

        Args:
            code_dir: a folder holding ``inference.py``.
            weights_dir: a ``save_pretrained()`` folder (no ``code/`` in it). Default: ``None``
                (the archive holds the code alone, e.g. a pre- or post-processing container).
        """
        problems = code_dir_problems("code_dir", code_dir)
        if weights_dir is not None and not Path(weights_dir).is_dir():
            problems.append(f"weights_dir: {weights_dir} is not a folder")
        elif weights_dir is not None and Path(weights_dir, "code").exists():
            problems.append(
                f"weights_dir: {weights_dir} has code/, the place of code_dir in the archive"
            )
        raise_if_problems("ModelSource.from_local", problems)
        return cls(
            "local",
            code_dir=Path(code_dir),
            weights_dir=None if weights_dir is None else Path(weights_dir),
        )

    @property
    def weights_in_model_data(self) -> bool:
        """True when SageMaker copies the weights with the model data (S3 or a local archive),
        so the container needs no network: ``enable_network_isolation`` works."""
        return self.kind != "hub"

    def __str__(self) -> str:
        """The factory call that made this source, for error messages."""
        if self.kind == "hub":
            options = "" if self.revision is None else f", revision={self.revision!r}"
            return f"ModelSource.from_hub({self.model_id!r}{options})"
        if self.kind == "s3":
            options = "" if self.compression == "gzip" else f", compression={self.compression!r}"
            return f"ModelSource.from_s3({self.uri!r}{options})"
        weights = "" if self.weights_dir is None else f", weights_dir='{self.weights_dir}'"
        return f"ModelSource.from_local('{self.code_dir}'{weights})"


def code_dir_problems(name: str, code_dir: object) -> list[str]:
    """Problems with a folder of inference code: it must hold ``inference.py``."""
    if not isinstance(code_dir, (str, Path)):
        return [f"{name}: must be a path to a folder holding inference.py (got {code_dir!r})"]
    if not Path(code_dir, "inference.py").is_file():
        return [f"{name}: {code_dir} has no inference.py"]
    return []


def _text_problems(name: str, value: object) -> list[str]:
    # The value checks that follow take a string; an empty one fails them with their own words.
    return [] if isinstance(value, str) else [f"{name}: must be a string (got {value!r})"]

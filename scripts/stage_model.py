"""Stage a pinned Hugging Face checkpoint with the model code in S3, for ``model_data_uri``.

    make stage-model MODEL_ID=google/pegasus-large MODEL_REVISION=<40-hex sha> \\
        BUCKET=my-models-bucket KMS_KEY=<key id, ARN or alias> [UNCOMPRESSED=1]

Downloads ``MODEL_ID`` at exactly ``MODEL_REVISION`` (a commit sha: a branch or tag could move),
packs the weights at the archive's root and ``model_code/`` as ``code/`` (the toolkit's layout,
deterministic bytes), uploads it encrypted with the KMS key, and prints the ``model_data_uri`` and
``model_data_key_arn`` to put in cdk.json. The key holds the revision and the archive's digest, so
staging the same inputs again is a no-op and new model code gets a new URI (and a new model).
Runs in ``.venv-model`` (huggingface_hub, boto3); ``--weights-dir`` stages a local folder instead.

``--uncompressed`` uploads the same files one object each under a prefix (``.../<digest>/``,
the digest over every path and content) instead of one archive, and prints
``model_data_compression: "none"``: SageMaker then copies them to ``/opt/ml/model`` without
gunzip and untar ("Deploying uncompressed models",
https://docs.aws.amazon.com/sagemaker/latest/dg/large-model-inference-uncompressed.html). No
folder placeholder objects are written (SageMaker refuses them), and the prefix holds nothing but
this model.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from constructs_lib._validation import ConfigurationError  # noqa: E402
from constructs_lib.model.archive import model_files, stream_model_archive  # noqa: E402
from constructs_lib.model.s3_uri import bucket_name_problem  # noqa: E402
from constructs_lib.model.source import is_commit_sha, model_id_problems  # noqa: E402

# Only PyTorch weights are served; the other frameworks' copies would triple the archive.
IGNORED_DOWNLOADS = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "tf_model*", "flax_model*", "*.md"]


class StageError(Exception):
    """A problem the user can fix, reported as one message without a traceback."""


def argument_problems(args: argparse.Namespace) -> list[str]:
    """Every problem with the arguments, each naming the argument and the value."""
    problems = model_id_problems("--model-id", args.model_id)
    if not is_commit_sha(args.revision):
        problems.append(
            "--revision: must be a 40-hex commit sha of the Hub repo, so the staged weights "
            f"never change under the same name (got {args.revision!r})"
        )
    why = bucket_name_problem(args.bucket)
    if why:
        problems.append(f"--bucket: not a valid S3 bucket name ({why}) (got {args.bucket!r})")
    if not args.prefix.endswith("/") and args.prefix:
        problems.append(f"--prefix: must end with '/' (got {args.prefix!r})")
    if not (args.code_dir / "inference.py").is_file():
        problems.append(f"--code-dir: {args.code_dir} has no inference.py")
    if args.weights_dir is not None and not args.weights_dir.is_dir():
        problems.append(f"--weights-dir: {args.weights_dir} is not a folder")
    return problems


def download(model_id: str, revision: str, target: Path) -> Path:
    """The checkpoint at ``revision`` as plain files in ``target`` (no symlinks, no cache).

    A gated or private repo needs a token, which huggingface_hub reads from ``HF_TOKEN``.
    """
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError

    try:
        huggingface_hub.snapshot_download(
            repo_id=model_id,
            revision=revision,
            local_dir=target,
            ignore_patterns=IGNORED_DOWNLOADS,
        )
    except HfHubHTTPError as error:  # unknown repo or revision, no access, no network
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StageError(
            f"--model-id/--revision: cannot download {model_id}@{revision}: {first_line}"
        ) from None
    # huggingface_hub keeps download metadata here; it is no part of the model.
    shutil.rmtree(target / ".cache", ignore_errors=True)
    return target


def build(code_dir: Path, weights_dir: Path, archive: Path) -> str:
    """Write the archive and return its sha256."""
    try:
        with archive.open("wb") as handle:
            stream_model_archive(handle, code_dir, weights_dir=weights_dir)
    except ValueError as error:  # a symlink, a code/ among the weights
        raise StageError(f"--weights-dir: {error}") from None
    digest = hashlib.sha256()
    with archive.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def object_key(prefix: str, model_id: str, revision: str, digest: str) -> str:
    """``<prefix><namespace>--<name>/<revision>/<digest>/model.tar.gz``."""
    return f"{prefix}{model_id.replace('/', '--')}/{revision}/{digest[:16]}/model.tar.gz"


def files_prefix(prefix: str, model_id: str, revision: str, digest: str) -> str:
    """``<prefix><namespace>--<name>/<revision>/<digest>/``: uncompressed files go under it."""
    return f"{prefix}{model_id.replace('/', '--')}/{revision}/{digest[:16]}/"


# S3ModelDataSource: each key, less the prefix, is a path under /opt/ml/model; no part may be
# empty, "." or "..", or longer than 255 bytes.
MAX_NAME_BYTES = 255


def layout(code_dir: Path, weights_dir: Path) -> tuple[list[tuple[Path, str]], str]:
    """The files of the model's layout and a sha256 over every path and content."""
    try:
        files = model_files(code_dir, weights_dir=weights_dir)
    except ValueError as error:  # a symlink, a code/ among the weights
        raise StageError(f"--weights-dir: {error}") from None
    digest = hashlib.sha256()
    for path, name in files:
        parts = name.split("/")
        if any(p in ("", ".", "..") or len(p.encode()) > MAX_NAME_BYTES for p in parts):
            raise StageError(
                f"--weights-dir: {name!r} cannot be a model file name (parts of at most "
                f"{MAX_NAME_BYTES} bytes, none empty, '.' or '..')"
            )
        content = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                content.update(block)
        digest.update(f"{name}\0{content.hexdigest()}\n".encode())
    return files, digest.hexdigest()


def foreign_objects(s3: Any, bucket: str, prefix: str, names: set[str]) -> list[str]:
    """Keys under ``prefix`` other than ``names`` (folder placeholders included), sorted."""
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [
            item["Key"][len(prefix) :]
            for item in page.get("Contents", [])
            if item["Key"][len(prefix) :] not in names
        ]
    return sorted(found)


def stage(args: argparse.Namespace, *, s3: Any, kms: Any) -> dict[str, str]:
    """Download (unless given a folder), build, upload; return the cdk.json values."""
    problems = argument_problems(args)
    if problems:
        raise StageError(str(ConfigurationError("arguments", problems)))
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        key_arn = str(kms.describe_key(KeyId=args.kms_key)["KeyMetadata"]["Arn"])
    except (BotoCoreError, ClientError) as error:
        raise StageError(f"--kms-key: cannot use {args.kms_key!r}: {error}") from None
    encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn}
    with tempfile.TemporaryDirectory(prefix="stage-model-") as scratch:
        work = Path(scratch)
        weights = args.weights_dir or download(args.model_id, args.revision, work / "weights")
        if args.uncompressed:
            files, digest = layout(args.code_dir, weights)
            prefix = files_prefix(args.prefix, args.model_id, args.revision, digest)
            for path, name in files:
                try:
                    s3.upload_file(str(path), args.bucket, prefix + name, ExtraArgs=encryption)
                except (BotoCoreError, ClientError, S3UploadFailedError) as error:
                    raise StageError(
                        f"--bucket: cannot upload to s3://{args.bucket}/{prefix}{name}: {error}"
                    ) from None
            unexpected = foreign_objects(s3, args.bucket, prefix, {name for _, name in files})
            if unexpected:
                raise StageError(
                    f"--bucket: s3://{args.bucket}/{prefix} holds objects that are not this "
                    f"model's ({', '.join(unexpected[:5])}): SageMaker would copy them into "
                    "/opt/ml/model too; delete them and stage again"
                )
            return {
                "model_data_uri": f"s3://{args.bucket}/{prefix}",
                "model_data_compression": "none",
                "model_data_key_arn": key_arn,
            }
        archive = work / "model.tar.gz"
        digest = build(args.code_dir, weights, archive)
        key = object_key(args.prefix, args.model_id, args.revision, digest)
        try:
            s3.upload_file(str(archive), args.bucket, key, ExtraArgs=encryption)
        except (BotoCoreError, ClientError, S3UploadFailedError) as error:
            raise StageError(
                f"--bucket: cannot upload to s3://{args.bucket}/{key}: {error}"
            ) from None
    return {"model_data_uri": f"s3://{args.bucket}/{key}", "model_data_key_arn": key_arn}


def parser() -> argparse.ArgumentParser:
    """The command line (``make stage-model`` passes its variables here)."""
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--model-id", default="google/pegasus-large")
    cli.add_argument("--revision", required=True, help="40-hex commit sha of the Hub repo")
    cli.add_argument("--bucket", required=True)
    cli.add_argument("--prefix", default="models/", help="key prefix, ending in '/'")
    cli.add_argument("--kms-key", required=True, help="key id, key ARN or alias for SSE-KMS")
    cli.add_argument("--region", default=None)
    cli.add_argument("--code-dir", type=Path, default=ROOT / "model_code")
    cli.add_argument("--weights-dir", type=Path, default=None, help="stage this folder instead")
    cli.add_argument(
        "--uncompressed",
        action="store_true",
        help="upload the files under a prefix (model_data_compression none), not an archive",
    )
    return cli


def main(argv: list[str] | None = None) -> int:
    """Run the command line; problems end in one message on stderr and exit status 1."""
    args = parser().parse_args(argv)
    import boto3

    session = boto3.session.Session(region_name=args.region)
    try:
        values = stage(args, s3=session.client("s3"), kms=session.client("kms"))
    except StageError as error:
        print(f"stage-model: {error}", file=sys.stderr)
        return 1
    print(f"Staged {args.model_id}@{args.revision}. In cdk.json, for the environment:")
    print(f'  "model_data_uri": "{values["model_data_uri"]}",')
    if "model_data_compression" in values:
        print(f'  "model_data_compression": "{values["model_data_compression"]}",')
    print(f'  "model_data_key_arn": "{values["model_data_key_arn"]}",')
    print('  "network_isolation": true')
    return 0


if __name__ == "__main__":
    sys.exit(main())

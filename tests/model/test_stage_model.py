"""scripts/stage_model.py: a pinned checkpoint and the model code, staged SSE-KMS in S3 (moto)."""

from __future__ import annotations

import importlib.util
import io
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("moto")
pytest.importorskip("huggingface_hub")

ROOT = Path(__file__).resolve().parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"
BUCKET = "summarizer-models"
REGION = "eu-west-1"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stage_model", ROOT / "scripts/stage_model.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def stage_model() -> ModuleType:
    return load_script()


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    """A stand-in for a save_pretrained() folder: the script packs whatever files it holds."""
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "pegasus"}')
    (folder / "model.safetensors").write_bytes(b"\x00" * 1024)
    return folder


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Any:
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]
        yield s3, key


def run(stage_model: ModuleType, *args: str) -> int:
    code: int = stage_model.main(["--revision", SHA, "--bucket", BUCKET, "--region", REGION, *args])
    return code


def archive_names(s3: Any, uri: str) -> list[str]:
    bucket, key = uri[len("s3://") :].split("/", 1)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        return tar.getnames()


def printed_uri(out: str) -> str:
    (line,) = [line for line in out.splitlines() if '"model_data_uri"' in line]
    return line.split('"')[3]


def test_stages_weights_and_code_encrypted_and_prints_the_config(
    stage_model: ModuleType, weights: Path, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, key = aws
    assert run(stage_model, "--kms-key", key["KeyId"], "--weights-dir", str(weights)) == 0
    out = capsys.readouterr().out
    uri = printed_uri(out)
    assert uri.startswith(f"s3://{BUCKET}/models/google--pegasus-large/{SHA}/")
    assert uri.endswith("/model.tar.gz")
    assert f'  "model_data_key_arn": "{key["Arn"]}",' in out
    assert '  "network_isolation": true' in out

    bucket, object_key = uri[len("s3://") :].split("/", 1)
    head = s3.head_object(Bucket=bucket, Key=object_key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    names = archive_names(s3, uri)
    # The toolkit's layout: weights at the root, the handler under code/.
    assert {"config.json", "model.safetensors", "code/inference.py"} <= set(names)
    assert not [n for n in names if n.startswith("code/") and "__pycache__" in n]


def test_the_same_inputs_stage_to_the_same_uri(
    stage_model: ModuleType, weights: Path, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, key = aws
    uris = []
    for _ in range(2):
        assert run(stage_model, "--kms-key", key["Arn"], "--weights-dir", str(weights)) == 0
        uris.append(printed_uri(capsys.readouterr().out))
    assert uris[0] == uris[1]


def test_downloads_exactly_the_pinned_revision_without_hub_metadata(
    stage_model: ModuleType, aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    import huggingface_hub

    s3, key = aws
    calls: list[dict[str, Any]] = []

    def fake_snapshot_download(**kwargs: Any) -> str:
        calls.append(kwargs)
        target = Path(kwargs["local_dir"])
        (target / ".cache" / "huggingface").mkdir(parents=True)
        (target / ".cache" / "huggingface" / "download.metadata").write_text("etag")
        (target / "config.json").write_text("{}")
        return str(target)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    assert run(stage_model, "--kms-key", key["KeyId"]) == 0
    (call,) = calls
    assert (call["repo_id"], call["revision"]) == ("google/pegasus-large", SHA)
    assert "*.h5" in call["ignore_patterns"]
    names = archive_names(s3, printed_uri(capsys.readouterr().out))
    assert "config.json" in names and not [n for n in names if n.startswith(".cache")]


def test_bad_arguments_are_all_reported_in_one_message(
    stage_model: ModuleType, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = stage_model.main(
        ["--revision", "main", "--bucket", "my..bucket", "--kms-key", "k", "--model-id", "a b"]
    )
    assert code == 1
    assert capsys.readouterr().err == (
        "stage-model: arguments: 3 problems:\n"
        "  - --model-id: must be a Hugging Face Hub repo id '[namespace/]name', each part 1 to "
        "96 letters, digits, '-', '_' or '.', not starting or ending with '-' or '.', without "
        "'--' or '..' (got 'a b')\n"
        "  - --revision: must be a 40-hex commit sha of the Hub repo, so the staged weights "
        "never change under the same name (got 'main')\n"
        "  - --bucket: not a valid S3 bucket name (no two adjacent dots) (got 'my..bucket')\n"
    )


def test_an_unknown_key_is_named_without_a_traceback(
    stage_model: ModuleType, weights: Path, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(stage_model, "--kms-key", "alias/missing", "--weights-dir", str(weights)) == 1
    err = capsys.readouterr().err
    assert err.startswith("stage-model: --kms-key: cannot use 'alias/missing': ")
    assert "Traceback" not in err


def test_a_missing_bucket_is_named_without_a_traceback(
    stage_model: ModuleType, weights: Path, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, key = aws
    arguments = ["--revision", SHA, "--bucket", "no-such-bucket", "--region", REGION]
    code = stage_model.main([*arguments, "--kms-key", key["KeyId"], "--weights-dir", str(weights)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("stage-model: --bucket: cannot upload to s3://no-such-bucket/models/")
    assert "NoSuchBucket" in err and "Traceback" not in err


def test_an_unknown_revision_is_named_without_a_traceback(
    stage_model: ModuleType, aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    import huggingface_hub
    from huggingface_hub.errors import RevisionNotFoundError

    def missing(**_: Any) -> str:
        raise RevisionNotFoundError("404 Client Error. Revision Not Found for url: ...")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", missing)
    _, key = aws
    assert run(stage_model, "--kms-key", key["KeyId"]) == 1
    assert capsys.readouterr().err == (
        f"stage-model: --model-id/--revision: cannot download google/pegasus-large@{SHA}: "
        "404 Client Error. Revision Not Found for url: ...\n"
    )


# --- uncompressed: one object per file under a prefix (model_data_compression "none") --------


def printed(out: str, key: str) -> str:
    (line,) = [line for line in out.splitlines() if f'"{key}"' in line]
    return line.split('"')[3]


def test_uncompressed_stages_each_file_under_a_prefix_encrypted(
    stage_model: ModuleType, weights: Path, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, key = aws
    arguments = ["--kms-key", key["KeyId"], "--weights-dir", str(weights), "--uncompressed"]
    assert run(stage_model, *arguments) == 0
    out = capsys.readouterr().out
    uri = printed(out, "model_data_uri")
    assert uri.startswith(f"s3://{BUCKET}/models/google--pegasus-large/{SHA}/")
    assert uri.endswith("/") and not uri.endswith("model.tar.gz/")
    assert printed(out, "model_data_compression") == "none"
    assert printed(out, "model_data_key_arn") == key["Arn"]
    prefix = uri[len(f"s3://{BUCKET}/") :]
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]
    names = sorted(item["Key"][len(prefix) :] for item in listed)
    # The archive's layout, file by file; no folder placeholder objects ("code/").
    assert {"config.json", "model.safetensors", "code/inference.py"} <= set(names)
    assert not [n for n in names if n.endswith("/") or "__pycache__" in n]
    for name in names:
        head = s3.head_object(Bucket=BUCKET, Key=prefix + name)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    assert s3.get_object(Bucket=BUCKET, Key=prefix + "model.safetensors")["Body"].read() == (
        b"\x00" * 1024
    )


def test_uncompressed_prefixes_follow_the_content(
    stage_model: ModuleType, weights: Path, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, key = aws
    arguments = ["--kms-key", key["Arn"], "--weights-dir", str(weights), "--uncompressed"]
    uris = []
    for content in (b"\x00", b"\x00", b"\x01"):
        (weights / "model.safetensors").write_bytes(content * 1024)
        assert run(stage_model, *arguments) == 0
        uris.append(printed(capsys.readouterr().out, "model_data_uri"))
    assert uris[0] == uris[1] != uris[2]


def test_a_prefix_holding_other_objects_is_refused(
    stage_model: ModuleType, weights: Path, aws: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, key = aws
    arguments = ["--kms-key", key["Arn"], "--weights-dir", str(weights), "--uncompressed"]
    assert run(stage_model, *arguments) == 0
    prefix = printed(capsys.readouterr().out, "model_data_uri")[len(f"s3://{BUCKET}/") :]
    # What the S3 console's "Create folder" leaves: a zero-byte object named like a folder.
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}extra/", Body=b"")
    assert run(stage_model, *arguments) == 1
    assert capsys.readouterr().err == (
        f"stage-model: --bucket: s3://{BUCKET}/{prefix} holds objects that are not this model's "
        "(extra/): SageMaker would copy them into /opt/ml/model too; delete them and stage "
        "again\n"
    )


@pytest.mark.parametrize("uncompressed", [True, False])
def test_weights_with_a_code_folder_are_refused(
    stage_model: ModuleType,
    weights: Path,
    aws: Any,
    capsys: pytest.CaptureFixture[str],
    uncompressed: bool,
) -> None:
    _, key = aws
    (weights / "code").mkdir()
    (weights / "code" / "inference.py").write_text("# not ours\n")
    arguments = ["--kms-key", key["Arn"], "--weights-dir", str(weights)]
    assert run(stage_model, *arguments, *(["--uncompressed"] if uncompressed else [])) == 1
    assert capsys.readouterr().err == (
        f"stage-model: --weights-dir: {weights} has code/inference.py: code/ is the model "
        "code's place in the layout\n"
    )

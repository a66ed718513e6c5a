"""S3 URIs of model data: bucket naming rules and key limits, pure Python.

The rules are S3's general purpose bucket naming rules (Amazon S3 User Guide, "General purpose
bucket naming rules"): 3 to 63 characters of lowercase letters, digits, dots and hyphens; a letter
or digit first and last; no two adjacent dots; not shaped like an IP address; none of the prefixes
and suffixes S3 reserves. SageMaker's ``ModelDataUrl`` is at most 1,024 characters (CreateModel
API), which also bounds the key, and the archive must be a gzipped tar (``.tar.gz``).

Uncompressed model data (``ModelDataSource.S3DataSource`` with ``S3DataType`` ``S3Prefix`` and
``CompressionType`` ``None``) is a key prefix instead: "A valid key name prefix identified by
S3Uri always ends with a forward slash (/)", at most 1,024 characters (S3ModelDataSource API).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from constructs_lib._validation import is_token

_BUCKET_CHARACTERS = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
MAX_MODEL_DATA_URL_LENGTH = 1024


class S3Location(NamedTuple):
    """A bucket and a key."""

    bucket: str
    key: str


def parse_s3_uri(uri: str) -> S3Location | None:
    """``s3://bucket/key`` -> (bucket, key), or None when it is not of that shape."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[len("s3://") :].partition("/")
    return S3Location(bucket, key) if bucket and key else None


def bucket_name_problem(bucket: str) -> str | None:
    """Why ``bucket`` is not a valid general purpose bucket name, or None."""
    if not _BUCKET_CHARACTERS.match(bucket):
        return (
            "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a "
            "letter or digit"
        )
    if ".." in bucket:
        return "no two adjacent dots"
    if _IP_ADDRESS.match(bucket):
        return "not formatted as an IP address"
    if bucket.startswith(RESERVED_BUCKET_PREFIXES):
        return f"none of the reserved prefixes {', '.join(RESERVED_BUCKET_PREFIXES)}"
    if bucket.endswith(RESERVED_BUCKET_SUFFIXES):
        return f"none of the reserved suffixes {', '.join(RESERVED_BUCKET_SUFFIXES)}"
    return None


def model_data_uri_problems(name: str, uri: str | None) -> list[str]:
    """Problems with the S3 URI of a pre-staged ``model.tar.gz``."""
    if uri is None or is_token(uri):
        return []
    location = parse_s3_uri(uri) if isinstance(uri, str) else None
    if location is None or not location.key.endswith(".tar.gz"):
        return [f"{name}: must be 's3://<bucket>/<key>.tar.gz' (got {uri!r})"]
    return _bucket_and_length_problems(name, uri, location.bucket, "ModelDataUrl")


def model_data_prefix_problems(name: str, uri: str | None) -> list[str]:
    """Problems with the S3 URI of a prefix of uncompressed model files (``S3Prefix``)."""
    if uri is None or is_token(uri):
        return []
    location = parse_s3_uri(uri) if isinstance(uri, str) else None
    if location is None or not location.key.endswith("/") or location.key.startswith("/"):
        return [
            f"{name}: must be 's3://<bucket>/<prefix>/', a key prefix ending with '/', with "
            f"uncompressed model data (got {uri!r})"
        ]
    return _bucket_and_length_problems(name, uri, location.bucket, "S3Uri")


def _bucket_and_length_problems(name: str, uri: str, bucket: str, field: str) -> list[str]:
    """What both model data locations share: a valid bucket name and SageMaker's length limit
    on ``field``."""
    problems: list[str] = []
    why = bucket_name_problem(bucket)
    if why:
        problems.append(
            f"{name}: bucket {bucket!r} is not a valid S3 bucket name ({why}) (got {uri!r})"
        )
    if len(uri) > MAX_MODEL_DATA_URL_LENGTH:
        problems.append(
            f"{name}: must be at most {MAX_MODEL_DATA_URL_LENGTH} characters, SageMaker's limit "
            f"for {field} (got {len(uri)} characters: {uri[:60]!r}...)"
        )
    return problems


# How staged model data is laid out: a gzipped tar (ModelDataUrl) or uncompressed files under a
# prefix (ModelDataSource, CompressionType None).
MODEL_DATA_COMPRESSIONS = ("gzip", "none")


def model_data_source_problems(
    uri_key: str, uri: str | None, compression_key: str, compression: str
) -> list[str]:
    """``uri`` against ``compression``: a ``.tar.gz`` object for ``gzip``, a prefix ending with
    ``/`` for ``none`` (which needs a staged ``uri``: the Hub has no uncompressed S3 layout)."""
    if compression not in MODEL_DATA_COMPRESSIONS:
        return [
            f"{compression_key}: must be one of {', '.join(MODEL_DATA_COMPRESSIONS)} "
            f"(got {compression!r})"
        ]
    if compression == "gzip":
        return model_data_uri_problems(uri_key, uri)
    if uri is None:
        return [
            f"{compression_key}: 'none' needs {uri_key}, the S3 prefix of the staged, "
            "uncompressed model files (`make stage-model UNCOMPRESSED=1` prints it) "
            f"(got {compression!r} without {uri_key})"
        ]
    return model_data_prefix_problems(uri_key, uri)

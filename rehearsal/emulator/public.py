"""What AWS publishes and every account can read: public SSM parameters and public layers.

Templates resolve Powertools' public layer from its AWS-owned SSM parameter
(``/aws/service/powertools/python/<arch>/python<x.y>/<version>``). An AWS-owned parameter
cannot be created through SSM's API (names under ``/aws`` are reserved), so the emulator puts
it into the parameter store itself; its value is the ARN of a layer version the emulator
publishes in Powertools' publishing account, 017000801446, with the content pinned in
``rehearsal/lambdas/requirements-powertools-layer.txt``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from moto.awslambda.utils import get_backend
from moto.core.utils import utcnow
from moto.ssm.models import Parameter, ssm_backends

from rehearsal import toolchain

POWERTOOLS_ACCOUNT = "017000801446"
PYTHON_VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
ARCHITECTURES = ("arm64", "x86_64")


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name != ".installed":
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _put_aws_parameter(account: str, region: str, name: str, value: str) -> None:
    store = ssm_backends[account][region]._parameters
    store[name].append(
        Parameter(
            account_id=account,
            name=name,
            value=value,
            parameter_type="String",
            description="AWS-owned public parameter (published by the rehearsal's emulator)",
            allowed_pattern=None,
            keyid=None,
            last_modified_date=utcnow(),
            version=len(store[name]) + 1,
            data_type="text",
        )
    )


def publish(account: str, region: str) -> list[str]:
    """Publish the Powertools layer and its parameters in ``region``; their names."""
    import base64

    version = toolchain.powertools_version()
    content = base64.b64encode(_zip(toolchain.powertools_layer())).decode()
    backend = get_backend(POWERTOOLS_ACCOUNT, region)
    names = []
    for python in PYTHON_VERSIONS:
        for arch in ARCHITECTURES:
            layer_name = f"AWSLambdaPowertoolsPythonV3-python{python.replace('.', '')}-{arch}"
            layer = backend.publish_layer_version(
                {
                    "LayerName": layer_name,
                    "Content": {"ZipFile": content},
                    "Description": f"Powertools for AWS Lambda (Python) {version}",
                    "CompatibleRuntimes": [f"python{python}"],
                    "CompatibleArchitectures": [arch],
                    "LicenseInfo": "MIT-0",
                }
            )
            name = f"/aws/service/powertools/python/{arch}/python{python}/{version}"
            _put_aws_parameter(account, region, name, layer.arn)
            _put_aws_parameter(
                account, region, f"/aws/service/powertools/python/{arch}/python{python}/latest",
                layer.arn,
            )  # fmt: skip
            names.append(name)
    return names

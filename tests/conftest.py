"""Shared, session-scoped synthesis: the whole app is synthesized once and every test reads it.

Imports of aws_cdk stay inside fixtures: tests/model runs in the model's own virtualenv, which
has no CDK, and pytest loads this file for it too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cdk_json_context() -> dict[str, Any]:
    """The context of cdk.json: feature flags and the embedded default configuration."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def synthesize(context: dict[str, Any], outdir: Path, *, nag: bool = False) -> Any:
    """Build the app exactly as app.py does (optionally with cdk-nag) and synthesize it."""
    import aws_cdk as cdk

    from app import build_app, context_of
    from stacks.config import load_configs

    app = cdk.App(context=context, outdir=str(outdir))
    build_app(app, load_configs(context_of(app)))
    if nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app.synth()


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The cloud assembly of the default configuration (every environment)."""
    return synthesize(cdk_json_context(), tmp_path_factory.mktemp("cdk.out"))


def _template(assembly: Any, environment: str) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(
        assembly.get_stack_by_name(f"PegasusSummarizer-{environment}").template
    )


@pytest.fixture(scope="session")
def dev(assembly: Any) -> Any:
    """Template of the dev stack (destroy on delete)."""
    return _template(assembly, "dev")


@pytest.fixture(scope="session")
def prod(assembly: Any) -> Any:
    """Template of the prod stack (retain on delete)."""
    return _template(assembly, "prod")


def only(template: Any, resource_type: str, props: Any = None) -> tuple[str, dict[str, Any]]:
    """The one resource of ``resource_type`` (matching ``props``): (logical id, definition)."""
    found = template.find_resources(resource_type, props or {})
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


@pytest.fixture(scope="session")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-file model code folder, for construct tests that do not need the real handler."""
    directory = tmp_path_factory.mktemp("code")
    (directory / "inference.py").write_text("def model_fn(model_dir, context=None): ...\n")
    return directory


def construct_app() -> Any:
    """An App with cdk.json's feature flags, for stacks of bare constructs."""
    import aws_cdk as cdk

    return cdk.App(context=cdk_json_context())


def endpoint_in(
    stack: Any,
    code_dir: Path,
    *,
    endpoint_class: Any = None,
    instance_type: str = "ml.g5.xlarge",
    emails: tuple[str, ...] = (),
    model_id: str = "google/pegasus-large",
    model_revision: str | None = None,
    **endpoint_options: Any,
) -> Any:
    """Storage, topics, a Hugging Face model and an async endpoint in ``stack``."""
    from constructs_lib import (
        AsyncEndpoint,
        AsyncInferenceStorage,
        AsyncNotifications,
        DlcVersion,
        HuggingFaceModel,
        ModelSource,
    )

    storage = AsyncInferenceStorage(stack, "Storage")
    notifications = AsyncNotifications(stack, "Notifications", emails=emails)
    model = HuggingFaceModel(
        stack,
        "Model",
        source=ModelSource.from_hub(model_id, revision=model_revision, code_dir=code_dir),
        instance_type=instance_type,
        dlc_version=DlcVersion(transformers="4.51.3", pytorch="2.6.0"),
    )
    return (endpoint_class or AsyncEndpoint)(
        stack,
        "Endpoint",
        model=model,
        storage=storage,
        notifications=notifications,
        instance_type=instance_type,
        **endpoint_options,
    )


# A governed account's configuration: prod (retained, so no auto-delete provider) with the
# data path's functions in existing subnets (docs/compliance.md).
GOVERNED_VPC = {
    "subnet_ids": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    "security_group_ids": ["sg-0123456789abcdef0"],
}


class Governed(NamedTuple):
    template: Any
    report: dict[str, Any]
    template_file: Path


@pytest.fixture(scope="session")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Governed:
    """prod with ``data_path.vpc``, synthesized under the AWS Control Tower rules: its
    template, the cfn-guard plugin's report and the template file."""
    import contextlib

    import aws_cdk as cdk
    from aws_cdk.assertions import Template
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

    from app import build_app, context_of
    from stacks.config import load_configs

    outdir = tmp_path_factory.mktemp("governed")
    context = {
        **cdk_json_context(),
        "summarizer.environment": "prod",
        "summarizer.data_path.vpc": json.dumps(GOVERNED_VPC),
    }
    app = cdk.App(context=context, outdir=str(outdir))
    build_app(app, load_configs(context_of(app)))
    cdk.Validations.of(app).add_plugins(CfnGuardValidator(control_tower_rules_enabled=True))
    # Synthesis raises on unacknowledged findings (the production warning among them).
    with contextlib.suppress(Exception):
        app.synth()
    reports = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    (report,) = [r for r in reports if r["pluginName"] == "cdk-validator-cfnguard"]
    template_file = outdir / "PegasusSummarizer-prod.template.json"
    template = Template.from_json(json.loads(template_file.read_text()))
    return Governed(template, dict(report), template_file)

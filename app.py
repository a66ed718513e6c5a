#!/usr/bin/env python3
"""Builds the CDK app: one SummarizationStack per configured environment.

With a ``pipeline`` section in the configuration (see stacks/pipeline_config.py) it builds the
delivery pipeline instead, whose stages deploy those same stacks.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from constructs_lib._validation import ConfigurationError
from stacks.config import CONTEXT_KEY, AppConfig, load_configs
from stacks.summarization_stack import SummarizationStack

# Where the CDK CLI hands context to the app (aws-cdk-lib's App reads the same two).
CONTEXT_ENV = "CDK_CONTEXT_JSON"
CONTEXT_OVERFLOW_ENV = "CONTEXT_OVERFLOW_LOCATION_ENV"


def _ours(context: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in context.items()
        if key == CONTEXT_KEY or key.startswith(f"{CONTEXT_KEY}.")
    }


def raw_cli_context() -> dict[str, Any]:
    """The context the CLI passed, read as JSON here rather than through jsii.

    jsii drops null values from objects on the way to Python, so ``"dev": null`` in cdk.json
    would reach the loader as no ``dev`` at all and its stack would silently vanish.
    """
    context: dict[str, Any] = {}
    overflow = os.environ.get(CONTEXT_OVERFLOW_ENV)
    if overflow:
        context.update(json.loads(Path(overflow).read_text()))
    inline = os.environ.get(CONTEXT_ENV)
    if inline:
        context.update(json.loads(inline))
    return _ours(context)


def context_of(app: cdk.App) -> dict[str, Any]:
    """The ``summarizer`` block of cdk.json and any ``summarizer.*`` keys given with ``-c``."""
    return {**_ours(app.node.get_all_context()), **raw_cli_context()}


def summarization_stack(
    scope: Construct, config: AppConfig, env: cdk.Environment | None = None
) -> SummarizationStack:
    """One environment's stack, as a workstation and the pipeline's stages both build it."""
    return SummarizationStack(
        scope,
        config.stack_name,
        config=config,
        # Explicit, so a pipeline stage does not prefix the stage's name to it.
        stack_name=config.stack_name,
        env=env or cdk.Environment(account=config.account, region=config.region),
        tags={"project": "pegasus-async-summarizer", "environment": config.name},
    )


def build_app(app: cdk.App, configs: list[AppConfig]) -> list[SummarizationStack]:
    """Add a stack per configuration to ``app``."""
    return [summarization_stack(app, config) for config in configs]


# --- pipeline hook: only when the configuration has a `pipeline` section --------------------------
def build_pipeline(app: cdk.App, context: dict[str, Any], configs: list[AppConfig]) -> bool:
    """Add the delivery pipeline stack instead of the environment stacks; False without one."""
    from stacks.pipeline_config import load_pipeline_settings, pipeline_section

    found = pipeline_section(context)
    if found is None:
        return False
    # Only now: CDK Pipelines' modules cost synthesis time the environment stacks do not need.
    from stacks.pipeline_stack import PipelineStack

    section, config_file = found
    environments = {config.name: config for config in configs}
    settings = load_pipeline_settings(section, environments, config_file=config_file)
    PipelineStack(
        app,
        settings.stack_name,
        settings=settings,
        environments=environments,
        stack_factory=summarization_stack,
        env=cdk.Environment(account=settings.account, region=settings.region),
        tags={"project": "pegasus-async-summarizer", "environment": "pipeline"},
    )
    return True


def main() -> None:
    app = cdk.App()
    try:
        context = context_of(app)
        configs = load_configs(context)
        # Constructs validate too (and raise ConfigurationError): a problem found while
        # building is reported the same way as one found while loading.
        if not build_pipeline(app, context, configs):
            build_app(app, configs)
        app.synth()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

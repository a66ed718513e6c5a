#!/usr/bin/env python3
"""Builds the CDK app: one SummarizationStack per configured environment.

With a ``pipeline`` section in the configuration (see stacks/pipeline_config.py) it builds the
delivery pipeline instead, whose stages deploy those same stacks.
"""

from __future__ import annotations

import sys
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from constructs_lib._validation import ConfigurationError
from stacks.config import CONTEXT_KEY, AppConfig, load_configs
from stacks.summarization_stack import SummarizationStack


def context_of(app: cdk.App) -> dict[str, Any]:
    """The ``summarizer`` block of cdk.json and any ``summarizer.*`` keys given with ``-c``."""
    context: dict[str, Any] = app.node.get_all_context()
    return {
        key: value
        for key, value in context.items()
        if key == CONTEXT_KEY or key.startswith(f"{CONTEXT_KEY}.")
    }


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
    from stacks.pipeline_stack import PipelineStack

    found = pipeline_section(context)
    if found is None:
        return False
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
        if not build_pipeline(app, context, configs):
            build_app(app, configs)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    app.synth()


if __name__ == "__main__":
    main()

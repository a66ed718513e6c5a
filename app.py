#!/usr/bin/env python3
"""Builds the CDK app: one SummarizationStack per configured environment."""

from __future__ import annotations

import sys
from typing import Any

import aws_cdk as cdk

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


def build_app(app: cdk.App, configs: list[AppConfig]) -> list[SummarizationStack]:
    """Add a stack per configuration to ``app``."""
    stacks = []
    for config in configs:
        env = cdk.Environment(account=config.account, region=config.region)
        stacks.append(
            SummarizationStack(
                app,
                config.stack_name,
                config=config,
                env=env,
                tags={"project": "pegasus-async-summarizer", "environment": config.name},
            )
        )
    return stacks


def main() -> None:
    app = cdk.App()
    try:
        configs = load_configs(context_of(app))
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    build_app(app, configs)
    app.synth()


if __name__ == "__main__":
    main()

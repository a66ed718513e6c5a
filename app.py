#!/usr/bin/env python3
"""Builds the CDK app: one SummarizationStack per configured environment."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk

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
        # Constructs validate too (and raise ConfigurationError): a problem found while
        # building is reported the same way as one found while loading.
        build_app(app, load_configs(context_of(app)))
        app.synth()
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

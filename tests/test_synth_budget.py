"""Synthesis speed as a number that does not depend on the machine: jsii round trips.

Every call from Python into aws-cdk-lib is a round trip to the CDK's Node process (0.3 to 1 ms
here), and they are most of what the default app's synthesis costs beyond loading aws-cdk-lib
(README, Performance). Timing a test would measure the machine's load; counting the calls
does not. A change that adds many uncached calls fails here, so its cost is looked at (and
the budget raised on purpose, with the README's figures re-measured) rather than found later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cdk_json_context, synthesize

# Building and synthesizing the default app (dev + prod stacks) took 1,035 calls when this
# was set (1,228 before the values every construct asks for were fetched once).
BUDGET = 1_100


def test_the_default_app_stays_within_its_jsii_call_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jsii._kernel.providers import process

    from constructs_lib import _values

    # Values fetched once per process would make the count depend on the tests run before.
    for made_once in (_values.seconds, _values.minutes, _values.hours, _values.days):
        made_once.cache_clear()
    calls = 0
    send = process._NodeProcess.send

    def counted(self: Any, request: Any, response_type: Any) -> Any:
        nonlocal calls
        calls += 1
        return send(self, request, response_type)

    monkeypatch.setattr(process._NodeProcess, "send", counted)
    synthesize(cdk_json_context(), tmp_path)
    assert calls <= BUDGET, (
        f"synthesizing the default app made {calls} jsii calls (budget {BUDGET}): fetch "
        "repeated values once (constructs_lib/_values.py, the caches in _nag.py and storage.py) "
        "or raise BUDGET on purpose with the README's synthesis figures re-measured"
    )


# What only another hosting option, an example or the pipeline needs. Each aws-cdk-lib module
# costs its Python import (aws_stepfunctions_tasks alone is a 3 MB module) and its Node load.
NOT_FOR_THE_DEFAULT_APP = (
    "aws_cdk.aws_codebuild",
    "aws_cdk.aws_codepipeline",
    "aws_cdk.aws_scheduler",
    "aws_cdk.aws_stepfunctions",
    "aws_cdk.aws_stepfunctions_tasks",
    "aws_cdk.pipelines",
    "boto3",
    "constructs_lib.hosting.batch_transform",
    "constructs_lib.hosting.containers",
    "constructs_lib.hosting.inference_pipeline",
    "constructs_lib.hosting.multi_container",
    "constructs_lib.hosting.multi_model",
    "stacks.pipeline_stack",
    "stacks.pipeline_stage",
)


def test_the_default_app_loads_no_module_of_the_other_hosting_options_or_the_pipeline(
    tmp_path: Path,
) -> None:
    # In a fresh interpreter: this test session has imported everything already.
    import json
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import json, sys\n"
        "from tests.conftest import cdk_json_context, synthesize\n"
        f"synthesize(cdk_json_context(), {str(tmp_path)!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert "aws_cdk.aws_lambda" in loaded  # the data path's: the list above is not vacuous
    assert sorted(loaded.intersection(NOT_FOR_THE_DEFAULT_APP)) == []

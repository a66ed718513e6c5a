"""Synthesis speed as numbers that do not depend on the machine: jsii round trips, modules loaded.

Every call from Python into aws-cdk-lib is a round trip to the CDK's Node process (0.3 to 1 ms
here), and every aws-cdk-lib module the app touches costs its Python import and its JavaScript's
compilation in Node (README, Performance). Timing a test would measure the machine's load;
counting does not. A change that adds many uncached calls, or loads another option's modules
into the default app, fails here, so its cost is looked at (and the budget raised on purpose,
with the README's figures re-measured) rather than found later.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT

# Importing, building and synthesizing the default app (dev + prod stacks) in a fresh
# interpreter took 976 calls when this was set (1,130 before attributes, principals and
# acknowledgements were fetched or made once and the dashboard's rows given at construction;
# 1,228 before the values every construct asks for were fetched once).
BUDGET = 1_010

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

# A fresh interpreter: this test session has imported everything and filled every cache.
PROBE = """
import json, sys
from jsii._kernel.providers import process

calls = 0
send = process._NodeProcess.send


def counted(self, request, response_type):
    global calls
    calls += 1
    return send(self, request, response_type)


process._NodeProcess.send = counted
from tests.conftest import cdk_json_context, synthesize

synthesize(cdk_json_context(), sys.argv[1])
print(json.dumps({"calls": calls, "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def fresh_synthesis(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("budget.out")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    probed: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return probed


def test_the_default_app_stays_within_its_jsii_call_budget(
    fresh_synthesis: dict[str, Any],
) -> None:
    calls = fresh_synthesis["calls"]
    assert calls <= BUDGET, (
        f"synthesizing the default app made {calls} jsii calls (budget {BUDGET}): fetch "
        "repeated values once (constructs_lib/_values.py, the caches in _nag.py, storage.py, "
        "notifications.py and data_path/queues.py; _nag.acknowledge_all) or raise BUDGET on "
        "purpose with the README's synthesis figures re-measured"
    )


def test_the_default_app_loads_no_module_of_the_other_hosting_options_or_the_pipeline(
    fresh_synthesis: dict[str, Any],
) -> None:
    loaded = set(fresh_synthesis["modules"])
    assert "aws_cdk.aws_lambda" in loaded  # the data path's: the list above is not vacuous
    assert sorted(loaded.intersection(NOT_FOR_THE_DEFAULT_APP)) == []


def test_the_probe_counts_calls(fresh_synthesis: dict[str, Any]) -> None:
    # A probe that counted nothing would pass the budget whatever the app did.
    assert fresh_synthesis["calls"] > 500

"""The rehearsal on one shared deployment: round trip, broken wires, load, faults, update and
teardown, in this order (the last test destroys the stack)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rehearsal import cdk, load, report, roundtrip
from rehearsal.cdk import StepFailed
from rehearsal.emulator import sns
from rehearsal.emulator.state import current
from rehearsal.run import Rehearsal
from tests.rehearsal import assembly

STACK = "PegasusSummarizer-dev"


def test_every_resource_of_the_template_exists(rehearsal: Rehearsal) -> None:
    template = json.loads((rehearsal.assembly / f"{STACK}.template.json").read_text())
    assert rehearsal.report.resources == {STACK: len(template["Resources"])}


def test_the_round_trip_passes(rehearsal: Rehearsal) -> None:
    rehearsal.round_trips()
    (trip,) = rehearsal.report.trips
    assert trip.succeeded == 10
    assert trip.failed == {"bad.json": trip.failed["bad.json"]}
    assert roundtrip.BAD_REASON in trip.failed["bad.json"]
    assert sum(trip.request_sizes) == 11 and min(trip.request_sizes) >= 2


def _submit_small(rehearsal: Rehearsal, tmp_path: Path, timeout_s: int) -> None:
    folder = tmp_path / "documents"
    expected = roundtrip.write_documents(folder, 3)
    roundtrip.submit(
        rehearsal.api,
        "dev",
        STACK,
        folder,
        log=tmp_path / "submit.log",
        env=rehearsal.env,
        expected=expected,
        timeout_s=timeout_s,
        grouped=False,
    )


def _errors_of(fragment: str) -> list[str]:
    return [line for line in report.lambda_errors() if fragment in line]


# A healthy stack ends a small submission in the 4-second batching window and a second or two;
# a broken one never does. The client gives up after this, and the cause is then awaited.
BROKEN_TIMEOUT_S = 8


def _submit_fails(
    rehearsal: Rehearsal, tmp_path: Path, evidence: Callable[[], list[str]]
) -> list[str]:
    """Documents sent to a broken stack: ``summarizer submit --wait`` gives up with its jobs not
    terminal (exit 3: what fails the rehearsal), and the emulator records the cause (what
    ``evidence`` finds, awaited for up to 90 s)."""
    with pytest.raises(StepFailed, match="summarizer submit --wait exited 3, expected 1"):
        _submit_small(rehearsal, tmp_path, timeout_s=BROKEN_TIMEOUT_S)
    deadline = time.monotonic() + 90
    while not (found := evidence()):
        assert time.monotonic() < deadline, "the cause of the failure was never recorded"
        time.sleep(1)
    return found


def test_a_wrong_environment_variable_fails_the_rehearsal(
    rehearsal: Rehearsal, tmp_path: Path
) -> None:
    """The dispatcher's JOBS_TABLE misspelled in the template: every batch fails, the documents
    never reach a terminal state, and the round trip says so."""
    broken = assembly.copy(rehearsal.assembly, tmp_path / "cdk.out")

    def misspell(template: dict[str, Any]) -> None:
        variables = assembly.function(template, "Dispatcher")["Properties"]["Environment"]
        variables["Variables"]["JOB_TABLE"] = variables["Variables"].pop("JOBS_TABLE")

    assembly.edit_template(broken, STACK, misspell)
    rehearsal.deploy_assembly(broken, "cdk deploy (misspelled variable)")
    try:
        _submit_fails(rehearsal, tmp_path, lambda: _errors_of("JOBS_TABLE is not set"))
    finally:
        rehearsal.deploy_assembly(rehearsal.assembly, "cdk deploy (restored)")


def test_a_module_missing_from_a_lambda_asset_fails_the_rehearsal(
    rehearsal: Rehearsal, tmp_path: Path
) -> None:
    """runtime/documents.py left out of the functions' asset: the dispatcher cannot import."""
    broken = assembly.copy(rehearsal.assembly, tmp_path / "cdk.out")
    assembly.remove_from_asset(broken, STACK, "Dispatcher", "runtime/documents.py")
    rehearsal.deploy_assembly(broken, "cdk deploy (module missing)")
    try:
        _submit_fails(
            rehearsal,
            tmp_path,
            lambda: _errors_of(
                "Runtime.ImportModuleError: Unable to import module 'runtime.dispatcher': "
                "No module named 'runtime.documents'"
            ),
        )
    finally:
        rehearsal.deploy_assembly(rehearsal.assembly, "cdk deploy (restored)")


def _without(template: dict[str, Any], role_fragment: str, action: str) -> None:
    """Remove ``action`` from the policies of the role whose logical id has ``role_fragment``."""
    found = 0
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if not any(role_fragment in role["Ref"] for role in resource["Properties"]["Roles"]):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [
                statement["Action"]
            ]  # fmt: skip
            if action in actions:
                found += 1
                kept = [a for a in actions if a != action]
                statement["Action"] = kept or ["sts:GetCallerIdentity"]
    assert found, f"{role_fragment} has no {action} to remove"


@pytest.mark.parametrize(
    ("role", "action", "resource"),
    [
        ("ModelExecutionRole", "sns:Publish", "arn:aws:sns:"),
        ("DataPathRecorderRole", "dynamodb:UpdateItem", "arn:aws:dynamodb:"),
    ],
    ids=["endpoint-cannot-notify", "recorder-cannot-record"],
)
def test_a_permission_missing_from_a_role_fails_the_rehearsal(
    rehearsal: Rehearsal, tmp_path: Path, role: str, action: str, resource: str
) -> None:
    """The endpoint and the functions act with their own roles: take one permission away and
    the round trip fails, with the denied action in the emulator's record."""
    assert current.iam is not None
    broken = assembly.copy(rehearsal.assembly, tmp_path / "cdk.out")
    assembly.edit_template(broken, STACK, lambda template: _without(template, role, action))
    rehearsal.deploy_assembly(broken, f"cdk deploy (without {action})")
    denied_before = len(current.iam.denials)
    try:

        def denied() -> list[str]:
            assert current.iam is not None
            return [
                d
                for d in current.iam.denials[denied_before:]
                if role in d.split(" is not")[0]
                and f"{action} on {resource}" in d
                and "no policy" in d
            ]

        _submit_fails(rehearsal, tmp_path, denied)
    finally:
        rehearsal.deploy_assembly(rehearsal.assembly, "cdk deploy (restored)")


def test_the_restored_stack_works_again(rehearsal: Rehearsal, tmp_path: Path) -> None:
    _submit_small(rehearsal, tmp_path, timeout_s=60)


def test_functions_with_powertools_bundled_run_without_the_layer(
    rehearsal: Rehearsal, tmp_path: Path
) -> None:
    """``powertools: bundled`` copies Powertools and what it requires into the functions' code
    instead of the public layer: deployed so, the functions must still carry documents through
    (the runtime's interpreter sees only the asset, so a module left out of the bundle fails)."""
    bundled = tmp_path / "cdk.out"
    cdk.synth(
        bundled,
        [*rehearsal.context, "summarizer.data_path.powertools=bundled"],
        log=tmp_path / "synth.log",
        env=cdk.environment(""),
    )
    template = json.loads((bundled / f"{STACK}.template.json").read_text())
    functions = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and logical_id.startswith("DataPath")
    }
    assert len(functions) == 2 and not any("Layers" in p for p in functions.values())
    rehearsal.deploy_assembly(bundled, "cdk deploy (Powertools bundled)")
    try:
        lambda_ = rehearsal.api.client("lambda")
        for name in ("DataPathDispatcher", "DataPathRecorder"):
            configuration = lambda_.get_function_configuration(
                FunctionName=rehearsal._function_named(name)
            )
            assert configuration.get("Layers", []) == []
        _submit_small(rehearsal, tmp_path, timeout_s=60)
    finally:
        rehearsal.deploy_assembly(rehearsal.assembly, "cdk deploy (restored)")


def test_a_small_load_accounts_for_every_document(rehearsal: Rehearsal) -> None:
    row = rehearsal.load(60)
    assert (row.succeeded, row.failed, row.in_dlq, row.duplicates, row.lost) == (60, 0, 0, 0, 0)
    assert row.disagreements == []


def test_each_fault_ends_with_every_document_accounted_for(rehearsal: Rehearsal) -> None:
    rehearsal.faults(10)
    rows = {row.label: row for row in rehearsal.report.table if row.label != "load"}
    assert set(rows) == {
        "endpoint refuses a request",
        "InvokeEndpointAsync throttled",
        "dispatcher crashes mid-batch",
        "SNS cannot deliver a notification",
    }
    assert all(row.fired >= 1 for row in rows.values()), load.table(list(rows.values()))
    for label in list(rows)[:3]:
        assert rows[label].ok and rows[label].documents == rows[label].succeeded, load.table(
            [rows[label]]
        )
    # The undelivered notification waits in the subscriptions' dead-letter queue with SNS's
    # reason: the documents of that request are neither lost nor summarized twice.
    undelivered = rows["SNS cannot deliver a notification"]
    assert undelivered.ok and undelivered.lost == 0, load.table([undelivered])
    assert undelivered.in_dlq >= 1
    assert undelivered.succeeded + undelivered.in_dlq == undelivered.documents
    (reason,) = undelivered.dlq_reasons
    assert reason.startswith("DataPathRecordDeadLetterQueue") and "SQSDeliveryFailed" in reason
    assert len(sns.DEAD_LETTERED) >= 1 and sns.DROPPED == []
    # The runbook's fix: redrive the record DLQ to the record queue; the notification then
    # ends its jobs, each once.
    moved = _redrive(rehearsal, "DataPathRecordDeadLetterQueue", "DataPathRecordQueue")
    assert moved >= 1
    table = roundtrip.outputs_of(rehearsal.api, STACK)["JobsTableName"]

    def statuses() -> list[str]:
        records = load._submission_records(rehearsal.api, table, undelivered.submission)
        return [record["status"]["S"] for record in records.values()]

    deadline = time.monotonic() + 60
    while statuses().count("succeeded") < undelivered.documents:
        assert time.monotonic() < deadline, statuses()
        time.sleep(1)


def _redrive(rehearsal: Rehearsal, source: str, target: str) -> int:
    """What the SQS console's "Start DLQ redrive" does: every message back to ``target``."""
    sqs = rehearsal.api.client("sqs")
    urls = sqs.list_queues(QueueNamePrefix=STACK)["QueueUrls"]
    (source_url,) = [u for u in urls if f"{STACK}-{source}" in u]
    (target_url,) = [u for u in urls if f"{STACK}-{target}" in u and source not in u]
    moved = 0
    while messages := sqs.receive_message(
        QueueUrl=source_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", []):
        for message in messages:
            sqs.send_message(QueueUrl=target_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=source_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def test_the_update_changes_only_the_scaling_target(rehearsal: Rehearsal) -> None:
    rehearsal.update()
    assert rehearsal.report.update.startswith("ScalingTarget")
    assert "nothing else touched" in rehearsal.report.update


def test_the_teardown_leaves_only_what_the_template_retains(rehearsal: Rehearsal) -> None:
    rehearsal.destroy()
    assert "retained by their DeletionPolicy (StorageAccessLogs" in rehearsal.report.teardown
    assert current.lambdas is not None and current.lambdas.pids(f"{STACK}-") == []
    assert current.endpoints is not None and current.endpoints.endpoints == {}

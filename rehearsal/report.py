"""The rehearsal's report: what was deployed and run, how long each step took, what differed."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from rehearsal import toolchain
from rehearsal.emulator.state import current


def _short(function_name: str) -> str:
    """``PegasusSummarizer-dev-DataPathDispatcherFunctionD596BAD2-OXU7SQFT3WHQ`` -> the
    construct-ish part (``DataPathDispatcher``)."""
    middle = re.sub(r"^PegasusSummarizer-[a-z0-9-]+?-", "", function_name)
    middle = re.sub(r"-[A-Z0-9]{8,}$", "", middle)
    middle = re.sub(r"(Function)?[0-9A-F]{8}$", "", middle)
    return re.sub(r"(Handler)?[0-9a-f]{32}.*$", "", middle)


def lambda_lines() -> list[str]:
    service = current.lambdas
    if service is None:
        return []
    totals: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for name, stats in service.stats.items():
        totals[_short(name)] += stats.invocations
        errors[_short(name)] += stats.errors
    return [
        f"{name} {count}" + (f" ({errors[name]} failed)" if errors[name] else "")
        for name, count in sorted(totals.items())
    ]


def lambda_errors() -> list[str]:
    """The last errors of each function that failed (most useful when a wire is broken)."""
    service = current.lambdas
    if service is None:
        return []
    lines = []
    for name, stats in service.stats.items():
        for error in dict.fromkeys(stats.recent_errors):
            lines.append(f"{_short(name)}: {error}")
    return lines


def poller_lines() -> list[str]:
    pollers = current.pollers
    if pollers is None:
        return []
    lines = []
    for uuid, stats in pollers.stats.items():
        if not stats.batches:
            continue
        sizes = sorted(stats.batch_sizes.elements())
        failed = stats.failed_batches + stats.throttled_batches + stats.invalid_responses
        lines.append(
            f"{uuid[:8]}: {stats.batches} batches of {stats.records} messages (sizes "
            f"{_sizes(sizes)}), {failed} failed, {stats.partial_failures} partial failures"
        )
    return lines


def _sizes(sizes: list[int]) -> str:
    if len(sizes) <= 8:
        return ", ".join(map(str, sizes))
    return f"{sizes[0]}..{sizes[-1]}, mean {sum(sizes) / len(sizes):.1f}"


def endpoint_totals() -> dict[str, Any]:
    totals: Counter[str] = Counter()
    host = ""
    failures: list[str] = []
    if current.endpoints is not None:
        for endpoint in current.endpoints.all():
            stats = endpoint.stats
            totals.update(
                requests=stats.requests,
                served=stats.served,
                succeeded=stats.succeeded,
                failed=stats.failed,
                lines=stats.lines,
                notifications=stats.notifications,
                throttled=stats.throttled,
                refused=stats.refused,
            )
            host = endpoint.host.description
            failures += stats.failures
    return {**totals, "host": host, "failures": failures}


def render(report: Any, options: Any) -> str:
    verdict = "PASSED" if report.passed else "FAILED"
    what = ", ".join(f"PegasusSummarizer-{n}" for n in report.environments) or options.environment
    out = [
        "",
        f"Rehearsal of {what}: {verdict} in {report.timings.get('total', 0):.0f} s",
    ]
    if report.failure:
        out += ["", "Failure:", *(f"  {line}" for line in report.failure.splitlines()[:60]), ""]
    if report.resources:
        created = ", ".join(f"{n} {s}" for s, n in report.resources.items())
        out.append(f"  resources created: {created} ({report.resource_types} types, none skipped)")
    inert = sorted({prop for (_, prop) in current.journal.inert})
    if inert:
        out.append(f"  properties accepted without effect here: {', '.join(inert)}")
    if not options.iam:
        out.append("  IAM: not enforced (--no-iam): every call was the administrator's")
    elif current.iam is not None:
        out.append(
            f"  IAM: each function and endpoint acted with its own role; {current.iam.allowed} "
            f"requests authorized, {len(current.iam.denials)} denied"
        )
        for denial in dict.fromkeys(current.iam.denials):
            out.append(f"    denied: {denial}")
    lambdas = lambda_lines()
    if lambdas:
        out.append(f"  Lambda invocations: {', '.join(lambdas)}")
    out += [f"  Lambda error: {line}" for line in lambda_errors()]
    for line in poller_lines():
        out.append(f"  SQS event source {line}")
    totals = endpoint_totals()
    if totals.get("requests"):
        out.append(
            f"  endpoint requests served: {totals['served']} of {totals['requests']} "
            f"({totals['lines']} documents; {totals['succeeded']} succeeded, {totals['failed']} "
            f"failed), {totals['notifications']} notifications"
        )
        out.append(f"  model host: {totals['host']}")
    for trip in report.trips:
        out.append(
            f"  {trip.stack}: smoke test passed in {trip.smoke_seconds:.0f} s; submission "
            f"{trip.submission}: {trip.succeeded} of {trip.documents} documents summarized "
            f"in {trip.submit_seconds:.0f} s, {len(trip.failed)} failed as expected; "
            f"{trip.curated_rows} curated rows; requests of {sorted(trip.request_sizes)} "
            "documents"
        )
        for name, reason in trip.failed.items():
            out.append(f"    {name}: {reason}")
    if report.table:
        from rehearsal import load
        from rehearsal.emulator import sns

        out.append("  load and faults:")
        out += [f"    {line}" for line in load.table(report.table).splitlines()]
        if sns.DROPPED:
            out.append(
                f"    {len(sns.DROPPED)} notification(s) SNS could not deliver were dropped: "
                "their subscription has no dead-letter queue (RedrivePolicy)"
            )
    if report.update:
        out.append(f"  update: {report.update}")
    if report.teardown:
        out.append(f"  teardown: {report.teardown}")
    if current.lambdas is not None and current.lambdas.runtimes:
        notes = toolchain.describe_interpreters(sorted(current.lambdas.runtimes))
        out.append(f"  Lambda runtimes: {'; '.join(notes)}")
    if totals.get("host", "").startswith("multi-model-server"):
        out.append(
            "  model: the deployed archive's code/ and container environment; the tiny test "
            "PEGASUS in place of the weights (HF_MODEL_ID cannot be fetched here)"
        )
    if current.pollers is not None:
        out.append(
            f"  deviation: failed SQS messages return after {current.pollers.retry_after_s:.0f} s "
            "instead of their queue's visibility timeout"
        )
    for failure in (current.pollers.failures if current.pollers else [])[:5]:
        out.append(f"  poller error: {failure}")
    for failure in totals.get("failures", [])[:5]:
        out.append(f"  endpoint error: {failure}")
    out += [f"  note: {note}" for note in report.notes]
    steps = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in report.timings.items())
    out.append(f"  seconds: {steps}")
    out.append(f"  logs: {options.workdir}")
    return "\n".join(out)


def as_json(report: Any) -> dict[str, Any]:
    return {
        "passed": report.passed,
        "failure": report.failure,
        "environments": report.environments,
        "timings": report.timings,
        "resources": report.resources,
        "lambda_invocations": lambda_lines(),
        "endpoint": {k: v for k, v in endpoint_totals().items() if k != "failures"},
        "round_trips": [
            {
                "stack": t.stack,
                "submission": t.submission,
                "documents": t.documents,
                "succeeded": t.succeeded,
                "failed": t.failed,
                "request_sizes": t.request_sizes,
                "curated_rows": t.curated_rows,
            }
            for t in report.trips
        ],
        "update": report.update,
        "teardown": report.teardown,
    }

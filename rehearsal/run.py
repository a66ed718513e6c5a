"""One rehearsal: deploy, round trip, update, teardown, report.

1. The emulator starts while the CLI synthesizes the app (``cdk synth``).
2. ``cdk bootstrap`` and ``cdk deploy --method=direct`` with the pinned CLI; every resource of
   every template must then exist in the emulator (``cfn.coverage``).
3. The round trip per environment: the smoke test, then ``summarizer submit --wait`` on a folder
   of documents, one of them bad, and the checks of ``roundtrip.check``.
4. The update: the same app with one setting changed (the scaling target's maximum capacity,
   one more) is deployed; exactly the resources whose template changed must be updated, and the
   new capacity must be registered.
5. The teardown: ``cdk destroy`` of dev; everything but the resources the template retains must
   be gone.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal import cdk, roundtrip, toolchain
from rehearsal.cdk import StepFailed
from rehearsal.emulator import aws
from rehearsal.emulator.state import current

STACK_PREFIX = "PegasusSummarizer-"
SCALING_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"


@dataclass
class Options:
    environment: str = "dev"  # or "all"
    documents: int = 50
    host: str = "mms"  # "mms" (the real model server) or "fast"
    workdir: Path = toolchain.BUILD / "run"
    update: bool = True
    destroy: bool = True
    submit_timeout_s: int = 240
    # More -c KEY=VALUE for cdk synth (the tests shorten the batching window).
    context: tuple[str, ...] = ()
    iam: bool = True  # workloads act with their own roles, and IAM is enforced for them
    load: int = 0  # documents of the load burst (0: none)
    faults: int = 0  # documents per fault run (0: no fault runs)


@dataclass
class Report:
    environments: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    resource_types: int = 0
    trips: list[roundtrip.RoundTrip] = field(default_factory=list)
    table: list[Any] = field(default_factory=list)
    update: str = ""
    teardown: str = ""
    notes: list[str] = field(default_factory=list)
    processes_left: int = 0
    passed: bool = False
    failure: str = ""


class Rehearsal:
    def __init__(self, options: Options, *, log: Callable[[str], None] = print) -> None:
        self.options = options
        self.say = log
        self.report = Report()
        self.started = time.monotonic()
        self.emulator: Any = None
        self.env: dict[str, str] = {}
        self.workdir = options.workdir.resolve()
        self.assembly = self.workdir / "cdk.out"
        self.update_assembly = self.workdir / "cdk.out.update"
        self._pool = concurrent.futures.ThreadPoolExecutor(1)
        self._update_plan: concurrent.futures.Future[dict[str, Any]] | None = None

    # --- helpers ------------------------------------------------------------------------------

    def step(self, name: str, action: Callable[[], Any]) -> Any:
        begun = time.monotonic()
        self.say(f"[{begun - self.started:6.1f}s] {name} ...")
        result = action()
        seconds = time.monotonic() - begun
        self.report.timings[name] = self.report.timings.get(name, 0.0) + seconds
        self.say(f"[{time.monotonic() - self.started:6.1f}s] {name}: done in {seconds:.1f} s")
        return result

    def log(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    @property
    def api(self) -> Any:
        return current.require_api()

    def stacks(self) -> list[str]:
        if self.options.environment == "all":
            return [f"{STACK_PREFIX}{name}" for name in self.report.environments]
        return [f"{STACK_PREFIX}{self.options.environment}"]

    # --- the run --------------------------------------------------------------------------

    def run(self) -> Report:
        """Every phase the options ask for; raises StepFailed at the first failure."""
        self.deploy()
        self.round_trips()
        if self.options.load:
            self.load(self.options.load)
        if self.options.faults:
            self.faults(self.options.faults)
        self.update()
        self.destroy()
        self.report.passed = True
        return self.report

    @property
    def context(self) -> list[str]:
        selected = self.options.environment
        base = [] if selected == "all" else [f"summarizer.environment={selected}"]
        return [*base, *self.options.context]

    def deploy(self) -> None:
        """Start the emulator, synthesize, bootstrap, deploy, check every resource exists."""
        from rehearsal.emulator.endpoint import FastModelHost, MmsModelHost
        from rehearsal.emulator.server import Emulator

        options = self.options
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.step("prepare the runtimes", lambda: toolchain.prepare(model=options.host == "mms"))
        host = MmsModelHost if options.host == "mms" else FastModelHost
        self.emulator = Emulator(
            self.workdir / "emulator", host_factory=host, enforce_iam=options.iam
        )
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            synth = pool.submit(
                cdk.synth,
                self.assembly,
                self.context,
                log=self.log("synth"),
                env=cdk.environment(""),
            )
            self.step("start the emulator", self.emulator.start)
            self.env = cdk.environment(self.emulator.url)
            self.step("cdk synth", synth.result)
        self.report.environments = self._environments(self.assembly)
        if options.update:
            # The update's synthesis runs meanwhile, on the CPU the round trip leaves idle.
            self._update_plan = self._pool.submit(self._synth_update)
        self.step(
            "cdk bootstrap",
            lambda: cdk.bootstrap(self.assembly, log=self.log("bootstrap"), env=self.env),
        )
        self.deploy_assembly(self.assembly, "cdk deploy")
        self.step("every resource created", lambda: self._check_coverage(self.assembly))
        self.step("endpoints in service", self._wait_for_endpoints)

    def deploy_assembly(self, assembly: Path, name: str) -> None:
        self.step(
            name,
            lambda: cdk.deploy(assembly, self.stacks(), log=self.log(name.replace(" ", "-")),
                               env=self.env),
        )  # fmt: skip

    def round_trips(self) -> None:
        for name in self.report.environments:
            self._round_trip(name)

    # --- load and faults -----------------------------------------------------------------

    def _settle_s(self) -> float:
        """How long nothing may move before a burst is over: the batching window, a retry and
        a margin."""
        template = self._template(self.assembly, f"{STACK_PREFIX}dev")
        windows = [
            int(r["Properties"].get("MaximumBatchingWindowInSeconds", 0))
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Lambda::EventSourceMapping"
        ]
        return max([0, *windows]) + 20.0

    def load(self, count: int) -> Any:
        """The burst: ``count`` documents at once, each ending with exactly one terminal record."""
        from rehearsal import load

        row = self.step(
            f"load ({count} documents)",
            lambda: load.burst(
                self.api,
                f"{STACK_PREFIX}dev",
                count,
                label="load",
                settle_s=self._settle_s(),
                deadline_s=max(300.0, count * 0.5),
                say=self.say,
            ),
        )
        self.report.table.append(row)
        if not row.ok or row.in_dlq or row.failed:
            raise StepFailed(f"the load left documents unaccounted for:\n{load.table([row])}")
        return row

    def faults(self, count: int) -> list[Any]:
        """Each fault alone, on ``count`` documents: nothing lost, nothing summarized twice."""
        from rehearsal import load

        faults = current.faults
        assert faults is not None
        dispatcher = self._function_named("DataPathDispatcher")
        plan = [
            ("endpoint refuses a request", "endpoint_refuses", 1),
            ("InvokeEndpointAsync throttled", "invoke_throttled", 3),
            ("dispatcher crashes mid-batch", f"lambda_crash:{dispatcher}", 1),
            ("SNS cannot deliver a notification", "sns_delivery_fails", 1),
        ]
        rows = []
        for label, name, times in plan:
            faults.disarm()
            before = faults.fired[name]
            faults.arm(name, times)
            row = self.step(
                f"fault: {label}",
                lambda label=label: load.burst(
                    self.api,
                    f"{STACK_PREFIX}dev",
                    count,
                    label=label,
                    settle_s=self._settle_s(),
                    deadline_s=300.0,
                    say=self.say,
                ),
            )
            faults.disarm()
            row.fired = faults.fired[name] - before
            if row.fired == 0:
                row.disagreements.append("the fault never fired")
            rows.append(row)
            self.report.table.append(row)
        if not all(row.ok for row in rows):
            raise StepFailed(f"a fault run lost or duplicated documents:\n{load.table(rows)}")
        return rows

    def _function_named(self, fragment: str) -> str:
        names = [
            f["FunctionName"]
            for f in self.api.client("lambda").list_functions()["Functions"]
            if fragment in f["FunctionName"] and f"{STACK_PREFIX}dev-" in f["FunctionName"]
        ]
        if len(names) != 1:
            raise StepFailed(f"expected one {fragment} function, found {names}")
        return names[0]

    def update(self) -> None:
        if not self.options.update:
            return
        assert self._update_plan is not None, "deploy() starts the update's synthesis"
        plan = self.step("cdk synth (update)", self._update_plan.result)
        self.step("cdk deploy (update)", lambda: self._update(self.update_assembly, plan))

    def destroy(self) -> None:
        if not self.options.destroy:
            return
        final = self.update_assembly if self.options.update else self.assembly
        self.step("cdk destroy", lambda: self._destroy(final))
        for stack in self._protected():
            self.step(f"cdk destroy {stack} refused", lambda stack=stack: self._refused(stack))

    def _protected(self) -> list[str]:
        """The deployed stacks the app protects from deletion (prod)."""
        manifest = json.loads((self.assembly / "manifest.json").read_text())
        return [
            stack
            for stack in self.stacks()
            if manifest["artifacts"][stack]["properties"].get("terminationProtection")
        ]

    def _refused(self, stack: str) -> None:
        done = cdk.destroy(
            self.assembly, [stack], log=self.log(f"destroy-{stack}"), env=self.env, check=False
        )
        if done.returncode == 0 or "TerminationProtection" not in done.output:
            raise StepFailed(f"cdk destroy {stack} was not refused by its termination protection")
        if self._stack_model(stack).status.startswith("DELETE"):
            raise StepFailed(f"{stack} was deleted despite its termination protection")
        self.report.teardown += f"; {stack}: destroy refused (termination protection)"

    def close(self) -> None:
        """Stop the emulator and everything it started (idempotent)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.emulator is not None:
            self.emulator.stop()

    def _environments(self, assembly: Path) -> list[str]:
        manifest = json.loads((assembly / "manifest.json").read_text())
        names = [
            key.removeprefix(STACK_PREFIX)
            for key, artifact in manifest["artifacts"].items()
            if artifact["type"] == "aws:cloudformation:stack" and key.startswith(STACK_PREFIX)
        ]
        return sorted(names, key=lambda n: (n != "dev", n))

    # --- deploy -----------------------------------------------------------------------------

    def _template(self, assembly: Path, stack: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((assembly / f"{stack}.template.json").read_text())
        return loaded

    def _stack_model(self, stack: str) -> Any:
        from moto.cloudformation.models import cloudformation_backends

        backend = cloudformation_backends[aws.ACCOUNT][aws.REGION]
        for model in backend.stacks.values():
            if model.name == stack:
                return model
        raise StepFailed(f"stack {stack} does not exist in the emulator")

    def _check_coverage(self, assembly: Path) -> None:
        from rehearsal.emulator import cfn

        types = set()
        for stack in self.stacks():
            model = self._stack_model(stack)
            if model.status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                raise StepFailed(f"{stack} is {model.status}")
            rows = cfn.coverage(model)
            missing = [f"{lid} ({kind})" for lid, kind, physical in rows if physical is None]
            template = self._template(assembly, stack)["Resources"]
            absent = sorted(set(template) - {lid for lid, _, _ in rows})
            if missing or absent:
                raise StepFailed(f"{stack}: resources not created: {', '.join(missing + absent)}")
            self.report.resources[stack] = len(rows)
            types |= {kind for _, kind, _ in rows}
        self.report.resource_types = len(types)

    def _wait_for_endpoints(self, timeout_s: float = 300) -> None:
        sagemaker = self.api.client("sagemaker")
        deadline = time.monotonic() + timeout_s
        while True:
            endpoints = sagemaker.list_endpoints()["Endpoints"]
            states = {e["EndpointName"]: e["EndpointStatus"] for e in endpoints}
            failed = [n for n, s in states.items() if s == "Failed"]
            if failed:
                reason = sagemaker.describe_endpoint(EndpointName=failed[0]).get("FailureReason")
                raise StepFailed(f"endpoint {failed[0]} failed to start: {reason}")
            if states and all(s == "InService" for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise StepFailed(f"endpoints not in service after {timeout_s:.0f} s: {states}")
            time.sleep(1)

    # --- round trip ---------------------------------------------------------------------------

    def _round_trip(self, name: str) -> None:
        stack = f"{STACK_PREFIX}{name}"
        seconds = self.step(
            f"smoke test ({name})",
            lambda: roundtrip.smoke(name, log=self.log(f"smoke-{name}"), env=self.env),
        )
        folder = self.workdir / f"documents-{name}"
        expected = roundtrip.write_documents(folder, self.options.documents)
        trip = self.step(
            f"summarizer submit --wait ({name}, {len(expected)} documents)",
            lambda: roundtrip.submit(
                self.api,
                name,
                stack,
                folder,
                log=self.log(f"submit-{name}"),
                env=self.env,
                expected=expected,
                timeout_s=self.options.submit_timeout_s,
            ),
        )
        trip.smoke_seconds = seconds
        self.report.trips.append(trip)

    # --- update ---------------------------------------------------------------------------

    def _synth_update(self) -> dict[str, Any]:
        """Synthesize with the dev scaling target's maximum capacity one higher."""
        assembly, target, context = self.assembly, self.update_assembly, self.context
        template = self._template(assembly, f"{STACK_PREFIX}dev")
        (target_id, scalable), *_ = [
            (lid, r) for lid, r in template["Resources"].items() if r["Type"] == SCALING_TARGET
        ]
        capacity = int(scalable["Properties"]["MaxCapacity"]) + 1
        overrides = [*context, f"summarizer.scaling.max_capacity={capacity}"]
        if self.options.environment == "all":
            overrides = [*overrides, "summarizer.environment=dev"]
        cdk.synth(target, overrides, log=self.log("synth-update"), env=cdk.environment(""))
        new = self._template(target, f"{STACK_PREFIX}dev")["Resources"]
        changed = sorted(
            lid for lid in new.keys() | template["Resources"].keys()
            if new.get(lid) != template["Resources"].get(lid)
        )  # fmt: skip
        return {"capacity": capacity, "target": target_id, "changed": changed}

    def _update(self, assembly: Path, plan: dict[str, Any]) -> None:
        stack = f"{STACK_PREFIX}dev"
        if plan["changed"] != [plan["target"]]:
            raise StepFailed(
                f"the template changed more than the scaling target: {plan['changed']}"
            )
        mark = len(current.journal.operations)
        cdk.deploy(assembly, [stack], log=self.log("deploy-update"), env=self.env)
        touched = [(lid, action) for _, lid, _, action in current.journal.since(mark)]
        if touched != [(plan["target"], "update")]:
            raise StepFailed(f"the update touched {touched}, expected only {plan['target']}")
        model = self._stack_model(stack)
        if model.status != "UPDATE_COMPLETE":
            raise StepFailed(f"{stack} is {model.status} after the update")
        targets = self.api.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace="sagemaker"
        )["ScalableTargets"]
        capacities = [t["MaxCapacity"] for t in targets if stack.lower() in t["ResourceId"].lower()]
        if capacities != [plan["capacity"]]:
            raise StepFailed(f"scalable target MaxCapacity is {capacities}, not {plan['capacity']}")
        self.report.update = (
            f"{plan['target']} updated (MaxCapacity {plan['capacity'] - 1} -> "
            f"{plan['capacity']}), nothing else touched"
        )

    # --- teardown -----------------------------------------------------------------------------

    def _destroy(self, assembly: Path) -> None:
        stack = f"{STACK_PREFIX}dev"
        model = self._stack_model(stack)
        template = model.template_dict["Resources"]
        mark = len(current.journal.operations)
        cdk.destroy(assembly, [stack], log=self.log("destroy"), env=self.env)
        if model.status != "DELETE_COMPLETE":
            raise StepFailed(f"{stack} is {model.status} after cdk destroy")
        done = current.journal.since(mark)
        deleted = {lid for _, lid, _, action in done if action == "delete"}
        retained = {lid for _, lid, _, action in done if action == "retain"}
        left = set(template) - deleted - retained
        if left:
            raise StepFailed(f"cdk destroy left {sorted(left)} behind")
        self._check_gone(stack)
        self.report.teardown = (
            f"{len(deleted)} resources deleted, {len(retained)} retained by their "
            f"DeletionPolicy ({', '.join(sorted(retained)) or 'none'})"
        )

    def _check_gone(self, stack: str) -> None:
        """What a deleted stack leaves in the services themselves: nothing of its own."""
        prefix = stack.lower()
        left = []
        lam = self.api.client("lambda")
        left += [f["FunctionName"] for f in lam.list_functions()["Functions"]]
        left += self.api.client("sqs").list_queues().get("QueueUrls", [])
        left += [t["TopicArn"] for t in self.api.client("sns").list_topics()["Topics"]]
        left += self.api.client("dynamodb").list_tables()["TableNames"]
        left += [
            e["EndpointName"] for e in self.api.client("sagemaker").list_endpoints()["Endpoints"]
        ]
        left += [
            a["AlarmName"] for a in self.api.client("cloudwatch").describe_alarms()["MetricAlarms"]
        ]
        left += [d["Name"] for d in self.api.client("glue").get_databases()["DatabaseList"]]
        mine = [
            name
            for name in left
            if prefix in name.lower() or prefix.replace("-", "_") in name.lower()
        ]
        if mine:
            raise StepFailed(f"after cdk destroy, still in the emulator: {mine}")

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


@dataclass
class Report:
    environments: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    resource_types: int = 0
    trips: list[roundtrip.RoundTrip] = field(default_factory=list)
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
        self.workdir = options.workdir

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
        from rehearsal.emulator.endpoint import FastModelHost, MmsModelHost
        from rehearsal.emulator.server import Emulator

        options = self.options
        self.workdir.mkdir(parents=True, exist_ok=True)
        context = [] if options.environment == "all" else [
            f"summarizer.environment={options.environment}"
        ]  # fmt: skip
        self.step("prepare the runtimes", lambda: toolchain.prepare(model=options.host == "mms"))
        host = MmsModelHost if options.host == "mms" else FastModelHost
        self.emulator = Emulator(self.workdir / "emulator", host_factory=host)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            assembly = self.workdir / "cdk.out"
            synth = pool.submit(
                cdk.synth, assembly, context, log=self.log("synth"), env=cdk.environment("")
            )
            self.step("start the emulator", self.emulator.start)
            self.env = cdk.environment(self.emulator.url)
            self.step("cdk synth", synth.result)
        self.report.environments = self._environments(assembly)
        self.step(
            "cdk bootstrap",
            lambda: cdk.bootstrap(assembly, log=self.log("bootstrap"), env=self.env),
        )
        self.step(
            "cdk deploy",
            lambda: cdk.deploy(assembly, self.stacks(), log=self.log("deploy"), env=self.env),
        )
        self.step("every resource created", lambda: self._check_coverage(assembly))
        self.step("endpoints in service", self._wait_for_endpoints)
        update_assembly = self.workdir / "cdk.out.update"
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            if options.update:
                later = pool.submit(self._synth_update, assembly, update_assembly, context)
            for name in self.report.environments:
                self._round_trip(name)
            if options.update:
                changed = self.step("cdk synth (update)", later.result)
        if options.update:
            self.step("cdk deploy (update)", lambda: self._update(update_assembly, changed))
        if options.destroy:
            final = update_assembly if options.update else assembly
            self.step("cdk destroy", lambda: self._destroy(final))
        self.report.passed = True
        return self.report

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

    def _synth_update(self, assembly: Path, target: Path, context: list[str]) -> dict[str, Any]:
        """Synthesize with the dev scaling target's maximum capacity one higher."""
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

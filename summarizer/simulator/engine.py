"""The simulation: requests queue at the endpoint, instances start, serve and leave, minute by
minute, while the policies read CloudWatch and change the desired capacity.

Each minute: scheduled actions change the bounds, alarms are evaluated on the datapoints
published so far, and, unless the endpoint is still updating, one scaling activity may start
(the policy asking for the most wins; only target tracking scales in; a capacity outside new
scheduled bounds is corrected first). Then the minute's work is served in continuous time: each
in-service instance takes the oldest queued request when it is free and holds it for the
request's service time (one worker per GPU: no two requests at once).

A scaling activity is one ``UpdateEndpointWeightsAndCapacities``: "When it receives the request,
Amazon SageMaker sets the endpoint status to Updating. After updating the endpoint, it sets the
status to InService" (SageMaker API reference), and "auto scaling is blocked while the update
operation is in progress" (SageMaker, "Update endpoints that use auto scaling"). So a scale-out
completes when the instances it launched are in service (an ASSUMPTION that SageMaker waits for
all of them), nothing else starts before that, and its cooldown counts from that completion
("after a scale out activity completes": API reference of ``ScaleOutCooldown``, ``Cooldown``).
A scale-in completes at once (ASSUMPTION: how long SageMaker takes to remove instances is
undocumented). docs/scaling.md lists every rule with its source.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from constructs_lib.data_path.settings import DataPathSettings
from constructs_lib.model.cold_start import KINDS as COLD_START_KINDS
from constructs_lib.model.cold_start import cold_start_minutes, cold_start_table
from constructs_lib.scaling.settings import ScalingSettings
from summarizer.simulator.cloudwatch import MetricSeries
from summarizer.simulator.errors import SimulationError
from summarizer.simulator.policies import StepPolicy, TargetTracking, spike_policy, wake_up_policy
from summarizer.simulator.schedules import schedules_of
from summarizer.simulator.throughput import ThroughputTable
from summarizer.simulator.traffic import Document, Request, group_requests

# SageMaker real-time/async hosting, ml.g5.xlarge, on-demand, us-east-1: $1.408 an hour (AWS
# SageMaker pricing page as cited in October 2025; the README rounds it to $1.41). Check the
# pricing page for your region before relying on a cost figure.
G5_XLARGE_PRICE_PER_HOUR_USD = 1.408
PRICE_AS_OF = "2025-10, us-east-1"
# A Monday, so weekday schedules are easy to follow in the output.
DEFAULT_START = datetime(2026, 12, 7, tzinfo=UTC)
# ASSUMPTION: when a minute's datapoint becomes visible to alarms, counted from the minute's end.
# SageMaker documents only that its metrics "are available at a 1-minute frequency"; no delay is
# published for ApproximateBacklogSizePerInstance or HasBacklogWithoutCapacity. The planner
# checks its recommendation with this doubled.
DEFAULT_PUBLICATION_DELAY_SECONDS = 60.0
# Every figure is the median and the spread over this many seeds (the cold starts are drawn per
# seed; the traces of the standard scenarios are fixed).
DEFAULT_SEEDS = 20
MAX_SEEDS = 1000

# What target tracking does at a capacity of 0 is undocumented: SageMaker says only that the
# endpoint "only initiates scaling up from zero after the number of backlog requests exceeds the
# target tracking value" (Autoscale an asynchronous endpoint). Two named ASSUMPTIONS; the
# simulator reports both.
FROM_ZERO_ONE = "one"
FROM_ZERO_PROPORTIONAL = "proportional"
FROM_ZERO_RULES = {
    # The Hugging Face async notebook sends 10 requests with target 5 and reports "scale out
    # from 0 to 1" (an observation, not documentation).
    FROM_ZERO_ONE: "0 -> 1",
    # The proportional rule with the backlog as the per-instance metric: the upper bound.
    FROM_ZERO_PROPORTIONAL: "0 -> ceil(backlog / target)",
}
DEFAULT_FROM_ZERO = FROM_ZERO_ONE

# The handler's default SUMMARIZER_BATCH_SIZE (model_code/summarizer_settings.py; a test keeps
# the two equal): the most windows one generate call takes, unless the endpoint's
# model_environment sets it.
HANDLER_DEFAULT_BATCH_SIZE = 16
HANDLER_MAX_BATCH_SIZE = 256


@dataclass(frozen=True, kw_only=True)
class ColdStart:
    """Time from a launch request to an instance in service, uniform between two bounds.

    One parameter: whatever the instance, the container and the model download take together.
    ``source`` says where the bounds come from (a measurement, an observation or an estimate).
    """

    kind: str
    low_minutes: float
    high_minutes: float
    source: str = ""

    def sample(self, rng: random.Random) -> float:
        """Seconds for one instance."""
        return rng.uniform(self.low_minutes, self.high_minutes) * 60.0

    @property
    def middle_minutes(self) -> float:
        """The middle of the range (what the planner's arithmetic uses)."""
        return (self.low_minutes + self.high_minutes) / 2.0

    def label(self) -> str:
        """``hub 7-9 min``: for reports."""
        return f"{self.kind} {self.low_minutes:g}-{self.high_minutes:g} min"


# The cold-start figures are the construct library's (constructs_lib/model/cold_start.json, where
# docs/cold-start.md says where each comes from): what is simulated is what the docs state.


def _cold_start(kind: str) -> ColdStart:
    low, high = cold_start_minutes(kind)
    entry = cold_start_table()["cold_starts"][kind]
    return ColdStart(
        kind=kind, low_minutes=low, high_minutes=high, source=f"{entry['kind']}: {entry['source']}"
    )


COLD_STARTS = {kind: _cold_start(kind) for kind in COLD_START_KINDS}
HUB_COLD_START = COLD_STARTS["hub"]
STAGED_COLD_START = COLD_STARTS["staged"]
MAX_COLD_START_MINUTES = 120.0


def custom_cold_start(low_minutes: float, high_minutes: float) -> ColdStart:
    """A cold start given on the command line (``--cold-start-minutes``)."""
    return ColdStart(
        kind="given",
        low_minutes=low_minutes,
        high_minutes=high_minutes,
        source="--cold-start-minutes",
    )


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One configuration to simulate: what the stack would deploy, plus how instances start.

    ``wake_up=False`` leaves out the wake-up step policy (the source article's setup: target
    tracking alone). ``batch_size`` is the endpoint's ``SUMMARIZER_BATCH_SIZE``: the handler
    runs a request of more windows as several generate calls of at most that many.
    """

    name: str
    scaling: ScalingSettings = field(default_factory=ScalingSettings)
    data_path: DataPathSettings = field(default_factory=DataPathSettings)
    cold_start: ColdStart = HUB_COLD_START
    wake_up: bool = True
    batch_size: int = HANDLER_DEFAULT_BATCH_SIZE


@dataclass(frozen=True, kw_only=True)
class Options:
    """How the simulation runs; every figure it reports rests on these."""

    table: ThroughputTable
    # The first seed; ``simulate_seeds`` runs seed, seed + 1, ... (``seeds`` of them).
    seed: int = 1
    seeds: int = DEFAULT_SEEDS
    start: datetime = DEFAULT_START
    publication_delay_seconds: float = DEFAULT_PUBLICATION_DELAY_SECONDS
    price_per_hour: float = G5_XLARGE_PRICE_PER_HOUR_USD
    # None: until every request is served or expired and capacity is back at its minimum.
    horizon_minutes: int | None = None
    from_zero: str = DEFAULT_FROM_ZERO


@dataclass(frozen=True)
class Activity:
    """A scaling activity: when it started, why, from and to, and when it completed.

    ``completes`` is when the endpoint is InService again: a scale-out's instances all in
    service, a scale-in at once. No other activity starts before it.
    """

    time: float
    cause: str
    before: int
    after: int
    completes: float


@dataclass
class _Instance:
    launched: float
    ready: float
    free_at: float
    leaving: bool = False
    ended: float | None = None


@dataclass
class Run:
    """Everything one simulation produced (``results.summarize`` turns it into figures)."""

    variant: Variant
    documents: int
    requests: list[Request]
    completed: list[float | None]
    expired: list[bool]
    backlog: list[int] = field(default_factory=list)
    backlog_documents: list[int] = field(default_factory=list)
    desired: list[int] = field(default_factory=list)
    in_service: list[int] = field(default_factory=list)
    completions: list[int] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    # Every instance: (launch requested, in service, removed); seconds.
    instances: list[tuple[float, float, float]] = field(default_factory=list)
    instance_seconds: float = 0.0
    minutes: int = 0
    back_at_zero_minute: int | None = None
    seed: int = 1


def simulate(documents: list[Document], variant: Variant, options: Options) -> Run:
    """Replay ``documents`` through ``variant``'s data path, endpoint and scaling policies, with
    the cold starts of ``options.seed``."""
    _check(documents, variant, options)
    requests = group_requests(documents, variant.data_path, options.table.windows)
    return _Simulation(
        requests, len(documents), variant, options, _service(requests, variant, options)
    ).run()


def _check(documents: list[Document], variant: Variant, options: Options) -> None:
    problems = []
    if options.from_zero not in FROM_ZERO_RULES:
        problems.append(
            f"from_zero: must be one of {', '.join(FROM_ZERO_RULES)} (got {options.from_zero!r})"
        )
    if isinstance(options.seeds, bool) or not 1 <= options.seeds <= MAX_SEEDS:
        problems.append(
            f"seeds: must be a whole number from 1 to {MAX_SEEDS} (got {options.seeds!r})"
        )
    if problems:
        raise SimulationError("options", problems)
    problems = [f"scaling.{p}" for p in variant.scaling.problems()]
    problems += [f"data_path.{p}" for p in variant.data_path.problems()]
    batch = variant.batch_size
    if (
        isinstance(batch, bool)
        or not isinstance(batch, int)
        or not 1 <= batch <= HANDLER_MAX_BATCH_SIZE
    ):
        problems.append(
            f"batch_size: must be a whole number from 1 to {HANDLER_MAX_BATCH_SIZE} (got {batch!r})"
        )
    cold = variant.cold_start
    if not 0 <= cold.low_minutes <= cold.high_minutes <= MAX_COLD_START_MINUTES:
        problems.append(
            f"cold_start: must be from 0 to {MAX_COLD_START_MINUTES:g} minutes, low first (got "
            f"{cold.low_minutes:g}-{cold.high_minutes:g})"
        )
    if problems:
        raise SimulationError(f"variant {variant.name!r}", problems)
    if not documents:
        raise SimulationError(f"variant {variant.name!r}", ["the trace has no documents"])


def seeds_of(options: Options) -> range:
    """The seeds ``simulate_seeds`` runs."""
    return range(options.seed, options.seed + options.seeds)


def simulate_seeds(documents: list[Document], variant: Variant, options: Options) -> list[Run]:
    """``simulate`` once per seed of ``seeds_of(options)``, in order (the cold starts differ)."""
    return list(iterate_seeds(documents, variant, options))


def iterate_seeds(documents: list[Document], variant: Variant, options: Options) -> Iterator[Run]:
    """``simulate_seeds`` one run at a time: a caller that stops early simulates no more."""
    _check(documents, variant, options)
    requests = group_requests(documents, variant.data_path, options.table.windows)
    service = _service(requests, variant, options)
    for seed in seeds_of(options):
        yield _Simulation(
            requests, len(documents), variant, replace(options, seed=seed), service
        ).run()


def _service(requests: list[Request], variant: Variant, options: Options) -> list[float]:
    """Seconds the worker spends on each request (the same for every seed)."""
    known: dict[int, float] = {}
    service = []
    for request in requests:
        seconds = known.get(request.windows)
        if seconds is None:
            seconds = options.table.service_seconds(request.windows, variant.batch_size)
            known[request.windows] = seconds
        service.append(seconds)
    return service


class _Simulation:
    def __init__(
        self,
        requests: list[Request],
        documents: int,
        variant: Variant,
        options: Options,
        service: list[float],
    ) -> None:
        self.requests = requests
        self.variant = variant
        self.options = options
        self.rng = random.Random(options.seed)
        settings = variant.scaling
        self.min, self.max = settings.min_capacity, settings.max_capacity
        self.desired = self.min
        self.instances: list[_Instance] = []
        self.per_instance = MetricSeries()
        self.without_capacity = MetricSeries()
        self.tracking = TargetTracking.on(self.per_instance, settings, options.from_zero)
        self.steps: list[StepPolicy] = []
        if variant.wake_up:
            self.steps.append(wake_up_policy(self.without_capacity, settings))
        if settings.spike_enabled:
            self.steps.append(spike_policy(self.per_instance, settings))
        self.schedules = schedules_of(settings.scheduled_actions, options.start)
        self.service = service
        self.ttl = float(variant.data_path.request_ttl_seconds)
        self.head = 0  # first request not yet started or expired (the queue is FIFO)
        self.dispatched = 0  # requests dispatched so far
        self.in_flight: list[tuple[float, int]] = []  # (completion, request index)
        self.run_ = Run(
            variant=variant,
            documents=documents,
            requests=requests,
            completed=[None] * len(requests),
            expired=[False] * len(requests),
            seed=options.seed,
        )
        # The endpoint is Updating until then: no scaling activity starts before.
        self.updating_until = -math.inf
        # The scheduled action whose bounds the capacity must still be brought within.
        self.pending_schedule: str | None = None
        self.launched: list[_Instance] = []
        self.docs_prefix = [0]
        for request in requests:
            self.docs_prefix.append(self.docs_prefix[-1] + len(request.documents))
        last = requests[-1].dispatched
        self.last_minute = int(last // 60)
        default_horizon = self.last_minute + int(self.ttl // 60) + 24 * 60
        self.horizon = options.horizon_minutes or default_horizon
        self.explicit_horizon = options.horizon_minutes is not None
        for _ in range(self.min):
            # Instances the endpoint already has at the start (min_capacity), in service.
            self.instances.append(_Instance(launched=0.0, ready=0.0, free_at=0.0))
        self.launched = list(self.instances)

    # --- the minute loop ---------------------------------------------------------------------

    def run(self) -> Run:
        for minute in range(self.horizon):
            now = minute * 60.0
            self._scheduled_actions(minute)
            self._scale(now)
            self._serve(now, now + 60.0)
            self._record(minute, now + 60.0)
            if not self.explicit_horizon and self._settled(minute):
                break
        end = self.run_.minutes * 60.0
        for instance in self.instances:
            self.run_.instance_seconds += (instance.ended or end) - instance.launched
        self.run_.instances = [(i.launched, i.ready, i.ended or end) for i in self.launched]
        return self.run_

    def _scheduled_actions(self, minute: int) -> None:
        # The bounds change at once; bringing the capacity within them is an activity like any
        # other, so it waits while the endpoint is updating (ASSUMPTION: AWS documents only that
        # scheduled actions do not wait for cooldowns).
        for schedule in self.schedules:
            if not schedule.fires(minute):
                continue
            action = schedule.action
            if action.min_capacity is not None:
                self.min = action.min_capacity
            if action.max_capacity is not None:
                self.max = action.max_capacity
            self.pending_schedule = f"schedule {action.name}"

    def _scale(self, now: float) -> None:
        delay = self.options.publication_delay_seconds
        # CloudWatch evaluates the alarms every minute whatever the endpoint does.
        for alarm in (self.tracking.high, self.tracking.low, *(s.alarm for s in self.steps)):
            alarm.evaluate(now, delay)
        if now < self.updating_until:
            return
        desired = self.desired
        if self.pending_schedule is not None:
            cause, self.pending_schedule = self.pending_schedule, None
            clamped = min(max(desired, self.min), self.max)
            if clamped != desired:
                self._start_activity(now, clamped, cause)
                return
        proposals: list[tuple[int, str]] = []
        tracked = self.tracking.scale_out(now, desired)
        if tracked is not None:
            proposals.append((tracked, "target tracking"))
        for step in self.steps:
            asked = step.scale_out(now, desired)
            if asked is not None:
                proposals.append((asked, step.name))
        if proposals:
            asked, cause = max(proposals, key=lambda p: p[0])
            new = min(max(asked, self.min), self.max)
            if new > desired:
                completes = self._start_activity(now, new, cause)
                # "if another alarm triggers a scale-out activity during the scale-in cooldown
                # period ... the scale-in cooldown period stops" (target tracking guide).
                self.tracking.last_in = None
                if cause == "target tracking":
                    self.tracking.scaled_out(completes, desired)
                else:
                    next(s for s in self.steps if s.name == cause).scaled_out(completes, desired)
                return
        lower = self.tracking.scale_in(now, desired)
        if lower is not None:
            new = max(lower, self.min)
            if new < desired:
                self.tracking.scaled_in(self._start_activity(now, new, "target tracking"))

    def _start_activity(self, now: float, new: int, cause: str) -> float:
        """Set the desired capacity to ``new``; returns when the activity completes."""
        before = self.desired
        self.desired = new
        active = [i for i in self.instances if not i.leaving]
        completes = now
        for _ in range(new - len(active)):
            ready = now + self.variant.cold_start.sample(self.rng)
            instance = _Instance(launched=now, ready=ready, free_at=ready)
            self.instances.append(instance)
            self.launched.append(instance)
            completes = max(completes, ready)
        self.run_.activities.append(Activity(now, cause, before, new, completes))
        self.updating_until = completes
        surplus = len(active) - new
        if surplus > 0:
            # Starting instances go first (nothing lost), then idle ones, then busy ones, which
            # finish their request before they leave.
            order = sorted(active, key=lambda i: (i.ready <= now, i.free_at > now, -i.launched))
            for instance in order[:surplus]:
                instance.leaving = True
                instance.ended = max(now, instance.free_at) if instance.ready <= now else now
        return completes

    def _serve(self, start: float, end: float) -> None:
        requests, service = self.requests, self.service
        while self.dispatched < len(requests) and requests[self.dispatched].dispatched < end:
            self.dispatched += 1
        free = [
            (max(i.free_at, i.ready, start), index, i)
            for index, i in enumerate(self.instances)
            if not i.leaving and i.ready < end
        ]
        heapq.heapify(free)
        while free and self.head < self.dispatched:
            at, index, instance = free[0]
            request = requests[self.head]
            begin = max(at, request.dispatched)
            if begin >= end:
                break
            if begin - request.dispatched > self.ttl:
                self.run_.expired[self.head] = True
                self.head += 1
                continue
            done = begin + service[self.head]
            self.run_.completed[self.head] = done
            heapq.heappush(self.in_flight, (done, self.head))
            self.head += 1
            instance.free_at = done
            heapq.heapreplace(free, (done, index, instance))
        # What nobody could start in time expires in the queue (RequestTTLSeconds).
        while self.head < self.dispatched and end - requests[self.head].dispatched > self.ttl:
            self.run_.expired[self.head] = True
            self.head += 1

    def _record(self, minute: int, end: float) -> None:
        run = self.run_
        done_docs = 0
        while self.in_flight and self.in_flight[0][0] <= end:
            _, index = heapq.heappop(self.in_flight)
            done_docs += len(self.requests[index].documents)
        for instance in self.instances:
            if instance.leaving and instance.ended is not None and instance.ended <= end:
                run.instance_seconds += instance.ended - instance.launched
        self.instances = [
            i for i in self.instances if not (i.leaving and i.ended is not None and i.ended <= end)
        ]
        in_service = sum(1 for i in self.instances if i.ready <= end)
        queued = self.dispatched - self.head
        backlog = queued + len(self.in_flight)
        queued_docs = self.docs_prefix[self.dispatched] - self.docs_prefix[self.head]
        flight_docs = sum(len(self.requests[i].documents) for _, i in self.in_flight)
        # SageMaker's sample of the minute, taken at its end. ApproximateBacklogSizePerInstance is
        # "Number of items in the queue divided by the number of instances behind an endpoint"
        # (SageMaker, "Monitoring asynchronous endpoints"). ASSUMPTIONS: instances still starting
        # are not behind the endpoint, and with none the metric is the backlog itself (which is
        # what "only initiates scaling up from zero after the number of backlog requests exceeds
        # the target tracking value" implies). HasBacklogWithoutCapacity is 1 "when there are
        # requests in the queue but zero instances behind the endpoint".
        self.per_instance.put(minute, backlog / in_service if in_service else float(backlog))
        self.without_capacity.put(minute, 1.0 if backlog and not in_service else 0.0)
        run.backlog.append(backlog)
        run.backlog_documents.append(queued_docs + flight_docs)
        run.desired.append(self.desired)
        run.in_service.append(in_service)
        run.completions.append(done_docs)
        run.minutes = minute + 1
        idle = backlog == 0 and self.dispatched == len(self.requests)
        if idle and not self.instances and self.desired == 0:
            if run.back_at_zero_minute is None:
                run.back_at_zero_minute = minute + 1
        else:
            run.back_at_zero_minute = None

    def _settled(self, minute: int) -> bool:
        if minute < self.last_minute or self.head < len(self.requests) or self.in_flight:
            return False
        if self.desired != self.min or len(self.instances) != self.desired:
            return False
        # Scheduled actions may still change the capacity later: run to the horizon.
        return not self.schedules


def percentile(latencies: list[float], share: float, *, ordered: bool = False) -> float | None:
    """Nearest-rank percentile; ``math.inf`` entries (never finished) give None.

    ``ordered=True``: ``latencies`` is already sorted (several percentiles of one list).
    """
    if not latencies:
        return None
    values = latencies if ordered else sorted(latencies)
    value = values[max(0, math.ceil(share * len(values)) - 1)]
    return None if math.isinf(value) else value

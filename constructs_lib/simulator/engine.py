"""The simulation: requests queue at the endpoint, instances start, serve and leave, minute by
minute, while the policies read CloudWatch and change the desired capacity.

Each minute: scheduled actions run, alarms are evaluated on the datapoints published so far,
the policies set the desired capacity (the one asking for the most wins; only target tracking
scales in), instances are launched or removed, and then the minute's work is served in
continuous time: each in-service instance takes the oldest queued request when it is free and
holds it for the request's service time (one worker per GPU: no two requests at once).
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..data_path.settings import DataPathSettings
from ..scaling_settings import ScalingSettings
from .cloudwatch import MetricSeries
from .errors import SimulationError
from .policies import StepPolicy, TargetTracking, spike_policy, wake_up_policy
from .schedules import schedules_of
from .throughput import ThroughputTable
from .traffic import Document, Request, group_requests

# SageMaker real-time/async hosting, ml.g5.xlarge, on-demand, us-east-1: $1.408 an hour (AWS
# SageMaker pricing page as cited in October 2025; the README rounds it to $1.41). Check the
# pricing page for your region before relying on a cost figure.
G5_XLARGE_PRICE_PER_HOUR_USD = 1.408
PRICE_AS_OF = "2025-10, us-east-1"
# A Monday, so weekday schedules are easy to follow in the output.
DEFAULT_START = datetime(2026, 12, 7, tzinfo=UTC)
# CloudWatch makes a minute's datapoint available to alarms about a minute after it ends.
DEFAULT_PUBLICATION_DELAY_SECONDS = 60.0


@dataclass(frozen=True, kw_only=True)
class ColdStart:
    """Time from a launch request to an instance in service, uniform between two bounds."""

    kind: str
    low_minutes: float
    high_minutes: float

    def sample(self, rng: random.Random) -> float:
        """Seconds for one instance."""
        return rng.uniform(self.low_minutes, self.high_minutes) * 60.0


# Instance, container and model download from the Hub: 7-9 minutes in the Hugging Face async
# notebook. Staged weights (model_data_uri, from S3 in-region): an ESTIMATE of 5-7 minutes, the
# Hub download of about 2.3 GB being the part that goes away.
HUB_COLD_START = ColdStart(kind="hub", low_minutes=7.0, high_minutes=9.0)
STAGED_COLD_START = ColdStart(kind="staged", low_minutes=5.0, high_minutes=7.0)
COLD_STARTS = {"hub": HUB_COLD_START, "staged": STAGED_COLD_START}


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One configuration to simulate: what the stack would deploy, plus how instances start.

    ``wake_up=False`` leaves out the wake-up step policy (the source article's setup: target
    tracking alone).
    """

    name: str
    scaling: ScalingSettings = field(default_factory=ScalingSettings)
    data_path: DataPathSettings = field(default_factory=DataPathSettings)
    cold_start: ColdStart = HUB_COLD_START
    wake_up: bool = True


@dataclass(frozen=True, kw_only=True)
class Options:
    """How the simulation runs; every figure it reports rests on these."""

    table: ThroughputTable
    seed: int = 1
    start: datetime = DEFAULT_START
    publication_delay_seconds: float = DEFAULT_PUBLICATION_DELAY_SECONDS
    price_per_hour: float = G5_XLARGE_PRICE_PER_HOUR_USD
    # None: until every request is served or expired and capacity is back at its minimum.
    horizon_minutes: int | None = None


@dataclass(frozen=True)
class Activity:
    """A change of the desired capacity: when, by which policy or schedule, from and to."""

    time: float
    cause: str
    before: int
    after: int


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
    instance_seconds: float = 0.0
    minutes: int = 0
    back_at_zero_minute: int | None = None


def simulate(documents: list[Document], variant: Variant, options: Options) -> Run:
    """Replay ``documents`` through ``variant``'s data path, endpoint and scaling policies."""
    problems = [f"scaling.{p}" for p in variant.scaling.problems()]
    problems += [f"data_path.{p}" for p in variant.data_path.problems()]
    if problems:
        raise SimulationError(f"variant {variant.name!r}", problems)
    if not documents:
        raise SimulationError(f"variant {variant.name!r}", ["the trace has no documents"])
    requests = group_requests(documents, variant.data_path, options.table.windows)
    return _Simulation(requests, len(documents), variant, options).run()


class _Simulation:
    def __init__(
        self, requests: list[Request], documents: int, variant: Variant, options: Options
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
        self.tracking = TargetTracking.on(self.per_instance, settings)
        self.steps: list[StepPolicy] = []
        if variant.wake_up:
            self.steps.append(wake_up_policy(self.without_capacity, settings))
        if settings.spike_enabled:
            self.steps.append(spike_policy(self.per_instance, settings))
        self.schedules = schedules_of(settings.scheduled_actions, options.start)
        self.service = [options.table.service_seconds(r.windows) for r in requests]
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
        )
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

    # --- the minute loop ---------------------------------------------------------------------

    def run(self) -> Run:
        for minute in range(self.horizon):
            now = minute * 60.0
            self._scheduled_actions(minute, now)
            self._scale(now)
            self._serve(now, now + 60.0)
            self._record(minute, now + 60.0)
            if not self.explicit_horizon and self._settled(minute):
                break
        end = self.run_.minutes * 60.0
        for instance in self.instances:
            self.run_.instance_seconds += (instance.ended or end) - instance.launched
        return self.run_

    def _scheduled_actions(self, minute: int, now: float) -> None:
        for schedule in self.schedules:
            if not schedule.fires(minute):
                continue
            action = schedule.action
            if action.min_capacity is not None:
                self.min = action.min_capacity
            if action.max_capacity is not None:
                self.max = action.max_capacity
            clamped = min(max(self.desired, self.min), self.max)
            self._set_desired(now, clamped, f"schedule {action.name}")

    def _scale(self, now: float) -> None:
        delay = self.options.publication_delay_seconds
        for alarm in (self.tracking.high, self.tracking.low, *(s.alarm for s in self.steps)):
            alarm.evaluate(now, delay)
        desired = self.desired
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
                if cause == "target tracking":
                    self.tracking.scaled_out(now, desired)
                else:
                    next(s for s in self.steps if s.name == cause).scaled_out(now, desired)
                self._set_desired(now, new, cause)
                return
        lower = self.tracking.scale_in(now, desired)
        if lower is not None:
            new = max(lower, self.min)
            if new < desired:
                self.tracking.scaled_in(now)
                self._set_desired(now, new, "target tracking")

    def _set_desired(self, now: float, new: int, cause: str) -> None:
        if new == self.desired:
            return
        self.run_.activities.append(Activity(now, cause, self.desired, new))
        self.desired = new
        active = [i for i in self.instances if not i.leaving]
        for _ in range(new - len(active)):
            ready = now + self.variant.cold_start.sample(self.rng)
            self.instances.append(_Instance(launched=now, ready=ready, free_at=ready))
        surplus = len(active) - new
        if surplus > 0:
            # Starting instances go first (nothing lost), then idle ones, then busy ones, which
            # finish their request before they leave.
            order = sorted(active, key=lambda i: (i.ready <= now, i.free_at > now, -i.launched))
            for instance in order[:surplus]:
                instance.leaving = True
                instance.ended = max(now, instance.free_at) if instance.ready <= now else now

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
        # SageMaker's sample of the minute, taken at its end. With no instance the per-instance
        # backlog is the backlog itself (which is why target tracking alone wakes the endpoint
        # only once the backlog exceeds the target).
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


def percentile(latencies: list[float], share: float) -> float | None:
    """Nearest-rank percentile; ``math.inf`` entries (never finished) give None."""
    if not latencies:
        return None
    ordered = sorted(latencies)
    value = ordered[max(0, math.ceil(share * len(ordered)) - 1)]
    return None if math.isinf(value) else value

"""The plot of one scenario: one column per variant, one shared time axis, events at their minute.

Rows: the backlog in documents; the instances (desired, in service, the range of in service over
every seed, and a marker for each scaling activity with its update shaded until it completes);
the backlog per instance that target tracking reads, with its target; summaries per minute; the
cost so far. The lines are those of the first seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from summarizer.simulator.engine import Run
from summarizer.simulator.errors import SimulationError

CAUSE_COLOURS = {
    "wake-up": "tab:orange",
    "target tracking": "tab:blue",
    "spike": "tab:purple",
    "schedule": "tab:brown",
}
WIDTH_PER_COLUMN = 5.0
HEIGHT = 10.5
DPI = 80
ROWS = 5


def _kind(cause: str) -> str:
    """An activity's cause as the legend names it (``schedule office`` -> ``schedule``)."""
    return "schedule" if cause.startswith("schedule") else cause


def _desired_steps(run: Run) -> tuple[list[float], list[int]]:
    """Desired capacity as a step function of minutes, changing at each activity's start."""
    times, values = [0.0], [run.variant.scaling.min_capacity]
    for activity in run.activities:
        times.append(activity.time / 60.0)
        values.append(activity.after)
    times.append(run.minutes)
    values.append(values[-1])
    return times, values


def _in_service_steps(run: Run) -> tuple[list[float], list[int]]:
    """Instances in service as a step function: each counts from its start to its removal."""
    events: list[tuple[float, int]] = []
    for _, ready, ended in run.instances:
        if ready < ended:
            events += [(ready / 60.0, 1), (ended / 60.0, -1)]
    times, values, count = [0.0], [0], 0
    for time, change in sorted(events):
        count += change
        times.append(time)
        values.append(count)
    times.append(run.minutes)
    values.append(count)
    return times, values


def _cost_so_far(run: Run, price_per_hour: float, end: int) -> list[float]:
    """Dollars spent by the end of each minute 0..end (instances bill from launch to removal)."""
    return [
        sum(max(0.0, min(ended, m * 60.0) - launched) for launched, _, ended in run.instances)
        / 3600.0
        * price_per_hour
        for m in range(end + 1)
    ]


def plot(
    path: Path,
    title: str,
    runs: Sequence[Sequence[Run]],
    aggregates: Sequence[dict[str, Any]],
    note: str,
    price_per_hour: float,
) -> None:
    """Draw ``runs`` (per variant, every seed's run) into ``path``."""
    drawn = figure(title, runs, aggregates, note, price_per_hour)
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata keeps the checked-in PNG identical across regenerations.
    drawn.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(drawn)


def _padded(values: Sequence[float], end: int) -> list[float]:
    """A run's per-minute samples continued to ``end`` minutes: a run stops once settled, with
    nothing queued, so its last value holds."""
    return [*values, *[values[-1] if values else 0.0] * (end - len(values))]


def figure(
    title: str,
    runs: Sequence[Sequence[Run]],
    aggregates: Sequence[dict[str, Any]],
    note: str,
    price_per_hour: float,
) -> Any:
    """The matplotlib figure of ``plot`` (tests read its axes and artists)."""
    try:
        import matplotlib
    except ImportError:
        raise SimulationError(
            "plot", ["matplotlib is not installed (requirements-dev.txt pins it): pip install it"]
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    columns = len(runs)
    drawn, axes = plt.subplots(
        ROWS,
        columns,
        figsize=(WIDTH_PER_COLUMN * columns, HEIGHT),
        sharex=True,
        sharey="row",
        squeeze=False,
        height_ratios=(1.0, 1.2, 1.0, 0.8, 0.8),
    )
    end = max(run.minutes for seeds in runs for run in seeds)
    # A logarithmic scale only where the backlog dwarfs the target (a burst), else linear.
    highest = max(
        (b / n if n else b) / s[0].variant.scaling.target_backlog_per_instance
        for s in runs
        for b, n in zip(s[0].backlog, s[0].in_service, strict=True)
    )
    logarithmic = highest > 20
    causes: set[tuple[str, bool]] = set()
    for column, (seeds, summary) in enumerate(zip(runs, aggregates, strict=True)):
        run = seeds[0]
        backlog, instances, per_instance, done, cost_axis = (
            axes[row][column] for row in range(ROWS)
        )
        # Each sample is taken at its minute's end: the sample of minute m is drawn at m + 1.
        after = list(range(1, end + 1))
        figures = summary["figures"]
        p95, cost = figures["p95_minutes"]["median"], figures["cost_usd"]["median"]
        backlog.set_title(
            f"{run.variant.name}\np95 {'never' if p95 is None else f'{p95} min'}, "
            f"${cost:.2f} (medians)",
            fontsize=10,
        )
        backlog.plot(after, _padded(run.backlog_documents, end), color="tab:red")
        # The in-service range over every seed, minute by minute.
        low = [min(s.in_service[m] if m < s.minutes else 0 for s in seeds) for m in range(end)]
        high = [max(s.in_service[m] if m < s.minutes else 0 for s in seeds) for m in range(end)]
        instances.fill_between(
            range(1, end + 1), low, high, step="pre", color="tab:green", alpha=0.15, lw=0
        )
        instances.step(*_desired_steps(run), where="post", color="tab:blue", lw=1.5)
        instances.step(*_in_service_steps(run), where="post", color="tab:green", lw=1.5)
        for activity in run.activities:
            start, completes = activity.time / 60.0, activity.completes / 60.0
            kind = _kind(activity.cause)
            out = activity.after > activity.before
            causes.add((kind, out))
            if completes > start:
                instances.axvspan(start, completes, color="0.6", alpha=0.18, lw=0)
            marker = "^" if out else "v"
            instances.plot(
                start,
                activity.after,
                marker=marker,
                color=CAUSE_COLOURS.get(kind, "k"),
                ms=8,
                ls="",
                zorder=5,
            )
        target = run.variant.scaling.target_backlog_per_instance
        metric = [
            b / n if n else float(b) for b, n in zip(run.backlog, run.in_service, strict=True)
        ]
        per_instance.plot(after, _padded(metric, end), color="tab:red", lw=1.2)
        per_instance.axhline(target, color="k", ls="--", lw=1)
        per_instance.annotate(
            f"target {target:g}",
            (end, target),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            fontsize=8,
        )
        # Bars one minute wide, outlined so that single summaries stay visible on long axes.
        done.bar(
            range(run.minutes),
            run.completions,
            width=1.0,
            align="edge",
            color="tab:purple",
            edgecolor="tab:purple",
            lw=0.8,
        )
        if logarithmic:
            per_instance.set_yscale("symlog", linthresh=1.0)
        cost_axis.plot(range(end + 1), _cost_so_far(run, price_per_hour, end), color="0.2")
        cost_axis.set_xlabel("minutes since the first upload")
    axes[0][0].set_ylabel("backlog\n(documents)")
    axes[1][0].set_ylabel("instances")
    axes[2][0].set_ylabel("backlog per instance\n(requests" + (", log)" if logarithmic else ")"))
    axes[3][0].set_ylabel("summaries\nper minute")
    axes[4][0].set_ylabel("cost so far\n($)")
    for row in axes:
        for ax in row:
            ax.set_xlim(0, end)
            ax.grid(True, color="0.9", lw=0.6)
            ax.set_axisbelow(True)
    axes[1][0].set_ylim(bottom=0)
    axes[1][0].yaxis.get_major_locator().set_params(integer=True)
    handles = [
        Line2D([], [], color="tab:red", label="backlog (first seed)"),
        Line2D([], [], color="tab:blue", label="desired instances"),
        Line2D([], [], color="tab:green", label="in service"),
        Patch(color="tab:green", alpha=0.15, label="in service, range over seeds"),
        Patch(color="0.6", alpha=0.3, label="updating: no scaling starts"),
        *(
            Line2D(
                [],
                [],
                color=CAUSE_COLOURS[cause],
                marker="^" if out else "v",
                ls="",
                label=f"{cause} scales {'out' if out else 'in'}",
            )
            for cause in CAUSE_COLOURS
            for out in (True, False)
            if (cause, out) in causes
        ),
        Line2D([], [], color="k", ls="--", label="target backlog per instance"),
        Patch(color="tab:purple", label="summaries per minute"),
        Line2D([], [], color="0.2", label="cost so far (first seed)"),
    ]
    drawn.suptitle(f"{title}: simulation of documented behaviour, not a measurement", y=0.99)
    drawn.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
    drawn.text(0.5, 0.062, note, ha="center", fontsize=8, color="0.3")
    drawn.tight_layout(rect=(0, 0.075, 1, 0.97))
    return drawn

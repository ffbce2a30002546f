"""PNG charts for /stats, the weekly digest and the offline reports (matplotlib, Agg backend).

Each function takes the plain dataclasses of :mod:`bot.storage.analytics` (or a whole
:class:`bot.services.stats.Report`), writes one PNG and returns its path, or ``None`` when
there is nothing to draw. They use matplotlib's object API (no pyplot state), so they may run
in a worker thread. Colours are the same everywhere: red negative, grey neutral, green positive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.domain.analytics import SOURCE_CAMPAIGN, Cohort, DayFigures, Growth, SourceFigures
from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.services.stats import Report

NEGATIVE = "#d64541"
NEUTRAL = "#a0a8b3"
POSITIVE = "#2e9e5b"
MESSAGES = "#3b7dd8"
ACTIVE = "#f0a030"
JOINS = "#3b9dd8"
LEAVES = "#e07b39"
MISSING = "#eeeeee"
SENTIMENT_COLOURS = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}

WIDTH, HEIGHT, DPI = 9.0, 4.6, 110

# Texts on the charts: Translator(locale) or any callable (msgid, **values) -> str.
Tr = Callable[..., str]


def chart_translator(locale: str | None) -> Tr:
    """Charts in the community's language; Hebrew falls back to English because matplotlib
    does not lay out right-to-left text."""
    if not locale or locale.startswith("he"):
        return Translator("en")
    return Translator(locale)


def _plain(message: str, **values: object) -> str:
    return message.format(**values) if values else message


def _figure(width: float = WIDTH, height: float = HEIGHT) -> Any:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Chart text is names and messages people wrote: "$5 or $10" must draw as written, and "$\frac{"
    # must not stop the report. No chart of ours uses mathtext, so it is off for every text created.
    matplotlib.rcParams["text.parse_math"] = False
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _style(ax: Any) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def _date_axis(ax: Any, days: Sequence[date]) -> None:
    """Readable dates: at most ~10 labels, "26 Nov" style."""
    from matplotlib.dates import DateFormatter, DayLocator

    step = max(1, len(days) // 10 + (1 if len(days) % 10 else 0)) if len(days) > 10 else 1
    ax.xaxis.set_major_locator(DayLocator(interval=step))
    ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    for label in ax.get_xticklabels():
        label.set_rotation(0)
    if days:
        from matplotlib.dates import date2num

        ax.set_xlim(date2num(days[0]) - 0.6, date2num(days[-1]) + 0.6)


def _literal_text(fig: Any) -> None:
    """Every text of the figure drawn as written, never parsed as mathtext (see ``_figure``)."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _literal_text(fig)
    fig.tight_layout()
    _literal_text(fig)  # tight_layout may create tick labels
    fig.savefig(path, format="png", dpi=DPI, facecolor="white")
    return path


def activity_chart(days: Sequence[DayFigures], path: Path, *, title: str, t: Tr = _plain) -> Path | None:
    """Messages per day (bars) and active members per day (line)."""
    if not days or not any(d.messages for d in days):
        return None
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    x = [d.day for d in days]
    ax.bar(x, [d.messages for d in days], color=MESSAGES, width=0.7, label=t("Messages"))
    ax.plot(x, [d.active_members for d in days], color=ACTIVE, marker="o", linewidth=2.2, label=t("Active members"))
    ax.set_title(title, fontsize=14, loc="left", pad=12)
    ax.set_ylabel(t("Per day"))
    ax.set_xlabel(t("Date"))
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", frameon=False)
    _style(ax)
    _date_axis(ax, x)
    return _save(fig, path)


def sentiment_chart(days: Sequence[DayFigures], path: Path, *, title: str, t: Tr = _plain) -> Path | None:
    """Share of negative / neutral / positive messages per day (stacked to 100 %)."""
    if not days or not any(d.negative + d.neutral + d.positive for d in days):
        return None
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    x = [d.day for d in days]
    bottom = [0.0] * len(days)
    names = {"negative": t("Negative"), "neutral": t("Neutral"), "positive": t("Positive")}
    for label in ("negative", "neutral", "positive"):
        shares = []
        for d in days:
            total = d.negative + d.neutral + d.positive
            shares.append(100.0 * getattr(d, label) / total if total else 0.0)
        ax.bar(x, shares, bottom=bottom, color=SENTIMENT_COLOURS[label], width=0.7, label=names[label])
        bottom = [b + s for b, s in zip(bottom, shares, strict=True)]
    ax.set_title(title, fontsize=14, loc="left", pad=12)
    ax.set_ylabel(t("Share of classified messages (%)"))
    ax.set_xlabel(t("Date"))
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    _style(ax)
    _date_axis(ax, x)
    return _save(fig, path)


def source_label(source: SourceFigures, t: Tr = _plain) -> str:
    if source.source == SOURCE_CAMPAIGN and source.name:
        return source.name
    return {
        "other_link": t("Other invite links"),
        "no_link": t("Added / no link"),
        "unknown": t("Joined before tracking"),
    }.get(source.source, source.source)


def growth_chart(days: Sequence[DayFigures], growth: Growth, path: Path, *, title: str, t: Tr = _plain) -> Path | None:
    """Joins and leaves per day (left) and joins and leaves by campaign (right)."""
    if growth.joins == 0 and growth.leaves == 0:
        return None
    fig = _figure(WIDTH + 2, HEIGHT)
    grid = fig.add_gridspec(1, 2, width_ratios=[3, 2])
    ax = fig.add_subplot(grid[0, 0])
    x = [d.day for d in days]
    ax.bar(x, [d.joins for d in days], color=JOINS, width=0.7, label=t("Joined"))
    ax.bar(x, [-d.leaves for d in days], color=LEAVES, width=0.7, label=t("Left"))
    ax.axhline(0, color="#555555", linewidth=0.8)
    ax.set_ylabel(t("Members per day (left below zero)"))
    ax.set_xlabel(t("Date"))
    ax.legend(loc="upper left", frameon=False)
    _style(ax)
    _date_axis(ax, x)
    bx = fig.add_subplot(grid[0, 1])
    sources = sorted(growth.by_source, key=lambda s: (s.joins, s.leaves))[-8:]
    labels = [source_label(s, t) for s in sources]
    positions = list(range(len(sources)))
    bx.barh([p + 0.2 for p in positions], [s.joins for s in sources], height=0.4, color=JOINS, label=t("Joined"))
    bx.barh([p - 0.2 for p in positions], [s.leaves for s in sources], height=0.4, color=LEAVES, label=t("Left"))
    bx.set_yticks(positions)
    bx.set_yticklabels(labels)
    bx.set_xlabel(t("Members"))
    bx.set_title(t("By campaign"), fontsize=11, loc="left")
    for p, s in zip(positions, sources, strict=True):
        bx.text(s.joins, p + 0.2, f" {s.joins}", va="center", fontsize=9)
        if s.leaves:
            bx.text(s.leaves, p - 0.2, f" {s.leaves}", va="center", fontsize=9)
    bx.spines["top"].set_visible(False)
    bx.spines["right"].set_visible(False)
    fig.suptitle(title, fontsize=14, x=0.01, ha="left")
    return _save(fig, path)


def retention_chart(cohorts: Sequence[Cohort], path: Path, *, title: str, t: Tr = _plain) -> Path | None:
    """Heatmap: rows are weekly join cohorts, columns weeks 1-4 after joining, cells the share
    of the cohort who posted that week."""
    rows = [c for c in cohorts if c.joined > 0]
    if not rows:
        return None
    from matplotlib.colors import LinearSegmentedColormap

    fig = _figure(7.5, 1.4 + 0.45 * len(rows))
    ax = fig.add_subplot(1, 1, 1)
    cmap = LinearSegmentedColormap.from_list("retention", ["#f4f8fd", "#1f5fb4"])
    for i, cohort in enumerate(rows):
        for k, posted in enumerate(cohort.posted_by_week):
            if posted is None:
                ax.add_patch(_rect(k, i, MISSING))
                ax.text(k + 0.5, i + 0.5, "…", ha="center", va="center", color="#999999", fontsize=10)
                continue
            share = posted / cohort.joined
            ax.add_patch(_rect(k, i, cmap(share)))
            ax.text(
                k + 0.5,
                i + 0.5,
                f"{share:.0%}\n({posted})",
                ha="center",
                va="center",
                fontsize=8.5,
                color="white" if share > 0.55 else "#222222",
            )
    ax.set_xlim(0, len(rows[0].posted_by_week))
    ax.set_ylim(len(rows), 0)
    ax.set_xticks([k + 0.5 for k in range(len(rows[0].posted_by_week))])
    ax.set_xticklabels([t("Week +{n}", n=k + 1) for k in range(len(rows[0].posted_by_week))])
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels([t("{week} ({n} joined)", week=f"{c.week_start:%d %b}", n=c.joined) for c in rows])
    ax.set_xlabel(t("Weeks after joining (… = not over yet)"))
    ax.set_ylabel(t("Joined in the week of"))
    ax.set_title(title, fontsize=13, loc="left", pad=10)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    return _save(fig, path)


def _rect(x: int, y: int, colour: Any) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x + 0.03, y + 0.05), 0.94, 0.9, facecolor=colour, edgecolor="white")


def render_report(report: Report, out_dir: Path, *, prefix: str = "", locale: str | None = None) -> list[Path]:
    """Every chart that has something to show, as PNG files in ``out_dir``."""
    t = chart_translator(locale)
    days = report.activity.days
    name = report.title
    charts = [
        activity_chart(days, out_dir / f"{prefix}activity.png", title=t("Activity · {name}", name=name), t=t),
        sentiment_chart(days, out_dir / f"{prefix}sentiment.png", title=t("Mood per day · {name}", name=name), t=t),
        growth_chart(
            days, report.growth, out_dir / f"{prefix}growth.png", title=t("Joins and leaves · {name}", name=name), t=t
        ),
        retention_chart(
            report.retention,
            out_dir / f"{prefix}retention.png",
            title=t("Retention: who posted in the weeks after joining"),
            t=t,
        ),
    ]
    return [path for path in charts if path is not None]

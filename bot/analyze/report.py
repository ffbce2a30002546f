"""Charts, the HTML report and the FAQ-candidates file of ``steward analyze``.

The report is one self-contained HTML file: every chart is embedded as a base64 PNG and is also written
beside it (``activity.png``, ``sentiment.png``, ``negative-threads.png``, ``faq-candidates.png``). The
activity and mood charts are the same ones ``/stats`` sends (:mod:`bot.services.charts`).
"""

from __future__ import annotations

import base64
import html
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.analyze.engine import Analysis, Cluster, QuestionRecord, ThreadFigure
from bot.i18n import Translator
from bot.services import charts
from bot.services.faq_io import QUESTION_LIMIT, FaqDraft, dump_toml
from bot.textsafety import compile_pattern

__all__ = [
    "PLACEHOLDER_ANSWER",
    "ReportFiles",
    "candidate_drafts",
    "clusters_chart",
    "negative_threads_chart",
    "render_charts",
    "write_faq_candidates",
    "write_report",
]

PLACEHOLDER_ANSWER = "TODO: write the answer, then set enabled = true."
MAX_FAQ_QUESTIONS = 50
_STOP_WORDS = (
    "a an the is are was were do does did i you we my me our to of in on at for and or can could how what "
    "where when why who which anyone anybody someone know there this that it be any please again with"
)
_STOP = frozenset(_STOP_WORDS.split())
_ASCII_WORD = compile_pattern(r"[a-z0-9]+", name="analyze.ascii_word")


@dataclass(frozen=True, slots=True)
class ReportFiles:
    html: Path
    charts: list[Path]


def _snippet(text: str, width: int = 60) -> str:
    one_line = " ".join(text.split())
    return textwrap.shorten(one_line, width=width, placeholder="…") if one_line else "(media)"


def negative_threads_chart(threads: list[ThreadFigure], path: Path, *, title: str) -> Path | None:
    """Horizontal bars per thread: negative messages (red) and the rest (grey)."""
    if not threads:
        return None
    fig = charts._figure(charts.WIDTH, max(2.6, 1.2 + 0.55 * len(threads)))
    ax = fig.add_subplot(1, 1, 1)
    rows = list(reversed(threads))  # the worst on top
    labels = [f"#{t.root.id} {t.root.author or '?'}: {_snippet(t.root.text, 46)}" for t in rows]
    y = list(range(len(rows)))
    neg = [t.negative for t in rows]
    rest = [t.messages - t.negative for t in rows]
    ax.barh(y, neg, color=charts.NEGATIVE, height=0.6, label="Negative messages")
    ax.barh(y, rest, left=neg, color=charts.NEUTRAL, height=0.6, label="Other messages")
    for yi, t in zip(y, rows, strict=True):
        ax.text(t.messages + 0.15, yi, f"{t.participants} people", va="center", fontsize=9, color="#555555")
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlabel("Messages in the thread")
    ax.set_title(title, fontsize=14, loc="left", pad=12)
    ax.set_xlim(0, max(t.messages for t in rows) * 1.25 + 1)
    ax.legend(loc="lower right", frameon=False)
    charts._style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    return charts._save(fig, path)


def clusters_chart(clusters: list[Cluster], path: Path, *, title: str, limit: int = 10) -> Path | None:
    """Horizontal bars: how often each unanswered question (group) was asked."""
    if not clusters:
        return None
    shown = list(reversed(clusters[:limit]))
    fig = charts._figure(charts.WIDTH, max(2.6, 1.2 + 0.5 * len(shown)))
    ax = fig.add_subplot(1, 1, 1)
    y = list(range(len(shown)))
    ax.barh(y, [c.size for c in shown], color=charts.MESSAGES, height=0.6, label="Times asked")
    for yi, c in zip(y, shown, strict=True):
        ax.text(c.size + 0.08, yi, f"{c.askers} people", va="center", fontsize=9, color="#555555")
    ax.set_yticks(y, [_snippet(c.representative.text, 56) for c in shown], fontsize=9)
    ax.set_xlabel("Times asked without an answer")
    ax.set_title(title, fontsize=14, loc="left", pad=12)
    ax.set_xlim(0, max(c.size for c in shown) * 1.3 + 0.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    charts._style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    return charts._save(fig, path)


def render_charts(analysis: Analysis, out_dir: Path) -> dict[str, Path]:
    """Every chart with something to show, keyed by name."""
    name = analysis.name
    made = {
        "activity": charts.activity_chart(analysis.days, out_dir / "activity.png", title=f"Activity · {name}"),
        "sentiment": charts.sentiment_chart(analysis.days, out_dir / "sentiment.png", title=f"Mood per day · {name}"),
        "threads": negative_threads_chart(
            analysis.negative_threads, out_dir / "negative-threads.png", title="The most negative threads"
        ),
        "clusters": clusters_chart(
            analysis.clusters, out_dir / "faq-candidates.png", title="Questions asked again and again, unanswered"
        ),
    }
    return {key: path for key, path in made.items() if path is not None}


# --- FAQ candidates -----------------------------------------------------------------------------------


def _key(text: str, n: int, taken: set[str]) -> str:
    words = [w for w in _ASCII_WORD.findall(text.lower()) if w not in _STOP][:4]
    base = f"candidate-{n}" + ("-" + "-".join(words) if words else "")
    key = base[:64].rstrip("-")
    i = 2
    while key in taken:
        key = f"{base[:60]}-{i}"
        i += 1
    taken.add(key)
    return key


def _question(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= QUESTION_LIMIT else one_line[: QUESTION_LIMIT - 1] + "…"


def candidate_drafts(analysis: Analysis) -> list[FaqDraft]:
    """One disabled entry per FAQ candidate, its questions as variants and a placeholder answer."""
    taken: set[str] = set()
    drafts = []
    for n, cluster in enumerate(analysis.clusters, start=1):
        variants = list(dict.fromkeys(_question(q.text) for q in cluster.questions))[:MAX_FAQ_QUESTIONS]
        drafts.append(
            FaqDraft(
                key=_key(cluster.representative.text, n, taken),
                questions=tuple(variants),
                answer=PLACEHOLDER_ANSWER,
                enabled=False,
            )
        )
    return drafts


def write_faq_candidates(analysis: Analysis, path: Path) -> int:
    """Write the candidates in the FAQ import format (TOML); returns how many entries."""
    drafts = candidate_drafts(analysis)
    header = (
        f"FAQ candidates from '{analysis.name}' (steward analyze, {datetime.now(UTC):%Y-%m-%d}).\n"
        "Each entry groups similar questions nobody answered in the chat.\n"
        f'Every answer is a placeholder ("{PLACEHOLDER_ANSWER}") and every entry is disabled\n'
        "(enabled = false), so the bot never posts it: write the answer, set enabled = true, then import\n"
        "the file (see docs/faq.md). Delete entries you do not want."
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_toml(drafts, header=header), encoding="utf-8")
    return len(drafts)


# --- HTML ---------------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif;margin:0;background:#f6f7f9;
color:#1d2330;line-height:1.45}
main{max-width:1000px;margin:0 auto;padding:28px 22px 60px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:20px;margin:34px 0 10px;border-bottom:1px solid #dde1e7;padding-bottom:6px}
.sub{color:#5b6472;margin:0 0 18px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e2e5ea;border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:24px}.card span{color:#5b6472;font-size:13px}
img{max-width:100%;background:#fff;border:1px solid #e2e5ea;border-radius:8px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:14px}
th,td{border:1px solid #e2e5ea;padding:6px 8px;text-align:left;vertical-align:top}th{background:#eef1f5}
td.n{text-align:right;white-space:nowrap}.neg{color:#b3302c}.muted{color:#5b6472;font-size:13px}
ol li,ul li{margin:3px 0}.q{unicode-bidi:plaintext}
"""


def _img(path: Path | None, alt: str) -> str:
    if path is None:
        return ""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></p>'


def _when(at: datetime | None, analysis: Analysis) -> str:
    if at is None:
        return "—"
    from zoneinfo import ZoneInfo

    return at.astimezone(ZoneInfo(analysis.timezone)).strftime("%Y-%m-%d %H:%M")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _q(text: str) -> str:
    return f'<span class="q">{html.escape(" ".join(text.split()))}</span>'


def write_report(analysis: Analysis, out_dir: Path, *, locale: str = "en", faq_file: Path | None = None) -> ReportFiles:
    """Charts and ``report.html`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    made = render_charts(analysis, out_dir)
    t = Translator(locale)
    a = analysis
    esc = html.escape
    period = f"{_when(a.first_at, a)} – {_when(a.last_at, a)} ({esc(a.timezone)})"
    q = a.questions
    cards = [
        (a.messages, t("messages")),
        (a.members, t("members who posted")),
        (a.joins, t("joins")),
        (q.asked, t("questions")),
        (f"{q.answered} · {_pct(q.answered_rate)}", t("answered by someone")),
        (len(a.unanswered), t("unanswered questions")),
        (len(a.clusters), t("FAQ candidates")),
        (_pct(a.sentiment.share("negative")), t("negative messages")),
    ]
    parts = [
        "<!doctype html>",
        f'<html lang="{esc(t.locale)}" dir="{"rtl" if t.locale == "he" else "ltr"}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{esc(t('Chat report: {name}', name=a.name))}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{esc(t('Chat report: {name}', name=a.name))}</h1>",
        f'<p class="sub">{esc(period)}</p>',
        '<div class="cards">',
        *(f'<div class="card"><b>{esc(str(v))}</b><span>{esc(label)}</span></div>' for v, label in cards),
        "</div>",
        f"<h2>{esc(t('Activity'))}</h2>",
        "<p>"
        + esc(
            t(
                "{messages} messages ({text} with text, {media} media only) from {members} members; "
                "{joins} joined and {leaves} left or were removed (per the service messages).",
                messages=a.messages,
                text=a.text_messages,
                media=a.media_messages,
                members=a.members,
                joins=a.joins,
                leaves=a.leaves,
            )
        )
        + "</p>",
        _img(made.get("activity"), t("Messages and active members per day")),
    ]
    if a.top_members:
        who = ", ".join(f"{esc(name)} ({n})" for name, n in a.top_members)
        parts.append(f'<p class="muted">{esc(t("Most active:"))} {who}</p>')
    s = a.sentiment
    parts += [
        f"<h2>{esc(t('Mood'))}</h2>",
        "<p>"
        + esc(
            t(
                "Negative {neg} ({neg_pct}), neutral {neu} ({neu_pct}), positive {pos} ({pos_pct}) of "
                "{total} messages with text.",
                neg=s.negative,
                neg_pct=_pct(s.share("negative")),
                neu=s.neutral,
                neu_pct=_pct(s.share("neutral")),
                pos=s.positive,
                pos_pct=_pct(s.share("positive")),
                total=s.classified,
            )
        )
        + "</p>",
        _img(made.get("sentiment"), t("Share of negative, neutral and positive messages per day")),
        f"<h2>{esc(t('The most negative threads'))}</h2>",
    ]
    if a.negative_threads:
        parts.append(_img(made.get("threads"), t("The most negative threads")))
        parts.append(
            "<table><tr>"
            + "".join(
                f"<th>{esc(h)}</th>"
                for h in (
                    t("Started"),
                    t("Thread"),
                    t("Messages"),
                    t("People"),
                    t("Negative"),
                    t("Most negative message"),
                )
            )
            + "</tr>"
        )
        for th in a.negative_threads:
            parts.append(
                f"<tr><td>{esc(_when(th.root.at, a))}</td>"
                f"<td>#{th.root.id} <b>{esc(th.root.author or '?')}</b>: {_q(_snippet(th.root.text, 140))}</td>"
                f'<td class="n">{th.messages}</td><td class="n">{th.participants}</td>'
                f'<td class="n neg">{th.negative}</td>'
                f"<td><b>{esc(th.worst.author or '?')}</b>: {_q(_snippet(th.worst.text, 160))}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append(f"<p>{esc(t('No thread had a negative message.'))}</p>")

    parts += [
        f"<h2>{esc(t('Questions nobody answered'))}</h2>",
        "<p>"
        + esc(
            t(
                "{asked} questions; {answered} got a reply from someone else (median wait {wait}); "
                "{unanswered} did not.",
                asked=q.asked,
                answered=q.answered,
                wait=_duration(q.median_answer_s),
                unanswered=len(a.unanswered),
            )
        )
        + "</p>",
    ]
    if a.clusters:
        parts.append(_img(made.get("clusters"), t("Questions asked again and again, unanswered")))
        parts.append(f"<h3>{esc(t('FAQ candidates'))}</h3><ol>")
        for c in a.clusters:
            shown = "".join(
                f"<li>{_q(x.text)} <span class='muted'>— {esc(x.author or '?')}, {esc(_when(x.at, a))}</span></li>"
                for x in c.questions[:6]
            )
            more = f"<li class='muted'>{esc(t('and {n} more', n=c.size - 6))}</li>" if c.size > 6 else ""
            parts.append(
                f"<li><b>{_q(c.representative.text)}</b> "
                f"<span class='muted'>{esc(t('asked {n} times by {people} people', n=c.size, people=c.askers))}"
                f"</span><ul>{shown}{more}</ul></li>"
            )
        parts.append("</ol>")
        if faq_file is not None:
            written = t("Written as disabled FAQ entries with placeholder answers to {file}.", file=str(faq_file))
            parts.append(f"<p>{esc(written)}</p>")
    else:
        parts.append(f"<p>{esc(t('No unanswered question was asked more than once.'))}</p>")
    lonely = _singletons(a)
    if lonely:
        parts.append(f"<h3>{esc(t('Other unanswered questions'))}</h3><ul>")
        parts += [
            f"<li>{_q(r.message.text)} <span class='muted'>— {esc(r.message.author or '?')}, "
            f"{esc(_when(r.message.at, a))}</span></li>"
            for r in lonely[:30]
        ]
        if len(lonely) > 30:
            parts.append(f"<li class='muted'>{esc(t('and {n} more', n=len(lonely) - 30))}</li>")
        parts.append("</ul>")
    if a.helpers:
        parts.append(
            f"<h2>{esc(t('Top helpers'))}</h2><table><tr><th>{esc(t('Member'))}</th>"
            f"<th>{esc(t('Questions answered'))}</th><th>{esc(t('Median reply time'))}</th></tr>"
        )
        parts += [
            f'<tr><td>{esc(h.name)}</td><td class="n">{h.answers}</td>'
            f'<td class="n">{_duration(h.median_response_s)}</td></tr>'
            for h in a.helpers
        ]
        parts.append("</table>")
    parts += [
        f"<h2>{esc(t('How this was computed'))}</h2><ul class='muted'>",
        f"<li>{esc(t('A question is a message that reads as one (question mark, or an opening like how/where/как/איך); it counts as answered when someone other than the asker replied to it.'))}</li>",  # noqa: E501
        f"<li>{esc(t('A thread is a message and every reply under it. Threads are ranked by their number of negative messages.'))}</li>",  # noqa: E501
        f"<li>{esc(t('FAQ candidates group unanswered questions whose meaning is close (cosine similarity at least {sim}) and that were asked at least {n} times.', sim=f'{a.similarity:.2f}', n=a.min_count))}</li>",  # noqa: E501
    ]
    if a.skipped:
        skipped = t.plural(
            "{n} entry of the export had no usable id or date and was skipped.",
            "{n} entries of the export had no usable id or date and were skipped.",
            a.skipped,
        )
        parts.append(f"<li>{esc(skipped)}</li>")
    generated = t("Generated by steward analyze on {when}.", when=f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    parts += [f"<li>{esc(generated)}</li>", "</ul></main></body></html>"]
    path = out_dir / "report.html"
    path.write_text("\n".join(p for p in parts if p), encoding="utf-8")
    return ReportFiles(html=path, charts=list(made.values()))


def _singletons(a: Analysis) -> list[QuestionRecord]:
    clustered = {m.id for c in a.clusters for m in c.questions}
    return [r for r in a.unanswered if r.message.id not in clustered]

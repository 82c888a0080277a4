"""The helpdesk's dashboard: tickets opened and closed per day, the backlog
per category, time to first answer and to resolution (p50/p90, in working
hours) against the SLA, and a year of daily arrivals where the rentrée peak
shows. Counts per day come from ``DayStat`` (kept as tickets move), the
backlog from the queue index, the percentiles from the tickets closed in the
window (``ticket_closed`` index): nothing scans the whole tickets table.

Charts are SVG drawn here and inlined by the template: no script, no inline
style (presentation attributes only), so they render under the strict CSP
and without JavaScript; each has a text table beside it for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from academail.assistance import sla
from academail.assistance.models import OPEN_STATUSES, Category, DayStat, Ticket

WINDOW_DAYS = 30


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50_hours: float | None
    p90_hours: float | None
    within_sla_percent: float | None


@dataclass(frozen=True)
class DayRow:
    day: date
    opened: int
    closed: int


@dataclass(frozen=True)
class Dashboard:
    days: list[DayRow]
    backlog: list[tuple[str, int]]
    first_answer: Percentiles
    resolution: Percentiles
    sla_hours: float
    year: list[tuple[date, int]]
    peak_week: tuple[date, int] | None
    closed_window: int
    closed_in_sla_window: int
    chart_days: str
    chart_year: str


def _percentile(values: list[int], fraction: float) -> float:
    index = max(0, min(len(values) - 1, int(round(fraction * (len(values) - 1)))))
    return values[index] / 3600


def _percentiles(values: list[int], limit: int) -> Percentiles:
    values = sorted(values)
    if not values:
        return Percentiles(0, None, None, None)
    within = sum(1 for v in values if v <= limit)
    return Percentiles(len(values), round(_percentile(values, 0.5), 1), round(_percentile(values, 0.9), 1),
                       round(100 * within / len(values), 1))


def _bars(series: list[tuple[str, list[int], str]], labels: list[str], *, title: str, height: int = 160) -> str:
    """A grouped bar chart as SVG (viewBox scaled by CSS)."""
    count = len(labels)
    groups = max(1, count)
    top = max([1] + [v for _name, values, _colour in series for v in values])
    width = max(300, groups * 8 * len(series) + 40)
    slot = (width - 40) / groups
    bar = max(1.0, slot / (len(series) + 0.5))
    parts = [f'<svg class="assist-chart" viewBox="0 0 {width} {height + 30}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="30" y1="{height}" x2="{width}" y2="{height}" stroke="#666" stroke-width="1"/>',
             f'<text x="0" y="12" font-size="11" fill="#333">{top}</text>']
    for s, (_name, values, colour) in enumerate(series):
        for i, value in enumerate(values):
            h = (value / top) * (height - 20)
            x = 35 + i * slot + s * bar
            parts.append(f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar * 0.9:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(labels[i])} : {value}</title></rect>')
    step = max(1, count // 6)
    for i in range(0, count, step):
        parts.append(f'<text x="{35 + i * slot:.1f}" y="{height + 16}" font-size="11" fill="#333">'
                     f"{escape(labels[i])}</text>")
    legend_x = 40
    for name, _values, colour in series:
        parts.append(f'<rect x="{legend_x}" y="{height + 20}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{height + 29}" font-size="11" fill="#333">{escape(name)}</text>')
        legend_x += 120
    parts.append("</svg>")
    return "".join(parts)


def build(*, today: date | None = None) -> Dashboard:
    today = today or timezone.localdate()
    start = today - timedelta(days=WINDOW_DAYS - 1)
    per_day: dict[date, list[int]] = {start + timedelta(days=i): [0, 0] for i in range(WINDOW_DAYS)}
    window = DayStat.objects.filter(day__gte=start, day__lte=today)
    for row in window.values("day").annotate(o=Sum("opened"), c=Sum("closed")):
        per_day[row["day"]] = [row["o"], row["c"]]
    days = [DayRow(day, values[0], values[1]) for day, values in sorted(per_day.items())]
    totals = window.aggregate(c=Sum("closed"), s=Sum("closed_in_sla"))
    labels = dict(Category.choices)
    backlog_counts = dict(
        Ticket.objects.filter(status__in=OPEN_STATUSES).values_list("category").annotate(n=Count("id"))
        .values_list("category", "n")
    )
    backlog = [(str(labels[c]), int(backlog_counts.get(c, 0))) for c in Category.values]
    since = timezone.now() - timedelta(days=WINDOW_DAYS)
    closed = Ticket.objects.filter(closed_at__gte=since)
    limit = sla.sla_seconds()
    first = [v for v in closed.exclude(first_answer_seconds=None).values_list("first_answer_seconds", flat=True)]
    resolved = [v for v in closed.exclude(resolution_seconds=None).values_list("resolution_seconds", flat=True)]
    year_start = today - timedelta(days=364)
    weekly: dict[date, int] = {}
    for day, opened in (DayStat.objects.filter(day__gte=year_start, day__lte=today).values("day")
                        .annotate(o=Sum("opened")).values_list("day", "o")):
        monday = day - timedelta(days=day.weekday())
        weekly[monday] = weekly.get(monday, 0) + int(opened)
    first_monday = year_start - timedelta(days=year_start.weekday())
    year = [(first_monday + timedelta(weeks=i), weekly.get(first_monday + timedelta(weeks=i), 0))
            for i in range(53)]
    peak = max(year, key=lambda item: item[1]) if any(n for _week, n in year) else None
    return Dashboard(
        days=days, backlog=backlog, first_answer=_percentiles(first, limit), resolution=_percentiles(resolved, limit),
        sla_hours=limit / 3600, year=year, peak_week=peak,
        closed_window=int(totals["c"] or 0), closed_in_sla_window=int(totals["s"] or 0),
        chart_days=_bars(
            [(_("Ouvertes"), [d.opened for d in days], "#000091"), (_("Résolues"), [d.closed for d in days], "#18753c")],
            [f"{d.day:%d/%m}" for d in days], title=_("Demandes ouvertes et résolues par jour (30 jours)")),
        chart_year=_bars([(_("Ouvertes"), [n for _week, n in year], "#000091")], [f"{d:%d/%m}" for d, _n in year],
                         title=_("Demandes ouvertes par semaine sur un an (pic de la rentrée)")),
    )

"""Charts drawn on the server as inline SVG: no script, no CDN, readable without colour (errors are hatched).

Bars of attempts per hour with the errors of each hour drawn over them, day ticks below, and a <title> per
bar so that hovering (or a screen reader) tells the numbers.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from markupsafe import Markup

from ponte.i18n import Translator


def _scale(values: list[int]) -> int:
    top = max(values, default=0)
    if top <= 5:
        return 5
    magnitude = 10 ** (len(str(top)) - 1)
    for step in (1, 2, 5, 10):
        if top <= step * magnitude:
            return step * magnitude
    return top


def hourly_bars(
    hours: list[datetime],
    attempts: list[int],
    errors: list[int],
    t: Translator,
    *,
    width: int = 840,
    height: int = 160,
    label: str = "",
    axis: bool = True,
) -> Markup:
    """Attempts (grey) and errors (red, hatched) per hour as an SVG bar chart."""
    pad_left, pad_bottom, pad_top = (36, 18, 8) if axis else (0, 0, 0)
    plot_w, plot_h = width - pad_left, height - pad_bottom - pad_top
    top = _scale(attempts)
    bar = plot_w / max(1, len(hours))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><g transform="translate(0 {pad_top})">',
        '<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="4" height="4" class="bar-err"/><line x1="0" y1="0" x2="0" y2="4" class="hatch"/></pattern></defs>',
    ]
    if axis:
        for fraction in (0, 0.5, 1):
            y = plot_h - fraction * plot_h
            parts.append(f'<line x1="{pad_left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" class="chart-grid"/>')
            parts.append(
                f'<text x="{pad_left - 4}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                f"{t.number(int(top * fraction))}</text>"
            )
    for n, (hour, total, failed) in enumerate(zip(hours, attempts, errors, strict=True)):
        x = pad_left + n * bar
        local = hour.astimezone(t.tz)
        if axis and local.hour == 0:
            day = t.weekday_day(local)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{plot_h}" class="day"/>')
            parts.append(f'<text x="{x + 3:.1f}" y="{plot_h + 14}" class="tick">{escape(day)}</text>')
        if not total:
            continue
        h_total = plot_h * total / top
        h_err = plot_h * failed / top
        tip = f"{t.datetime(hour)} · {t.number(total)} / {t.number(failed)}"
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{x:.1f}" y="{plot_h - h_total:.1f}" width="{max(bar - 0.5, 0.5):.1f}" '
            f'height="{h_total:.1f}" class="bar"/>'
        )
        if failed:
            parts.append(
                f'<rect x="{x:.1f}" y="{plot_h - h_err:.1f}" width="{max(bar - 0.5, 0.5):.1f}" '
                f'height="{h_err:.1f}" fill="url(#hatch)" class="bar-err"/>'
            )
        parts.append("</g>")
    parts.append("</g></svg>")
    return Markup("".join(parts))

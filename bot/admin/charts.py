"""Small server-rendered SVG charts (no JavaScript, no CDN): geometry computed here,
drawn by the templates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PALETTE = ("#0b57a4", "#e07a10", "#2e8b57", "#8e44ad", "#c0392b", "#7f8c8d")


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle of a chart, with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    """A stacked bar chart: bars, x labels, the legend and the scale."""

    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, str]]
    legend: list[tuple[str, str]]
    top: int


def stacked_by_day(days: list[dt.date], series: dict[str, list[int]], width: int = 720,
                   height: int = 220) -> Chart:
    """Bars per day, stacked by series (e.g. channels)."""
    names = sorted(series)
    totals = [sum(series[n][i] for n in names) for i in range(len(days))]
    top = max([*totals, 1])
    plot_height = height - 30
    step = width / max(len(days), 1)
    bars: list[Bar] = []
    for i, day in enumerate(days):
        y: float = plot_height
        for j, name in enumerate(names):
            value = series[name][i]
            if not value:
                continue
            h = plot_height * value / top
            y -= h
            bars.append(Bar(i * step + 2, y, max(step - 4, 1), h, PALETTE[j % len(PALETTE)],
                            f"{day:%d/%m} — {name}: {value}"))
    every = max(1, len(days) // 10)
    labels = [(i * step + step / 2, f"{d:%d/%m}") for i, d in enumerate(days) if i % every == 0]
    legend = [(name, PALETTE[j % len(PALETTE)]) for j, name in enumerate(names)]
    return Chart(width, height, bars, labels, legend, top)


def shares(items: list[tuple[str, int]]) -> list[tuple[str, int, float]]:
    """Items with their share of the largest, for horizontal bars (0-100)."""
    largest = max([count for _, count in items] + [1])
    return [(label, count, 100 * count / largest) for label, count in items]

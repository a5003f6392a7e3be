"""The figures of the time sections (issue 10): data already rounded and masked, Danish alt text given.

Each function takes what `evalkit.trends` publishes (None where a value is
hidden: nothing is drawn there) and returns a `plots.Plot` with the given alt text
(the numbers of the figure in Danish words, for readers who cannot see it), shown
and exported as every report figure is. Built on `matplotlib.figure.Figure` with
matplotlib's defaults plus a fixed style, as `evalkit.report.plots` does; imports
only the formatter and `plots.Plot`.
"""

from __future__ import annotations

import textwrap

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from evalkit.report.format import fmt_num
from evalkit.report.plots import Plot

DPI = 96
COLORS = ["#0b5c8a", "#c0661a", "#2a9d8f", "#8e5ea2", "#c0392b", "#6b8e23"]
PROJECT_COLOR = "#6b767e"
TARGET_COLOR = "#c0392b"
# As report/plots.py's STYLE, plus a fixed title position: matplotlib otherwise measures every
# axes' tick labels at each draw to place its title above them (a third of a panel's cost).
STYLE = {"font.size": 10, "figure.facecolor": "white", "savefig.facecolor": "white", "axes.titlesize": 10,
         "axes.titley": 1.0, "axes.titlepad": 5.0, "text.parse_math": False, "text.usetex": False}
_pct_axis = FuncFormatter(lambda y, _pos: f"{fmt_num(100 * y, 0)} %")
_num_axis = FuncFormatter(lambda y, _pos: fmt_num(y, 0))


def _finished(figure: Figure, alt: str) -> Plot:
    """The figure as every report figure is shown (`plots.Plot`: an embedded PNG with `alt` as its alt
    text, and the figure files of issue 11); fixed margins, so one draw, no crop."""
    plot = Plot(figure, tight=False)
    plot.alt = alt
    return plot


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        return Figure(figsize=(width, height), dpi=DPI)


def _style(ax) -> None:
    """Left and bottom spines, horizontal grid lines only (each grid line is one more artist per tick)."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.yaxis.grid(True, color="#e3e8ec", linewidth=0.8)
    ax.set_axisbelow(True)


def _time_axis(ax, dates: list[str], every: int = 12, size: int = 8, labels: bool = True) -> np.ndarray:
    """Positions 0..n-1 for the dates; a tick every `every` points counted back from the last one,
    labelled month.year, unrotated (few tick labels: each is a text to lay out at every draw)."""
    pos = np.arange(len(dates))
    ticks = pos[::-1][::every][::-1]
    ax.set_xticks(ticks, [pd.Timestamp(dates[i]).strftime("%m.%Y") for i in ticks] if labels else [],
                  fontsize=size)
    return pos


def _pct_ticks(ax) -> None:
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.5, 1])
    ax.yaxis.set_major_formatter(_pct_axis)


def _values(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values])


def _draw(func):
    """Draw under the fixed style (matplotlib reads rcParams when artists are made)."""
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            matplotlib.rcParams.update(STYLE)
            return func(*args, **kwargs)
    wrapper.__doc__, wrapper.__name__ = func.__doc__, func.__name__
    return wrapper


@_draw
def stock_lines(dates: list[str], lines: dict[str, list], title: str, alt: str) -> Plot:
    """One line per status category (rounded counts at month-ends); None leaves a gap.

    Drawn in an axes without matplotlib's axis machinery (its ticks cost more than the lines):
    the frame, the grid lines and the tick labels are one line and a few texts.
    """
    fig = _figure(9.0, 3.6)
    ax = fig.add_axes((0.1, 0.1, 0.64, 0.8))
    n = len(dates)
    x = np.arange(n)
    top = max([v for values in lines.values() for v in values if v is not None] + [5])
    ticks = [t for t in MaxNLocator(4, integer=True).tick_values(0, top) if 0 <= t <= top * 1.15]
    ax.plot(*_joined([(np.array([0, n - 1]), np.array([t, t])) for t in ticks[1:]]), color="#e3e8ec", linewidth=0.8)
    ax.plot([0, 0, n - 1], [ticks[-1], 0, 0], color="#333333", linewidth=0.8)
    for t in ticks:
        ax.text(-0.4, t, fmt_num(t, 0), fontsize=8, ha="right", va="center")
    for i in range(n - 1, -1, -12 if n > 24 else -3):  # few labels: each is a text to lay out
        ax.text(i, -0.04 * ticks[-1], pd.Timestamp(dates[i]).strftime("%m.%Y"), fontsize=8, ha="center", va="top")
    for i, (label, values) in enumerate(lines.items()):
        ax.plot(x, _values(values), color=COLORS[i % len(COLORS)], linewidth=2, label=label)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(0, ticks[-1] * 1.02)
    ax.set_axis_off()
    fig.text(0.03, 0.5, "Borgere (afrundet til nærmeste 5)", rotation=90, ha="center", va="center", fontsize=9)
    fig.text(0.42, 0.95, title, ha="center", va="bottom", fontsize=10)
    fig.legend(*ax.get_legend_handles_labels(), loc="upper left", bbox_to_anchor=(0.76, 0.9), frameon=False,
               fontsize=9)
    return _finished(fig, alt)  # fixed margins: one draw instead of two


GAP_X, GAP_Y = 0.18, 0.55  # between panels, in panel widths and heights


def _joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Several polylines as one (NaN between them): one artist for all panels."""
    xs, ys = [], []
    for x, y in parts:
        xs += [x, [np.nan]]
        ys += [y, [np.nan]]
    return (np.concatenate(xs), np.concatenate(ys)) if xs else (np.array([]), np.array([]))


def _panels(ax, panels: list[dict], ncols: int, size: int = 7, every: int = 4, wrap: int = 38) -> None:
    """Small multiples of shares (0-100 %) over the same quarters, drawn in ONE axes.

    Panel k occupies [x0, x0 + 1] x [y0, y0 + 1] in data units (column k % ncols, row k // ncols);
    each kind of line of every panel is one artist (NaN-separated), the frames, grid lines and
    labels are drawn once. One axes instead of one per panel: matplotlib's cost is per axes and
    per tick, not per point, so a grid of 19 municipalities draws like one plot.
    panel: {title, dates, value, project, target, low?, high?} (None: not drawn).
    """
    nrows = int(np.ceil(len(panels) / ncols))
    frames, grid, project, value, target, bars = [], [], [], [], [], []
    for k, p in enumerate(panels):
        col, row = k % ncols, k // ncols
        x0, y0 = col * (1 + GAP_X), (nrows - 1 - row) * (1 + GAP_Y)
        n = len(p["dates"])
        x = x0 + (np.arange(n) / max(n - 1, 1))
        frames += [(np.array([x0, x0, x0 + 1]), np.array([y0 + 1, y0, y0]))]
        grid += [(np.array([x0, x0 + 1]), np.array([y0 + h, y0 + h])) for h in (0.5, 1.0)]
        project.append((x, y0 + _values(p["project"])))
        v = _values(p["value"])
        value.append((x, y0 + v))
        if p.get("target") is not None:
            target.append((np.array([x0, x0 + 1]), np.array([y0, y0]) + p["target"]))
        if p.get("low") is not None:
            low, high = _values(p["low"]), _values(p["high"])
            ok = ~np.isnan(v)
            bars += [((xi, xi), (y0 + lo, y0 + hi)) for xi, lo, hi in
                     zip(x[ok], np.where(np.isnan(low), v, low)[ok], np.where(np.isnan(high), v, high)[ok])]
        ax.text(x0, y0 + 1.08, textwrap.fill(p["title"], wrap), fontsize=size + 2, va="bottom", ha="left")
        if col == 0:
            for h in (0.0, 0.5, 1.0):
                ax.text(x0 - 0.03, y0 + h, f"{fmt_num(100 * h, 0)} %", fontsize=size, ha="right", va="center")
        if (row == nrows - 1 or k + ncols >= len(panels)) and (nrows > 1 or col == 0):
            for i in range(n - 1, -1, -every):
                ax.text(x[i], y0 - 0.06, pd.Timestamp(p["dates"][i]).strftime("%m.%Y"), fontsize=size,
                        ha="center", va="top")
    ax.plot(*_joined(grid), color="#e3e8ec", linewidth=0.8)
    ax.plot(*_joined(frames), color="#333333", linewidth=0.8)
    if target:
        ax.plot(*_joined(target), color=TARGET_COLOR, linestyle="--", linewidth=1, label="Mål")
    ax.plot(*_joined(project), color=PROJECT_COLOR, linewidth=1.4, label="Projektet i alt")
    if bars:
        ax.add_collection(LineCollection([np.column_stack(b) for b in bars], colors=COLORS[0], linewidths=1.2))
    ax.plot(*_joined(value), color=COLORS[0], linewidth=1.6, marker="o", markersize=3.5)
    ax.set_xlim(-0.28, ncols * (1 + GAP_X) - GAP_X + 0.1)
    ax.set_ylim(-0.3, nrows * (1 + GAP_Y) - GAP_Y + 0.1 + 0.3)
    ax.set_axis_off()


@_draw
def criteria_panels(panels: list[dict], own_label: str, alt: str) -> Plot:
    """One panel per criterion: the scope's values per quarter with 95 % bars, the project's line, the target.

    panel: {title, dates, value, low, high, project (values, no interval), target}; drawn by `_panels`.
    """
    fig = _figure(10.0, 3.0)
    ax = fig.add_axes((0.0, 0.0, 0.82, 1.0))
    _panels(ax, panels, ncols=len(panels), size=8, wrap=34)
    handles = [Line2D([], [], color=COLORS[0], marker="o", markersize=3.5, linewidth=1.6),
               Line2D([], [], color=PROJECT_COLOR, linewidth=1.4),
               Line2D([], [], color=TARGET_COLOR, linestyle="--", linewidth=1)]
    fig.legend(handles, [own_label, "Projektet i alt", "Mål"], loc="center left", bbox_to_anchor=(0.82, 0.5),
               frameon=False, fontsize=9)
    return _finished(fig, alt)


@_draw
def flow_overview(quarters: list[str], project: dict[str, list], municipalities: list[tuple[str, dict]],
                  labels: dict[str, str], alt: str) -> Plot:
    """Left: the project's flows per quarter (grouped bars). Right: each municipality's flows over the
    period, one column of bars per flow (None: hidden, marked 'x')."""
    names = list(labels)
    height = 2.6 + 0.24 * len(municipalities)
    fig = _figure(11.0, height)
    grid = fig.add_gridspec(1, 1 + len(names), width_ratios=[2.6] + [1.0] * len(names), wspace=0.3,
                            left=0.06, right=0.99, top=1 - 0.55 / height, bottom=1.5 / height)
    ax = fig.add_subplot(grid[0, 0])
    _style(ax)
    pos = np.arange(len(quarters))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        ax.bar(pos + (i - (len(names) - 1) / 2) * width, _values(project[name]), width, color=COLORS[i],
               label=labels[name])
    ticks = pos[::-1][::2][::-1]
    ax.set_xticks(ticks, [pd.Timestamp(quarters[j]).strftime("%m.%Y") for j in ticks], rotation=45, fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_formatter(_num_axis)
    ax.set_title("Projektet i alt pr. kvartal")
    fig.legend(loc="lower left", bbox_to_anchor=(0.01, 0.01), ncol=2, frameon=False, fontsize=8)
    ys = np.arange(len(municipalities))[::-1]
    for i, name in enumerate(names):
        bx = fig.add_subplot(grid[0, 1 + i])
        bx.spines["top"].set_visible(False)
        bx.spines["right"].set_visible(False)
        values = [row[name] for _, row in municipalities]
        bx.barh(ys, np.nan_to_num(_values(values)), color=COLORS[i], height=0.7)
        for y, v in zip(ys, values):
            if v is None:
                bx.text(0, y, " x", va="center", fontsize=8)
        bx.set_yticks(ys, [m for m, _ in municipalities] if i == 0 else [], fontsize=8)
        bx.tick_params(axis="y", length=0)
        bx.set_ylim(-0.6, len(municipalities) - 0.4)
        bx.xaxis.set_major_locator(MaxNLocator(3))
        bx.xaxis.set_major_formatter(_num_axis)
        bx.set_title(textwrap.fill(labels[name], 16), fontsize=9)
    return _finished(fig, alt)  # fixed margins: one draw


@_draw
def criteria_grid(panels: list[dict], title: str, target, alt: str, ncols: int = 5) -> Plot:
    """Small multiples: per municipality its shown quarterly values against the project's line and target,
    every panel in one axes (`_panels`)."""
    nrows = max(1, int(np.ceil(len(panels) / ncols)))
    fig = _figure(11.0, 1.45 * nrows + 0.6)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1 - 0.45 / fig.get_figheight()))
    _panels(ax, [{**p, "title": p["label"], "target": target} for p in panels], ncols=ncols)
    fig.suptitle(title, fontsize=11, y=1 - 0.1 / fig.get_figheight(), va="top")
    return _finished(fig, alt)

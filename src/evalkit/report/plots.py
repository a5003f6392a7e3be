"""Every figure of the reports, with Danish labels and small-cell suppression applied.

Figures are built on `matplotlib.figure.Figure` directly (not pyplot), with fixed margins
(`subplots_adjust`: matplotlib's tight_layout costs a whole extra layout pass, half a figure's
time) and cropped to what is drawn when saved (`bbox_inches="tight"`), so nothing is cut off, and
returned as a `Plot`, which renders itself as PNG (`_repr_png_`): a notebook
cell that returns one shows it exactly once, embedded in the HTML, whatever
the kernel's matplotlib backend, and no global figure state leaks from one
notebook to the next in a warm kernel.
Figure code takes already-masked data and imports only formatting (`evalkit.report.format`,
and the base's `spec.WEEK_39`): the callers (municipality.py, status_report.py,
round_comparison.py) pass survival curves masked by `suppression.mask_curve`, numbers at
risk and change-band marks as the published texts, and only the caseworker points that
may be drawn (`suppression.caseload_points`). A NaN or None is not drawn.
"""

from __future__ import annotations

import functools
import math

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import blended_transform_factory

from evalkit.report import render
from evalkit.report.format import HIDDEN, fmt_num
from evalkit.spec import WEEK_39

DPI = 96
# Every colour that carries meaning has a contrast of at least 3:1 against the white background
# (WCAG 2.1 AA, 1.4.11; tests/test_accessibility.py computes it), also the scatter's other caseworkers
# drawn at OTHERS_ALPHA and the caterpillar's interval bars (CI_COLOR).
COLORS = ["#0b5c8a", "#c0661a", "#2a9d8f", "#8e5ea2", "#c0392b", "#6b8e23"]
PROJECT_COLOR = "#75808a"
HIGHLIGHT = "#c0661a"
CI_COLOR = "#6f8799"
OTHERS_ALPHA = 0.9
MAX_WEEKS = 156.0

# Every figure is drawn with matplotlib's defaults plus these, whatever the kernel's state
# (the inline backend changes rcParams when pyplot is imported): the same data give the same PNG.
# Every label is literal text: a `$` or `\` in a municipality, team or dataset name is never
# read as mathtext or TeX (it would garble the label or fail the figure).
STYLE = {"font.size": 10, "figure.facecolor": "white", "savefig.facecolor": "white", "axes.titlesize": 11,
         "text.parse_math": False, "text.usetex": False}


def _styled(func):
    """Run a figure function (creation or drawing) with matplotlib's default rcParams plus STYLE."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            matplotlib.rcParams.update(STYLE)
            return func(*args, **kwargs)

    return wrapper


_pct_axis = FuncFormatter(lambda y, _pos: f"{fmt_num(100 * y, 0)} %")
_num_axis = FuncFormatter(lambda y, _pos: fmt_num(y, 0))


class Plot:
    """A finished figure that notebooks display as an embedded PNG.

    `alt` is the figure's Danish text alternative (evalkit.report.alt_text, set by the report
    classes): the PNG output carries it as metadata, which nbconvert writes as the <img>'s alt.
    """

    alt: str | None = None

    def __init__(self, figure: Figure, tight: bool = True):
        self.figure = figure
        self.tight = tight  # crop to the drawn content
        self._png: bytes | None = None
        self._crop = None  # the PNG's crop, which the SVG keeps

    @_styled
    def png(self) -> bytes:
        if self._png is None:
            self._png, self._crop = render.png_and_crop(self.figure, DPI, self.tight)
        return self._png

    @_styled
    def svg(self) -> str:
        """The same figure as SVG, with the PNG's crop and its text as text (the figure files, issue 11)."""
        self.png()
        return render.svg(self.figure, DPI, self._crop)

    def _repr_png_(self):
        return (self.png(), {"alt": self.alt}) if self.alt else self.png()

    def savefig(self, *args, **kwargs):
        return self.figure.savefig(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<evalkit plot: {len(self.figure.axes)} axes>"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.patch.set_facecolor("white")
    return fig


def _style(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, color="#e3e8ec", linewidth=0.8)
    ax.set_axisbelow(True)


def _color(label: str, i: int) -> str:
    return PROJECT_COLOR if label.startswith("Projekt") else COLORS[i % len(COLORS)]


# --- survival ----------------------------------------------------------------


def _until_max(curve: pd.DataFrame) -> pd.DataFrame:
    """The (masked) curve rows up to MAX_WEEKS."""
    return curve[curve["weeks"] <= MAX_WEEKS]


def _draw_curve(ax, curve: pd.DataFrame, color: str, label: str, band: bool = True, lw: float = 2.0) -> bool:
    """Step curve (and CI band) of a masked curve; False when nothing is visible."""
    if curve["survival"].notna().sum() == 0:
        return False
    weeks = curve["weeks"].to_numpy(float)
    s = curve["survival"].to_numpy(float)
    # extend the last visible step to the next row's time so a step does not vanish
    ax.step(weeks, s, where="post", color=color, linewidth=lw, label=label)
    if band:
        ax.fill_between(weeks, curve["ci_low"].to_numpy(float), curve["ci_high"].to_numpy(float),
                        step="post", color=color, alpha=0.15, linewidth=0)
    return True


@_styled
def survival_plot(curves: list[tuple[str, pd.DataFrame, dict]], title: str | None = None):
    """Kaplan-Meier curves to flexjob with 95 % CI bands, the 39-week line and a numbers-at-risk row.

    `curves` holds (label, masked curve, numbers at risk as printed: {week: text}). Returns None
    when no curve has a visible point.
    """
    fig = _figure(9.0, 5.2 + 0.28 * len(curves))
    ax = fig.add_subplot(1, 1, 1)
    _style(ax)
    drawn = False
    for i, (label, curve, _texts) in enumerate(curves):
        drawn |= _draw_curve(ax, _until_max(curve), _color(label, i), label)
    if not drawn:
        return None
    ax.axvline(WEEK_39, color="#555", linestyle="--", linewidth=1.2)
    ax.text(WEEK_39 + 1, 1.02, "39 uger", color="#555", fontsize=9, va="bottom")
    ax.set_xlim(0, MAX_WEEKS)
    ax.set_ylim(0, 1.05)
    ax.set_xticks(list(curves[0][2].keys()))
    ax.yaxis.set_major_formatter(_pct_axis)
    ax.set_xlabel("Uger siden start på ledighedsydelse")
    ax.set_ylabel("Andel stadig på ledighedsydelse")
    if title:
        ax.set_title(title, loc="left", fontsize=12)
    ax.legend(loc="upper right", frameon=False)
    # numbers at risk under the axis (as published: 1-4 shown as <5, hidden ones as x)
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    ax.text(-0.05, -0.2, "I risiko:", transform=ax.transAxes, ha="right", fontsize=9, fontweight="bold")
    for i, (label, _curve, texts) in enumerate(curves):
        y = -0.27 - 0.07 * i
        ax.text(-0.05, y, label, transform=ax.transAxes, ha="right", fontsize=9, color=_color(label, i))
        for week, text in texts.items():
            if week <= MAX_WEEKS:
                ax.text(week, y, text, transform=trans, ha="center", fontsize=9)
    height = fig.get_figheight()
    fig.subplots_adjust(bottom=(1.0 + 0.25 * len(curves)) / height, left=0.2, right=0.97, top=1 - 0.45 / height)
    return Plot(fig, tight=False)


def step_grid(curve: pd.DataFrame, step: float = 0.5) -> pd.DataFrame:
    """A (masked) step curve sampled every `step` weeks up to MAX_WEEKS: the value in force at each
    grid time, so a small multiple draws a few hundred points instead of thousands."""
    grid = np.arange(0.0, MAX_WEEKS + step, step)
    weeks = curve["weeks"].to_numpy(float)
    pos = np.searchsorted(weeks, grid, side="right") - 1
    ok = pos >= 0
    out = {"weeks": grid}
    for col in ("survival", "ci_low", "ci_high"):
        values = np.full(len(grid), np.nan)
        values[ok] = curve[col].to_numpy(float)[pos[ok]]
        values[grid > (weeks.max() if len(weeks) else -1)] = np.nan  # nothing beyond the last time
        out[col] = values
    return pd.DataFrame(out)


@_styled
def survival_grid(curves: dict[str, pd.DataFrame], project: pd.DataFrame, ncols: int = 4):
    """Small multiples: each municipality's masked curve over the project's masked curve.

    Axes are not shared (matplotlib's shared axes cost grows with the square of
    their number); every panel gets the same fixed limits instead.
    """
    n = len(curves)
    nrows = max(1, math.ceil(n / ncols))
    height = 1.9 * nrows + 0.8
    fig = _figure(10.0, height)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.35 / height, bottom=0.9 / height, hspace=0.45, wspace=0.12)
    proj = step_grid(_until_max(project))
    for k, (ax, (label, curve)) in enumerate(zip(axes.flat, curves.items())):
        ax.set_autoscale_on(False)
        ax.set_xlim(0, MAX_WEEKS)
        ax.set_ylim(0, 1.05)
        ax.step(proj["weeks"], proj["survival"], where="post", color=PROJECT_COLOR, linewidth=1.2)
        own = step_grid(_until_max(curve))
        ok = _draw_curve(ax, own, COLORS[0], label, band=True, lw=1.6)
        if not ok:
            ax.text(0.5, 0.5, "For få borgere", transform=ax.transAxes, ha="center", va="center", fontsize=8,
                    color="#555")
        ax.plot([WEEK_39, WEEK_39], [0, 1.05], color="#555", linestyle="--", linewidth=0.8)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xticks([0, 39, 78, 117, 156])
        ax.set_yticks([0, 0.5, 1.0])
        ax.yaxis.set_major_formatter(_pct_axis)
        ax.tick_params(labelsize=7, labelbottom=k >= n - ncols, labelleft=k % ncols == 0)
        ax.grid(True, color="#eef1f4", linewidth=0.6)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.supxlabel("Uger siden start på ledighedsydelse (stiplet: 39 uger; grå: projektet i alt)", fontsize=9,
                  y=0.25 / height)
    fig.supylabel("Andel stadig på ledighedsydelse", fontsize=9)
    return Plot(fig, tight=False)


# --- hours progression ------------------------------------------------------------


@_styled
def hours_plot(groups: dict[str, dict]):
    """Left: mean first and last effective hours per group. Right: distribution of change.

    `groups` maps a label to {"first": mean or None, "last": mean or None,
    "bands": sections.band_bars frame (band, share or NaN, mark)}; None and NaN mean suppressed.
    Suppressed bands have no bar; their mark below the bars says why.
    """
    fig = _figure(10.0, 4.4)
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 2]})
    for ax in (ax1, ax2):
        _style(ax)
    labels = list(groups)
    width = 0.8 / max(1, len(labels))
    for i, label in enumerate(labels):
        g = groups[label]
        x = np.arange(2) + (i - (len(labels) - 1) / 2) * width
        values = [g["first"], g["last"]]
        heights = [v if v is not None else 0 for v in values]
        bars = ax1.bar(x, heights, width, color=_color(label, i), label=label)
        for bar, v in zip(bars, values):
            text = HIDDEN if v is None else fmt_num(v, 1)
            ax1.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 0.1, text, ha="center", fontsize=8)
    ax1.set_xticks(range(2), ["Første måned", "Seneste måned"])
    ax1.set_ylabel("Gns. effektive timer pr. uge")
    ax1.margins(y=0.3)  # room above the bars' numbers for the legend
    ax1.legend(frameon=False, fontsize=8, loc="upper left")

    bands = None
    for i, label in enumerate(labels):
        d = groups[label]["bands"]
        bands = list(d["band"])
        x = np.arange(len(d)) + (i - (len(labels) - 1) / 2) * width
        shown = (d["mark"] == "").to_numpy()
        ax2.bar(x[shown], d["share"].to_numpy(float)[shown], width, color=_color(label, i), label=label)
        for xi, mark in zip(x, d["mark"]):
            if mark:
                ax2.text(xi, 0.005, mark, ha="center", va="bottom", fontsize=7, color=_color(label, i))
    ax2.set_xticks(range(len(bands or [])), bands or [], rotation=20, ha="right", fontsize=8)
    ax2.yaxis.set_major_formatter(_pct_axis)
    ax2.set_ylabel("Andel af borgerne")
    ax2.set_title("Ændring i effektive timer, seneste minus første måned", fontsize=10, loc="left")
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.2, top=0.92, wspace=0.22)  # fixed: no tight_layout pass
    return Plot(fig)


# --- caseload --------------------------------------------------------------------


@_styled
def caseload_scatter(points: pd.DataFrame, line, span: tuple[float, float] | None = None, label: str = "",
                     ylabel: str = "", notes: tuple[str, ...] = ()):
    """Caseworkers' mean caseload against their outcome, the `mine` points highlighted.

    `points` are the points that may be drawn (`suppression.caseload_points`: a share or mean over
    n cases, with `mine`); `line` is (intercept, slope) of the weighted fit over all caseworkers,
    drawn over `span` (smallest to largest caseload); `notes` are printed under the figure.
    """
    fig = _figure(8.0, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    _style(ax)
    mine = points["mine"].to_numpy(bool)
    size = 12 + 3 * np.sqrt(points["n"].to_numpy(float))
    ax.scatter(points.loc[~mine, "caseload"], points.loc[~mine, "mean"], s=size[~mine],
               color=PROJECT_COLOR, alpha=OTHERS_ALPHA, label="Øvrige jobformidlere" if mine.any() else "Jobformidlere",
               edgecolor="white")
    if mine.any():
        ax.scatter(points.loc[mine, "caseload"], points.loc[mine, "mean"], s=size[mine], marker="D",
                   color=HIGHLIGHT, alpha=0.95, label=f"Jobformidlere i {label}", edgecolor="black", linewidth=0.6)
    if line is not None and span is not None:
        x = np.linspace(span[0], span[1], 50)
        ax.plot(x, line[0] + line[1] * x, color=COLORS[0], linewidth=1.8, label="Tilpasset linje (vægtet)")
    ax.yaxis.set_major_formatter(_pct_axis)
    ax.set_xlabel("Gns. sagsstamme (forløb pr. jobformidler)")
    ax.set_ylabel(ylabel)
    ax.set_title("Sagsstamme og resultat pr. jobformidler", loc="left", fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="best")
    if notes:
        fig.text(0.01, 0.01, " ".join(notes), fontsize=8, color="#555")
    fig.subplots_adjust(left=0.1, right=0.98, bottom=0.17, top=0.92)
    return Plot(fig)


# --- caterpillar --------------------------------------------------------------------


@_styled
def caterpillar(rows: pd.DataFrame, project: float | None, target: float | None, title: str = "",
                xlabel: str = "", lower_is_better: bool = False):
    """Each municipality's value with its 95 % CI, sorted, against the project mean and the target."""
    rows = rows.sort_values("value", ascending=not lower_is_better).reset_index(drop=True)
    n = len(rows)
    fig = _figure(8.5, 1.4 + 0.24 * n)
    ax = fig.add_subplot(1, 1, 1)
    _style(ax)
    y = np.arange(n)
    low = (rows["value"] - rows["ci_low"]).clip(lower=0).fillna(0)
    high = (rows["ci_high"] - rows["value"]).clip(lower=0).fillna(0)
    outside = pd.Series(False, index=rows.index)
    if project is not None:
        outside = (rows["ci_low"] > project) | (rows["ci_high"] < project)
    colors = np.where(outside, HIGHLIGHT, COLORS[0])
    xerr = np.vstack([low.to_numpy(float), high.to_numpy(float)])
    ax.errorbar(rows["value"].to_numpy(float), y, xerr=xerr, fmt="none", ecolor=CI_COLOR, elinewidth=1.4, capsize=2)
    ax.scatter(rows["value"], y, color=colors, zorder=3, s=22)
    if project is not None:
        ax.axvline(project, color="#333", linewidth=1.2, label=f"Projektet: {fmt_num(100 * project, 1)} %")
    if target is not None:
        ax.axvline(target, color="#2a9d8f", linestyle="--", linewidth=1.2, label=f"Mål: {fmt_num(100 * target, 1)} %")
    ax.set_yticks(y, rows["label"], fontsize=8)
    ax.set_ylim(-0.8, n - 0.2)
    ax.xaxis.set_major_formatter(_pct_axis)
    ax.set_xlabel(xlabel)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title, loc="left", fontsize=11)
    fig.subplots_adjust(left=0.22, right=0.78, bottom=0.7 / fig.get_figheight(), top=1 - 0.4 / fig.get_figheight())
    return Plot(fig)


# --- goals ---------------------------------------------------------------------------


@_styled
def goals_plot(team_ytd: pd.DataFrame):
    """Målstyring: cumulative realised (solid) and target (dashed) per indicator, by week, per team."""
    indicators = sorted(team_ytd["indicator"].unique())
    ncols = 2
    nrows = max(1, math.ceil(len(indicators) / ncols))
    fig = _figure(10.0, 2.7 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, ind in zip(axes.flat, indicators):
        _style(ax)
        d = team_ytd[team_ytd["indicator"] == ind]
        for i, (team, t) in enumerate(d.groupby("team", sort=True)):
            t = t.sort_values(["iso_year", "week"]).reset_index(drop=True)
            color = COLORS[i % len(COLORS)]
            for j, (_year, part) in enumerate(t.groupby("iso_year", sort=True)):  # year to date restarts each year
                x = part.index.to_numpy()
                ax.plot(x, part["realised_ytd"], color=color, linewidth=1.8, label=f"{team}: realiseret" if j == 0 else None)
                ax.plot(x, part["target_ytd"], color=color, linewidth=1.2, linestyle="--",
                        label=f"{team}: mål" if j == 0 else None)
            step = max(1, len(t) // 6)
            ax.set_xticks(t.index[::step], t["week"].iloc[::step], fontsize=7, rotation=30, ha="right")
        ax.yaxis.set_major_formatter(_num_axis)
        ax.set_title(str(ind).capitalize(), loc="left", fontsize=10)
        ax.legend(frameon=False, fontsize=7)
    for ax in list(axes.flat)[len(indicators):]:
        ax.set_visible(False)
    fig.supylabel("År til dato (kumuleret)", fontsize=9)
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.6 / fig.get_figheight(), top=1 - 0.35 / fig.get_figheight(),
                        hspace=0.6, wspace=0.15)
    return Plot(fig)

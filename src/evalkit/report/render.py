"""A finished matplotlib figure as PNG and SVG, each drawn once (issue 11: the figure files).

`savefig(bbox_inches="tight")` draws a figure twice: a layout pass to find the
tight box, then the picture. Here the PNG is drawn once on the whole canvas, the
tight box is read from that same drawing (its renderer has every text measured)
and the pixels are cut out; the SVG is drawn once on the whole page and cut to
the same box by its viewBox. So a report's PNG costs one draw instead of two, and
its SVG one more, with the same crop as the PNG.

The box is rounded to whole pixels, so the cut-out is exactly what
`savefig(bbox_inches=box)` draws for that box (tested): padding beyond the figure's
edge gets the figure's background, as savefig paints it; only when something is drawn
beyond the edge is the PNG drawn again by savefig, on a canvas that holds it.
"""

from __future__ import annotations

import io
import re

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

_SVG_SIZE = re.compile(r'(<svg [^>]*?)width="[^"]*" height="[^"]*" viewBox="[^"]*"')


def png_and_crop(figure: Figure, dpi: float, tight: bool) -> tuple[bytes, Bbox | None]:
    """(PNG bytes, the crop in inches or None): the figure drawn once, cut to its tight box when `tight`."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    crop = None
    if tight:
        drawn = figure.get_tightbbox(canvas.get_renderer())
        box = drawn.padded(matplotlib.rcParams["savefig.pad_inches"])
        height, width = rgba.shape[:2]
        left, right = round(box.x0 * dpi), round(box.x1 * dpi)
        top, bottom = round(height - box.y1 * dpi), round(height - box.y0 * dpi)
        crop = Bbox([[left / dpi, (height - bottom) / dpi], [right / dpi, (height - top) / dpi]])
        if drawn.x0 < 0 or drawn.y0 < 0 or drawn.x1 * dpi > width or drawn.y1 * dpi > height:
            # something drawn beyond the figure's edge: savefig draws the figure again on a canvas that holds it
            buf = io.BytesIO()
            figure.savefig(buf, format="png", dpi=dpi, bbox_inches=crop, metadata={"Software": None})
            return buf.getvalue(), crop
        # the padding may reach beyond the edge: the figure's background there, as savefig paints it
        out = np.empty((bottom - top, right - left, 4), np.uint8)
        out[:] = np.round(np.asarray(matplotlib.colors.to_rgba(figure.get_facecolor())) * 255)
        y0, x0, y1, x1 = max(0, top), max(0, left), min(height, bottom), min(width, right)
        out[y0 - top:y1 - top, x0 - left:x1 - left] = rgba[y0:y1, x0:x1]
        rgba = out
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, rgba, format="png", origin="upper", dpi=dpi, metadata={"Software": None})
    return buf.getvalue(), crop


def svg(figure: Figure, dpi: float, crop: Bbox | None) -> str:
    """The figure as SVG (text as text, no date, fixed ids), drawn once and cut to `crop` (inches) by its viewBox."""
    buf = io.StringIO()
    width, height = figure.get_size_inches()
    dpi_before = figure.dpi
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "evalkit"}):
        figure.dpi = 72  # SVG user units are points, as matplotlib's print_svg draws them
        try:
            renderer = MixedModeRenderer(figure, width, height, dpi, RendererSVG(
                width * 72, height * 72, buf, image_dpi=dpi, metadata={"Date": None, "Creator": None}))
            figure.draw(renderer)
            renderer.finalize()
        finally:
            figure.dpi = dpi_before
    text = buf.getvalue()
    if crop is not None:
        w, h = crop.width * 72, crop.height * 72
        view = f"{crop.x0 * 72:g} {height * 72 - crop.y1 * 72:g} {w:g} {h:g}"
        text = _SVG_SIZE.sub(lambda m: f'{m.group(1)}width="{w:g}pt" height="{h:g}pt" viewBox="{view}"', text, count=1)
    return text

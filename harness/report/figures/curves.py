"""P@K and R@K curves (Pillow): every estimator, with the random, oracle and ceiling baselines."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageColor, ImageDraw

from harness.report.figures.canvas import BLACK, DPI, LABEL_PX, PAD, SMALL_PX, TICK, TITLE_PX, WHITE, _line_height, _png, _text, _text_width, _vertical_text


#: matplotlib's default colour cycle ("tab10") and the markers the curves always cycled through.
CURVE_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
CURVE_MARKERS = "osD^vP*Xh<>"
GRID_GREY = (0xe7, 0xe7, 0xe7)  # matplotlib's grid (#b0b0b0 at alpha 0.3) on white
CURVES_TITLE = "precision and recall at K against the ground truth (relevant = true top 5)"
CURVES_PANELS = (("p_at_k", "P@K"), ("r_at_k", "R@K"))
CURVES_XLABEL = "K (sources taken per target)"
CURVES_YLIM = (-0.02, 1.02)
#: Lines and markers are drawn at SUPERSAMPLE times the size and shrunk with LANCZOS (smooth
#: slopes); the frame, ticks, grid and text are drawn at 1x (crisp). Widths and dashes below
#: are in supersampled pixels (2 = 1 px): 1.4 pt lines (~1.9 px), 3.5 pt markers, matplotlib's
#: dash patterns scaled by the line width.
SUPERSAMPLE = 2
_LINE_W, _ORACLE_W, _MARKER_R = 4, 4, 6
_DASHED, _DOTTED, _DASH_DOT = (14, 6), (4, 7), (24, 6, 4, 6)
_CURVES_TICK_PX, _CURVES_AXIS_PX = 11, 12  # 8 pt tick labels, 9 pt axis labels
_SAMPLE_W, _MIN_PANEL_W = 26, 200  # a legend entry's line sample; the narrowest panel before the figure widens


@dataclass(frozen=True)
class _CurveStyle:
    label: str
    colour: tuple[int, int, int]
    width: int = _LINE_W  # supersampled pixels
    dashes: tuple[int, ...] = ()  # on, off, ... in supersampled pixels; () = solid
    marker: str = ""  # one of CURVE_MARKERS, "" = none


@dataclass(frozen=True)
class _Curve:
    """One line of the figure: its style and its (K, value) points in each panel (values may be None/NaN)."""

    style: _CurveStyle
    points: tuple[tuple[tuple[float, float | None], ...], ...]  # per panel


@dataclass(frozen=True)
class _CurvesLayout:
    """Pixel geometry of the curves figure: each panel's plot box (x0, y0, x1, y1), inclusive, the
    data range it shows (K from ``x_lo`` to ``x_hi``, values from -0.02 to 1.02), and the legend."""

    width: int
    height: int
    panels: tuple[tuple[int, int, int, int], ...]
    x_lo: float
    x_hi: float
    legend_x: int
    legend_y: int
    legend_cols: int
    legend_rows: int
    legend_col_w: int
    legend_row_h: int
    legend_px: int

    def fx(self, panel: int, k: float) -> float:
        x0, _, x1, _ = self.panels[panel]
        return x0 + (k - self.x_lo) / (self.x_hi - self.x_lo) * (x1 - x0)

    def fy(self, panel: int, value: float) -> float:
        _, y0, _, y1 = self.panels[panel]
        lo, hi = CURVES_YLIM
        return y1 - (value - lo) / (hi - lo) * (y1 - y0)

    def point(self, panel: int, k: float, value: float) -> tuple[int, int]:
        """The pixel (x, y) of the image where (K, value) is drawn in ``panel`` (0 = P@K, 1 = R@K)."""
        return round(self.fx(panel, k)), round(self.fy(panel, value))

    def legend_entry(self, index: int) -> tuple[int, int]:
        """(left, vertical centre) of legend entry ``index`` (the entries fill column by column)."""
        column, row = divmod(index, self.legend_rows)
        return self.legend_x + column * self.legend_col_w, self.legend_y + row * self.legend_row_h + self.legend_row_h // 2


def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _curves(evaluation: Mapping[str, Mapping], ceiling: Mapping | None) -> list[_Curve]:
    """Every line in drawing order: the estimators (in ``evaluation`` order), random, oracle, ceiling."""
    first = next(iter(evaluation.values()))
    ks = list(first.get("k") or [])

    def points(k_values, values) -> tuple[tuple[float, float | None], ...]:
        return tuple(zip(k_values or [], values or []))

    out = []
    for i, (name, ev) in enumerate(evaluation.items()):
        style = _CurveStyle(str(name), ImageColor.getrgb(CURVE_COLOURS[i % len(CURVE_COLOURS)]),
                            marker=CURVE_MARKERS[i % len(CURVE_MARKERS)])
        out.append(_Curve(style, tuple(points(ev.get("k"), ev.get(key)) for key, _ in CURVES_PANELS)))
    out.append(_Curve(_CurveStyle("random", ImageColor.getrgb("#777"), dashes=_DASHED),
                      tuple(points(ks, first.get(f"random_{key}")) for key, _ in CURVES_PANELS)))
    out.append(_Curve(_CurveStyle("oracle", BLACK, _ORACLE_W, _DOTTED),
                      tuple(points(ks, first.get(f"oracle_{key}")) for key, _ in CURVES_PANELS)))
    if ceiling and any(ceiling.get(key) for key, _ in CURVES_PANELS):
        ceiling_ks = ceiling.get("k", ks)
        out.append(_Curve(_CurveStyle("ceiling (repeat)", ImageColor.getrgb("#b00"), dashes=_DASH_DOT),
                          tuple(points(ceiling_ks, ceiling.get(key)) if ceiling.get(key) else () for key, _ in CURVES_PANELS)))
    return out


def _k_range(curves: Sequence[_Curve]) -> tuple[float, float, list[float]]:
    """The K axis: matplotlib's 5% margins around every K drawn, and the K values themselves."""
    ks = sorted({float(k) for c in curves for panel in c.points for k, _ in panel if _finite(k)})
    if not ks:
        return 0.5, 1.5, [1.0]
    lo, hi = ks[0], ks[-1]
    margin = 0.05 * (hi - lo) if hi > lo else 0.5
    return lo - margin, hi + margin, ks


def _k_ticks(ks: Sequence[float], lay: _CurvesLayout) -> list[float]:
    """Integer K ticks: every K drawn when they fit side by side, else multiples of 2, 5, 10, 20, ..."""
    x0, _, x1, _ = lay.panels[0]
    integers = sorted({round(k) for k in ks if float(k).is_integer()}) or [round(ks[0])]
    lo, hi = integers[0], integers[-1]
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        ticks = integers if step == 1 else [k for k in range(-(-lo // step) * step, hi + 1, step)]
        widest = max((_text_width(str(t), _CURVES_TICK_PX) for t in ticks), default=0)
        if ticks and len(ticks) * (widest + 10) <= x1 - x0:
            return [float(t) for t in ticks]
    return [float(lo), float(hi)]


def _curves_layout(curves: Sequence[_Curve], width_in: float) -> _CurvesLayout:
    n = len(curves)
    legend_px = LABEL_PX if n <= 20 else SMALL_PX
    row_h = _line_height(legend_px) + 3
    text_w = max(_text_width(c.style.label, legend_px) for c in curves)
    col_w = _SAMPLE_W + 6 + text_w + 14
    top = PAD + _line_height(TITLE_PX) + 10
    bottom = TICK + 2 + _line_height(_CURVES_TICK_PX) + 3 + _line_height(_CURVES_AXIS_PX) + PAD
    height = round(3.7 * DPI)
    # one legend column while it fits the height under the title, else two (the figure grows
    # taller when even two columns do not fit: the legend is never cut)
    cols = 1 if n * row_h <= height - top - PAD else 2
    rows = -(-n // cols)
    height = max(height, top + rows * row_h + PAD)
    legend_w = cols * col_w - 14
    y_tick_w = max(_text_width(f"{v:.1f}", _CURVES_TICK_PX) for v in (0.0, 1.0))
    margin = _line_height(_CURVES_AXIS_PX) + 4 + y_tick_w + 3 + TICK + 1  # y label, tick labels, ticks, frame
    between, before_legend = 20, 16
    fixed = PAD + margin + 1 + between + margin + 1 + before_legend + legend_w + PAD
    width = max(round(width_in * DPI), fixed + 2 * _MIN_PANEL_W, _text_width(CURVES_TITLE, TITLE_PX) + 2 * PAD)
    panel_w = (width - fixed) // 2
    x0 = PAD + margin
    second = x0 + panel_w + 1 + between + margin
    y0, y1 = top, height - bottom - 1
    panels = ((x0, y0, x0 + panel_w - 1, y1), (second, y0, second + panel_w - 1, y1))
    legend_x = second + panel_w + before_legend
    legend_y = min(max(top, (y0 + y1) // 2 - rows * row_h // 2), height - PAD - rows * row_h)  # centred on the panels, under the title
    x_lo, x_hi, _ = _k_range(curves)
    return _CurvesLayout(width, height, panels, x_lo, x_hi, legend_x, legend_y, cols, rows, col_w, row_h, legend_px)


def _dashed_line(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]], fill, width: int,
                 dashes: tuple[int, ...]) -> None:
    """A polyline, solid or dashed: ``dashes`` (on, off, ...) run on along the whole polyline, across its corners."""
    if len(points) < 2:
        return
    if not dashes:
        draw.line(list(points), fill=fill, width=width, joint="curve")
        return
    index, left, on = 0, float(dashes[0]), True
    piece: list[tuple[float, float]] = [points[0]]
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        length, done = math.hypot(bx - ax, by - ay), 0.0
        while length - done > left:
            done += left
            cut = (ax + (bx - ax) * done / length, ay + (by - ay) * done / length)
            if on:
                draw.line(piece + [cut], fill=fill, width=width, joint="curve")
            piece = [cut]
            on, index = not on, (index + 1) % len(dashes)
            left = float(dashes[index])
        left -= length - done
        if on:
            piece.append((bx, by))
    if on and len(piece) > 1:
        draw.line(piece, fill=fill, width=width, joint="curve")


def _marker(draw: ImageDraw.ImageDraw, shape: str, x: float, y: float, r: float, fill) -> None:
    """A filled marker centred on (x, y), about 2r across (matplotlib's shapes)."""

    def ring(n: int, start: float, radii: Sequence[float]) -> list[tuple[float, float]]:
        return [(x + radii[k % len(radii)] * math.cos(math.radians(start + 360 * k / n)),
                 y - radii[k % len(radii)] * math.sin(math.radians(start + 360 * k / n))) for k in range(n)]

    if shape == "o":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    elif shape == "s":
        h = r * 0.85
        draw.rectangle((x - h, y - h, x + h, y + h), fill=fill)
    elif shape == "D":
        draw.polygon(ring(4, 90, [r * 1.1]), fill=fill)
    elif shape in "^v<>":
        draw.polygon(ring(3, {"^": 90, "v": 270, "<": 180, ">": 0}[shape], [r * 1.2]), fill=fill)
    elif shape == "h":
        draw.polygon(ring(6, 90, [r]), fill=fill)
    elif shape == "*":
        draw.polygon(ring(10, 90, [r * 1.3, r * 0.55]), fill=fill)
    elif shape in "PX":  # a filled plus; X = the same turned 45 degrees
        a, b = r * 1.05, r * 0.38
        corners = [(-b, -a), (b, -a), (b, -b), (a, -b), (a, b), (b, b), (b, a), (-b, a), (-b, b), (-a, b), (-a, -b), (-b, -b)]
        if shape == "X":
            h = math.sqrt(0.5)
            corners = [((u - v) * h, (u + v) * h) for u, v in corners]
        draw.polygon([(x + u, y + v) for u, v in corners], fill=fill)


def _draw_curve(draw: ImageDraw.ImageDraw, style: _CurveStyle, points: Sequence[tuple[float, float]]) -> None:
    """``style``'s line through ``points`` (supersampled coordinates), then its markers."""
    _dashed_line(draw, points, style.colour, style.width, style.dashes)
    if style.marker:
        for x, y in points:
            _marker(draw, style.marker, x, y, _MARKER_R, style.colour)


def _shrink(image: Image.Image) -> Image.Image:
    return image.resize((image.width // SUPERSAMPLE, image.height // SUPERSAMPLE), Image.Resampling.LANCZOS)


def curves_figure(evaluation: Mapping[str, Mapping], ceiling: Mapping | None, *, width_in: float = 11.0) -> bytes:
    """P@K and R@K of every estimator in one figure, with the random and oracle baselines and
    the ceiling (a repeat measurement of the ground truth scored as an estimator)."""
    return _png(_curves_image(evaluation, ceiling, width_in=width_in)[0])


def _curves_image(evaluation: Mapping[str, Mapping], ceiling: Mapping | None, *,
                  width_in: float = 11.0) -> tuple[Image.Image, _CurvesLayout]:
    curves = _curves(evaluation, ceiling)
    lay = _curves_layout(curves, width_in)
    _, _, ks = _k_range(curves)
    x_ticks = _k_ticks(ks, lay)
    y_ticks = [i / 5 for i in range(6)]
    image = Image.new("RGB", (lay.width, lay.height), WHITE)
    draw = ImageDraw.Draw(image)
    ss = SUPERSAMPLE

    for p, (x0, y0, x1, y1) in enumerate(lay.panels):
        # the plot box, supersampled: grid lines (1 px after shrinking), then the lines, clipped to the box
        box = Image.new("RGB", ((x1 - x0 + 1) * ss, (y1 - y0 + 1) * ss), WHITE)
        box_draw = ImageDraw.Draw(box)
        for k in x_ticks:
            x = (round(lay.fx(p, k)) - x0) * ss
            box_draw.rectangle((x, 0, x + ss - 1, box.height - 1), fill=GRID_GREY)
        for v in y_ticks:
            y = (round(lay.fy(p, v)) - y0) * ss
            box_draw.rectangle((0, y, box.width - 1, y + ss - 1), fill=GRID_GREY)
        for curve in curves:
            run: list[tuple[float, float]] = []
            for k, v in [*curve.points[p], (None, None)]:  # a missing value (None, NaN) breaks the line
                if _finite(k) and _finite(v):
                    run.append(((lay.fx(p, float(k)) - x0) * ss + ss / 2 - 0.5, (lay.fy(p, float(v)) - y0) * ss + ss / 2 - 0.5))
                elif run:
                    _draw_curve(box_draw, curve.style, run)
                    run = []
        image.paste(_shrink(box), (x0, y0))
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=BLACK)

        for k in x_ticks:
            x = round(lay.fx(p, k))
            draw.line((x, y1 + 2, x, y1 + 1 + TICK), fill=BLACK)
            _text(draw, (x, y1 + 2 + TICK + 2), str(round(k)), _CURVES_TICK_PX, "ma")
        for v in y_ticks:
            y = round(lay.fy(p, v))
            draw.line((x0 - 1 - TICK, y, x0 - 2, y), fill=BLACK)
            _text(draw, (x0 - 1 - TICK - 3, y), f"{v:.1f}", _CURVES_TICK_PX, "rm")
        _text(draw, ((x0 + x1) // 2, lay.height - PAD), CURVES_XLABEL, _CURVES_AXIS_PX, "md")
        label = _vertical_text(CURVES_PANELS[p][1], _CURVES_AXIS_PX)
        y_tick_w = max(_text_width(f"{v:.1f}", _CURVES_TICK_PX) for v in y_ticks)
        image.paste(label, (x0 - 1 - TICK - 3 - y_tick_w - 4 - label.width, (y0 + y1) // 2 - label.height // 2))

    # legend: each line's sample (supersampled like the lines, one marker in its middle), then its label at 1x
    legend = Image.new("RGB", (((lay.legend_cols - 1) * lay.legend_col_w + _SAMPLE_W) * ss, lay.legend_rows * lay.legend_row_h * ss), WHITE)
    legend_draw = ImageDraw.Draw(legend)
    for i, curve in enumerate(curves):
        left, middle = lay.legend_entry(i)
        x, y = (left - lay.legend_x) * ss, (middle - lay.legend_y) * ss + ss / 2 - 0.5
        _dashed_line(legend_draw, [(x + 1.0, y), (x + _SAMPLE_W * ss - 2.0, y)], curve.style.colour, curve.style.width, curve.style.dashes)
        if curve.style.marker:
            _marker(legend_draw, curve.style.marker, x + _SAMPLE_W * ss / 2, y, _MARKER_R, curve.style.colour)
    image.paste(_shrink(legend), (lay.legend_x, lay.legend_y))
    for i, curve in enumerate(curves):
        left, middle = lay.legend_entry(i)
        _text(draw, (left + _SAMPLE_W + 6, middle), curve.style.label, lay.legend_px, "lm")

    title_w = _text_width(CURVES_TITLE, TITLE_PX)
    _text(draw, (min(max(PAD, lay.width // 2 - title_w // 2), lay.width - PAD - title_w), PAD), CURVES_TITLE, TITLE_PX)
    return image, lay

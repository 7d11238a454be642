"""Plotly figures for the workbench notebooks, and the renderer that makes reports offline.

Notebooks call these instead of building figures inline so they stay thin, and so an empty
frame or a feature that has not landed yet becomes a labelled, empty chart instead of an
exception halfway through a morning report.

Rendering: plotly 6+ picks a renderer from the environment and, in a papermill kernel, would
emit only the ``application/vnd.plotly.v1+json`` bundle, which an HTML export cannot draw, and
plotly's ``notebook`` renderer inlines plotly.js (~4.8 MB) into every notebook and links MathJax
from a CDN. :func:`setup` registers ``xbot_offline``: each figure as a ``text/html`` div that
calls ``Plotly.newPlot`` (``include_plotlyjs=False``: the report page loads the one plotly.js
copy of its runs tree, see :mod:`xbot.reports`) next to plotly's own mimetype, which JupyterLab
draws with its bundled extension when the notebook is opened interactively.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

RENDERER = "xbot_offline"
TEMPLATE = "plotly_white"
HEIGHT = 380
EMPTY_HEIGHT = 170


class OfflineNotebookRenderer(MimetypeRenderer):
    """Figures as HTML without the library (the page provides it) plus plotly's mimetype.

    Unlike plotly's ``notebook`` renderer it has no ``activate`` step, so nothing injects
    plotly.js or a CDN MathJax script into the notebook.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})

    def to_mimebundle(self, fig_dict: dict[str, Any]) -> dict[str, Any]:
        config = {"displaylogo": False, "responsive": True, **self.config}
        html = pio.to_html(
            fig_dict,
            config=config,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            default_height=HEIGHT,
            validate=False,
        )
        as_json = json.loads(pio.to_json({**fig_dict, "config": config}, validate=False))
        return {"text/html": html, "application/vnd.plotly.v1+json": as_json}


def setup() -> None:
    """Make every figure in this kernel render into self-contained HTML; tidy pandas output."""
    pio.renderers[RENDERER] = OfflineNotebookRenderer()
    pio.renderers.default = RENDERER
    pio.templates.default = TEMPLATE
    _say_none_for_empty_frames()
    pd.set_option("display.max_rows", 60)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", "{:,.4g}".format)


def frame_html(frame: pd.DataFrame) -> str:
    """A DataFrame as HTML; an empty one keeps its header and says "none" in its one row.

    pandas draws an empty frame as a bare header row, which reads like a rendering fault in a
    report ("Recent errors" with no errors is good news and should say so).
    """
    if not frame.empty:
        return frame._repr_html_() or ""
    columns = [str(c) for c in frame.columns] or [""]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    return (
        f'<table class="dataframe xbot-empty"><thead><tr>{head}</tr></thead>'
        f'<tbody><tr><td colspan="{len(columns)}" style="text-align:left"><em>none</em></td>'
        "</tr></tbody></table>"
    )


def _say_none_for_empty_frames() -> None:
    """Register :func:`frame_html` as the kernel's HTML display of DataFrames (if in IPython)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)


def empty(title: str, message: str) -> go.Figure:
    """A figure that says why it has nothing to show (still a real chart in the report)."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font_size=14
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig = _layout(fig, title)
    fig.update_layout(height=EMPTY_HEIGHT)
    return fig


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, height=HEIGHT, margin={"l": 60, "r": 20, "t": 60, "b": 50})
    return fig


def _missing(frame: Any, title: str, columns: Sequence[str]) -> go.Figure | None:
    """An :func:`empty` figure when ``frame`` is not a usable DataFrame, else None."""
    if not isinstance(frame, pd.DataFrame):
        return empty(title, str(frame))
    if frame.empty:
        return empty(title, "no data in this window yet")
    absent = [c for c in columns if c and c not in frame.columns]
    if absent:
        return empty(title, f"columns missing: {', '.join(absent)}")
    return None


def bar(
    frame: Any,
    x: str,
    y: str,
    *,
    title: str,
    color: str | None = None,
    horizontal: bool = False,
    stacked: bool = True,
) -> go.Figure:
    """A bar chart (stacked by ``color`` when given)."""
    missing = _missing(frame, title, [x, y, color or ""])
    if missing is not None:
        return missing
    if pd.api.types.is_datetime64_any_dtype(frame[x]):
        # time buckets as labels: plotly sizes bars on a date axis by the gaps between them,
        # so a window with one or two buckets draws unreadable slivers or slabs
        frame = frame.assign(**{x: frame[x].dt.strftime("%m-%d %H:%M")})
    if horizontal:
        fig = px.bar(frame, x=y, y=x, color=color, orientation="h")
    else:
        fig = px.bar(frame, x=x, y=y, color=color)
    fig.update_layout(barmode="stack" if stacked else "group")
    return _layout(fig, title)


def line(frame: Any, x: str, y: str, *, title: str, color: str | None = None) -> go.Figure:
    """A line chart with markers, one line per ``color`` value."""
    missing = _missing(frame, title, [x, y, color or ""])
    if missing is not None:
        return missing
    fig = px.line(frame.sort_values(x), x=x, y=y, color=color, markers=True)
    return _layout(fig, title)


def intervals(
    frame: Any,
    label: str,
    mean: str,
    low: str,
    high: str,
    *,
    title: str,
    color: str | None = None,
    reference: float | None = None,
) -> go.Figure:
    """Point estimates with their intervals, one row per ``label`` (a forest plot).

    Rows without an interval (too little data) are left out rather than drawn as certain.
    """
    missing = _missing(frame, title, [label, mean, low, high, color or ""])
    if missing is not None:
        return missing
    frame = frame.dropna(subset=[mean, low, high])
    if frame.empty:
        return empty(title, "not enough data for an interval yet")
    data = frame.assign(_plus=frame[high] - frame[mean], _minus=frame[mean] - frame[low])
    fig = px.scatter(
        data,
        x=mean,
        y=label,
        color=color,
        error_x="_plus",
        error_x_minus="_minus",
        hover_data={low: ":.4f", high: ":.4f", "_plus": False, "_minus": False},
    )
    if reference is not None:
        fig.add_vline(x=reference, line_dash="dot", line_color="grey")
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=list(data[label]))
    fig.update_layout(height=max(HEIGHT, 28 * len(data) + 120))
    fig.update_layout(title=title, margin={"l": 60, "r": 20, "t": 60, "b": 50})
    return fig


def heatmap(
    frame: Any, x: str, y: str, z: str, *, title: str, text: str | None = None
) -> go.Figure:
    """A ``y`` x ``x`` grid of ``z``; ``text`` (e.g. the interval width) shows on hover."""
    missing = _missing(frame, title, [x, y, z, text or ""])
    if missing is not None:
        return missing
    grid = frame.pivot_table(index=y, columns=x, values=z, aggfunc="mean")
    hover = None
    if text is not None:
        hover = frame.pivot_table(index=y, columns=x, values=text, aggfunc="mean")
        hover = hover.reindex(index=grid.index, columns=grid.columns).round(4).astype(str)
    fig = go.Figure(
        go.Heatmap(
            z=grid.values,
            x=[str(c) for c in grid.columns],
            y=[str(i) for i in grid.index],
            colorscale="Viridis",
            text=None if hover is None else hover.values,
            hovertemplate=f"{y}=%{{y}}<br>{x}=%{{x}}<br>{z}=%{{z:.4f}}"
            + ("<br>" + text + "=%{text}" if text else "")
            + "<extra></extra>",
            colorbar={"title": z},
        )
    )
    return _layout(fig, title)

"""Figures from records: PNG + PDF (matplotlib, Agg), the CSV of the plotted data, and a sidecar.

Every figure the toolkit draws is written as four files with one stem::

    STEM.png   STEM.pdf   the figure (matplotlib's Agg and PDF canvases; no pyplot state)
    STEM.csv   the numbers that are plotted, one row per plotted point, with a header
    STEM.json  the sidecar: a :class:`~amsgrad_theory.records.Report` whose records back
               the figure's claims (each built by :func:`~amsgrad_theory.verify.checks.run_check`,
               so ``amsgrad-theory verify --sidecar STEM.json`` replays them), with the exact
               command, the versions of every library, the seeds and the parameters.

Figures are drawn in one of three :data:`STYLES` (``reproduce --style``), each a matplotlib
style sheet shipped in ``amsgrad_theory/styles/`` plus the sizes it draws at:

* ``paper`` (the default): a column (3.3 in) or a page (6.8 in) wide, placed at 100 %, so the
  fonts are printed at the body size of a two-column paper (8 pt labels, 7 pt ticks); STIX
  (Times-like) text and mathtext, TrueType fonts in the PDF; nothing inside the figure but the
  data (no parameters box, title or re-check line: they are in the sidecar's ``caption``);
* ``slides``: 10 in (a 16:9 slide) or 5 in wide, 14 pt sans-serif, thick lines;
* ``report``: the earlier look (matplotlib's defaults, panels as wide as they need), with the
  parameters, pass thresholds and the re-check command drawn inside the figure.

Writing is transactional per figure: all four files are first written under temporary names in
the target folder (``.STEM.png.tmp-PID`` …) and renamed only once all four are complete, the
sidecar last. An interruption (KeyboardInterrupt, an error) before the renames removes the
temporary files, so a folder never holds a half-written figure or sidecar; a sidecar present
means its figure and CSV are complete.

>>> from amsgrad_theory.plots import Table
>>> Table(["t", "x"], [[1, 0.5], [2, 0.25]]).column("x")
[0.5, 0.25]
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .records import Report, validate_report

#: the formats a figure is written in (in this order; the sidecar comes last)
FORMATS = ("png", "pdf")
#: resolution of the PNG files (report style; each :class:`FigureStyle` states its own)
DPI = 150

# a colour per algorithm family, shared by every study (colour-blind safe, Okabe–Ito)
COLORS = {
    "adam": "#D55E00", "amsgrad": "#0072B2", "amsgrad-pytorch": "#E69F00",
    "amsgrad-keras": "#CC79A7", "amsgrad-optax": "#009E73", "amsgrad-seed": "#56B4E9",
    "adam-pytorch": "#D55E00", "amsgrad-adamw-pytorch": "#F0E442",
    "amsgrad-optax-raw-nu": "#999999",
    "adamx": "#000000", "rho": "#000000",
}


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------

@dataclass
class Table:
    """The plotted data: named columns, one row per plotted point (written as CSV)."""

    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(f"a row of {len(values)} values for {len(self.columns)} columns")
        self.rows.append(list(values))

    def extend(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.add(*row)

    def column(self, name: str) -> list[Any]:
        j = self.columns.index(name)
        return [row[j] for row in self.rows]

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_csv_cell(v) for v in row])
        return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    """Floats with every digit (repr round-trips), None as empty, numpy scalars as Python."""
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if value != value else
                                                          ("inf" if value > 0 else "-inf"))
    return value


#: LaTeX's special characters in text, escaped
_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                   "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                   "^": r"\textasciicircum{}"}


def latex_table(table: Table, header: Sequence[str] | None = None,
                align: str | None = None) -> str:
    """``table`` as a LaTeX ``tabular`` with booktabs rules (``\\toprule``, ``\\midrule``,
    ``\\bottomrule``; the document needs ``\\usepackage{booktabs}``): ``header`` names the
    columns (default: the table's), ``align`` their alignment (default: numbers right, text
    left). Text is escaped; None is an en dash. Meant to be ``\\input`` inside a ``table``
    float whose caption the document writes."""
    def cell(value: Any) -> str:
        value = _csv_cell(value)
        if value == "":
            return "--"
        return "".join(_LATEX_SPECIALS.get(ch, ch) for ch in str(value))

    def numeric(j: int) -> bool:
        return all(isinstance(row[j], (int, float)) and not isinstance(row[j], bool)
                   for row in table.rows if row[j] is not None)

    names = list(header or table.columns)
    if len(names) != len(table.columns):
        raise ValueError(f"{len(names)} header names for {len(table.columns)} columns")
    align = align or "".join("r" if numeric(j) else "l" for j in range(len(names)))
    lines = [f"\\begin{{tabular}}{{{align}}}", "\\toprule",
             " & ".join(cell(n) for n in names) + r" \\", "\\midrule"]
    lines += [" & ".join(cell(v) for v in row) + r" \\" for row in table.rows]
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def read_csv(path: str | os.PathLike) -> dict[str, list[str]]:
    """A CSV written by :class:`Table`, as column name → list of cell strings."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    return {name: [row[j] for row in body] for j, name in enumerate(header)}


# ------------------------------------------------------------------------------------------
# atomic writing
# ------------------------------------------------------------------------------------------

def temporary_name(path: Path) -> Path:
    """The temporary sibling ``.NAME.tmp-PID`` of ``path`` (same folder: rename is atomic)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def _deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT while a group of renames runs (main thread only), then deliver it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list = []

    def hold(signum, frame):
        received.append((signum, frame))

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except ValueError:  # pragma: no cover - not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(*received[0])


def write_group(writers: Mapping[Path, Callable[[Path], object]]) -> list[Path]:
    """Write several files as one transaction.

    ``writers`` maps each final path to a function that writes the file at the path it is given
    (a temporary name). All are written first; only then are they renamed, in the order given,
    with SIGINT held. On any exception — KeyboardInterrupt included — every temporary file is
    removed and the exception propagates: no final path is touched.
    """
    temps: dict[Path, Path] = {}
    try:
        for final, write in writers.items():
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = temporary_name(final)
            temps[final] = tmp
            write(tmp)
    except BaseException:
        for tmp in temps.values():
            _remove(tmp)
        raise
    with _deferred_interrupts():
        for final, tmp in temps.items():
            os.replace(tmp, final)
    return list(temps)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def write_text(path: Path, text: str) -> Path:
    """Write one text file atomically (temporary name, then rename)."""
    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    write_group({Path(path): write})
    return Path(path)


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return str(value)


# ------------------------------------------------------------------------------------------
# styles
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FigureStyle:
    """How a study's figures are drawn: the style sheet, the widths, what the figure carries.

    ``column``/``page``: the width in inches of a one-column and a page-wide figure (None:
    as wide as the panels ask, the report look); ``aspect``: a panel's height / width;
    ``annotate``: draw the parameters box, the title and the re-check line inside the figure
    (else they are only in the sidecar); ``dpi``: of the PNG; ``tight``: crop the saved figure
    to its contents (else it keeps its exact width, to be placed at 100 %).
    """

    name: str
    column: float | None
    page: float | None
    aspect: float
    annotate: bool
    dpi: int
    tight: bool

    @property
    def sheet(self) -> Path:
        """The matplotlib style sheet shipped in ``amsgrad_theory/styles/``."""
        return Path(__file__).with_name("styles") / f"{self.name}.mplstyle"

    def width(self, span: str) -> float | None:
        if span not in ("column", "page"):
            raise ValueError(f"span={span!r}: must be 'column' or 'page'")
        return self.column if span == "column" else self.page


#: the figure styles of ``reproduce --style`` (``paper`` is the default)
STYLES = {
    "paper": FigureStyle("paper", column=3.3, page=6.8, aspect=0.72, annotate=False, dpi=300,
                         tight=False),
    "slides": FigureStyle("slides", column=5.0, page=10.0, aspect=0.7, annotate=False, dpi=200,
                          tight=False),
    "report": FigureStyle("report", column=None, page=None, aspect=0.7, annotate=True, dpi=DPI,
                          tight=True),
}
DEFAULT_STYLE = "paper"


def get_style(style: str | FigureStyle | None) -> FigureStyle:
    """A :class:`FigureStyle` by name (None: the default); InputError naming an unknown one."""
    if isinstance(style, FigureStyle):
        return style
    name = DEFAULT_STYLE if style is None else style
    if name not in STYLES:
        raise InputError("style", str(name), "must be one of " + ", ".join(STYLES))
    return STYLES[name]


@contextmanager
def style_context(style: str | FigureStyle | None) -> Iterator[FigureStyle]:
    """Draw and save figures under ``style``'s sheet on top of matplotlib's defaults (a user's
    matplotlibrc does not leak in). matplotlib reads fonts and sizes from its global rcParams
    when an artist is made and when it is drawn, so the sheet is applied around both and
    restored after (matplotlib: imported only when a figure is drawn)."""
    import matplotlib.style  # matplotlib: imported only when a figure is drawn

    chosen = get_style(style)
    with matplotlib.style.context(["default", str(chosen.sheet)]):
        yield chosen


# ------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------

def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0,
               style: FigureStyle | None = None, span: str = "page",
               aspect: float | None = None, extra_height: float = 0.0, **kwargs):
    """(figure, axes array) on matplotlib's object API (no pyplot, no global backend change).

    Report look (``style`` None or ``report``): each panel ``width`` × ``height`` inches.
    Otherwise the figure is exactly ``style.width(span)`` wide, each panel ``aspect`` (height /
    width; default the style's) tall, plus ``extra_height`` inches (a legend below).
    """
    # matplotlib: imported only when a figure is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    total = style.width(span) if style is not None else None
    if style is None or total is None:
        size = (width * ncols, height * nrows)
    else:
        panel = total / ncols * (aspect or style.aspect)
        size = (total, panel * nrows + extra_height)
    fig = Figure(figsize=size, layout="constrained")
    # an Agg canvas of its own: the layout (save_figure) and the PNG then share one renderer
    # (Agg keeps it while size and dpi stay), with its measured texts and parsed mathtext;
    # without one, savefig makes a new canvas, and so a new renderer, for each file
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


#: the band drawn around the mean of several seeds: these quantiles at every abscissa
BAND = (0.1, 0.9)


def mean_band(ax, xs: Sequence[float], runs: Sequence[Sequence[float]], *, color, label=None,
              quantiles: tuple[float, float] = BAND, alpha: float = 0.22, **line) -> None:
    """The mean over ``runs`` (one series per seed, all on the abscissae ``xs``) as a line and
    the band between the ``quantiles`` of the seeds (linear interpolation, numpy's default)
    shaded in the same colour; None values are skipped (NaN)."""

    values = np.array([[np.nan if v is None else float(v) for v in run] for run in runs])
    mean = np.nanmean(values, axis=0)
    lo, hi = np.nanquantile(values, quantiles, axis=0)
    ax.fill_between(xs, lo, hi, color=color, alpha=alpha, linewidth=0)
    ax.plot(xs, mean, color=color, label=label, **line)


def plain_log_ticks(axis, subs: tuple[float, ...] = (1.0, 2.0, 5.0)) -> None:
    """Ticks at 1, 2, 5 × 10^k written as plain numbers (0.2, not 2×10⁻¹) on a log ``axis``
    that spans about a decade or less (matplotlib: imported only when a figure is drawn)."""
    import matplotlib.ticker as mticker  # matplotlib: only when a figure is drawn

    axis.set_major_locator(mticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(mticker.FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(mticker.NullFormatter())


def shared_legend(fig, axes, *, ncol: int = 3, title: str | None = None, **kwargs) -> None:
    """One legend under the figure, outside every axes (it never covers data), with each
    label of ``axes`` once, in the order first drawn."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncol=min(ncol, len(labels)),
                   title=title, **kwargs)


def annotates(style: FigureStyle | None) -> bool:
    """Whether figures in ``style`` carry their parameters and re-check line inside."""
    return style is None or style.annotate


def title(fig, text: str, style: FigureStyle | None = None, fontsize: float = 10) -> None:
    """The figure's overall title (report style only: a paper's caption says it)."""
    if annotates(style):
        fig.suptitle(text, fontsize=fontsize)


def note(ax, text: str, *, loc: str = "upper right", fontsize: float = 7.0,
         style: FigureStyle | None = None) -> None:
    """A boxed note on ``ax`` stating the parameters behind the curves (α, T, thresholds);
    report style only (in the others the sidecar's caption states them)."""
    if not annotates(style):
        return
    x, ha = (0.98, "right") if "right" in loc else (0.02, "left")
    y, va = (0.97, "top") if "upper" in loc else (0.5, "center") if "center" in loc else \
        (0.03, "bottom")
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=fontsize,
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "alpha": 0.85,
                  "edgecolor": "0.7"})


def decorate(ax, *, xlabel: str, ylabel: str, title: str | None, xlog: bool = True,
             ylog: bool = True, legend: str | None = "best", fontsize: float | None = None,
             legend_title: str | None = None, ncol: int = 1) -> None:
    """Labels, title, log axes, a light grid and the legend of a study's line panel (sizes
    from the style sheet unless ``fontsize`` is given)."""
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if legend:
        ax.legend(fontsize=fontsize, loc=legend, title=legend_title, title_fontsize=fontsize,
                  ncol=ncol)


def footer(fig, text: str, fontsize: float = 7.0, below: float = 0.1,
           style: FigureStyle | None = None) -> None:
    """A line under the figure (source, T, thresholds, the sidecar to re-check it), ``below``
    inches under its bottom edge (report style only: elsewhere the sidecar holds it)."""
    if not annotates(style):
        return
    fig.text(0.5, -below / fig.get_figheight(), text, ha="center", va="top", fontsize=fontsize)


def save_figure(fig, out_dir: str | os.PathLike, stem: str, *, table: Table, report: Report,
                caption: str = "", style: FigureStyle | None = None) -> dict[str, str]:
    """Write ``stem``.png/.pdf/.csv/.json under ``out_dir`` as one transaction.

    The sidecar is ``report`` with ``parameters["figure"]`` naming the files, the description
    ``caption``, the style and the size in inches (it must validate against the report schema).
    Returns format → path.
    """
    out = Path(out_dir)
    chosen = get_style(style)
    paths = {fmt: out / f"{stem}.{fmt}" for fmt in (*FORMATS, "csv", "json")}
    report.parameters = dict(report.parameters)
    report.parameters["figure"] = {"stem": stem, "caption": caption, "style": chosen.name,
                                   "size_in": [round(float(v), 4) for v in fig.get_size_inches()]
                                   if not chosen.tight else None,
                                   "files": {k: p.name for k, p in paths.items()},
                                   "csv_columns": list(table.columns), "csv_rows": len(table.rows)}
    sidecar = report.to_dict()
    validate_report(sidecar)
    writers: dict[Path, Callable[[Path], object]] = {}
    for fmt in FORMATS:
        writers[paths[fmt]] = _figure_writer(fig, fmt, chosen)
    writers[paths["csv"]] = lambda tmp: tmp.write_text(table.to_csv(), encoding="utf-8")
    writers[paths["json"]] = lambda tmp: tmp.write_text(
        json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    with _laid_out_once(fig, chosen.dpi):
        write_group(writers)
    return {k: str(p) for k, p in paths.items()}


@contextlib.contextmanager
def _laid_out_once(fig, dpi: float):
    """Inside: ``fig`` laid out by its layout engine once, at ``dpi`` (what savefig would do
    before each file), and then without an engine, so that each format draws once at those
    positions. savefig lays out (a draw without rendering) every figure that has an engine,
    and ``set_layout_engine("none")`` leaves a placeholder engine: the engine itself is taken
    away for the writes (constrained layout measures every text twice; each draw is about a
    third of a figure's write). The layout runs alone (the engine's ``execute``, as the
    figure's draw calls it first), not inside a draw with rendering disabled: that draw's walk
    over every artist placed nothing, and each format's draw walks them again."""
    engine = fig.get_layout_engine()
    if engine is None:
        yield
        return
    saved = fig.dpi
    fig.set_dpi(dpi)
    try:
        if fig.axes:     # as Figure.draw does: no axes, no layout (nor its warning)
            with contextlib.suppress(ValueError):   # a layout that cannot fit, as there
                engine.execute(fig)
    finally:
        fig.set_dpi(saved)
    fig._layout_engine = None
    # savefig puts the engine "back" with set_layout_engine(None), which installs the
    # rcParams' default engine where figure.autolayout or constrained_layout.use is set: the
    # next format would be laid out again, by another engine
    import matplotlib  # matplotlib: imported only when a figure is drawn

    no_default = {"figure.autolayout": False, "figure.constrained_layout.use": False}
    try:
        with matplotlib.rc_context(no_default):
            yield
    finally:
        fig._layout_engine = engine


def _figure_writer(fig, fmt: str, style: FigureStyle | None = None) -> Callable[[Path], None]:
    """A writer of ``fig`` as ``fmt`` (laid out by whoever calls it: :func:`_laid_out_once`)."""
    chosen = get_style(style or "report")

    def write(tmp: Path) -> None:
        metadata = {"Software": None} if fmt == "png" else {"CreationDate": None,
                                                             "Producer": None}
        with open(tmp, "wb") as fh:
            fig.savefig(fh, format=fmt, dpi=chosen.dpi,
                        bbox_inches="tight" if chosen.tight else None, metadata=metadata)
    return write


def finite_or_none(value: Any) -> float | None:
    """A float, or None for missing/non-finite values (CSV cells stay empty)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

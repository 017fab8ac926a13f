"""``lofi report``: one HTML page that shares a run's comparison and opens offline in any browser.

It holds the checkpoint table (the base model first), the loss and each metric over steps as inline
SVG (one small chart per series on its own scale, the base model's value as a dashed line) and the
sample matrix with an audio player per cell. Audio is MP3, embedded as data URIs (``embed``: one
self-contained file) or written next to the page with relative links (``files``: copy the folder;
for big matrices). Only clips that exist are shown; `lofi samples` fills the rest. The page loads
nothing from the network.
"""

from __future__ import annotations

import base64
import html
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_text
from engine.audio.io import decode, write_audio
from engine.evaluation.evaluate import CheckpointRow, checkpoint_table
from engine.evaluation.matrix import SampleMatrix, sample_matrix
from engine.model.check import is_tiny
from engine.training import checkpoints as ckpt
from engine.training.config import TrainConfig
from engine.training.events import read_metrics
from engine.training.series import decimate_minmax
from engine.workspace import Workspace

AUDIO_MODES = ("embed", "files")
MP3_KBPS = 128
METRICS = (("fad_inf", "FAD-inf (lower is better)"), ("clap_ratio", "CLAP ratio"),
           ("distinctness", "style distinctness"), ("combined", "combined score"))
CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fafafa; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #eee; } td.style { text-align: left; white-space: nowrap; }
tr.best td { background: #eef7e8; } .note { color: #666; } .warn { color: #a40; font-weight: bold; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
svg.chart { background: #fff; border: 1px solid #ddd; font-size: 10px; }
svg.chart polyline { stroke: #2563eb; stroke-width: 1.5; } svg.chart circle { fill: #2563eb; }
svg.chart line.base { stroke: #999; stroke-dasharray: 4 3; }
audio { width: 11rem; height: 2rem; } .dur { font-size: 0.75rem; color: #666; display: block; }
"""
# Progressive enhancement only: shows each clip's length once the browser has read it.
SCRIPT = """
for (const a of document.querySelectorAll('audio')) {
  a.addEventListener('loadedmetadata', () => {
    a.parentElement.querySelector('.dur').textContent = a.duration.toFixed(1) + ' s';
  });
}
"""


@dataclass(frozen=True)
class ReportResult:
    path: Path
    clips: int
    missing: int
    audio: str


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def svg_chart(title: str, points: list[tuple[float, float]], baseline: float | None = None,
              width: int = 280, height: int = 120) -> str:
    """A small line chart on its own y range, with min/max and first/last step written on it."""
    label = html.escape(title)
    if not points:
        return f'<svg class="chart" width="{width}" height="{height}"><text x="6" y="14">{label}: no data</text></svg>'
    left, right, top, bottom = 46, 10, 20, 18
    xs = [p[0] for p in points]
    ys = [p[1] for p in points] + ([baseline] if baseline is not None else [])
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1e-9 + abs(y0) * 0.01)

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

    parts = [f'<svg class="chart" role="img" aria-label="{label} over training steps" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">', f'<text x="6" y="13">{label}</text>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{y1:.4g}</text>',
             f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">{y0:.4g}</text>',
             f'<text x="{left}" y="{height - 4}">step {x0:g}</text>',
             f'<text x="{width - right}" y="{height - 4}" text-anchor="end">{x1:g}</text>']
    if baseline is not None:
        parts.append(f'<line class="base" x1="{left}" x2="{width - right}" y1="{sy(baseline):.1f}" '
                     f'y2="{sy(baseline):.1f}"><title>base model: {baseline:.4g}</title></line>')
    parts.append('<polyline fill="none" points="' + " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points) + '"/>')
    if len(points) <= 50:
        parts += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5"><title>step {x:g}: {y:.4g}</title></circle>'
                  for x, y in points]
    return "".join(parts) + "</svg>"


def _table(rows: list[CheckpointRow], pick: ckpt.BestPick) -> str:
    head = ("checkpoint", "loss", "embedding", "FAD", "FAD-inf", "CLAP", "CLAP ratio", "distinctness", "combined",
            "best")
    out = ["<table id='checkpoints'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for r in rows:
        marks = [m for m, on in (("★ automatic", r.best), ("✎ chosen", r.chosen)) if on]
        cells = (r.label, _fmt(r.loss, 4), r.embedding or "-", _fmt(r.fad, 4), _fmt(r.fad_inf, 4), _fmt(r.clap),
                 _fmt(r.clap_ratio, 2), _fmt(r.distinctness, 2), _fmt(r.combined), " ".join(marks))
        cls = " class='best'" if r.step is not None and r.step == pick.chosen else ""
        out.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    if pick.manual is not None:
        out.append(f"<p class='note'>Chosen by hand: step {pick.manual}"
                   + (f" ({html.escape(pick.note)})" if pick.note else "")
                   + f"; the automatic pick is {'-' if pick.automatic is None else pick.automatic}.</p>")
    return "".join(out)


def _charts(run_dir: Path, rows: list[CheckpointRow]) -> str:
    steps = read_metrics(run_dir / "metrics.jsonl").steps
    x = np.array(sorted(steps), dtype=np.float64)
    charts = []
    if x.size:
        loss = decimate_minmax(x, np.array([steps[int(s)]["loss"] for s in x]), 300)
        charts.append(svg_chart("training loss", list(zip(loss.x.tolist(), ((loss.low + loss.high) / 2).tolist()))))
    base = rows[0] if rows and rows[0].step is None else None
    for key, title in METRICS:
        points = [(float(r.step), float(getattr(r, key))) for r in rows
                  if r.step is not None and getattr(r, key) is not None]
        if points:
            charts.append(svg_chart(title, points, getattr(base, key) if base else None))
    return "<div class='charts'>" + "".join(charts) + "</div>"


def _encode_mp3(clip: Path, target: Path) -> None:
    decoded = decode(clip)
    write_audio(target, decoded.samples, decoded.sample_rate, fmt="mp3", bitrate_k=MP3_KBPS)


def _matrix(matrix: SampleMatrix, out_dir: Path, audio: str) -> tuple[str, int]:
    head = "<th>style</th>" + "".join(f"<th>{html.escape(c.label)}</th>" for c in matrix.columns)
    rows, clips = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for style in matrix.styles:
            cells = [f"<td class='style' title='{html.escape(matrix.prompts[style])}'>{style}</td>"]
            for column in matrix.columns:
                cell = matrix.cell(style, column)
                if not cell.ready:
                    cells.append("<td class='note'>not rendered</td>")
                    continue
                if audio == "embed":
                    target = Path(tmp) / "clip.mp3"
                    _encode_mp3(cell.path, target)
                    src = "data:audio/mpeg;base64," + base64.b64encode(target.read_bytes()).decode("ascii")
                else:
                    relative = Path("audio") / column.label / f"{style}.mp3"
                    _encode_mp3(cell.path, out_dir / relative)
                    src = relative.as_posix()
                clips += 1
                cells.append(f"<td><audio controls preload='metadata' src='{src}'></audio>"
                             "<span class='dur'></span></td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table id='matrix'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>", clips


def write_report(ws: Workspace, run: str, out_dir: Path | None = None, audio: str = "embed") -> ReportResult:
    """Write ``index.html`` (and, with ``audio="files"``, ``audio/<column>/<style>.mp3``) into ``out_dir``
    (default ``runs/<run>/report``)."""
    if audio not in AUDIO_MODES:
        raise ValueError(f"audio must be one of {AUDIO_MODES}")
    rows = checkpoint_table(ws, run)
    run_dir = ws.runs_dir / run
    out_dir = Path(out_dir) if out_dir else run_dir / "report"
    matrix = sample_matrix(run_dir)
    pick = ckpt.best_pick(run_dir)
    base_model = Path(TrainConfig.load(run_dir).base_model)
    settings = matrix.settings
    matrix_html, clips = _matrix(matrix, out_dir, audio)
    warning = ("<p class='warn'>The base model is the tiny test model with random weights: none of this is music "
               "and the numbers mean nothing.</p>" if is_tiny(base_model) else "")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>lofi-tui: {html.escape(run)}</title>"
            f"<style>{CSS}</style></head><body><h1>Run {html.escape(run)}</h1>{warning}"
            f"<p class='note'>Base model {html.escape(base_model.name)}. Every metric names the embedding it was "
            f"measured with; 'base' is the base model without the LoRA on the same prompts and seeds.</p>"
            f"<h2>Checkpoints</h2>{_table(rows, pick)}<h2>Over training</h2>{_charts(run_dir, rows)}"
            f"<h2>Samples</h2><p class='note'>One clip per style and checkpoint: same prompt and seed "
            f"({settings.duration:g} s, {settings.steps} inference steps, seed {settings.seed}); hover a style for "
            f"its prompt.</p>{matrix_html}<script>{SCRIPT}</script></body></html>\n")
    path = out_dir / "index.html"
    atomic_write_text(path, page)
    return ReportResult(path, clips, len(matrix.missing()), audio)

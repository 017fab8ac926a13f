"""Dashboard speed with a 10,000-track catalog and a 100,000-step training run (headless Textual).

Prints: time to first paint of the catalog (first rows, then all rows in the table), time to
filter and to sort, the time to redraw the loss chart (decimation + plotext build) at 100,000
points, and how long a newly appended metrics line takes to reach the chart.

    python benchmarks/tui.py [--tracks 10000] [--steps 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from textual.widgets import DataTable, Input, Select

from engine.catalog.store import Catalog
from engine.catalog.track import SourceRecord, Track
from engine.workspace import Workspace
from lofi_tui.app import LofiApp
from screens.catalog import FILTER_DELAY

STYLES = ["CORE-01", "CORE-02", "THEME-01", "SEASON-06", "INST-01", "VOCAL-02"]


def make_workspace(root: Path, tracks: int, steps: int) -> Workspace:
    ws = Workspace.open(root / "ws")
    Catalog(ws.catalog_path).put_many([
        Track(id=f"{i:016x}", source_path=f"/music/{i}.mp3", title=f"track {i:05d}", source_format="mp3",
              status="accepted" if i % 10 else "rejected", reason=None if i % 10 else "too_short",
              duration_sec=60 + i % 180, quality_score=50 + i % 50, styles=[STYLES[i % len(STYLES)]],
              flags=["needs_review"] if i % 3 == 0 else [], split="train" if i % 9 else "validation",
              source=SourceRecord(license="royalty-free" if i % 4 else None))
        for i in range(tracks)])
    run = ws.runs_dir / "long"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"run": "long", "base_model": "/m", "max_steps": steps * 2}))
    with open(run / "metrics.jsonl", "w") as fh:
        for s in range(1, steps + 1):
            fh.write(json.dumps({"type": "step", "step": s, "loss": 1 / (1 + s / 1e4) + (s % 97) / 500, "lr": 1e-4,
                                 "grad_norm": 0.4, "step_time": 0.2, "samples_per_sec": 5, "memory_mb": 9000,
                                 "time": s}) + "\n")
    return ws


async def measure(ws: Workspace, tracks: int, steps: int) -> None:
    start = time.perf_counter()
    app = LofiApp(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one("#tracks", DataTable)
        while table.row_count == 0:
            await pilot.pause(0.01)
        first_rows = time.perf_counter() - start
        while table.row_count < tracks:
            await pilot.pause(0.01)
        await pilot.pause()
        first_paint = time.perf_counter() - start

        t = time.perf_counter()
        app.screen.query_one("#filter", Input).value = "status:accepted style:CORE-01 flag:needs_review"
        while table.row_count == tracks or table.row_count < len(app.screen.shown):
            await pilot.pause(0.005)
        await pilot.pause()
        filtered = time.perf_counter() - t - FILTER_DELAY
        shown = table.row_count
        app.screen.query_one("#filter", Input).value = ""
        while table.row_count < tracks:
            await pilot.pause(0.01)
        await pilot.pause()
        t = time.perf_counter()
        table.sort("score", reverse=True)
        await pilot.pause()
        sort = time.perf_counter() - t

        await pilot.press("3")
        await pilot.pause()
        app.screen.query_one("#runs", Select).value = "long"
        while len(app.screen.metrics.steps) < steps:
            await pilot.pause(0.05)
        chart = app.screen.query_one("#loss-chart")
        t = time.perf_counter()
        for _ in range(5):
            app.screen._redraw()
            chart.plt.build()
        redraw = (time.perf_counter() - t) / 5

        t = time.perf_counter()
        with open(ws.runs_dir / "long" / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps({"type": "step", "step": steps + 1, "loss": 0.5, "lr": 1e-4, "grad_norm": 0.4,
                                 "step_time": 0.2, "samples_per_sec": 5, "memory_mb": 9000, "time": 0}) + "\n")
        while steps + 1 not in app.screen.metrics.steps:
            await pilot.pause(0.01)
        await pilot.pause()
        new_line = time.perf_counter() - t
        app.screen._stop_follow.set()
    print(f"catalog of {tracks} tracks: first rows on screen {first_rows:.2f} s, "
          f"all rows in the table {first_paint:.2f} s (app start included)")
    print(f"  filter to {shown} rows: {filtered * 1000:.0f} ms after typing pauses; sort by score: {sort * 1000:.0f} ms")
    print(f"loss chart at {steps} steps: redraw (decimate + build) {redraw * 1000:.0f} ms; "
          f"a new metrics line is on the chart after {new_line * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lofi-bench-tui-") as tmp:
        ws = make_workspace(Path(tmp), args.tracks, args.steps)
        asyncio.run(measure(ws, args.tracks, args.steps))


if __name__ == "__main__":
    main()

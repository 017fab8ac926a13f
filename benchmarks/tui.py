"""Dashboard speed: launch to first rows (1,000 tracks), a 10,000-track catalog, a 100,000-step run (headless).

Prints: seconds from before ``import lofi_tui.app`` to the first catalog rows on screen for 1,000 tracks (the
import included, so it is what a person waits for); for 10,000 tracks, first rows after the app is up (0 when
they were drawn before it was) and after it started, the time to filter and to sort (rows replaced and the
visible lines redrawn); the redraw of the three training charts (decimation, drawing, every line rendered) at
100,000 steps; how long a newly appended metrics line takes to reach the chart.

    python benchmarks/tui.py [--tracks 10000] [--steps 100000] [--launch-tracks 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from engine.catalog.store import Catalog
from engine.catalog.track import SourceRecord, Track
from engine.workspace import Workspace

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


class FirstRows:
    """When the table first draws a line of a track (``pilot.pause()`` cannot tell: it waits for the app to be
    idle, which it is not while the rest of a large catalog loads). It watches from its creation, before the app
    starts: the first rows may be drawn before run_test() returns, and a small catalog never again after that."""

    def __init__(self) -> None:
        from lofi_tui.widgets.line_table import LineTable

        self.painted: list[float] = []
        self._table, self._draw = LineTable, LineTable.render_line

        def probe(table: LineTable, y: int):  # type: ignore[no-untyped-def]
            if table.items and y > 0 and not self.painted:  # line 0 is the header
                self.painted.append(time.perf_counter())
            return self._draw(table, y)

        LineTable.render_line = probe  # type: ignore[method-assign]

    async def wait(self, pilot) -> float:  # type: ignore[no-untyped-def]
        try:
            while not self.painted:
                await pilot.pause(0.005)
        finally:
            self._table.render_line = self._draw  # type: ignore[method-assign]
        return self.painted[0]


async def measure_launch(ws: Workspace) -> float:
    start = time.perf_counter()
    from lofi_tui.app import LofiApp  # the import is part of what a person waits for

    rows = FirstRows()
    app = LofiApp(ws)
    async with app.run_test(size=(160, 48)) as pilot:
        return await rows.wait(pilot) - start


async def measure(ws: Workspace, tracks: int, steps: int) -> None:
    from textual.geometry import Region
    from textual.widgets import Input, Select

    from lofi_tui.app import LofiApp
    from lofi_tui.widgets.chart import BrailleChart
    from lofi_tui.widgets.line_table import LineTable

    rows = FirstRows()
    app = LofiApp(ws)
    launched = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        start = time.perf_counter()  # the app is up
        painted = await rows.wait(pilot)
        first, first_launched = max(0.0, painted - start), painted - launched
        table = app.screen.query_one("#tracks", LineTable)
        while len(table.items) < tracks:  # the first rows come before the whole catalog is parsed
            await pilot.pause(0.01)
        complete = time.perf_counter() - start

        filtered, sort = [], []  # five of each: one key press is a few tens of ms, as noisy as a GC pause
        for _ in range(5):
            t = time.perf_counter()
            app.screen.query_one("#filter", Input).value = "status:accepted style:CORE-01 flag:needs_review"
            await pilot.pause()
            filtered.append(time.perf_counter() - t)
            shown = len(table.items)
            app.screen.query_one("#filter", Input).value = ""
            await pilot.pause()
        for reverse in (True, False) * 3:
            t = time.perf_counter()
            table.sort("score", reverse=reverse)
            await pilot.pause()
            sort.append(time.perf_counter() - t)

        await pilot.press("3")
        await pilot.pause()
        app.screen.query_one("#runs", Select).value = "long"
        while len(app.screen.metrics.steps) < steps:
            await pilot.pause(0.05)
        charts = [app.screen.query_one(c, BrailleChart) for c in ("#loss-chart", "#lr-chart", "#grad-chart")]
        redraws = []
        for _ in range(10):  # new data, then every line of the three charts rendered as a repaint does
            t = time.perf_counter()
            app.screen._redraw()
            for chart in charts:
                chart.render_lines(Region(0, 0, chart.size.width, chart.size.height))
            redraws.append(time.perf_counter() - t)

        t = time.perf_counter()
        with open(ws.runs_dir / "long" / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps({"type": "step", "step": steps + 1, "loss": 0.5, "lr": 1e-4, "grad_norm": 0.4,
                                 "step_time": 0.2, "samples_per_sec": 5, "memory_mb": 9000, "time": 0}) + "\n")
        while steps + 1 not in app.screen.metrics.steps:
            await pilot.pause(0.01)
        await pilot.pause()
        new_line = time.perf_counter() - t
        app.screen._stop_follow.set()
    print(f"catalog of {tracks} tracks: first rows on screen {first:.2f} s after the app is up ({first_launched:.2f} s "
          f"after it started), all of them after {complete:.2f} s")
    print(f"  filter to {shown} rows: median {statistics.median(filtered) * 1000:.0f} ms (max {max(filtered) * 1000:.0f}); "
          f"sort by score: median {statistics.median(sort) * 1000:.0f} ms (max {max(sort) * 1000:.0f}) (rows and redraw)")
    print(f"loss chart at {steps} steps: redraw (decimate, draw and render the three charts) median "
          f"{statistics.median(redraws) * 1000:.1f} ms (max {max(redraws) * 1000:.1f}); "
          f"a new metrics line is on the chart after {new_line * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--launch-tracks", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lofi-bench-tui-") as tmp:
        small = make_workspace(Path(tmp) / "small", args.launch_tracks, 10)
        launch = asyncio.run(measure_launch(small))
        print(f"launch with {args.launch_tracks} tracks: first rows on screen {launch:.2f} s (import included)")
        ws = make_workspace(Path(tmp) / "large", args.tracks, args.steps)
        asyncio.run(measure(ws, args.tracks, args.steps))


if __name__ == "__main__":
    main()

"""Catalog write costs at scale: one edit at 1,000 and 10,000 tracks, and the total time an ingest of
N results spends writing the catalog (batched as `lofi ingest` does it).

Targets (issue 10): an edit at 10,000 tracks under 50 ms on a 2-core machine; the total write time
of an ingest grows linearly with the number of results.

The ingest is simulated: results arrive every --seconds-per-result of (simulated) processing, as
from two workers on short files, and go through the same CatalogBatch that `lofi ingest` uses;
only the time spent writing is real and measured.

    python benchmarks/catalog.py [--results 2000] [--seconds-per-result 0.5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from engine.atomic import atomic_write_bytes
from engine.catalog.store import Catalog, CatalogBatch
from engine.catalog.track import Track

QUALITY_KEYS = ("clipping_share", "silence_share", "peak_dbfs", "rms_dbfs", "crest_db", "bandwidth_hz",
                "bandwidth_score", "dynamics_score", "clipping_score", "silence_score")


def track(i: int, rng: random.Random) -> Track:
    """A track record as ingest writes it: full-precision measurements, flags, musical info, prompt."""
    tid = f"{rng.getrandbits(64):016x}"
    return Track(id=tid, source_path=f"/home/someone/music/collection/artist {i % 97}/track number {i}.mp3",
                 title=f"track number {i}", source_format="mp3", status="accepted", duration_sec=187.304,
                 source_duration_sec=187.304, sample_rate=44_100, channels=2, output=f"tracks/core/{tid}.mp3",
                 quality_score=round(rng.uniform(40, 95), 1), quality={k: rng.random() for k in QUALITY_KEYS},
                 styles=["CORE-01"], flags=["needs_review", "missing_license"], fingerprint=f"fingerprints/{tid}.npy",
                 ingested_at="2026-11-27T00:00:00+00:00", bpm=round(rng.uniform(70, 95), 1), key="A minor",
                 time_signature="4/4", prompt="lofi hip hop, dusty drums, mellow rhodes, vinyl crackle, 82 bpm")


def filled(path: Path, n: int, seed: int = 0) -> tuple[Catalog, list[str]]:
    rng = random.Random(seed)
    tracks = [track(i, rng) for i in range(n)]
    catalog = Catalog(path)
    catalog.put_many(tracks)
    return catalog, [t.id for t in tracks]


def edit_ms(path: Path, ids: list[str], edits: int, warm: bool) -> float:
    """Median ms of one labelling edit (flag + rating) through Catalog.update.

    Warm: the same Catalog object, as in the dashboard. Cold: a new one per edit, as each CLI call
    (which reads the file once more).
    """
    times = []
    catalog = Catalog(path)
    catalog.get(ids[0])
    for n in range(edits):
        if not warm:
            catalog = Catalog(path)
        start = time.perf_counter()
        catalog.update(ids[(n * 7919) % len(ids)], lambda t: t.set_flag("excluded", "excluded" not in t.flags))
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def rewrite_floor_ms(path: Path, repeats: int = 5) -> float:
    """Median ms to atomically rewrite the same bytes (write, fsync, rename, fsync dir): the floor of any
    edit that keeps the whole-file atomic rewrite, whatever the machine's load."""
    data = path.read_bytes()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        atomic_write_bytes(path.with_name("floor.json"), data)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


class SimulatedClock:
    """Simulated processing time plus the real time spent writing (which a real ingest also waits for)."""

    def __init__(self) -> None:
        self.work, self.start = 0.0, time.perf_counter()

    def __call__(self) -> float:
        return self.work + (time.perf_counter() - self.start)


def ingest_writes(path: Path, results: int, per_result: float, seed: int) -> tuple[float, int]:
    """(seconds spent writing, number of writes) for ``results`` ingest results through CatalogBatch."""
    rng, clock = random.Random(seed), SimulatedClock()
    writes = 0

    def saved(_track: Track) -> None:
        pass

    catalog = Catalog(path)
    batch = CatalogBatch(catalog, saved, clock=clock)
    original = catalog.put_many

    def counted(*args, **kwargs) -> None:
        nonlocal writes
        writes += 1
        original(*args, **kwargs)

    catalog.put_many = counted  # count the writes the batch makes
    spent = 0.0
    for i in range(results):
        clock.work += per_result
        new = track(i, rng)
        start = time.perf_counter()
        batch.put(new)
        spent += time.perf_counter() - start
    start = time.perf_counter()
    batch.flush()
    return spent + time.perf_counter() - start, writes


def one_write_per_result(path: Path, results: int, seed: int) -> float:
    """What ingest did before batching: one catalog write per result."""
    rng, catalog = random.Random(seed), Catalog(path)
    start = time.perf_counter()
    for i in range(results):
        catalog.put(track(i, rng))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=2000)
    parser.add_argument("--seconds-per-result", type=float, default=0.5)
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lofi-bench-catalog-") as tmp:
        root = Path(tmp)
        print(f"{'catalog':<16}{'file MB':>9}{'edit ms (warm)':>16}{'edit ms (cold)':>16}{'rewrite floor ms':>18}")
        for n in (1_000, 10_000):
            path = root / f"edits-{n}.json"
            _, ids = filled(path, n)
            warm, cold = edit_ms(path, ids, args.edits, warm=True), edit_ms(path, ids, max(3, args.edits // 4), False)
            print(f"{n:>7,} tracks{path.stat().st_size / 1e6:>9.1f}{warm:>16.1f}{cold:>16.1f}"
                  f"{rewrite_floor_ms(path):>18.1f}")
        print(f"\ningest writes (a result every {args.seconds_per_result} s of simulated work, batched)")
        print(f"{'results':>8}{'into':>16}{'writes':>8}{'write s':>9}{'ms / result':>13}")
        for start_size in (0, 10_000):
            for results in (args.results // 4, args.results // 2, args.results):
                path = root / f"ingest-{start_size}-{results}.json"
                if start_size:
                    filled(path, start_size, seed=1)
                spent, writes = ingest_writes(path, results, args.seconds_per_result, seed=results)
                into = f"{start_size:,} tracks" if start_size else "empty"
                print(f"{results:>8}{into:>16}{writes:>8}{spent:>9.2f}{1000 * spent / results:>13.2f}")
        few = args.results // 4
        before = one_write_per_result(root / "one-per-result.json", few, seed=7)
        print(f"\none write per result (before batching): {few} results into an empty catalog: {before:.2f} s "
              f"({1000 * before / few:.1f} ms / result)")


if __name__ == "__main__":
    main()

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.audio import synth
from engine.catalog.store import Catalog
from engine.catalog.track import Track
from engine.ingest.batch import ingest
from engine.progress import CancelToken
from tests import audio_files as af
from tests.audio_files import lofi_file, write

ODD_NAMES = ["-starts with dash.mp3", "ünïcødé café ☕.flac", "it's \"quoted\" $(rm -rf).wav", "semi;colon & amp.ogg"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """One folder with every case the gate must handle, in nested directories."""
    d = tmp_path_factory.mktemp("batch")
    lofi_file(d / "good one.mp3", 34, seed=1)
    lofi_file(d / "nested" / "deeper" / "good two.wav", 33, seed=2, sample_rate=44_100)
    write(d / "nested" / "mono.flac", synth.lofi(32, seed=3)[:, :1])
    write(d / "re-upload of good one.m4a", synth.lofi(34, seed=1)[int(2.5 * synth.SR):] * 0.6)
    write(d / "short.ogg", synth.lofi(12, seed=4))
    write(d / "clipped.wav", synth.clipped(32, seed=5))
    write(d / "quiet.wav", np.concatenate([synth.lofi(12, seed=6), synth.silence(22)]))
    (d / "corrupt.mp3").write_bytes(b"\xff\xfb" + b"garbage" * 300)
    (d / "empty.wav").write_bytes(b"")
    (d / "cover.jpg").write_bytes(b"\x89PNG not really")
    (d / ".hidden.mp3").write_bytes(b"ignored: hidden files are not part of a batch")
    for i, name in enumerate(ODD_NAMES):
        lofi_file(d / "odd" / name, 31, seed=20 + i)
    return d


def _by_name(report):
    return {Path(r.source).name: r for r in report.results}


@pytest.fixture(scope="module")
def ingested(batch, tmp_path_factory):
    from engine.workspace import Workspace

    ws = Workspace.open(tmp_path_factory.mktemp("ws") / "w")
    events = []
    report = ingest(ws, [batch], jobs=1, progress=events.append)
    return ws, report, events


def test_every_file_gets_a_result_with_the_right_status_and_reason(ingested):
    _, report, _ = ingested
    got = {name: (r.status, r.reason) for name, r in _by_name(report).items()}
    assert got["good one.mp3"] == ("accepted", None)
    assert got["good two.wav"] == ("accepted", None)
    assert got["mono.flac"] == ("accepted", None)
    assert got["re-upload of good one.m4a"] == ("accepted", None)
    assert got["short.ogg"] == ("rejected", "too_short")
    assert got["clipped.wav"] == ("rejected", "excessive_clipping")
    assert got["quiet.wav"] == ("rejected", "excessive_silence")
    assert got["corrupt.mp3"] == ("error", "corrupt")
    assert got["empty.wav"] == ("error", "corrupt")
    assert got["cover.jpg"] == ("error", "unsupported_format")
    assert ".hidden.mp3" not in got
    for name in ODD_NAMES:
        assert got[name] == ("accepted", None), name
    assert report.summary["total"] == 10 + len(ODD_NAMES)


def test_error_messages_name_the_file(ingested):
    _, report, _ = ingested
    for r in report.results:
        if r.status in ("error", "rejected"):
            assert Path(r.source).name in r.message


def test_accepted_tracks_are_48k_stereo_mp3_at_minus_one_dbfs_in_core(ingested):
    ws, report, _ = ingested
    for r in report.results:
        if r.status != "accepted":
            assert r.output is None
            continue
        out = Path(r.output)
        assert out.is_absolute() and out.parent == ws.tracks_dir / "core" and out.name == f"{r.track_id}.mp3"
        x, rate = sf.read(out, dtype="float32", always_2d=True)
        assert rate == 48_000 and x.shape[1] == 2
        assert abs(20 * np.log10(np.abs(x).max()) + 1.0) <= 0.3
        assert abs(x.shape[0] / rate - r.duration_sec) < 0.01


def test_catalog_holds_the_full_record(ingested):
    ws, report, _ = ingested
    catalog = Catalog(ws.catalog_path)
    r = _by_name(report)["good two.wav"]
    t = catalog.get(r.track_id)
    assert t.source_format == "wav" and t.sample_rate == 44_100 and t.channels == 2
    assert t.styles == ["CORE-01"] and t.category == "core"
    assert "needs_review" in t.flags and "missing_license" in t.flags
    assert {"clipping", "silence", "bandwidth", "dynamics"} <= {k.removesuffix("_score") for k in t.quality}
    assert t.quality_score == r.quality_score and t.fingerprint and ws.resolve(t.fingerprint).exists()
    rejected = catalog.get(_by_name(report)["short.ogg"].track_id)
    assert rejected.status == "rejected" and rejected.reason == "too_short" and rejected.quality_score is not None


def test_duplicate_is_ingested_with_a_warning_pointing_at_the_original(ingested):
    _, report, _ = ingested
    by = _by_name(report)
    dup = by["re-upload of good one.m4a"]
    assert dup.status == "accepted" and dup.duplicate_of == by["good one.mp3"].track_id
    assert "duplicate of" in dup.message
    assert all(r.duplicate_of is None for n, r in by.items() if n != "re-upload of good one.m4a")


def test_progress_reports_every_file(ingested):
    _, report, events = ingested
    assert events[-1].done == events[-1].total == len(report.results)
    assert [e.done for e in events] == list(range(len(events)))


def test_second_run_skips_everything_and_changes_nothing(ingested, batch):
    ws, _, _ = ingested
    before = ws.catalog_path.read_text()
    again = ingest(ws, [batch], jobs=1)
    assert {r.status for r in again.results} == {"skipped"}
    assert ws.catalog_path.read_text() == before


def test_parallel_equals_serial(batch, ingested, tmp_path):
    from engine.workspace import Workspace

    serial_ws, serial, _ = ingested
    ws = Workspace.open(tmp_path / "parallel")
    parallel = ingest(ws, [batch], jobs=2)

    def comparable(report):
        return [(Path(r.source).name, r.status, r.reason, r.track_id, r.quality_score, r.duplicate_of) for r in report.results]

    assert comparable(parallel) == comparable(serial)
    strip = ("ingested_at",)

    def tracks(w):
        return {t.id: {k: v for k, v in t.to_dict().items() if k not in strip} for t in Catalog(w.catalog_path).all()}

    assert tracks(ws) == tracks(serial_ws)


def test_long_tracks_are_trimmed_to_240_seconds(workspace, tmp_path):
    x = np.tile(synth.lofi(25, seed=9), (10, 1))  # 250 s
    src = write(tmp_path / "long.flac", x)
    r = ingest(workspace, [src], jobs=1).results[0]
    assert r.status == "accepted" and r.duration_sec == 240.0
    y, _ = sf.read(r.output, dtype="float32")
    assert np.abs(y[-480:]).max() < 0.01  # faded out, no click
    t = Catalog(workspace.catalog_path).get(r.track_id)
    assert t.trimmed and t.source_duration_sec == pytest.approx(250, abs=0.01)


def test_sources_sidecar_fills_license_and_clears_the_flag(workspace, tmp_path):
    lofi_file(tmp_path / "in" / "licensed.mp3", 31, seed=1)
    lofi_file(tmp_path / "in" / "unlicensed.mp3", 31, seed=2)
    sidecar = tmp_path / "sources.json"
    sidecar.write_text(json.dumps([{"file": "LICENSED.mp3", "provider": "Beat Shop", "license": "royalty-free",
                                    "cost": "4.99", "currency": "usd", "acquired": "2026-10-03"}]))
    report = ingest(workspace, [tmp_path / "in"], jobs=1, sources=sidecar)
    catalog = Catalog(workspace.catalog_path)
    lic, unlic = (catalog.get(r.track_id) for r in report.results)
    assert lic.source.provider == "Beat Shop" and lic.source.cost == 4.99 and lic.source.currency == "USD"
    assert "missing_license" not in lic.flags and "missing_license" in unlic.flags


def test_cancel_keeps_what_finished(workspace, tmp_path):
    for i in range(4):
        lofi_file(tmp_path / "in" / f"t{i}.wav", 31, seed=30 + i)
    token = CancelToken()

    def cancel_after_first(p):
        if p.done == 1:
            token.cancel()

    report = ingest(workspace, [tmp_path / "in"], jobs=1, progress=cancel_after_first, cancel=token)
    done = len(report.results)  # results arrive in batches: the one that held the first may hold more
    assert report.cancelled and 1 <= done < 4
    assert len(Catalog(workspace.catalog_path)) == done
    rest = ingest(workspace, [tmp_path / "in"], jobs=1)
    assert [r.status for r in rest.results] == ["skipped"] * done + ["accepted"] * (4 - done)


def test_fixed_file_replaces_its_error_record(workspace, tmp_path):
    src = tmp_path / "later fixed.wav"
    src.write_bytes(b"RIFF garbage")
    first = ingest(workspace, [src], jobs=1).results[0]
    assert first.status == "error"
    lofi_file(src, 31, seed=3)
    second = ingest(workspace, [src], jobs=1).results[0]
    assert second.status == "accepted"
    ids = [t.id for t in Catalog(workspace.catalog_path).all()]
    assert ids == [second.track_id]


def test_missing_path_is_an_error_result_not_a_crash(workspace, tmp_path):
    report = ingest(workspace, [tmp_path / "nope.mp3"], jobs=1)
    assert report.results[0].status == "error" and "nope.mp3" in report.results[0].message


def test_source_files_are_never_modified(workspace, tmp_path):
    src = lofi_file(tmp_path / "keep.mp3", 31, seed=4)
    before = src.read_bytes()
    ingest(workspace, [src], jobs=1)
    assert src.read_bytes() == before


def test_track_record_round_trips_through_json():
    t = Track(id="x", source_path="/a", title="a", source_format="mp3", status="accepted", styles=["CORE-02"])
    assert Track.from_dict(json.loads(json.dumps(t.to_dict()))) == t


@pytest.mark.slow
def test_a_killed_worker_costs_one_file_and_the_batch_goes_on(workspace, tmp_path):
    import os
    import signal
    import threading

    import psutil

    for i in range(5):
        lofi_file(tmp_path / "in" / f"k{i}.flac", 31, seed=40 + i)
    killed = threading.Event()

    def kill_a_worker(p):
        if p.done >= 1 and not killed.is_set():
            servers = [c for c in psutil.Process().children() if "forkserver" in " ".join(c.cmdline())]
            workers = [w for server in servers for w in server.children()]  # forked by the fork server
            if workers:
                os.kill(workers[0].pid, signal.SIGKILL)
                killed.set()

    report = ingest(workspace, [tmp_path / "in"], jobs=2, progress=kill_a_worker)
    assert killed.is_set()
    statuses = [r.status for r in report.results]
    assert len(statuses) == 5 and statuses.count("accepted") >= 3
    died = [r for r in report.results if r.reason == "worker_died"]
    assert len(died) == 1 and "run ingest again" in died[0].message
    again = ingest(workspace, [tmp_path / "in"], jobs=1)
    assert sorted(r.status for r in again.results).count("accepted") == 1  # the lost file is retried


def test_an_errored_file_is_skipped_with_its_last_error_until_retry_errors(workspace, tmp_path):
    src = tmp_path / "in" / "broken.wav"
    src.parent.mkdir()
    src.write_bytes(b"RIFF" + b"\x00" * 400)  # a header and nothing else
    first = ingest(workspace, [src], jobs=1).results[0]
    assert first.status == "error"
    skipped = ingest(workspace, [src], jobs=1).results[0]
    assert skipped.status == "skipped" and skipped.reason == first.reason
    assert skipped.message.startswith("broken.wav: skipped (last error: ") and "use --retry-errors" in skipped.message
    assert "broken.wav: broken.wav" not in skipped.message
    retried = ingest(workspace, [src], jobs=1, retry_errors=True).results[0]
    assert retried.status == "error" and retried.track_id == first.track_id  # processed again, same record
    assert len(Catalog(workspace.catalog_path)) == 1


def test_retry_errors_leaves_accepted_and_rejected_files_alone(workspace, tmp_path):
    lofi_file(tmp_path / "in" / "fine.wav", 31, seed=6)
    write(tmp_path / "in" / "short.wav", synth.lofi(5, seed=6))
    ingest(workspace, [tmp_path / "in"], jobs=1)
    again = ingest(workspace, [tmp_path / "in"], jobs=1, retry_errors=True)
    assert [(r.status, r.reason) for r in again.results] == [("skipped", None), ("skipped", None)]


def test_every_reported_result_is_already_in_the_catalog_on_disk(workspace, tmp_path):
    for i in range(3):
        lofi_file(tmp_path / "in" / f"s{i}.wav", 31, seed=50 + i)
    (tmp_path / "in" / "x.txt").write_text("not audio")
    saved_when_reported = []

    def check_saved(p):
        if p.done:  # a fresh reader sees what a kill -9 at this moment would leave
            saved_when_reported.append(p.label in {t.source_path for t in Catalog(workspace.catalog_path).all()})

    ingest(workspace, [tmp_path / "in"], jobs=1, progress=check_saved)
    assert saved_when_reported == [True] * 4


@pytest.fixture(scope="module")
def foreign_batch(tmp_path_factory) -> Path:
    """Files made by other tools in the shapes that were wrongly rejected as corrupt."""
    d = tmp_path_factory.mktemp("foreign")
    source = af.pcm_wav(d / "src" / "source.wav", synth.lofi(32, sr=44_100, seed=60) * 0.7, 44_100)
    af.mp3_with_cover(d / "in" / "vbr, no Xing header, cover art.mp3", source, af.cover_png(d / "src" / "c.png"),
                      "-q:a", "4", "-write_xing", "0")
    af.flac_without_total(d / "in" / "streamed.flac", source)
    # 31 s + 769 frames at 48 kHz: a length that LAME pads by a few dozen samples on the way back
    af.encoded(d / "in" / "padded.ogg", af.pcm_wav(d / "src" / "48k.wav", synth.lofi(32, seed=61)[: 1488385], 48_000),
               "-c:a", "libvorbis", "-q:a", "4")
    return d / "in"


def test_files_made_elsewhere_are_accepted_at_their_real_length(foreign_batch, workspace):
    report = ingest(workspace, [foreign_batch], jobs=1)
    got = {Path(r.source).name: (r.status, r.message) for r in report.results}
    assert all(status == "accepted" for status, _ in got.values()), got
    durations = {Path(r.source).name: r.duration_sec for r in report.results}
    assert durations["padded.ogg"] == pytest.approx(1488385 / 48_000, abs=0.03)
    assert durations["streamed.flac"] == pytest.approx(32.0, abs=0.01)
    assert durations["vbr, no Xing header, cover art.mp3"] == pytest.approx(32.0, abs=0.06)

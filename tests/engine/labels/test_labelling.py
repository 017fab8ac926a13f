import json
import os
import shutil

import pytest

from engine.catalog.sources import edit_source
from engine.catalog.split import assign_splits
from engine.catalog.store import Catalog
from engine.errors import TrackNotFound
from engine.ingest.batch import ingest
from engine.labels.dataset import build_dataset
from engine.labels.labelling import (
    LabelChange,
    LabelError,
    apply_label,
    regenerate_all,
    repair_locations,
    save_labelled,
)
from engine.labels.lyrics import LyricsError
from engine.labels.styles import load_styles
from engine.workspace import Workspace
from tests.audio_files import lofi_file


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for i, name in enumerate(["alpha", "beta", "gamma"]):
        lofi_file(src / f"{name}.wav", 31, seed=60 + i, sample_rate=44_100)
    ws = Workspace.open(tmp_path_factory.mktemp("ws") / "w")
    report = ingest(ws, [src], jobs=1)
    return ws, {os.path.splitext(os.path.basename(r.source))[0]: r.track_id for r in report.results}


@pytest.fixture
def env(ingested, tmp_path):
    ws0, ids = ingested
    ws = Workspace.open(tmp_path / "w")
    shutil.copytree(ws0.root, ws.root, dirs_exist_ok=True)
    return ws, Catalog(ws.catalog_path), load_styles(), ids


def _files(ws, category, tid):
    d = ws.category_dir(category)
    return [(d / f"{tid}{s}").exists() for s in (".mp3", "_prompt.txt", "_lyrics.txt")]


def test_ingest_wrote_prompt_and_instrumental_lyrics_next_to_the_mp3(env):
    ws, catalog, _, ids = env
    tid = ids["alpha"]
    assert _files(ws, "core", tid) == [True, True, True]
    prompt = (ws.category_dir("core") / f"{tid}_prompt.txt").read_text().strip()
    assert prompt.startswith("lofi hip hop, chill, boom bap drums, vinyl crackle")
    assert (ws.category_dir("core") / f"{tid}_lyrics.txt").read_text() == "[Instrumental]\n"
    t = catalog.get(tid)
    assert t.bpm and t.key and t.time_signature == "4/4" and t.prompt == prompt


def test_changing_primary_style_moves_files_and_updates_catalog(env):
    ws, catalog, tax, ids = env
    tid = ids["beta"]
    t = apply_label(ws, catalog, tax, "beta", LabelChange(styles=["SEASON-02", "INST-01"], flags_off=["needs_review"]))
    assert t.category == "seasonal" and t.output == f"tracks/seasonal/{tid}.mp3"
    assert _files(ws, "seasonal", tid) == [True, True, True] and _files(ws, "core", tid) == [False, False, False]
    stored = Catalog(ws.catalog_path).get(tid)
    assert stored.styles == ["SEASON-02", "INST-01"] and "needs_review" not in stored.flags
    prompt = (ws.category_dir("seasonal") / f"{tid}_prompt.txt").read_text()
    assert prompt.startswith("christmas lofi, cozy, festive, holiday, ") and "piano lofi" in prompt


def test_vocal_track_without_lyrics_is_flagged_and_gets_no_empty_file(env):
    ws, catalog, tax, ids = env
    tid = ids["gamma"]
    t = apply_label(ws, catalog, tax, tid, LabelChange(styles=["VOCAL-03"]))
    assert "missing_lyrics" in t.flags and _files(ws, "vocal", tid) == [True, True, False]
    t = apply_label(ws, catalog, tax, tid, LabelChange(lyrics="verse:\nneon rain\nchorus:\nstay", language="en"))
    assert "missing_lyrics" not in t.flags
    assert (ws.category_dir("vocal") / f"{tid}_lyrics.txt").read_text() == "[Verse]\nneon rain\n\n[Chorus]\nstay\n"
    t = apply_label(ws, catalog, tax, tid, LabelChange(instrumental=True))
    assert (ws.category_dir("vocal") / f"{tid}_lyrics.txt").read_text() == "[Instrumental]\n" and t.lyrics is None


def test_bad_labels_are_refused_and_change_nothing(env):
    ws, catalog, tax, ids = env
    before = ws.catalog_path.read_text()
    with pytest.raises(LyricsError, match="unknown section tag"):
        apply_label(ws, catalog, tax, "alpha", LabelChange(lyrics="[Solo]\nx"))
    with pytest.raises(Exception, match="unknown style 'CORE-99'"):
        apply_label(ws, catalog, tax, "alpha", LabelChange(styles=["CORE-99"]))
    with pytest.raises(LabelError, match="rating must be 1-5"):
        apply_label(ws, catalog, tax, "alpha", LabelChange(rating=7))
    with pytest.raises(TrackNotFound):
        apply_label(ws, catalog, tax, "omega", LabelChange(rating=3))
    assert ws.catalog_path.read_text() == before


def test_tag_edits_and_rating_persist_through_regeneration(env):
    ws, catalog, tax, ids = env
    tid = ids["alpha"]
    apply_label(ws, catalog, tax, tid, LabelChange(tags="+rain sounds,-vinyl crackle", rating=4, rated_by="sam"))
    regenerate_all(ws, catalog, tax)
    prompt = (ws.category_dir("core") / f"{tid}_prompt.txt").read_text()
    assert "rain sounds" in prompt and "vinyl crackle" not in prompt
    rating = catalog.get(tid).ratings[0]
    assert (rating.rating, rating.by) == (4, "sam") and rating.at


def test_undo_restores_a_snapshot_including_its_location(env):
    ws, catalog, tax, ids = env
    tid = ids["alpha"]
    snapshot = catalog.get(tid)
    apply_label(ws, catalog, tax, tid, LabelChange(styles=["INST-03"], rating=2))
    assert _files(ws, "instrumental", tid)[0]
    save_labelled(ws, catalog, tax, snapshot)
    assert catalog.get(tid) == snapshot and _files(ws, "core", tid) == [True, True, True]


def test_interrupted_move_is_repaired_to_where_the_catalog_says(env):
    ws, catalog, tax, ids = env
    tid = ids["alpha"]
    core, vocal = ws.category_dir("core"), ws.category_dir("vocal")
    vocal.mkdir(parents=True, exist_ok=True)
    os.replace(core / f"{tid}.mp3", vocal / f"{tid}.mp3")  # crash after moving the audio, before the catalog
    assert repair_locations(ws, catalog) == [tid]
    assert (core / f"{tid}.mp3").exists()


def test_prompts_regeneration_reports_only_real_changes(env):
    ws, catalog, tax, _ = env
    first = regenerate_all(ws, catalog, tax)
    assert not any(c.prompt_changed or c.lyrics_changed for c in first)  # ingest already wrote them
    (ws.category_dir("core") / f"{first[0].track_id}_prompt.txt").write_text("hand edited\n")
    again = regenerate_all(ws, catalog, tax)
    assert [c.track_id for c in again if c.prompt_changed] == [first[0].track_id]


def test_dataset_build_layout_manifest_and_refusals(env, tmp_path):
    ws, catalog, tax, ids = env
    for name in ("alpha", "beta"):
        edit_source(catalog, ids[name], {"license": "royalty-free"})
    apply_label(ws, catalog, tax, ids["beta"], LabelChange(styles=["VOCAL-02"]))  # vocal, no lyrics yet
    assign_splits(catalog, ratio=0.4)
    report = build_dataset(ws, catalog, tax, tmp_path / "ds")
    assert "no license" in report.left_out[ids["gamma"]]
    assert "vocal track without lyrics" in report.left_out[ids["beta"]]
    lines = [json.loads(x) for x in (tmp_path / "ds" / "manifest.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == [ids["alpha"]]
    row = lines[0]
    folder = tmp_path / "ds" / ("validation" if row["split"] == "validation" else "")
    name = row["name"]
    assert ids["alpha"] in name and name.startswith("alpha-")
    assert (folder / f"{name}.mp3").exists()
    assert (folder / f"{name}_prompt.txt").read_text().strip() == row["caption"]
    assert (folder / f"{name}_lyrics.txt").read_text() == "[Instrumental]\n" == row["lyrics"] + "\n"
    assert {"bpm", "key", "time_signature", "duration", "language", "styles", "split"} <= set(row)
    assert "CORE-01" in report.per_style and "VOCAL-05" in report.underrepresented
    everything = build_dataset(ws, catalog, tax, tmp_path / "ds2", allow_unlicensed=True)
    assert ids["gamma"] not in everything.left_out and any("no license" in w for w in everything.warnings)


def test_language_is_a_code_ace_step_knows_and_a_typo_is_refused(env):
    ws, catalog, tax, ids = env
    before = ws.catalog_path.read_text()
    with pytest.raises(LabelError, match=r"unknown vocal language 'jp' \(did you mean ja\?\)"):
        apply_label(ws, catalog, tax, ids["alpha"], LabelChange(language="jp"))
    with pytest.raises(LabelError, match="unknown vocal language 'klingon'"):
        apply_label(ws, catalog, tax, ids["alpha"], LabelChange(language="klingon"))
    assert ws.catalog_path.read_text() == before
    assert apply_label(ws, catalog, tax, ids["alpha"], LabelChange(language=" JA ")).language == "ja"
    assert catalog.get(ids["alpha"]).language == "ja"
    assert apply_label(ws, catalog, tax, ids["alpha"], LabelChange(language="")).language is None


def test_dataset_build_reports_progress_and_stops_when_cancelled(env, tmp_path):
    from engine.errors import Cancelled
    from engine.progress import CancelToken

    ws, catalog, tax, ids = env
    for tid in ids.values():
        edit_source(catalog, tid, {"license": "royalty-free"})
    seen, cancel = [], CancelToken()

    def progress(p):
        seen.append((p.done, p.total))
        if p.done == 1:
            cancel.cancel()

    with pytest.raises(Cancelled, match="cancelled after 1 of 3 tracks.*no manifest.jsonl yet"):
        build_dataset(ws, catalog, tax, tmp_path / "ds", progress=progress, cancel=cancel)
    assert seen == [(0, 3), (1, 3)] and not (tmp_path / "ds" / "manifest.jsonl").exists()
    seen.clear()
    report = build_dataset(ws, catalog, tax, tmp_path / "ds", progress=lambda p: seen.append((p.done, p.total)))
    assert seen[-1] == (3, 3) and (tmp_path / "ds" / "manifest.jsonl").exists()
    assert report.result_line() == f"wrote {report.written.get('train', 0)} training and " \
        f"{report.written.get('validation', 0)} validation tracks to {tmp_path / 'ds'}"
    assert ("", report.split_note) in report.notes() if report.split_note else True


def test_removing_a_track_deletes_the_workspace_copy_and_never_the_source(env, tmp_path):
    from engine.catalog.remove import remove_track

    ws, catalog, tax, ids = env
    source = tmp_path / "alpha.wav"
    source.write_bytes(b"the person's own file")
    catalog.update(ids["alpha"], lambda t: setattr(t, "source_path", str(source)))
    track = catalog.get(ids["alpha"])
    removed = remove_track(ws, catalog, ids["alpha"][:8])
    assert catalog.get(ids["alpha"]) is None and len(catalog) == 2
    assert _files(ws, "core", ids["alpha"]) == [False, False, False]
    assert not ws.resolve(track.fingerprint).exists()
    assert source.read_bytes() == b"the person's own file"
    assert sorted(removed.deleted) == sorted([track.output, track.fingerprint,
                                              track.output.replace(".mp3", "_prompt.txt"),
                                              track.output.replace(".mp3", "_lyrics.txt")])
    assert removed.result_line().endswith(f"the source file stays: {source}")
    with pytest.raises(TrackNotFound):
        remove_track(ws, catalog, ids["alpha"])

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.catalog.store import Catalog, CatalogBatch
from engine.catalog.track import Track
from engine.errors import TrackNotFound, WorkspaceError

ROOT = Path(__file__).resolve().parents[3]

WRITER = """
import sys
from engine.catalog.store import Catalog
from engine.catalog.track import Track
catalog = Catalog(sys.argv[1])
start = int(sys.argv[2])
for i in range(start, start + 100000):
    catalog.put(Track(id=f"t{i:06d}", source_path=f"/src/{i}.mp3", title=f"track {i}", source_format="mp3",
                      status="accepted", styles=["CORE-01"], quality={"x": float(i)}))
    print(f"t{i:06d}", flush=True)  # reported as saved only after put() returned
"""


def _track(i: int, **kw) -> Track:
    return Track(id=f"id{i:04d}", source_path=f"/s/{i}.mp3", title=f"song {i}", source_format="mp3",
                 status="accepted", **kw)


@pytest.mark.slow
def test_kill_9_at_any_moment_loses_nothing_reported_as_saved(tmp_path):
    path = tmp_path / "catalog.json"
    saved: list[str] = []
    for round_ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(len(saved))], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        saved.append(proc.stdout.readline().strip())  # the writer is up (whatever the machine's load)...
        deadline = time.monotonic() + 0.05 + 0.07 * round_  # ...then kill it at a different moment each round
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line:
                saved.append(line.strip())
        os.kill(proc.pid, signal.SIGKILL)
        saved.extend(line.strip() for line in proc.stdout.read().splitlines())
        proc.wait()
        catalog = Catalog(path)  # must load: never a torn file
        ids = {t.id for t in catalog.all()}
        assert set(saved) <= ids, f"round {round_}: lost {sorted(set(saved) - ids)[:5]}"
        saved = sorted(ids)
    assert len(saved) > 20
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("catalog.json", "catalog.json.lock")]
    assert all(name.startswith(".catalog.json.") for name in leftovers)  # at most a dead temp file, never data


def test_find_accepts_id_prefix_file_name_and_title(tmp_path):
    c = Catalog(tmp_path / "c.json")
    c.put_many([_track(1), _track(2)])
    assert c.find("id0001").id == "id0001"
    assert c.find("2.mp3").id == "id0002"
    assert c.find("song 1").id == "id0001"
    with pytest.raises(TrackNotFound, match="matches 2 tracks"):
        c.find("id00")
    with pytest.raises(TrackNotFound, match="no track matches"):
        c.find("zzzz")


def test_first_gives_the_first_tracks_in_catalog_order(tmp_path):
    c = Catalog(tmp_path / "c.json")
    c.put_many([_track(i) for i in range(50)])
    fresh = Catalog(tmp_path / "c.json")
    assert [t.id for t in fresh.first(3)] == ["id0000", "id0001", "id0002"]
    assert [t.id for t in fresh.first(80)] == [t.id for t in fresh.all()]  # fewer tracks than asked: all of them


def test_update_is_read_modify_write_and_persists(tmp_path):
    c = Catalog(tmp_path / "c.json")
    c.put(_track(1))
    c.update("id0001", lambda t: t.set_flag("needs_review"))
    assert Catalog(tmp_path / "c.json").get("id0001").flags == ["needs_review"]
    with pytest.raises(TrackNotFound):
        c.update("missing", lambda t: None)


def test_two_catalog_objects_on_one_file_do_not_lose_each_others_writes(tmp_path):
    a, b = Catalog(tmp_path / "c.json"), Catalog(tmp_path / "c.json")
    a.put(_track(1))
    b.put(_track(2))
    a.put(_track(3))
    assert {t.id for t in b.all()} == {"id0001", "id0002", "id0003"}


def test_hand_broken_catalog_gives_a_clear_error(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"tracks": {"a": ')
    with pytest.raises(WorkspaceError, match="not valid JSON"):
        Catalog(path).all()


def test_select_filters(tmp_path):
    c = Catalog(tmp_path / "c.json")
    c.put_many([_track(1, styles=["CORE-02"], flags=["needs_review"]), _track(2, split="validation")])
    assert [t.id for t in c.select(style="CORE-02")] == ["id0001"]
    assert [t.id for t in c.select(flag="needs_review")] == ["id0001"]
    assert [t.id for t in c.select(split="validation")] == ["id0002"]
    assert set(json.loads((tmp_path / "c.json").read_text())["tracks"]) == {"id0001", "id0002"}


def test_catalog_file_is_plain_json_with_one_track_per_line(tmp_path):
    path = tmp_path / "c.json"
    c = Catalog(path)
    odd = _track(2, lyrics='a "quoted"\nline ☕ \u2028 and a separator')
    c.put_many([_track(1, styles=["CORE-01"]), odd])
    lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028 is no line break in JSON
    assert lines[:2] == ["{", '"tracks": {'] and lines[-3:] == ["}", "}", ""] and len(lines) == 7
    stored = json.loads(path.read_text(encoding="utf-8"))["tracks"]
    assert stored == {"id0001": _track(1, styles=["CORE-01"]).to_dict(), "id0002": odd.to_dict()}
    assert Catalog(path).get("id0002") == odd


def test_an_edit_rewrites_only_its_own_line(tmp_path):
    path = tmp_path / "c.json"
    Catalog(path).put_many([_track(i) for i in range(1, 6)])
    before = path.read_text(encoding="utf-8").splitlines()
    Catalog(path).update("id0003", lambda t: t.set_flag("excluded"))
    after = path.read_text(encoding="utf-8").splitlines()
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert len(after) == len(before) and len(changed) == 1 and '"id0003"' in after[changed[0]]


def test_a_catalog_in_another_json_layout_is_read_and_rewritten_in_ours(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"tracks": {t.id: t.to_dict() for t in (_track(1), _track(2))}}, indent=4))
    c = Catalog(path)
    assert [t.id for t in c.all()] == ["id0001", "id0002"]
    c.update("id0002", lambda t: t.set_flag("excluded"))
    assert len(path.read_text().splitlines()) == 6
    assert {t.id: t.flags for t in Catalog(path).all()} == {"id0001": [], "id0002": ["excluded"]}


def test_a_same_size_change_by_another_writer_is_seen(tmp_path):
    path = tmp_path / "c.json"
    c = Catalog(path)
    c.put(_track(1, bpm=80.0))
    assert c.get("id0001").bpm == 80.0  # now cached in this process
    edited = tmp_path / "edited.json"
    edited.write_text(path.read_text().replace('"bpm":80.0', '"bpm":90.0'))
    os.utime(edited, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))  # same size, same mtime
    os.replace(edited, path)  # what every atomic writer does
    assert c.get("id0001").bpm == 90.0


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_batch_writes_at_most_once_per_interval_and_reports_only_saved_tracks(tmp_path):
    path = tmp_path / "c.json"
    Catalog(path).put(_track(9))  # an old error record that a later result replaces
    clock, saved = _Clock(), []

    def on_saved(track):
        saved.append(track.id)
        assert track.id in {t.id for t in Catalog(path).all()}  # on disk before it is reported

    batch = CatalogBatch(Catalog(path), on_saved, interval=1.0, clock=clock)
    for i, at in enumerate([0.0, 0.3, 0.6], start=1):
        clock.now = at
        batch.put(_track(i), replaces="id0009" if i == 1 else None)
    assert saved == [] and {t.id for t in Catalog(path).all()} == {"id0009"}
    clock.now = 1.1
    batch.put(_track(4))
    assert saved == ["id0001", "id0002", "id0003", "id0004"]
    assert {t.id for t in Catalog(path).all()} == {"id0001", "id0002", "id0003", "id0004"}
    clock.now = 1.5
    batch.put(_track(5))
    assert len(saved) == 4
    batch.flush()
    assert saved[-1] == "id0005" and len(Catalog(path)) == 5

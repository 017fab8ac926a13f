import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.catalog.store import Catalog
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

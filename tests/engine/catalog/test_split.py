from engine.catalog.split import assign_splits, split_unassigned
from engine.catalog.store import Catalog
from engine.catalog.track import Track


def _tracks(n, style, start=0, **kw):
    return [Track(id=f"{style}-{i:03d}", source_path=f"/s/{style}/{i}", title=str(i), source_format="mp3",
                  status="accepted", styles=[style], **kw) for i in range(start, start + n)]


def _splits(c):
    return {t.id: t.split for t in c.all()}


def test_ten_percent_per_style_and_deterministic(tmp_path):
    a, b = Catalog(tmp_path / "a.json"), Catalog(tmp_path / "b.json")
    for c in (a, b):
        c.put_many(_tracks(40, "CORE-01") + _tracks(20, "INST-01") + _tracks(3, "VOCAL-02"))
        assign_splits(c, ratio=0.1, seed=7)
    assert _splits(a) == _splits(b)
    report_counts = {}
    for t in a.all():
        report_counts.setdefault(t.primary_style, []).append(t.split)
    assert report_counts["CORE-01"].count("validation") == 4
    assert report_counts["INST-01"].count("validation") == 2
    assert report_counts["VOCAL-02"].count("validation") == 0  # round(0.3) = 0: too few to hold out


def test_adding_tracks_never_moves_existing_ones(tmp_path):
    c = Catalog(tmp_path / "c.json")
    c.put_many(_tracks(30, "CORE-01"))
    assign_splits(c)
    before = _splits(c)
    c.put_many(_tracks(25, "CORE-01", start=30) + _tracks(10, "SEASON-02"))
    report = assign_splits(c)
    after = _splits(c)
    assert all(after[k] == v for k, v in before.items())
    assert set(report.assigned) == set(after) - set(before)
    assert list(after.values()).count("validation") == round(0.1 * 55) + 1
    assert assign_splits(c).assigned == {}  # idempotent


def test_different_seed_gives_a_different_holdout(tmp_path):
    a, b = Catalog(tmp_path / "a.json"), Catalog(tmp_path / "b.json")
    for c, seed in ((a, 1), (b, 2)):
        c.put_many(_tracks(50, "CORE-01"))
        assign_splits(c, seed=seed)
    assert _splits(a) != _splits(b)


def test_rejected_and_excluded_tracks_get_no_split(tmp_path):
    c = Catalog(tmp_path / "c.json")
    c.put_many(_tracks(2, "CORE-01") + [
        Track(id="r", source_path="/r", title="r", source_format="mp3", status="rejected"),
        Track(id="x", source_path="/x", title="x", source_format="mp3", status="accepted", flags=["excluded"]),
    ])
    assign_splits(c)
    assert c.get("r").split == "none" and c.get("x").split == "none"


def test_split_unassigned_is_lofi_split_with_its_defaults_and_says_what_it_did(tmp_path):
    c, same = Catalog(tmp_path / "c.json"), Catalog(tmp_path / "same.json")
    for catalog in (c, same):
        catalog.put_many(_tracks(28, "CORE-01") + _tracks(6, "INST-01", split="train"))
    report = split_unassigned(c)
    assign_splits(same)
    assert _splits(c) == _splits(same)
    assert report.newly_assigned == {"train": 25, "validation": 3}
    assert report.summary().startswith("28 accepted tracks had no split: assigned 25 to train and 3 to validation")
    assert split_unassigned(c).summary() is None  # nothing left to assign: nothing to say


def test_a_share_out_of_range_is_refused_with_the_range_and_nothing_changes(tmp_path):
    import pytest

    from engine.catalog.split import SplitError

    c = Catalog(tmp_path / "c.json")
    c.put_many(_tracks(20, "CORE-01"))
    for bad in (0.95, -0.1):
        with pytest.raises(SplitError, match=f"validation share {bad:g} is out of range: give a value from 0 to 0.9"):
            assign_splits(c, ratio=bad)
    assert set(_splits(c).values()) == {"none"}
    assert assign_splits(c, ratio=0.1).result_line() == "assigned 20 tracks; now 18 train, 2 validation"


def test_unlicensed_tracks_headed_for_training_are_named(tmp_path):
    from engine.catalog.stats import catalog_stats, unlicensed_note
    from engine.catalog.track import SourceRecord

    tracks = _tracks(4, "CORE-01")
    tracks[0].source = SourceRecord(license="royalty-free")
    tracks[1].split = "validation"  # held out: never trained on
    tracks[2].flags = ["excluded"]
    assert catalog_stats(tracks).unlicensed_training == [tracks[3].id]
    assert unlicensed_note(tracks).startswith("1 track(s) headed for training have no license recorded (3)")
    tracks[3].source = SourceRecord(license="CC-BY-4.0")
    assert unlicensed_note(tracks) is None

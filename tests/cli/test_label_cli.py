import json

from tests.audio_files import lofi_file
from tests.cli.test_catalog_cli import lofi


def test_label_prompts_and_dataset_from_the_command_line(tmp_path):
    src = tmp_path / "src"
    lofi_file(src / "night drive.mp3", 31, seed=70)
    ws = tmp_path / "ws"
    lofi(ws, "ingest", str(src), "--jobs", "1", "--json")
    lyrics = tmp_path / "words.txt"
    lyrics.write_text("[verse]\ncity lights\n[chorus]\nhold on\n")

    out = json.loads(lofi(ws, "label", "night drive", "--style", "VOCAL-02", "--lyrics", str(lyrics),
                          "--language", "ja", "--rating", "5", "--unflag", "needs_review", "--json").stdout)
    track = out["tracks"][0]
    assert track["category"] == "vocal" and track["language"] == "ja" and track["ratings"][0]["rating"] == 5
    assert (ws / "tracks" / "vocal" / f"{track['id']}_lyrics.txt").read_text().startswith("[Verse]\ncity lights")

    bad = lofi(ws, "label", "night drive", "--style", "NOPE-01", check=False)
    assert bad.returncode == 1 and "unknown style 'NOPE-01'" in bad.stderr
    typo = lofi(ws, "label", "night drive", "--language", "jp", check=False)
    assert typo.returncode == 1 and "error: unknown vocal language 'jp' (did you mean ja?)" in typo.stderr

    regen = json.loads(lofi(ws, "prompts", "--json").stdout)
    assert regen["tracks"] == 1 and regen["changed"] == []

    lofi(ws, "source", "night drive", "--license", "owned")
    built = json.loads(lofi(ws, "dataset", "build", str(tmp_path / "ds"), "--json").stdout)  # no `lofi split` first
    assert built["written"] == {"train": 1} and built["left_out"] == {}
    assert built["splits_assigned"] == {"train": 1, "validation": 0} and "1 accepted tracks had no split" in built["split_note"]
    styles = json.loads(lofi(ws, "styles", "--json").stdout)["styles"]
    assert len(styles) == 38 and styles[0]["id"] == "CORE-01"


def test_broken_styles_file_is_one_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "styles.toml"
    bad.write_text("[[preset]]\nid = 'CORE-01'\n")
    monkeypatch.setenv("LOFI_STYLES", str(bad))
    proc = lofi(tmp_path / "ws", "styles", check=False)
    assert proc.returncode == 1 and "preset CORE-01" in proc.stderr and "missing field(s)" in proc.stderr

import json

import pytest

from engine.audio import synth
from tests.audio_files import write
from tests.cli.test_catalog_cli import lofi


@pytest.mark.slow
def test_fad_json_and_models_listing(tmp_path):
    for i in range(3):
        write(tmp_path / "ref" / f"r{i}.mp3", synth.lofi(5, seed=i))
        write(tmp_path / "eval" / f"e{i}.flac", synth.noise(5, seed=i, amplitude=0.2))
    doc = json.loads(lofi(tmp_path / "ws", "fad", str(tmp_path / "ref"), str(tmp_path / "eval"), "--json").stdout)
    assert set(doc) >= {"fad", "fad_inf", "embedding", "dim", "n_ref", "n_eval", "reliable", "convention"}
    assert doc["embedding"] == "builtin" and doc["n_ref"] == doc["n_eval"] > 3 and doc["fad"] > 0
    assert doc["comparable_with_published"] is False and doc["dim"] == 128
    assert doc["reliable"] is False and doc["reliability_note"].startswith("not reliable (n < 2d)")
    assert doc["fad_inf"] is None and "at least 500 evaluated frames" in doc["fad_inf_note"]
    text = lofi(tmp_path / "ws", "fad", str(tmp_path / "ref"), str(tmp_path / "eval")).stdout
    assert "builtin (128-d)" in text and "not reliable (n < 2d)" in text
    models = json.loads(lofi(tmp_path / "ws", "models", "--json").stdout)
    by_name = {m["name"]: m for m in models["embedders"]}
    assert by_name["builtin"]["available"] and not by_name["clap"]["available"]
    assert "hf download laion/clap-htsat-unfused" in by_name["clap"]["instructions"]
    assert "fadtk" in by_name["vggish"]["convention"] and "before the final ReLU" in by_name["vggish"]["convention"]
    missing = lofi(tmp_path / "ws", "fad", str(tmp_path / "ref"), str(tmp_path / "eval"), "--embedding", "vggish",
                   check=False)
    assert missing.returncode == 1 and "vggish.safetensors" in missing.stderr

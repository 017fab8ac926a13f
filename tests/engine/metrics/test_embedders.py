import numpy as np
import pytest
from safetensors.torch import save_file

from engine.audio import synth
from engine.metrics import clap as clap_module
from engine.metrics.embedders import EmbedderError, availability, load_embedder
from engine.metrics.folders import EmbeddingCache, fad_between
from engine.metrics.tiny_clap import build_tiny_clap
from engine.metrics.vggish import VGGish
from tests.audio_files import write


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    build_tiny_clap(root / "clap")
    save_file(VGGish().state_dict(), str(root / "vggish.safetensors"))
    return root


@pytest.mark.parametrize("name,dim,per_sec", [("builtin", 128, 2.0), ("clap", 8, 1.0), ("vggish", 128, 1 / 0.96)])
def test_each_embedder_gives_frames_by_dimension(models, name, dim, per_sec):
    embedder = load_embedder(name, models)
    emb = embedder.embed(synth.lofi(12, seed=1), synth.SR)
    assert emb.shape[1] == dim == embedder.info.dim
    assert abs(emb.shape[0] - 12 * per_sec) <= 2
    assert np.isfinite(emb).all()
    again = embedder.embed(synth.lofi(12, seed=1), synth.SR)
    np.testing.assert_allclose(emb, again)  # deterministic


def test_missing_weights_say_what_to_download_and_where(tmp_path):
    state = availability("clap", tmp_path)
    assert not state.available and "hf download laion/clap-htsat-unfused --local-dir" in state.instructions
    assert str(tmp_path / "clap") in state.instructions
    assert "before the final ReLU" in availability("vggish", tmp_path).convention
    with pytest.raises(EmbedderError, match="vggish.safetensors"):
        load_embedder("vggish", tmp_path)
    with pytest.raises(EmbedderError, match="unknown embedder"):
        availability("mert", tmp_path)


def test_cached_reference_is_not_recomputed(models, tmp_path):
    ref = [write(tmp_path / "ref" / f"r{i}.wav", synth.lofi(6, seed=i)) for i in range(3)]
    ev = [write(tmp_path / "ev" / f"e{i}.wav", synth.lofi(6, seed=10 + i)) for i in range(2)]
    cache = EmbeddingCache(tmp_path / "cache")
    embedder = load_embedder("builtin", models)
    first = fad_between(embedder, ref, ev, cache)
    assert cache.hits == 0
    second = fad_between(embedder, ref, ev, cache)
    assert cache.hits == 5 and second.fad == first.fad
    assert first.n_ref == sum(embedder.embed(synth.lofi(6, seed=i), synth.SR).shape[0] for i in range(3))
    same = fad_between(embedder, ref, ref, cache)
    assert same.fad == pytest.approx(0.0, abs=1e-6) and first.fad > 1e-3


def test_a_small_sample_states_why_its_fad_is_not_reliable(models, tmp_path):
    ref = [write(tmp_path / "ref" / f"r{i}.wav", synth.lofi(6, seed=i)) for i in range(2)]
    ev = [write(tmp_path / "ev" / f"e{i}.wav", synth.lofi(6, seed=10 + i)) for i in range(2)]
    report = fad_between(load_embedder("builtin", models), ref, ev)
    assert report.dim == 128 and report.n_eval == report.n_ref == 20 and not report.reliable
    assert report.reliability_note.startswith("not reliable (n < 2d): 20 evaluated frames and 20 reference")
    assert report.fad_inf is None and "at least 500 evaluated frames" in report.fad_inf_note
    summary = report.summary()
    assert "builtin (128-d)" in summary and "20 evaluated frames" in summary and "not reliable (n < 2d)" in summary


def test_new_weights_or_preprocessing_never_reuse_cached_embeddings(tmp_path, monkeypatch):
    audio = write(tmp_path / "a.wav", synth.lofi(3, seed=1))
    cache = EmbeddingCache(tmp_path / "cache")
    build_tiny_clap(tmp_path / "models" / "clap", seed=0)
    first = cache.embed(load_embedder("clap", tmp_path / "models"), audio)
    cache.embed(load_embedder("clap", tmp_path / "models"), audio)
    assert cache.hits == 1  # same weights and front end: reused
    build_tiny_clap(tmp_path / "models" / "clap", seed=1)  # other weights in the same place
    second = cache.embed(load_embedder("clap", tmp_path / "models"), audio)
    assert cache.hits == 1 and not np.allclose(first, second)
    monkeypatch.setattr(clap_module, "PREPROCESSING", "clap-next")  # a changed front end
    cache.embed(load_embedder("clap", tmp_path / "models"), audio)
    assert cache.hits == 1


def test_fad_between_folders_for_quantized_versus_full(tmp_path):
    for i in range(3):  # the same prompts and seeds rendered twice: one copy exact, one slightly degraded
        clip = synth.lofi(4, seed=30 + i)
        write(tmp_path / "full" / f"s{i}.wav", clip)
        write(tmp_path / "same" / f"s{i}.wav", clip)
        write(tmp_path / "noisy" / f"s{i}.wav", clip + synth.noise(4, seed=i, amplitude=0.05)[: len(clip)])
    embedder = load_embedder("builtin", tmp_path)
    assert fad_between(embedder, tmp_path / "full", tmp_path / "same").fad == pytest.approx(0.0, abs=1e-6)
    degraded = fad_between(embedder, tmp_path / "full", tmp_path / "noisy")
    assert degraded.fad > 1e-3 and degraded.files_ref == degraded.files_eval == 3

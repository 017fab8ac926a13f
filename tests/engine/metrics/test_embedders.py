import numpy as np
import pytest
from safetensors.torch import save_file

from engine.audio import synth
from engine.metrics.embedders import EmbedderError, availability, load_embedder
from engine.metrics.folders import EmbeddingCache, fad_between
from engine.metrics.tiny_clap import build_tiny_clap
from engine.metrics.vggish import VGGish
from tests.audio_files import write


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    build_tiny_clap(root / "clap-music")
    save_file(VGGish().state_dict(), str(root / "vggish.safetensors"))
    return root


@pytest.mark.parametrize("name,dim,per_sec", [("builtin", 128, 2.0), ("clap-music", 8, 1.0), ("vggish", 128, 1 / 0.96)])
def test_each_embedder_gives_frames_by_dimension(models, name, dim, per_sec):
    embedder = load_embedder(name, models)
    emb = embedder.embed(synth.lofi(12, seed=1), synth.SR)
    assert emb.shape[1] == dim == embedder.info.dim
    assert abs(emb.shape[0] - 12 * per_sec) <= 2
    assert np.isfinite(emb).all()
    again = embedder.embed(synth.lofi(12, seed=1), synth.SR)
    np.testing.assert_allclose(emb, again)  # deterministic


def test_clap_embeds_text_in_the_audio_space(models):
    clap = load_embedder("clap-music", models)
    text = clap.embed_text(["lofi hip hop, chill", "christmas lofi"])
    assert text.shape == (2, clap.info.dim)
    assert np.allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)


def test_missing_weights_say_what_to_download_and_where(tmp_path):
    state = availability("clap-music", tmp_path)
    assert not state.available and "laion/larger_clap_music" in state.instructions
    assert str(tmp_path / "clap-music") in state.instructions
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

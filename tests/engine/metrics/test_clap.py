import numpy as np
import pytest
import torch

from engine.audio import synth
from engine.metrics import clap as clap_module
from engine.metrics.clap import MAX_TEXT_COSINE, clap_score
from engine.metrics.embedders import EmbedderError, load_embedder
from engine.metrics.tiny_clap import build_tiny_clap


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    build_tiny_clap(root / "clap")
    return root


def test_a_checkpoint_whose_text_embeddings_collapse_is_refused(tmp_path):
    from transformers import ClapModel

    build_tiny_clap(tmp_path / "clap")
    model = ClapModel.from_pretrained(tmp_path / "clap")
    with torch.no_grad():  # every text projects to the same vector, as laion/larger_clap_music's nearly do
        model.text_projection.linear2.weight.zero_()
        model.text_projection.linear2.bias.normal_()
    model.save_pretrained(tmp_path / "clap")
    with pytest.raises(EmbedderError, match=r"collapsed text tower.*mean cosine 1\.0000.*hf download "
                                            r"laion/clap-htsat-unfused --local-dir"):
        load_embedder("clap", tmp_path)


def test_a_working_text_tower_passes_the_self_check(models):
    clap = load_embedder("clap", models)
    assert clap.text_check.mean_cosine < MAX_TEXT_COSINE
    text = clap.embed_text(["lofi hip hop, chill", "christmas lofi"])
    assert text.shape == (2, clap.info.dim) and np.allclose(np.linalg.norm(text, axis=1), 1.0)


def test_fad_frames_are_windows_every_second_as_fadtk(models):
    clap = load_embedder("clap", models)
    window = clap.window / clap.info.sample_rate
    assert clap.info.hop_sec == 1.0 < window  # the tiny model's window is 2 s; LAION's is 10 s
    audio = synth.lofi(5, seed=1)
    frames = clap.embed(audio, synth.SR)
    assert frames.shape == (5, clap.info.dim)  # a window starting at 0, 1, 2, 3 and 4 s; the last ones zero-padded
    np.testing.assert_allclose(np.linalg.norm(frames, axis=1), 1.0, rtol=1e-6)
    first = clap.embed(audio[: int(window * synth.SR)], synth.SR)[0]
    np.testing.assert_allclose(frames[0], first, atol=1e-6)


def test_clap_score_takes_peak_normalised_clips_and_averages_cosines(models):
    clap = load_embedder("clap", models)
    view = clap.clip_view()
    clip = synth.lofi(4, seed=2)
    quiet = view.embed(clip * 0.25, synth.SR)
    loud = view.embed(clip, synth.SR)
    assert quiet.shape == (1, clap.info.dim)
    np.testing.assert_allclose(quiet, loud, atol=1e-3)  # level does not matter: peak-normalised to -1 dBFS
    text = clap.embed_text(["lofi hip hop, chill", "a dog barking"])
    other = view.embed(synth.noise(4, seed=3), synth.SR)
    expected = (float(loud[0] @ text[0]) + float(other[0] @ text[1])) / 2
    assert clap_score([loud, other], text) == pytest.approx(expected)
    assert view.info.identity != clap.info.identity  # the clip view is cached apart from the FAD frames


def test_preprocessing_version_is_part_of_the_identity(models, monkeypatch):
    before = load_embedder("clap", models).info.identity
    monkeypatch.setattr(clap_module, "PREPROCESSING", "clap-test")
    assert load_embedder("clap", models).info.identity != before

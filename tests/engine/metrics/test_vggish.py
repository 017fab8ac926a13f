"""VGGish features against the published front end (torchvggish's vggish_input / mel_features),
recomputed here from the formulas with plain numpy: explicit DFT, per-band triangles by interpolation."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engine.metrics.embedders import VGGishEmbedder
from engine.metrics.vggish import VGGish, examples

RATE = 16_000


def _reference_patches(x: np.ndarray) -> np.ndarray:
    """The published recipe: 25 ms periodic-Hann frames every 10 ms, |512-point DFT|, 64 HTK-mel triangles
    (125-7500 Hz, linear in mel, peak 1, DC bin excluded), log(mel + 0.01), 96-frame patches."""
    win, hop, nfft = 400, 160, 512
    count = 1 + (len(x) - win) // hop
    frames = np.stack([x[i * hop : i * hop + win] for i in range(count)])
    hann = np.array([0.5 - 0.5 * np.cos(2 * np.pi * n / win) for n in range(win)])
    k, n = np.arange(nfft // 2 + 1)[:, None], np.arange(win)[None, :]
    dft = np.exp(-2j * np.pi * k * n / nfft)  # zero-padding to 512 points: those samples contribute nothing
    magnitude = np.abs((frames * hann) @ dft.T)

    def mel(f):
        return 1127.0 * np.log(1.0 + f / 700.0)

    bin_mel = mel(np.arange(nfft // 2 + 1) * (RATE / 2) / (nfft // 2))
    edges = np.linspace(mel(125.0), mel(7500.0), 66)
    weights = np.zeros((nfft // 2 + 1, 64))
    for band in range(64):
        weights[:, band] = np.interp(bin_mel, edges[band : band + 3], [0.0, 1.0, 0.0], left=0.0, right=0.0)
    weights[0] = 0.0
    log_mel = np.log(magnitude @ weights + 0.01)
    patches = len(log_mel) // 96
    return np.stack([log_mel[p * 96 : (p + 1) * 96] for p in range(patches)]).astype(np.float32)


def _music(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    chirp = np.sin(2 * np.pi * (200 * t + 300 * t**2))
    return 0.4 * chirp * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t)) + 0.05 * rng.standard_normal(t.size)


@pytest.fixture(scope="module")
def real_size_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vggish") / "vggish.safetensors"
    save_file(VGGish().state_dict(), str(path))
    return path


def test_log_mel_patches_equal_the_published_front_end():
    x = _music(7.3)
    reference = _reference_patches(x)
    ours = examples(x)
    assert ours.shape == reference.shape == (7, 96, 64)  # 0.96 s patches, the partial one dropped
    assert np.abs(ours - reference).max() < 1e-5


def test_real_size_vggish_embeds_the_reference_features(real_size_weights):
    """The whole embedder (mono, 16 kHz, front end, network) against the network on the reference features."""
    embedder = VGGishEmbedder(real_size_weights)
    x = _music(5.0, seed=1).astype(np.float32)
    ours = embedder.embed(x, RATE)
    with torch.no_grad():
        expected = embedder.model(torch.from_numpy(_reference_patches(x.astype(np.float64)))[:, None])
    assert ours.shape == (5, 128)
    scale = np.abs(expected.numpy()).max()  # random weights give small values: compare relative to them
    assert np.abs(ours - expected.numpy()).max() <= 1e-5 * scale


def test_default_is_fadtk_before_the_final_relu_and_post_relu_is_an_option(real_size_weights):
    x = _music(3.0, seed=2).astype(np.float32)
    pre = VGGishEmbedder(real_size_weights).embed(x, RATE)
    post_embedder = VGGishEmbedder(real_size_weights, post_relu=True)
    post = post_embedder.embed(x, RATE)
    assert (pre < 0).any()  # random weights give negative pre-activations somewhere
    np.testing.assert_allclose(post, np.maximum(pre, 0))
    assert post_embedder.info.identity != VGGishEmbedder(real_size_weights).info.identity  # cached apart
    assert not post_embedder.info.comparable


def test_audio_under_a_second_is_padded_to_one_patch_as_fadtk_does():
    assert examples(_music(0.4)).shape == (1, 96, 64)

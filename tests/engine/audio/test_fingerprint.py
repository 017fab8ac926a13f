import numpy as np
import pytest
import soxr

from engine.audio import fingerprint as fpm
from engine.audio import synth
from engine.audio.io import decode
from tests.audio_files import write

SR = synth.SR


@pytest.fixture(scope="module")
def library():
    tracks = {f"t{s}": synth.lofi(40, seed=s, bpm=80 + s) for s in range(6)}
    index = fpm.FingerprintIndex()
    for tid, x in tracks.items():
        index.add(tid, fpm.fingerprint(x, SR))
    return tracks, index


def _reencoded(tmp_path, x, ext, rate=SR, gain=1.0, trim_head=0.0, trim_tail=0.0):
    start, stop = int(trim_head * SR), x.shape[0] - int(trim_tail * SR)
    y = x[start:stop] * gain
    if rate != SR:
        y = soxr.resample(y, SR, rate)
    d = decode(write(tmp_path / f"copy.{ext}", y, rate))
    return fpm.fingerprint(d.samples, d.sample_rate)


@pytest.mark.parametrize(
    "ext,rate,gain,head,tail",
    [
        ("mp3", SR, 1.0, 0.0, 0.0),
        ("m4a", 44_100, 0.5, 0.0, 0.0),  # re-encoded, resampled, 6 dB quieter
        ("ogg", 44_100, 1.4, 3.3, 0.0),  # louder and 3.3 s cut from the start
        ("mp3", 32_000, 0.8, 1.7, 4.0),  # both ends trimmed
    ],
)
def test_copies_are_found_whatever_was_done_to_them(tmp_path, library, ext, rate, gain, head, tail):
    tracks, index = library
    match = index.best_match(_reencoded(tmp_path, tracks["t3"], ext, rate, gain, head, tail))
    assert match is not None and match.track_id == "t3"
    assert match.ber < 0.25
    assert abs(match.offset_sec - head) < 0.1


def test_distinct_tracks_are_not_duplicates(library):
    _, index = library
    for seed in range(10, 16):
        assert index.best_match(fpm.fingerprint(synth.lofi(40, seed=seed, bpm=84), SR)) is None


def test_saved_fingerprint_round_trips(tmp_path):
    fp = fpm.fingerprint(synth.lofi(12, seed=1), SR)
    fpm.save(tmp_path / "a.npy", fp)
    assert np.array_equal(fpm.load(tmp_path / "a.npy"), fp)
    assert fp.dtype == np.uint32 and fp.size == pytest.approx(12 * fpm.FRAMES_PER_SEC, rel=0.05)

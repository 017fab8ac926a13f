import numpy as np
import pytest
import soundfile as sf

from engine.audio import synth
from engine.audio.process import (
    band_limit,
    check_round_trip,
    encode_normalized_mp3,
    peak_dbfs,
    resample,
    to_stereo,
    trim,
)
from engine.errors import AudioError

SR = synth.SR


def test_mono_is_duplicated_and_surround_is_folded_down():
    mono = synth.tone(440, 0.5, channels=1)
    st = to_stereo(mono)
    assert st.shape[1] == 2 and np.array_equal(st[:, 0], st[:, 1])
    quad = np.zeros((1000, 4), dtype=np.float32)
    quad[:, 2] = 0.5  # a rear channel must still be heard on both sides
    folded = to_stereo(quad)
    assert folded.shape == (1000, 2)
    assert np.allclose(folded[:, 0], folded[:, 1]) and folded[0, 0] > 0.3


def test_resample_keeps_duration_and_pitch():
    x = synth.tone(1000, 2.0, sr=44_100)
    y = resample(x, 44_100)
    assert y.shape[0] == 96_000
    spectrum = np.abs(np.fft.rfft(y[:, 0]))
    assert abs(np.argmax(spectrum) * SR / y.shape[0] - 1000) < 2


def test_trim_cuts_to_the_limit_with_a_fade_and_no_click():
    x = synth.noise(12.0, amplitude=0.3)
    y, trimmed = trim(x, SR, 10.0)
    assert trimmed and y.shape[0] == 10 * SR
    assert np.abs(y[-10:]).max() < 1e-3  # ends at silence: no click
    assert np.abs(y[: 7 * SR]).max() > 0.5  # body untouched
    same, trimmed = trim(x, SR, 20.0)
    assert not trimmed and same is x


def test_band_limit_keeps_the_audible_band_in_place_and_removes_what_lame_drops():
    def level_db(freq: float) -> float:
        y = band_limit(synth.tone(freq, 1.0, amplitude=0.5))
        return peak_dbfs(y[SR // 4 : -SR // 4]) - peak_dbfs(synth.tone(freq, 1.0, amplitude=0.5))

    assert abs(level_db(1_000)) < 0.01 and abs(level_db(15_000)) < 0.01
    assert level_db(21_000) < -60
    click = np.zeros((SR, 2), dtype=np.float32)
    click[12_345] = 0.9
    filtered = band_limit(click)
    assert filtered.shape == click.shape and int(np.argmax(np.abs(filtered[:, 0]))) == 12_345  # linear phase, no delay


@pytest.mark.parametrize("make", [lambda: synth.noise(6.0, amplitude=0.3), lambda: synth.clipped(6.0, seed=1)],
                         ids=["white noise", "clipped music"])
def test_hard_material_lands_on_minus_one_dbfs_in_one_encode(tmp_path, make):
    encoded = encode_normalized_mp3(make(), tmp_path / "out.mp3")
    assert encoded.passes == 1 and abs(encoded.peak_dbfs + 1.0) <= 0.2


def test_encoded_mp3_decodes_to_minus_one_dbfs_peak_and_same_length(tmp_path):
    x = synth.lofi(8, seed=3) * 0.3
    out = tmp_path / "t.mp3"
    peak = encode_normalized_mp3(x, out).peak_dbfs
    decoded, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == SR and decoded.shape == x.shape
    assert abs(peak_dbfs(decoded) - (-1.0)) <= 0.3
    assert abs(peak - peak_dbfs(decoded)) < 1e-3
    info = sf.info(out)
    assert info.format == "MP3" and info.channels == 2
    # 320 kbps CBR: the size is the bitrate times the duration (plus a header)
    kbps = out.stat().st_size * 8 / 1000 / 8.0
    assert 310 < kbps < 335


def test_codec_padding_is_not_an_error_and_the_decoded_length_is_reported(tmp_path):
    # 6 s + 1 sample: LAME pads this length by 46 samples (a 198 s OGG of 9501697 frames was rejected for it)
    x = synth.lofi(7, seed=4)[: 6 * SR + 1] * 0.5
    encoded = encode_normalized_mp3(x, tmp_path / "odd.mp3")
    decoded, _ = sf.read(tmp_path / "odd.mp3", dtype="float32", always_2d=True)
    assert encoded.frames == decoded.shape[0] and abs(decoded.shape[0] - x.shape[0]) <= 1152
    assert abs(encoded.peak_dbfs + 1.0) <= 0.3


def test_round_trip_check_names_what_differed():
    x = synth.lofi(3, seed=5) * 0.5
    check_round_trip(x, SR, np.concatenate([x, np.zeros((1100, 2), np.float32)]), SR)  # padding: fine
    late = np.concatenate([np.zeros((240, 2), np.float32), x[:-240]])  # 5 ms of silence in front
    with pytest.raises(AudioError, match=r"shifted the audio by \+5.0 ms \(silence added at the start\)"):
        check_round_trip(x, SR, late, SR)
    with pytest.raises(AudioError, match=r"changed the length by \+2000 frames"):
        check_round_trip(x, SR, np.concatenate([x, np.zeros((2000, 2), np.float32)]), SR)
    with pytest.raises(AudioError, match="changed the sample rate"):
        check_round_trip(x, SR, x, 44_100)

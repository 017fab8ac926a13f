import numpy as np
import pytest
import soundfile as sf

from engine.audio import synth
from engine.audio.io import decode, write_audio
from engine.errors import AudioError
from tests.audio_files import write


@pytest.mark.parametrize("ext", ["mp3", "wav", "flac", "m4a", "ogg"])
def test_every_supported_format_decodes_to_its_own_rate_and_length(tmp_path, ext):
    x = synth.lofi(4, sr=44_100, seed=1)
    path = write(tmp_path / f"clip.{ext}", x, 44_100)
    d = decode(path)
    assert d.sample_rate == 44_100
    assert d.channels == 2
    assert d.format == ext
    # lossy codecs may pad a few ms; never lose or invent more than 50 ms
    assert abs(d.duration_sec - 4.0) < 0.05
    assert np.isfinite(d.samples).all() and np.abs(d.samples).max() > 0.3


def test_upper_case_extension_is_accepted(tmp_path):
    path = write(tmp_path / "LOUD.WAV", synth.tone(440, 1.0), synth.SR)
    assert decode(path).format == "wav"


@pytest.mark.parametrize("name", ["cover.jpg", "notes.txt", "track.aiff", "noextension"])
def test_other_extensions_are_unsupported_format(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not audio at all")
    with pytest.raises(AudioError) as err:
        decode(path)
    assert err.value.reason == "unsupported_format"
    assert name in str(err.value)


def test_empty_file_is_corrupt_and_says_so(tmp_path):
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match="empty") as err:
        decode(path)
    assert err.value.reason == "corrupt"


@pytest.mark.parametrize("ext", ["mp3", "wav", "flac", "ogg", "m4a"])
def test_non_audio_bytes_are_corrupt_with_the_file_named(tmp_path, ext):
    path = tmp_path / f"fake.{ext}"
    path.write_bytes(b"<html>this is a saved web page, not audio</html>" * 50)
    with pytest.raises(AudioError) as err:
        decode(path)
    assert err.value.reason == "corrupt"
    assert f"fake.{ext}" in str(err.value)


def test_truncated_wav_is_detected(tmp_path):
    path = write(tmp_path / "cut.wav", synth.tone(440, 3.0), synth.SR)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # header still promises 3 s
    with pytest.raises(AudioError, match="truncated") as err:
        decode(path)
    assert err.value.reason == "corrupt"


def test_truncated_flac_is_detected(tmp_path):
    path = write(tmp_path / "cut.flac", synth.lofi(6, seed=2), synth.SR)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(AudioError) as err:
        decode(path)
    assert err.value.reason == "corrupt"


def test_nan_samples_are_corrupt(tmp_path):
    x = synth.tone(440, 1.0)
    x[100] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, synth.SR, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        decode(path)


def test_write_audio_is_atomic_and_leaves_no_temporary(tmp_path):
    write_audio(tmp_path / "out.mp3", synth.tone(220, 1.0), synth.SR)
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp3"]

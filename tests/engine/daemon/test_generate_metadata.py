"""The daemon's generate takes the caption metadata the pipeline takes, and the model's guidance by default."""

import pytest

from engine.daemon.protocol import RpcError, track_id, validate_generate


def _params(**extra):
    return validate_generate({"prompt": "lofi hip hop", **extra}, 5, 240)


def test_bpm_and_key_are_optional_and_change_the_track_id():
    plain, tagged = _params(seed=1), _params(seed=1, bpm=80, keyscale="A minor")
    assert (plain.bpm, plain.keyscale, plain.guidance_scale) == (None, None, None)  # None: the model's guidance
    assert (tagged.bpm, tagged.keyscale) == (80, "A minor")
    ids = {track_id(p.identity, 1, 30.0, "v") for p in (plain, tagged, _params(seed=1, bpm=90))}
    assert len(ids) == 3  # a cached clip is never served for other metadata
    assert _params(guidance_scale=3).guidance_scale == 3.0


@pytest.mark.parametrize("extra", [{"bpm": 500}, {"bpm": "fast"}, {"keyscale": 7}])
def test_bad_metadata_is_refused(extra):
    with pytest.raises(RpcError):
        _params(**extra)

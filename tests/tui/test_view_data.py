"""The headless pieces behind the dashboard's views: chart decimation and smoothing, the catalog
filter language and review queue, and the audio picture."""

from __future__ import annotations

import json

import numpy as np

from engine.audio import synth
from engine.audio.picture import track_picture
from engine.catalog.query import filter_tracks, review_queue
from engine.training.events import parse_lines
from engine.training.series import SmoothedSeries, decimate_minmax, ema
from tests.tui.conftest import _track


def test_decimation_keeps_every_spike_and_the_range_at_100000_points():
    steps = np.arange(1, 100_001)
    loss = 1 / (1 + steps / 1e4)
    loss[54_321] = 9.0  # one divergent step
    loss[77_777] = -1.0
    cols = decimate_minmax(steps, loss, 120)
    assert cols.x.size == cols.low.size == cols.high.size == 120
    assert cols.high.max() == 9.0 and cols.low.min() == -1.0
    assert np.all(cols.low <= cols.high) and np.all(np.diff(cols.x) > 0)
    assert cols.x[0] == steps[0] and cols.x[-1] == steps[-1], "the chart's x axis reads the first and last step"


def test_decimation_just_above_the_width_keeps_the_steps_in_order():
    """Buckets of one sample once drew the last step first: a stray line across the chart."""
    cols = decimate_minmax(np.arange(1, 61), np.linspace(2, 0, 60), 50)
    assert cols.x[0] == 1 and np.all(np.diff(cols.x) > 0) and cols.x[-1] <= 60


def test_step_columns_follow_appended_steps_and_a_rollback_that_rewrites_them():
    def line(step: int, loss: float, **extra) -> str:
        return json.dumps({"type": "step", "step": step, "loss": loss, **extra})

    metrics = parse_lines([line(s, 1.0 / s, lr=1e-4) for s in range(1, 6)])
    assert metrics.column("step").tolist() == [1, 2, 3, 4, 5]
    assert metrics.column("loss").tolist() == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    parse_lines([line(6, 0.1)], metrics)  # appended: no lr on this line
    assert metrics.column("loss")[-1] == 0.1 and metrics.column("lr").tolist() == [1e-4] * 5 + [0.0]
    parse_lines([line(4, 9.0), line(5, 8.0)], metrics)  # a rollback to step 3 replays 4 and 5
    assert metrics.column("step").tolist() == [1, 2, 3, 4, 5, 6]
    assert metrics.column("loss").tolist()[3:] == [9.0, 8.0, 0.1]
    big = parse_lines([line(s, float(s)) for s in range(1, 100_001)])
    assert big.column("loss").size == 100_000 and big.column("loss")[-1] == 100_000.0


def test_short_series_are_drawn_as_they_are():
    cols = decimate_minmax(np.arange(5), np.array([3.0, 1, 4, 1, 5]), 80)
    assert cols.low.tolist() == cols.high.tolist() == [3.0, 1, 4, 1, 5]


def test_the_chart_smoothing_kept_between_redraws_equals_smoothing_everything_again():
    """As lines arrive, after a rollback rewrote earlier steps, and after the smoothing changed."""
    losses = 2.0 + np.random.default_rng(1).normal(0, 0.5, 3000)
    smoothed = SmoothedSeries()
    for n in (1, 2, 50, 51, 51, 2000, 3000):
        assert np.allclose(smoothed(losses[:n], 0.95), ema(losses[:n], 0.95), rtol=1e-12)
    replayed = losses.copy()
    replayed[1500:] *= 0.5
    assert np.allclose(smoothed(replayed, 0.95), ema(replayed, 0.95), rtol=1e-12)
    assert np.allclose(smoothed(replayed, 0.6), ema(replayed, 0.6), rtol=1e-12)
    assert np.allclose(smoothed(replayed[:100], 0.6), ema(replayed[:100], 0.6), rtol=1e-12)


def test_smoothing_zero_is_raw_and_higher_is_smoother_without_a_start_bias():
    rng = np.random.default_rng(0)
    noisy = 2.0 + rng.normal(0, 0.5, 2000)
    assert np.array_equal(ema(noisy, 0.0), noisy)
    assert np.allclose(ema(np.array([1.0, 3.0]), 0.5), [1.0, (0.25 + 1.5) / 0.75])
    light, heavy = ema(noisy, 0.6), ema(noisy, 0.95)
    assert np.std(np.diff(heavy)) < np.std(np.diff(light)) < np.std(np.diff(noisy))
    assert abs(heavy[0] - noisy[0]) < 1e-12  # debiased: the first value is not pulled towards zero
    assert abs(heavy[500:].mean() - 2.0) < 0.05


def test_catalog_filter_terms_all_match_and_words_search_titles():
    tracks = [_track(1, "rainy window", flags=["needs_review"]),
              _track(2, "rainy bus", styles=["THEME-01"], category="thematic", flags=[]),
              _track(3, "clipped", status="rejected", reason="excessive_clipping", flags=[])]
    titles = lambda q: [t.title for t in filter_tracks(tracks, q)]  # noqa: E731
    assert titles("") == ["rainy window", "rainy bus", "clipped"]
    assert titles("RAINY") == ["rainy window", "rainy bus"]
    assert titles("rainy style:theme-01") == ["rainy bus"]
    assert titles("status:rejected reason:excessive_clipping") == ["clipped"]
    assert titles("flag:needs_review category:core") == ["rainy window"]
    assert titles("rainy status:rejected") == []


def test_review_queue_holds_accepted_tracks_that_need_a_person():
    tracks = [_track(1, "b flagged", flags=["tempo_mismatch"]),
              _track(2, "a duplicate", flags=[], duplicate_of="0000000000000009"),
              _track(3, "clean", flags=[]),
              _track(4, "excluded", flags=["needs_review", "excluded"]),
              _track(5, "rejected", status="rejected", flags=["needs_review"])]
    assert [t.title for t in review_queue(tracks)] == ["a duplicate", "b flagged"]


def test_picture_shows_where_the_sound_is_and_where_its_energy_sits():
    sr = 22_050
    quiet_then_loud = np.concatenate([synth.tone(110.0, 2, sr, amplitude=0.02), synth.tone(110.0, 2, sr)])
    pic = track_picture(quiet_then_loud, sr, columns=40, rows=6)
    assert pic.envelope.shape == (40,) and pic.spectrogram.shape == (6, 40)
    assert pic.envelope[:20].max() < 0.1 and pic.envelope[20:].min() > 0.9
    low = track_picture(synth.tone(70.0, 2, sr), sr, columns=10, rows=6).spectrogram[:, 5]
    high = track_picture(synth.tone(3000.0, 2, sr), sr, columns=10, rows=6).spectrogram[:, 5]
    assert low.argmax() == 5 and high.argmax() == 1  # row 0 is the highest band

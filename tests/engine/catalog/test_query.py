from engine.catalog.query import TrackIndex, parse_query
from engine.catalog.track import SourceRecord, Track
from engine.labels.styles import load_styles

QUERIES = ["", "rain", "RAIN -window", "status:accepted", "-status:rejected", "style:core-01", "style:CORE-02 -flag:duplicate",
           "flag:needs_review category:thematic", "split:validation", "-split:train -split:validation", "reason:too_short",
           "-reason:too_short status:rejected", "0003", "/music/1", "status:bogus rain", "-", "rain status:rejected",
           "flag:duplicate flag:needs_review", "-style:theme-01 -style:core-01 song"]


def _tracks() -> list[Track]:
    titles = ["rain on the window", "Rainy bus", "night walk", "coffee", "window rain", "snow"]
    return [Track(id=f"{i:016x}", source_path=f"/music/{i}.mp3", title=titles[i % 6] + f" song {i}",
                  source_format="mp3", status=("accepted", "rejected", "error")[i % 3],
                  reason="too_short" if i % 3 == 1 else None, category="thematic" if i % 4 == 0 else "core",
                  styles=[["CORE-01"], ["THEME-01", "CORE-02"], []][i % 3],
                  flags=[["needs_review"], ["duplicate", "needs_review"], []][i % 3 if i % 5 else 2],
                  split=("train", "validation", "none")[i % 3 if i % 2 else 0], source=SourceRecord())
            for i in range(60)]


def test_the_index_selects_what_matching_each_track_selects_in_catalog_order():
    tracks, taxonomy = _tracks(), load_styles()
    index = TrackIndex(tracks)
    for text in QUERIES:
        query = parse_query(text, taxonomy)
        assert index.select(query) == [t for t in tracks if query.matches(t)], text
    assert [t.title for t in index.select(parse_query("status:rejected rainy"))] == [
        "Rainy bus song 1", "Rainy bus song 7", "Rainy bus song 13", "Rainy bus song 19", "Rainy bus song 25",
        "Rainy bus song 31", "Rainy bus song 37", "Rainy bus song 43", "Rainy bus song 49", "Rainy bus song 55"]
    assert index.select(parse_query("")) == tracks and index.select(parse_query("")) is not index.tracks
    assert TrackIndex([]).select(parse_query("rain status:accepted")) == []

import pytest

from engine.labels.styles import StyleError, load_styles, parse_styles

NAMES = {
    "CORE": ["Classic Lofi Hip Hop", "Jazz Lofi", "Ambient Lofi", "Lofi House", "Chillhop", "Dark Lofi",
             "Bedroom Pop Lofi"],
    "SEASON": ["Winter", "Christmas", "Spring", "Summer", "Autumn", "Rainy Day", "Halloween", "Valentine", "New Year"],
    "THEME": ["Coffee Shop", "Late Night", "Study", "Sleep", "City Night", "Nature", "Gaming", "Anime", "Sunset",
              "Sunday Morning"],
    "INST": ["Piano", "Guitar", "Synth", "Rhodes", "Saxophone", "Strings", "Flute"],
    "VOCAL": ["Chopped Vocals", "Japanese", "R&B", "Spoken Word", "Humming"],
}

GOOD = """
[[preset]]
id = "CORE-01"
name = "A"
category = "core"
description = "d"
base_tags = ["lofi hip hop"]
mood = ["calm"]
instruments = ["piano"]
tempo_bpm = [70, 90]
production = ["tape"]
atmosphere = ["cozy"]
vocal_type = ["instrumental"]
"""


def test_shipped_taxonomy_has_the_38_presets_with_their_names():
    t = load_styles()
    assert len(t.ids) == 38
    for prefix, names in NAMES.items():
        ids = [i for i in t.ids if i.startswith(prefix + "-")]
        assert ids == [f"{prefix}-{n:02d}" for n in range(1, len(names) + 1)]
        for sid, name in zip(ids, names):
            assert name.lower() in t.get(sid).name.lower(), (sid, t.get(sid).name)
    assert {c: len(v) for c, v in t.by_category().items()} == {
        "core": 7, "seasonal": 9, "thematic": 10, "instrumental": 7, "vocal": 5}


def test_required_tags():
    t = load_styles()
    assert t.get("CORE-01").base_tags[:4] == ("lofi hip hop", "chill", "boom bap drums", "vinyl crackle")
    assert t.get("SEASON-02").base_tags[:4] == ("christmas lofi", "cozy", "festive", "holiday")


def test_presets_are_distinct():
    t = load_styles()
    signatures = {}
    for sid in t.ids:
        p = t.get(sid)
        sig = frozenset(p.base_tags + p.instruments)
        assert sig not in signatures, f"{sid} has the same genre+instrument tags as {signatures.get(sig)}"
        signatures[sig] = sid
        assert p.base_tags[0] not in {t.get(o).base_tags[0] for o in t.ids if o != sid}, sid


def test_extends_inherits_parent_tags_after_its_own():
    t = load_styles()
    child, parent = t.get("SEASON-02"), t.get("SEASON-01")
    assert child.extends == "SEASON-01"
    assert set(parent.instruments) <= set(child.instruments)
    assert child.instruments[0] == "sleigh bells"




@pytest.mark.parametrize(
    "text,fragment",
    [
        (GOOD.replace('category = "core"', 'category = "jazz"'), "preset CORE-01 (line 3): unknown category 'jazz'"),
        (GOOD + GOOD, "duplicate preset id CORE-01 (lines 3, 16)"),
        (GOOD.replace('vocal_type = ["instrumental"]', 'vocal_type = ["instrumental"]\nextends = "CORE-99"'),
         "extends unknown preset CORE-99"),
        (GOOD.replace('mood = ["calm"]', "mood = []"), "mood is empty"),
        (GOOD.replace("tempo_bpm = [70, 90]", "tempo_bpm = [90, 70]"), "tempo_bpm must be [min, max]"),
        (GOOD.replace("tempo_bpm = [70, 90]", 'tempo_bpm = "slow"'), "tempo_bpm must be [min, max]"),
        (GOOD.replace('name = "A"\n', ""), "missing field(s) name"),
        (GOOD.replace('mood = ["calm"]', 'mood = ["calm"]\nmoood = ["x"]'), "unknown field(s) moood"),
        (GOOD.replace('mood = ["calm"]', 'mood = ["calm, sad"]'), "contains a comma"),
        (GOOD.replace('id = "CORE-01"', 'id = "core one"'), "id must look like CORE-01"),
        (GOOD.replace("[[preset]]", "[[preset]\n"), "TOML syntax error"),
        ("", "no [[preset]] tables"),
    ],
)
def test_validation_names_the_preset_and_problem(text, fragment):
    with pytest.raises(StyleError) as err:
        parse_styles(text)
    assert fragment in str(err.value)


def test_cyclic_extends_is_reported_with_the_cycle():
    a = GOOD.replace('vocal_type = ["instrumental"]', 'vocal_type = ["instrumental"]\nextends = "CORE-02"')
    b = a.replace('id = "CORE-01"', 'id = "CORE-02"').replace('extends = "CORE-02"', 'extends = "CORE-01"')
    with pytest.raises(StyleError, match="cyclic extends: CORE-0[12] -> CORE-0[12] -> CORE-0[12]"):
        parse_styles(a + b)


def test_syntax_error_gives_the_line():
    with pytest.raises(StyleError, match="line 6"):
        parse_styles(GOOD.replace('description = "d"', "description = d"))


def test_user_can_add_a_preset_via_env(tmp_path, monkeypatch):
    path = tmp_path / "styles.toml"
    path.write_text(GOOD.replace("CORE-01", "CORE-08"))
    monkeypatch.setenv("LOFI_STYLES", str(path))
    assert load_styles().ids == ["CORE-08"]

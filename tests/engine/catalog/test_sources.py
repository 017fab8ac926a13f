import pytest

from engine.catalog.sources import edit_source, load_sources
from engine.catalog.store import Catalog
from engine.catalog.track import Track
from engine.errors import SourcesError


def test_csv_with_aliases_and_case_insensitive_names(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("Filename,Store,License_Type,Price,Currency,Acquisition_Date,Link,Notes\n"
                 "Rain.MP3,Bandcamp,CC-BY-4.0,$3.00,eur,2026-09-30,https://x.invalid/1,bought on sale\n")
    rec = load_sources(p)["rain.mp3"]
    assert (rec.provider, rec.license, rec.cost, rec.currency, rec.acquired) == (
        "Bandcamp", "CC-BY-4.0", 3.0, "EUR", "2026-09-30")


def test_json_object_keyed_by_file(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('{"a.wav": {"license": "owned", "cost": 0}}')
    assert load_sources(p)["a.wav"].license == "owned"


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("file,license,cost\na.mp3,x,cheap\n", "line 2: cost 'cheap' is not a number"),
        ("file,license,acquired\na.mp3,x,03/02/2026\n", "not a date in YYYY-MM-DD"),
        ("file,licence,colour\na.mp3,x,red\n", "unknown column 'colour'"),
        ("file,license\n,x\n", "no file name"),
        ("", "empty CSV"),
    ],
)
def test_malformed_csv_names_the_line_and_problem(tmp_path, content, fragment):
    p = tmp_path / "s.csv"
    p.write_text(content)
    with pytest.raises(SourcesError, match=fragment.replace("(", r"\(").replace("$", r"\$")):
        load_sources(p)


def test_malformed_json_names_the_line(tmp_path):
    p = tmp_path / "s.json"
    p.write_text('[\n{"file": "a.mp3",\n "license": }\n]')
    with pytest.raises(SourcesError, match="line 3"):
        load_sources(p)


def test_edit_source_keeps_other_fields_and_the_license_flag(tmp_path):
    c = Catalog(tmp_path / "c.json")
    c.put(Track(id="abcd1234", source_path="/s/a.mp3", title="a", source_format="mp3", status="accepted",
                flags=["missing_license"]))
    edit_source(c, "abcd", {"provider": "Shop", "license": None})
    t = edit_source(c, "abcd", {"license": "royalty-free", "cost": "2.5", "acquired": "2026-01-31"})
    assert t.source.provider == "Shop" and t.source.license == "royalty-free" and t.source.cost == 2.5
    assert "missing_license" not in c.get("abcd1234").flags
    with pytest.raises(SourcesError, match="YYYY-MM-DD"):
        edit_source(c, "abcd", {"acquired": "yesterday"})

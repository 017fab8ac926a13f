"""``lofi report``: the page is checked in a real headless browser (Chromium) where the machine has one,
and by parsing the HTML everywhere."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from engine.evaluation.matrix import ClipSettings
from engine.evaluation.report import write_report
from engine.training import checkpoints as ckpt
from tests.runs import fake_clips, fake_run

STYLES = ["CORE-01", "SEASON-02"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Page(HTMLParser):
    """What a reader of the page gets: table rows, charts, players and every external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[list[str]]] = {}
        self.charts = 0
        self.audio: list[str] = []
        self.links: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = []
        elif tag == "tr" and self._table:
            self.rows[self._table].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "svg":
            self.charts += 1
        elif tag == "audio":
            self.audio.append(attrs["src"])
        for key in ("href", "src"):
            if key in attrs and tag != "audio":
                self.links.append(attrs[key])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.rows[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def run(workspace):
    run_dir = fake_run(workspace, [100, 200])
    (run_dir / "metrics.jsonl").write_text("".join(
        f'{{"type": "step", "step": {s}, "loss": {1.0 / s}, "lr": 0.0001, "grad_norm": 0.3, "step_time": 0.1}}\n'
        for s in range(1, 201)))
    for step in (None, 100):
        fake_clips(run_dir, step, STYLES, ClipSettings(1.0, 1, 0))
    (run_dir / "eval" / "step-100.json").write_text(
        '{"step": 100, "embedding": "builtin", "fad": 2.5, "fad_inf": 2.0, "clap": null, "clap_ratio": null, '
        '"distinctness": 0.5, "combined": 0.4}')
    (run_dir / "eval" / "best.json").write_text('{"step": 100, "combined": 0.4}')
    ckpt.mark_best(run_dir, 200, "less hiss <really>")
    return workspace


def _check_page(html: str, audio_prefix: str) -> Page:
    page = Page()
    page.feed(html)
    table = page.rows["checkpoints"]
    assert [r[0] for r in table[1:]] == ["base", "100", "200"]
    assert table[2][2] == "builtin" and table[2][4] == "2.0000" and "★" in table[2][-1] and "✎" in table[3][-1]
    assert "less hiss &lt;really&gt;" in html  # notes are text, not markup
    assert page.charts >= 3  # loss, FAD-inf, distinctness, combined
    matrix = page.rows["matrix"]
    assert matrix[0] == ["style", "base", "100", "200"]
    assert len(matrix) == 1 + 38 and matrix[1] == ["CORE-01", "", "", "not rendered"]
    assert len(page.audio) == 4 and all(src.startswith(audio_prefix) for src in page.audio)
    assert not [link for link in page.links if re.match(r"(https?:)?//", link)]  # nothing from the network
    return page


def _browser_durations(path) -> list[str]:
    """Load the page in headless Chromium and read the clip lengths its audio elements decoded."""
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=20000", "--dump-dom", path.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    return re.findall(r'class="dur">([^<]*)<', dom)


@pytest.mark.parametrize("audio", ["embed", "files"])
def test_report_holds_table_charts_and_players_and_plays_offline(run, tmp_path, audio):
    result = write_report(run, "r", tmp_path / "report", audio=audio)
    assert result.clips == 4 and result.missing == 38 * 3 - 4 and result.path == tmp_path / "report" / "index.html"
    html = result.path.read_text()
    _check_page(html, "data:audio/mpeg;base64," if audio == "embed" else "audio/")
    if audio == "files":
        assert sorted(p.relative_to(tmp_path / "report").as_posix() for p in (tmp_path / "report").rglob("*.mp3")) == [
            "audio/100/CORE-01.mp3", "audio/100/SEASON-02.mp3", "audio/base/CORE-01.mp3", "audio/base/SEASON-02.mp3"]
    if CHROMIUM:
        assert _browser_durations(result.path) == ["1.0 s"] * 4  # Chromium decoded every clip

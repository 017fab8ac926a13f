import pytest

from engine.labels.lyrics import INSTRUMENTAL, LyricsError, normalize_lyrics


def test_headers_in_many_shapes_become_ace_step_sections():
    text = "Intro:\nhmm\n\n[verse 1]\nwalking home\n(ooh)\n(PRE CHORUS)\nhold on\n[CHORUS]\nla la\nbridge:\nbreak\n[Outro]\nbye"
    assert normalize_lyrics(text) == (
        "[Intro]\nhmm\n\n[Verse]\nwalking home\n(ooh)\n\n[Pre-Chorus]\nhold on\n\n[Chorus]\nla la\n\n"
        "[Bridge]\nbreak\n\n[Outro]\nbye"
    )


def test_words_before_any_header_are_a_verse():
    assert normalize_lyrics("just words\nmore words") == "[Verse]\njust words\nmore words"


def test_unknown_section_is_an_error_naming_the_line():
    with pytest.raises(LyricsError, match=r"line 3: unknown section tag '\[Guitar Solo\]'"):
        normalize_lyrics("[Verse]\nwords\n[Guitar Solo]\nmore")


@pytest.mark.parametrize("text", ["", "   \n", "[Verse]\n[Chorus]\n"])
def test_empty_lyrics_are_refused(text):
    with pytest.raises(LyricsError):
        normalize_lyrics(text)


def test_instrumental_is_exact():
    assert normalize_lyrics("instrumental") == INSTRUMENTAL == "[Instrumental]"

"""The length an audio file declares for itself, read from its own headers.

A decoded length is judged against these declarations only: a WAV ``data`` chunk, FLAC STREAMINFO
total samples (0 means unknown), an MP3 Xing/Info or VBRI frame count (exact with a LAME tag's
encoder delay and padding), Ogg granule positions, and an MP4 track's edit list or media duration.
libsndfile and ffmpeg report a length for every file, but for an MP3 without a length header that
figure is an estimate from the bitrate and the file size, which is no promise (ID3 tags, cover art
and VBR all move it); those files declare nothing here.

References: the RIFF/WAVE and RF64 (EBU Tech 3306) chunk layouts, the FLAC format's STREAMINFO
block, ISO 11172-3 frame headers with the Xing/LAME and Fraunhofer VBRI header layouts, RFC 3533
(Ogg pages) with the Vorbis I and RFC 7845 (Opus) identification headers, and ISO 14496-12 boxes.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Declared:
    """What the headers promise. ``frames`` counts at ``rate``; None when the file states no length."""

    frames: int | None = None
    rate: int | None = None
    source: str = ""  # which header said so, for messages: "WAV data chunk", "Xing header"...
    cut: str | None = None  # set when the container itself shows the file ends mid-stream

    @property
    def seconds(self) -> float | None:
        return self.frames / self.rate if self.frames is not None and self.rate else None


UNKNOWN = Declared()


def declared_length(path: Path, fmt: str) -> Declared:
    """Read ``path``'s own length declaration; :data:`UNKNOWN` when it has none we can trust."""
    reader = _READERS.get(fmt)
    if reader is None:
        return UNKNOWN
    with open(path, "rb") as fh:
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return UNKNOWN
        with data:
            try:
                return reader(data)
            except (struct.error, IndexError, ValueError):
                return UNKNOWN  # a header too damaged to read states nothing; the decoder judges the rest


# -- WAV ------------------------------------------------------------------------------------------

_WAV_STREAMED = 0xFFFFFFFF  # the data size a writer leaves when it cannot seek back (a pipe)


@dataclass(frozen=True)
class WavLayout:
    channels: int
    rate: int
    block_align: int
    data_start: int
    data_size: int | None  # None: not stated (streamed)


def wav_layout(data: bytes | mmap.mmap) -> WavLayout | None:
    """The fmt and data chunks of a RIFF/RF64 WAVE file (fmt first, as the format requires; LIST anywhere)."""
    if data[:4] not in (b"RIFF", b"RF64", b"BW64") or data[8:12] != b"WAVE":
        return None
    pos, fmt, big_data = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"ds64":  # RF64: the real 64-bit sizes, data size second
            big_data = struct.unpack_from("<Q", data, body + 8)[0]
        elif cid == b"fmt ":
            channels, rate = struct.unpack_from("<HI", data, body + 2)
            fmt = (channels, rate, struct.unpack_from("<H", data, body + 12)[0])
        elif cid == b"data":
            if fmt is None or not all(fmt):
                return None
            if size == _WAV_STREAMED:
                size = big_data
            return WavLayout(*fmt, body, size or None)
        pos = body + size + (size & 1)
    return None


def _wav(data: mmap.mmap) -> Declared:
    layout = wav_layout(data)
    if layout is None or layout.data_size is None:
        return UNKNOWN
    return Declared(layout.data_size // layout.block_align, layout.rate, "WAV data chunk")


# -- FLAC -----------------------------------------------------------------------------------------


def _skip_id3v2(data: mmap.mmap, pos: int = 0) -> int:
    """Offset after any ID3v2 tags at ``pos`` (size is 4 x 7-bit "syncsafe" bytes, +10 with a footer)."""
    while data[pos : pos + 3] == b"ID3" and pos + 10 <= len(data):
        size = 0
        for b in data[pos + 6 : pos + 10]:
            size = (size << 7) | (b & 0x7F)
        pos += 10 + size + (10 if data[pos + 5] & 0x10 else 0)
    return pos


def _flac(data: mmap.mmap) -> Declared:
    pos = _skip_id3v2(data)
    if data[pos : pos + 4] != b"fLaC" or data[pos + 4] & 0x7F != 0:  # STREAMINFO must come first
        return UNKNOWN
    bits = int.from_bytes(data[pos + 8 + 10 : pos + 8 + 18], "big")
    rate, total = bits >> 44, bits & 0xFFFFFFFFF
    if not rate or not total:  # 0 total samples: "unknown", e.g. encoded to a pipe
        return UNKNOWN
    return Declared(total, rate, "FLAC STREAMINFO")


# -- MP3 ------------------------------------------------------------------------------------------

_MP3_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


@dataclass(frozen=True)
class _Mp3Frame:
    mpeg1: bool
    rate: int
    length: int  # bytes
    mono: bool

    @property
    def samples(self) -> int:
        return 1152 if self.mpeg1 else 576


def _mp3_frame(data: mmap.mmap, pos: int) -> _Mp3Frame | None:
    """The Layer III frame header at ``pos``, or None if there is none."""
    if pos + 4 > len(data):
        return None
    h = int.from_bytes(data[pos : pos + 4], "big")
    version, layer, br_index, sr_index = (h >> 19) & 3, (h >> 17) & 3, (h >> 12) & 15, (h >> 10) & 3
    if (h >> 21) != 0x7FF or version == 1 or layer != 1 or br_index in (0, 15) or sr_index == 3:
        return None
    mpeg1 = version == 3
    rate = _MP3_RATES[version][sr_index]
    kbps = _MP3_BITRATES[1 if mpeg1 else 2][br_index]
    length = (144 if mpeg1 else 72) * kbps * 1000 // rate + ((h >> 9) & 1)
    return _Mp3Frame(mpeg1, rate, length, ((h >> 6) & 3) == 3)


def _first_mp3_frame(data: mmap.mmap) -> tuple[int, _Mp3Frame] | None:
    """The first frame header that the next frame confirms (a lone 0xFFE sync can be noise)."""
    pos = _skip_id3v2(data)
    limit = min(len(data), pos + (1 << 20))
    while pos < limit:
        pos = data.find(b"\xff", pos, limit)
        if pos < 0:
            return None
        frame = _mp3_frame(data, pos)
        if frame is not None:
            following = _mp3_frame(data, pos + frame.length)
            if following is not None and following.rate == frame.rate:
                return pos, frame
        pos += 1
    return None


def _mp3(data: mmap.mmap) -> Declared:
    found = _first_mp3_frame(data)
    if found is None:
        return UNKNOWN
    pos, frame = found
    side_info = (32 if not frame.mono else 17) if frame.mpeg1 else (17 if not frame.mono else 9)
    xing = pos + 4 + side_info
    if data[xing : xing + 4] in (b"Xing", b"Info"):
        flags = struct.unpack_from(">I", data, xing + 4)[0]
        if not flags & 1:
            return UNKNOWN
        frames = struct.unpack_from(">I", data, xing + 8)[0]
        total = frames * frame.samples
        lame = xing + 8 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
        if data[lame : lame + 4].isalnum():  # LAME tag (LAME, Lavc, Lavf...): encoder delay and padding
            packed = int.from_bytes(data[lame + 21 : lame + 24], "big")
            total -= (packed >> 12) + (packed & 0xFFF)
            return Declared(total, frame.rate, "Xing header with LAME tag") if total > 0 else UNKNOWN
        return Declared(total, frame.rate, "Xing header") if total > 0 else UNKNOWN
    vbri = pos + 4 + 32
    if data[vbri : vbri + 4] == b"VBRI":
        delay = struct.unpack_from(">H", data, vbri + 6)[0]
        frames = struct.unpack_from(">I", data, vbri + 14)[0]
        total = frames * frame.samples - delay
        return Declared(total, frame.rate, "VBRI header") if total > 0 else UNKNOWN
    return UNKNOWN


# -- Ogg ------------------------------------------------------------------------------------------

_OGG_PAGE = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, sequence, crc, segments
_OGG_EOS = 0x04


def _ogg(data: mmap.mmap) -> Declared:
    """Walk the pages of the first logical stream: its last granule position is its length."""
    pos, serial, codec, rate, pre_skip, last_granule, ended = 0, None, None, 0, 0, None, False
    size = len(data)
    while True:
        pos = data.find(b"OggS", pos)
        if pos < 0 or pos + _OGG_PAGE.size > size:
            break
        _, _, flags, granule, page_serial, _, _, segments = _OGG_PAGE.unpack_from(data, pos)
        body = pos + _OGG_PAGE.size + segments
        end = body + sum(data[pos + _OGG_PAGE.size : body])
        if body > size or end > size:
            return Declared(None, None, "", "the file ends inside an Ogg page (cut mid-stream)")
        if serial is None:
            serial = page_serial
            head = data[body:end]
            if head[:7] == b"\x01vorbis":
                codec, rate = "vorbis", struct.unpack_from("<I", head, 12)[0]
            elif head[:8] == b"OpusHead":
                codec, rate, pre_skip = "opus", 48_000, struct.unpack_from("<H", head, 10)[0]
        if page_serial == serial:
            if granule >= 0:
                last_granule = granule
            ended = bool(flags & _OGG_EOS)
        pos = end
    if serial is None:
        return UNKNOWN
    if not ended:
        return Declared(None, None, "", "the Ogg stream has no end-of-stream page (cut mid-stream)")
    if codec is None or last_granule is None or last_granule - pre_skip <= 0:
        return UNKNOWN
    return Declared(last_granule - pre_skip, rate, "Ogg granule position")


# -- MP4 / M4A ------------------------------------------------------------------------------------


def _boxes(data: mmap.mmap, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, box end) of each ISO BMFF box in ``data[start:end]``."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, pos + size
        pos += size


def _child(data: mmap.mmap, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, body, box_end in _boxes(data, start, end):
        if k == kind:
            return body, min(box_end, end)
    return None


# Boxes an MP4/M4A (or QuickTime) file can start with; anything else is not this format at all.
_MP4_TOP_LEVEL = frozenset({b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pdin", b"uuid"})


def _m4a(data: mmap.mmap) -> Declared:
    size = len(data)
    if data[4:8] not in _MP4_TOP_LEVEL:
        return UNKNOWN
    moov = None
    for kind, body, end in _boxes(data, 0, size):
        if end > size:
            where = kind.decode("latin-1")
            return Declared(None, None, "", f"the file ends inside its '{where}' box (cut mid-stream)")
        if kind == b"moov":
            moov = (body, end)
    if moov is None:
        return UNKNOWN
    mvhd = _child(data, *moov, b"mvhd")
    movie_scale = _timescale_duration(data, mvhd[0])[0] if mvhd else 0
    for kind, body, end in _boxes(data, *moov):
        if kind != b"trak":
            continue
        mdia = _child(data, body, end, b"mdia")
        hdlr = _child(data, *mdia, b"hdlr") if mdia else None
        if mdia is None or hdlr is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"soun":
            continue
        mdhd = _child(data, *mdia, b"mdhd")
        if mdhd is None:
            return UNKNOWN
        scale, duration = _timescale_duration(data, mdhd[0])
        edts = _child(data, body, end, b"edts")
        elst = _child(data, *edts, b"elst") if edts else None
        if elst is not None and movie_scale:
            shown = _edit_list_duration(data, elst[0])
            if shown:
                return Declared(shown * scale // movie_scale, scale, "MP4 edit list")
        return Declared(duration, scale, "MP4 media header") if duration and scale else UNKNOWN
    return UNKNOWN


def _timescale_duration(data: mmap.mmap, body: int) -> tuple[int, int]:
    """(timescale, duration) of an mvhd/mdhd full box (version 0: 32-bit times, 1: 64-bit)."""
    if data[body] == 1:
        return struct.unpack_from(">IQ", data, body + 20)
    return struct.unpack_from(">II", data, body + 12)


def _edit_list_duration(data: mmap.mmap, body: int) -> int:
    """Presented duration: the sum of the edits that show media (an empty edit has media time -1)."""
    version, count = data[body], struct.unpack_from(">I", data, body + 4)[0]
    entry = struct.Struct(">Qq" if version == 1 else ">Ii")
    step = entry.size + 4
    total = 0
    for i in range(count):
        duration, media_time = entry.unpack_from(data, body + 8 + i * step)
        if media_time >= 0:
            total += duration
    return total


_READERS = {"wav": _wav, "flac": _flac, "mp3": _mp3, "ogg": _ogg, "m4a": _m4a}

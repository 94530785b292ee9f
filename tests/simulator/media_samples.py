"""Hand-built media files for the simulator's probes (independent of the simulator's own writers)."""

from __future__ import annotations

import struct

from mutagen.ogg import OggPage

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def flac(seconds: float, rate: int = 44100, channels: int = 2) -> bytes:
    total = round(seconds * rate)
    packed = (rate << 44) | ((channels - 1) << 41) | (15 << 36) | total
    streaminfo = struct.pack(">HH", 4096, 4096) + bytes(6) + packed.to_bytes(8, "big") + bytes(16)
    return b"fLaC" + bytes([0x80]) + len(streaminfo).to_bytes(3, "big") + streaminfo


def ogg_opus(seconds: float, pre_skip: int = 312) -> bytes:
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", pre_skip, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    pages = []
    for sequence, (packet, position) in enumerate(
        [(head, 0), (tags, 0), (b"\xfc" * 8, pre_skip + round(seconds * 48000))]
    ):
        page = OggPage()
        page.serial, page.sequence, page.position = 7, sequence, position
        page.packets = [packet]
        page.first = sequence == 0
        page.last = sequence == 2
        pages.append(page.write())
    return b"".join(pages)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(seconds: float, *, brand: bytes = b"isom", handler: bytes | None = b"vide", version: int = 0) -> bytes:
    if version == 1:
        mvhd = bytes([1, 0, 0, 0]) + bytes(16) + struct.pack(">IQ", 600, round(seconds * 600)) + bytes(80)
    else:
        mvhd = bytes(4) + bytes(8) + struct.pack(">II", 1000, round(seconds * 1000)) + bytes(80)
    moov = _box(b"mvhd", mvhd)
    if handler is not None:
        hdlr = _box(b"hdlr", bytes(8) + handler + bytes(12) + b"\x00")
        moov += _box(b"trak", _box(b"mdia", hdlr))
    return _box(b"ftyp", brand + bytes(4) + brand) + _box(b"moov", moov) + _box(b"mdat", bytes(32))


def _element(element_id: bytes, payload: bytes) -> bytes:
    return element_id + (len(payload) | (1 << 56)).to_bytes(8, "big") + payload


def webm(seconds: float, *, track_type: int = 1) -> bytes:
    header = _element(b"\x1a\x45\xdf\xa3", _element(b"\x42\x82", b"webm"))
    info = _element(
        b"\x15\x49\xa9\x66",
        _element(b"\x2a\xd7\xb1", (1_000_000).to_bytes(3, "big"))
        + _element(b"\x44\x89", struct.pack(">d", seconds * 1000)),
    )
    tracks = _element(b"\x16\x54\xae\x6b", _element(b"\xae", _element(b"\x83", bytes([track_type]))))
    return header + _element(b"\x18\x53\x80\x67", info + tracks)

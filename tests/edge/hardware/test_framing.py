"""Pure decoders: keycodes to barcodes, scale frames to grams, stability."""

from __future__ import annotations

from datetime import UTC, datetime

import evdev
import pytest
from evdev import ecodes
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge.hardware import framing
from edge.hardware.fakes import key_events, key_input_events
from edge.hardware.framing import (
    GenericLineDecoder,
    KeyDecoder,
    LineDecoder,
    Reading,
    StabilityTracker,
    ToledoDecoder,
    YaohuaA9Decoder,
    decode_key_events,
)

SPEC_BARCODES = [
    "SF1234567890123",
    "JD0001234567-1-1-",
    "YT9876543210987",
    "https://x.cn/a?b=C_d",
    "(01)09501101530003",
]


# ---------------------------------------------------------------- scanner keys


def test_key_table_matches_evdev_constants() -> None:
    names = {
        "KEY_A": "a", "KEY_Z": "z", "KEY_1": "1", "KEY_0": "0", "KEY_MINUS": "-",
        "KEY_SLASH": "/", "KEY_SEMICOLON": ";", "KEY_APOSTROPHE": "'", "KEY_DOT": ".",
        "KEY_SPACE": " ", "KEY_GRAVE": "`", "KEY_BACKSLASH": "\\", "KEY_LEFTBRACE": "[",
    }
    for name, char in names.items():
        assert framing.US_KEYMAP[getattr(ecodes, name)][0] == char
    for name, char in {"KEY_KP0": "0", "KEY_KP7": "7", "KEY_KPMINUS": "-", "KEY_KPSLASH": "/",
                       "KEY_KPASTERISK": "*", "KEY_KPDOT": ".", "KEY_KPPLUS": "+"}.items():
        assert framing.KEYPAD_MAP[getattr(ecodes, name)] == char
    assert framing.KEY_ENTER == ecodes.KEY_ENTER and framing.KEY_KPENTER == ecodes.KEY_KPENTER
    assert framing.KEY_LEFTSHIFT == ecodes.KEY_LEFTSHIFT and framing.KEY_CAPSLOCK == ecodes.KEY_CAPSLOCK


def _ev(type_: int, code: int, value: int) -> evdev.InputEvent:
    return evdev.InputEvent(0, 0, type_, code, value)


def test_spec_event_stream_of_one_scan() -> None:
    # spec §1.1: the exact stream for "S" + Enter
    stream = [
        _ev(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 1),
        _ev(ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000),
        _ev(ecodes.EV_KEY, ecodes.KEY_S, 1),
        _ev(ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
        _ev(ecodes.EV_KEY, ecodes.KEY_S, 0),
        _ev(ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
        _ev(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 0),
        _ev(ecodes.EV_KEY, ecodes.KEY_ENTER, 1),
        _ev(ecodes.EV_KEY, ecodes.KEY_ENTER, 0),
        _ev(ecodes.EV_SYN, ecodes.SYN_REPORT, 0),
    ]
    assert decode_key_events(stream) == ["S"]


@pytest.mark.parametrize("code", SPEC_BARCODES)
def test_spec_barcodes_round_trip_through_synthetic_events(code: str) -> None:
    events = key_input_events(code)
    assert all(isinstance(e, evdev.InputEvent) for e in events)
    assert decode_key_events(events) == [code]  # type: ignore[arg-type]


def test_autorepeat_and_key_up_are_ignored() -> None:
    d = KeyDecoder()
    for value in (1, 2, 2, 0):
        assert d.feed(ecodes.EV_KEY, ecodes.KEY_A, value) is None
    assert d.feed(ecodes.EV_KEY, ecodes.KEY_ENTER, 1) == "a"


def test_empty_enter_yields_nothing_and_kpenter_terminates() -> None:
    d = KeyDecoder()
    assert d.feed(ecodes.EV_KEY, ecodes.KEY_ENTER, 1) is None
    d.feed(ecodes.EV_KEY, ecodes.KEY_KP4, 1)
    d.feed(ecodes.EV_KEY, ecodes.KEY_LEFTSHIFT, 1)
    d.feed(ecodes.EV_KEY, ecodes.KEY_KPMINUS, 1)  # keypad ignores shift
    assert d.feed(ecodes.EV_KEY, ecodes.KEY_KPENTER, 1) == "4-"


def test_tab_terminates_only_when_asked() -> None:
    assert decode_key_events(key_events("AB", terminator="tab")) == []
    assert decode_key_events(key_events("AB", terminator="tab"), tab_terminates=True) == ["AB"]


def test_capslock_swaps_letter_case_only() -> None:
    d = KeyDecoder()
    d.feed(1, ecodes.KEY_CAPSLOCK, 1)
    d.feed(1, ecodes.KEY_CAPSLOCK, 0)
    for key in (ecodes.KEY_S, ecodes.KEY_1):
        d.feed(1, key, 1)
    d.feed(1, ecodes.KEY_RIGHTSHIFT, 1)
    d.feed(1, ecodes.KEY_F, 1)
    d.feed(1, ecodes.KEY_1, 1)
    assert d.feed(1, ecodes.KEY_ENTER, 1) == "S1f!"


def test_overlong_buffer_drops_extra_characters() -> None:
    d = KeyDecoder(max_length=3)
    out = list(d.decode(key_events("ABCDE")))
    assert out == ["ABC"] and d.dropped == 2


def test_alt_keypad_mode() -> None:
    # Datalogic "Alt + keypad" emulation: NUMLOCK, then LEFTALT held around KP0 KP6 KP5 ('A')
    kp = {"0": ecodes.KEY_KP0, "2": ecodes.KEY_KP2, "4": ecodes.KEY_KP4, "5": ecodes.KEY_KP5, "6": ecodes.KEY_KP6}
    d = KeyDecoder()
    d.feed(1, ecodes.KEY_NUMLOCK, 1)
    for digits in ("065", "045", "0200"):
        d.feed(1, ecodes.KEY_LEFTALT, 1)
        for ch in digits:
            d.feed(1, kp[ch], 1)
            d.feed(1, kp[ch], 0)
        d.feed(1, ecodes.KEY_LEFTALT, 0)
    assert d.feed(1, ecodes.KEY_ENTER, 1) == "A-"
    assert d.dropped == 2  # NUMLOCK has no character; code 200 is outside printable ASCII


def test_several_scans_in_one_stream() -> None:
    events = key_events("SF1") + key_events("jd-2") + key_events("X")
    assert decode_key_events(events) == ["SF1", "jd-2", "X"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 800), st.integers(-5, 5)), max_size=200))
def test_key_decoder_never_raises(events: list[tuple[int, int, int]]) -> None:
    d = KeyDecoder(tab_terminates=True)
    for t, c, v in events:
        out = d.feed(t, c, v)
        assert out is None or (0 < len(out) <= d.max_length)


@given(st.text(alphabet="".join(sorted({*"".join(a + b for a, b in framing.US_KEYMAP.values())} - {" "})), min_size=1, max_size=40))
def test_any_us_printable_code_round_trips(code: str) -> None:
    assert decode_key_events(key_events(code)) == [code]


def test_line_decoder_cr_lf_and_overflow() -> None:
    d = LineDecoder(max_length=5)
    assert d.feed(b"SF1\r\nJD") == ["SF1"]
    assert d.feed(b"2\r\r\n") == ["JD2"]
    assert d.feed(b"TOOLONG\rok\n") == ["ok"]
    assert d.bad_lines == 1
    assert LineDecoder().feed("顺丰\r".encode("gb18030")) == ["顺丰"]


# ---------------------------------------------------------------- Yaohua A9

YAOHUA_SPEC = [
    (b"\x02+001560019\x03", 1_560_000),
    (b"\x02+023960015\x03", 23_960_000),
    (bytes.fromhex("022b3030303132353131 43 03".replace(" ", "")), 12_500),
    (bytes.fromhex("022b303030303334313144 03".replace(" ", "")), 3_400),
    (bytes.fromhex("022b303030303030313141 03".replace(" ", "")), 0),
    (bytes.fromhex("022d303030303031313144 03".replace(" ", "")), -100),
]


@pytest.mark.parametrize(("frame", "grams"), YAOHUA_SPEC)
def test_yaohua_spec_frames(frame: bytes, grams: int) -> None:
    d = YaohuaA9Decoder()
    assert d.feed(frame) == [Reading(grams=grams, stable=None)]
    assert d.bad_frames == 0


def test_yaohua_stream_split_anywhere_with_noise() -> None:
    stream = b"9\x03" + b"".join(f for f, _ in YAOHUA_SPEC)
    d = YaohuaA9Decoder()
    out = []
    for i in range(0, len(stream), 5):
        out += d.feed(stream[i : i + 5])
    assert [r.grams for r in out] == [g for _, g in YAOHUA_SPEC]
    assert d.bad_frames == 0


def test_yaohua_bad_checksum_dropped_and_counted() -> None:
    d = YaohuaA9Decoder()
    bad = b"\x02+00012511D\x03"  # XOR is 1C
    assert d.feed(bad + b"\x02+00003411D\x03") == [Reading(3400, None)]
    assert d.bad_frames == 1


def test_yaohua_truncated_frame_resyncs_on_next_stx() -> None:
    d = YaohuaA9Decoder()
    assert d.feed(b"\x02+0001\x02+00012511C\x03") == [Reading(12_500, None)]
    assert d.bad_frames == 1


def test_yaohua_encoder_reproduces_captured_frame() -> None:
    assert framing.encode_yaohua_a9(1_560_000, decimals=0) == b"\x02+001560019\x03"
    assert framing.encode_yaohua_a9(-100, decimals=1) == b"\x02-00000111D\x03"


# ---------------------------------------------------------------- Toledo


def _toledo(swa: int, swb: int, swc: int, weight: bytes, tare: bytes = b"000000") -> bytes:
    return bytes([0x02, swa, swb, swc]) + weight + tare + b"\r"


def test_toledo_status_bits() -> None:
    d = ToledoDecoder()
    # SWA 0x23: bit5 + dp code 3 (x0.1); SWB 0x30: kg, stable, positive
    assert d.feed(_toledo(0x23, 0x30, 0x20, b"012345")) == [Reading(1_234_500, True)]
    # motion (SWB bit 3) and negative (bit 1), dp code 5 (x0.001)
    assert d.feed(_toledo(0x25, 0x30 | 0x08 | 0x02, 0x20, b"001500")) == [Reading(-1500, False)]
    # lb (SWB bit 4 clear), dp code 4 (x0.01): 2.00 lb = 907.18474 g
    assert d.feed(_toledo(0x24, 0x20, 0x20, b"000200")) == [Reading(907, True)]
    # grams via unit extension 1, dp code 2 (x1)
    assert d.feed(_toledo(0x22, 0x30, 0x21, b"000750")) == [Reading(750, True)]
    # over/under range: not stable, flagged
    assert d.feed(_toledo(0x22, 0x30 | 0x04, 0x20, b"999999")) == [Reading(999_999_000, False, True)]
    assert d.bad_frames == 0


def test_toledo_optional_checksum_byte_and_bad_frames() -> None:
    d = ToledoDecoder()
    good = _toledo(0x25, 0x30, 0x20, b"001234")
    assert d.feed(good + b"\x55" + good) == [Reading(1234, True)] * 2
    assert d.feed(_toledo(0x05, 0x30, 0x20, b"001234")) == []  # SWA bit 5 missing
    assert d.feed(_toledo(0x25, 0x30, 0x20, b"00X234")) == []
    assert d.bad_frames == 2


# ---------------------------------------------------------------- generic line


def test_generic_lines() -> None:
    d = GenericLineDecoder()
    data = b"ST,GS,+  1.250kg\r\nUS,NT,-  0.010kg\r\nST,GS,+000000.kg\r\nOL,GS,+ 99.999kg\r\nST,GS,+ 250g\r\n"
    assert d.feed(data) == [
        Reading(1250, True),
        Reading(-10, False),
        Reading(0, True),
        Reading(99_999, False, True),
        Reading(250, True),
    ]
    assert d.feed(b"garbage\r\nST,GS,+1.2.3kg\n") == []
    assert d.bad_frames == 2


# ---------------------------------------------------------------- stability


def test_stability_needs_n_equal_reads_without_flag() -> None:
    t = StabilityTracker(count=3)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    flags = [t.update(Reading(g, None), at).stable for g in (100, 100, 100, 100, 120, 120, 120)]
    assert flags == [False, False, True, True, False, False, True]


def test_stability_tolerance_and_flag_and_overload() -> None:
    t = StabilityTracker(count=2, tolerance_g=2)
    assert [t.update(Reading(g, None)).stable for g in (100, 102, 103)] == [False, True, False]
    assert t.update(Reading(5, True)).stable is True  # the scale's flag wins
    assert t.update(Reading(5, False)).stable is False
    w = t.update(Reading(5, True, overload=True))
    assert w.overload and not w.stable


# ---------------------------------------------------------------- fuzz


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=30), st.sampled_from(sorted(framing.PROTOCOLS)))
def test_scale_decoders_never_raise(chunks: list[bytes], protocol: str) -> None:
    d = framing.make_decoder(protocol)
    for chunk in chunks:
        for r in d.feed(chunk):
            assert isinstance(r.grams, int)
    assert d.bad_frames >= 0


@settings(max_examples=200, deadline=None)
@given(st.integers(-999_999, 999_999), st.integers(0, 4), st.binary(max_size=20))
def test_yaohua_frames_survive_noise(grams: int, decimals: int, noise: bytes) -> None:
    assume(abs(grams) * 10**decimals <= 999_999 * 1000)  # six digits
    frame = framing.encode_yaohua_a9(grams, decimals)
    d = YaohuaA9Decoder()
    d.feed(noise.replace(b"\x02", b""))
    out = d.feed(frame)
    assert len(out) == 1
    assert abs(out[0].grams - grams) <= max(1, 10 ** (3 - decimals) // 2)

"""Pure decoders: evdev key events to barcodes, scale byte streams to readings.

Nothing here touches a device or imports a device library, so every rule is unit-tested
with plain bytes and plain ``(type, code, value)`` events (like pySerial's ``Packetizer``,
framing lives apart from transport). Decoders never raise on bad input: a bad frame is
dropped and counted in ``bad_frames``.

Sources: ``docs/specs/edge-devices-sync-backup.md`` §1.1 (key table), §2.1 (Yaohua A9),
§2.3 (Mettler-Toledo standard continuous), §2.4 (``ST,GS,+  1.234kg``), §2.7 (stability).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from edge.hardware.ports import Weight

# --------------------------------------------------------------------------- scanner

EV_SYN = 0
EV_KEY = 1
EV_MSC = 4

KEY_TAB = 15
KEY_ENTER = 28
KEY_LEFTSHIFT = 42
KEY_RIGHTSHIFT = 54
KEY_LEFTALT = 56
KEY_CAPSLOCK = 58
KEY_KPENTER = 96

KEY_DOWN, KEY_UP, KEY_HOLD = 1, 0, 2

#: US layout: evdev key code -> (unshifted, shifted).
US_KEYMAP: dict[int, tuple[str, str]] = {
    2: ("1", "!"), 3: ("2", "@"), 4: ("3", "#"), 5: ("4", "$"), 6: ("5", "%"),
    7: ("6", "^"), 8: ("7", "&"), 9: ("8", "*"), 10: ("9", "("), 11: ("0", ")"),
    12: ("-", "_"), 13: ("=", "+"),
    16: ("q", "Q"), 17: ("w", "W"), 18: ("e", "E"), 19: ("r", "R"), 20: ("t", "T"),
    21: ("y", "Y"), 22: ("u", "U"), 23: ("i", "I"), 24: ("o", "O"), 25: ("p", "P"),
    26: ("[", "{"), 27: ("]", "}"),
    30: ("a", "A"), 31: ("s", "S"), 32: ("d", "D"), 33: ("f", "F"), 34: ("g", "G"),
    35: ("h", "H"), 36: ("j", "J"), 37: ("k", "K"), 38: ("l", "L"),
    39: (";", ":"), 40: ("'", '"'), 41: ("`", "~"), 43: ("\\", "|"),
    44: ("z", "Z"), 45: ("x", "X"), 46: ("c", "C"), 47: ("v", "V"), 48: ("b", "B"),
    49: ("n", "N"), 50: ("m", "M"),
    51: (",", "<"), 52: (".", ">"), 53: ("/", "?"),
    57: (" ", " "),
}

#: Keypad keys: the same character whether or not Shift is held.
KEYPAD_MAP: dict[int, str] = {
    71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+",
    79: "1", 80: "2", 81: "3", 82: "0", 83: ".", 55: "*", 98: "/",
}


class KeyEventLike(Protocol):
    """Anything with the three fields of ``evdev.InputEvent`` the decoder reads."""

    @property
    def type(self) -> int: ...
    @property
    def code(self) -> int: ...
    @property
    def value(self) -> int: ...


class KeyDecoder:
    """Turns a keyboard-wedge scanner's evdev events into complete barcodes (docs/specs/edge-devices-sync-backup.md §1.1).

    Feed every event; ``feed`` returns the barcode when a terminator (Enter, keypad
    Enter, optionally Tab) ends a non-empty buffer, else None. Key-up and autorepeat
    are ignored, Shift is tracked on down and up, CapsLock toggles letter case, and
    characters beyond ``max_length`` are dropped (counted in ``dropped``).

    Alt-keypad mode (a scanner holding Left Alt while typing a character's decimal code
    on the keypad, docs/specs/edge-devices-sync-backup.md §1.1) is decoded for printable ASCII codes 32–126; other codes
    are dropped, since their code page is unverified.
    """

    def __init__(self, *, tab_terminates: bool = False, max_length: int = 256) -> None:
        self.tab_terminates = tab_terminates
        """Whether Tab ends a barcode like Enter does."""
        self.max_length = max_length
        """Longest barcode kept; further characters are dropped."""
        self.dropped = 0
        """Characters dropped: over-long buffers and keys with no US-layout meaning."""
        self._buf: list[str] = []
        self._shift: set[int] = set()
        self._caps = False
        self._alt = False
        self._alt_digits = ""

    def reset(self) -> None:
        """Forget the partial barcode and modifier state (e.g. after the device was replugged)."""
        self._buf.clear()
        self._shift.clear()
        self._caps = False
        self._alt = False
        self._alt_digits = ""

    def feed(self, type_: int, code: int, value: int) -> str | None:
        """Consume one event; return a finished barcode or None."""
        if type_ != EV_KEY:
            return None
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if value == KEY_UP:
                self._shift.discard(code)
            else:
                self._shift.add(code)
            return None
        if code == KEY_LEFTALT:
            if value == KEY_DOWN:
                self._alt, self._alt_digits = True, ""
            elif value == KEY_UP:
                self._alt = False
                digits, self._alt_digits = self._alt_digits, ""
                if digits:
                    if 32 <= int(digits) <= 126:
                        self._append(chr(int(digits)))
                    else:
                        self.dropped += 1
            return None
        if value != KEY_DOWN:
            return None
        if self._alt:
            digit = KEYPAD_MAP.get(code, "")
            if digit.isdigit() and len(self._alt_digits) < 4:
                self._alt_digits += digit
            return None
        if code == KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER) or (code == KEY_TAB and self.tab_terminates):
            if not self._buf:
                return None
            out = "".join(self._buf)
            self._buf.clear()
            return out
        char = KEYPAD_MAP.get(code)
        if char is None:
            pair = US_KEYMAP.get(code)
            if pair is None:
                self.dropped += 1
                return None
            char = pair[1] if self._shift else pair[0]
            if self._caps and char.isalpha():
                char = char.swapcase()
        self._append(char)
        return None

    def _append(self, char: str) -> None:
        if len(self._buf) >= self.max_length:
            self.dropped += 1
        else:
            self._buf.append(char)

    def feed_event(self, event: KeyEventLike) -> str | None:
        """Consume an ``evdev.InputEvent`` (or anything with type, code and value)."""
        return self.feed(int(event.type), int(event.code), int(event.value))

    def decode(self, events: Iterable[KeyEventLike]) -> Iterator[str]:
        """Yield every barcode completed by ``events``."""
        for event in events:
            code = self.feed_event(event)
            if code is not None:
                yield code


def decode_key_events(
    events: Iterable[KeyEventLike], *, tab_terminates: bool = False
) -> list[str]:
    """Decode a whole event stream to its barcodes (convenience for tests and tools)."""
    return list(KeyDecoder(tab_terminates=tab_terminates).decode(events))


class LineDecoder:
    """Splits a serial scanner's byte stream into barcodes at CR and/or LF (docs/specs/edge-devices-sync-backup.md §1.3).

    Empty lines are skipped; a line longer than ``max_length`` bytes is dropped and
    counted in ``bad_lines``. Bytes are decoded as UTF-8, falling back to GB18030.
    """

    def __init__(self, *, max_length: int = 256) -> None:
        self.max_length = max_length
        """Longest line kept."""
        self.bad_lines = 0
        """Lines dropped for length."""
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[str]:
        """Consume bytes; return the barcodes they complete."""
        out: list[str] = []
        for byte in data:
            if byte in (0x0D, 0x0A):
                if self._overflow:
                    self.bad_lines += 1
                elif self._buf:
                    out.append(_decode_text(bytes(self._buf)))
                self._buf.clear()
                self._overflow = False
            elif len(self._buf) >= self.max_length:
                self._overflow = True
            else:
                self._buf.append(byte)
        return out


def _decode_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


# --------------------------------------------------------------------------- scales


@dataclass(frozen=True, slots=True)
class Reading:
    """One valid scale frame, converted to integer grams.

    ``stable`` is the scale's own flag, or None when the protocol has none (Yaohua A9).
    """

    grams: int
    stable: bool | None
    overload: bool = False


class FrameDecoder(Protocol):
    """A stateful byte-stream decoder for one scale protocol."""

    bad_frames: int

    def feed(self, data: bytes) -> list[Reading]: ...


STX, ETX, CR, LF = 0x02, 0x03, 0x0D, 0x0A
_MAX_BUFFER = 4096


def _grams(value: Fraction) -> int:
    """Round a gram count half away from zero."""
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


def _nibble(n: int) -> int:
    return n + 0x30 if n <= 9 else n + 0x37


class _StxFrameDecoder:
    """Fixed-length frames that start with STX: find STX, take ``FRAME_LEN`` bytes, parse.

    A bad frame is counted and skipped by one byte, so the reader resyncs at the next STX;
    nothing here raises on bad input.
    """

    FRAME_LEN = 0
    """Bytes per frame, STX included."""

    def __init__(self) -> None:
        self.bad_frames = 0
        """Frames with a wrong length, character, status byte or checksum."""
        self._buf = bytearray()

    @staticmethod
    def parse(frame: bytes) -> Reading | None:
        """One frame's reading, or None when the frame is not valid."""
        return None

    def feed(self, data: bytes) -> list[Reading]:
        """Consume bytes; return the readings of every complete valid frame."""
        self._buf += data
        out: list[Reading] = []
        while True:
            start = self._buf.find(STX)
            if start < 0:
                self._buf.clear()
                break
            del self._buf[:start]
            if len(self._buf) < self.FRAME_LEN:
                break
            reading = self.parse(bytes(self._buf[: self.FRAME_LEN]))
            if reading is None:
                self.bad_frames += 1
                del self._buf[:1]  # resync at the next STX
            else:
                out.append(reading)
                del self._buf[: self.FRAME_LEN]
        if len(self._buf) > _MAX_BUFFER:
            self._buf.clear()
        return out


class YaohuaA9Decoder(_StxFrameDecoder):
    """Yaohua XK3190-A9 continuous frames (docs/specs/edge-devices-sync-backup.md §2.1).

    12 bytes: STX, sign, six digits, decimal places ``'0'..'4'``, XOR of bytes 1–8 as two
    upper-case hex ASCII nibbles, ETX. The value is in kg. The frame has no stable flag.
    """

    FRAME_LEN = 12


    @staticmethod
    def parse(frame: bytes) -> Reading | None:
        """Parse one 12-byte frame, or return None if it is not valid."""
        if len(frame) != 12 or frame[0] != STX or frame[11] != ETX:
            return None
        sign, digits, dp = frame[1], frame[2:8], frame[8]
        if sign not in b"+-" or not all(0x30 <= b <= 0x39 for b in digits):
            return None
        if not 0x30 <= dp <= 0x34:
            return None
        xor = 0
        for b in frame[1:9]:
            xor ^= b
        if frame[9] != _nibble(xor >> 4) or frame[10] != _nibble(xor & 0x0F):
            return None
        kg = Fraction(int(digits), 10 ** (dp - 0x30))
        if sign == 0x2D:
            kg = -kg
        return Reading(grams=_grams(kg * 1000), stable=None)


def encode_yaohua_a9(grams: int, decimals: int = 1) -> bytes:
    """Encode a weight as a Yaohua A9 frame with ``decimals`` places of kg (the simulator's encoder)."""
    if not 0 <= decimals <= 4:
        raise ValueError("decimals must be 0..4")
    units = _grams(Fraction(abs(grams) * 10**decimals, 1000))
    body = (b"-" if grams < 0 else b"+") + b"%06d" % min(units, 999_999) + bytes([0x30 + decimals])
    xor = 0
    for b in body:
        xor ^= b
    return bytes([STX]) + body + bytes([_nibble(xor >> 4), _nibble(xor & 0x0F), ETX])


_LB = Fraction(45359237, 100000)  # grams per pound


class ToledoDecoder(_StxFrameDecoder):
    """Mettler-Toledo standard continuous output (docs/specs/edge-devices-sync-backup.md §2.3).

    ``STX SWA SWB SWC`` + 6 weight digits + 6 tare digits + ``CR`` (+ an optional
    checksum byte, skipped because its algorithm is unverified). Status bits used:
    SWA 0–2 decimal position (code ``c`` means ×10^(2−c)); SWB bit 1 negative, bit 2
    over/under range, bit 3 motion, bit 4 kg (else lb); SWC 0–2 unit extension
    (1 = g, 2 = t). SWA and SWB must have bit 5 set (the spec lists bits 5–6 as
    always 1; only bit 5 is checked, since sources differ on bit 6).
    """

    FRAME_LEN = 17


    @staticmethod
    def parse(frame: bytes) -> Reading | None:
        """Parse one 17-byte frame (without checksum), or return None if it is not valid."""
        if len(frame) != 17 or frame[0] != STX or frame[16] != CR:
            return None
        swa, swb, swc = frame[1], frame[2], frame[3]
        if not (swa & 0x20 and swb & 0x20) or swa >= 0x80 or swb >= 0x80 or swc >= 0x80:
            return None
        weight, tare = frame[4:10], frame[10:16]
        for field in (weight, tare):
            if not all(b == 0x20 or 0x30 <= b <= 0x39 for b in field):
                return None
        if not weight.strip():
            return None
        value = Fraction(int(weight.replace(b" ", b"0"))) * Fraction(10) ** (2 - (swa & 0x07))
        unit_ext = swc & 0x07
        if unit_ext == 1:
            grams = value
        elif unit_ext == 2:
            grams = value * 1_000_000
        elif unit_ext == 0:
            grams = value * 1000 if swb & 0x10 else value * _LB
        else:
            return None
        if swb & 0x02:
            grams = -grams
        overload = bool(swb & 0x04)
        return Reading(grams=_grams(grams), stable=not (swb & 0x08) and not overload, overload=overload)


def encode_toledo(grams: int, *, motion: bool = False, overload: bool = False) -> bytes:
    """Encode a weight as a Toledo frame in kg with 3 decimals (the simulator's encoder)."""
    swa = 0x20 | 0x40 | 5  # ×0.001
    swb = 0x20 | 0x40 | 0x10 | (0x02 if grams < 0 else 0) | (0x04 if overload else 0)
    swb |= 0x08 if motion else 0
    swc = 0x20
    return bytes([STX, swa, swb, swc]) + b"%06d" % min(abs(grams), 999_999) + b"000000\r"


_GENERIC_RE = re.compile(
    r"^(ST|US|OL),(GS|NT|TR|GW|NW)?,?([+-])?\s*([0-9]+\.?[0-9]*|\.[0-9]+)\s*(kg|g|lb|t)\s*$"
)
_UNIT_GRAMS = {"kg": Fraction(1000), "g": Fraction(1), "lb": _LB, "t": Fraction(1_000_000)}


class GenericLineDecoder:
    """``ST,GS,+  1.234kg`` lines as sent by CAS and many Chinese indicators (docs/specs/edge-devices-sync-backup.md §2.4).

    ``ST`` stable, ``US`` unstable, ``OL`` overload. Lines end in CR and/or LF.
    """

    MAX_LINE = 64

    def __init__(self) -> None:
        self.bad_frames = 0
        """Lines that do not match the format."""
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[Reading]:
        """Consume bytes; return the readings of every complete valid line."""
        out: list[Reading] = []
        for byte in data:
            if byte in (CR, LF):
                if self._overflow:
                    self.bad_frames += 1
                elif self._buf:
                    reading = self.parse(bytes(self._buf))
                    if reading is None:
                        self.bad_frames += 1
                    else:
                        out.append(reading)
                self._buf.clear()
                self._overflow = False
            elif len(self._buf) >= self.MAX_LINE:
                self._overflow = True
            else:
                self._buf.append(byte)
        return out

    @staticmethod
    def parse(line: bytes) -> Reading | None:
        """Parse one line without its terminator, or return None if it is not valid."""
        try:
            text = line.decode("ascii").strip()
        except UnicodeDecodeError:
            return None
        m = _GENERIC_RE.match(text)
        if m is None:
            if text.startswith("OL,"):
                return Reading(grams=0, stable=False, overload=True)
            return None
        head, _kind, sign, number, unit = m.groups()
        grams = Fraction(Decimal(number)) * _UNIT_GRAMS[unit]
        if sign == "-":
            grams = -grams
        overload = head == "OL"
        return Reading(grams=_grams(grams), stable=head == "ST", overload=overload)


def encode_generic(grams: int, *, stable: bool = True) -> bytes:
    """Encode a weight as a ``ST,GS,+  1.234kg`` line (the simulator's encoder)."""
    head = "ST" if stable else "US"
    sign = "-" if grams < 0 else "+"
    kg = abs(grams)
    return f"{head},GS,{sign}{kg // 1000:>3d}.{kg % 1000:03d}kg\r\n".encode("ascii")


PROTOCOLS: dict[str, type[YaohuaA9Decoder] | type[ToledoDecoder] | type[GenericLineDecoder]] = {
    "yaohua": YaohuaA9Decoder,
    "toledo": ToledoDecoder,
    "generic": GenericLineDecoder,
}
"""Frame decoders by the ``protocol=`` name used in scale URLs."""


def make_decoder(protocol: str) -> FrameDecoder:
    """Return a fresh decoder for ``protocol`` (``yaohua``, ``toledo`` or ``generic``)."""
    try:
        return PROTOCOLS[protocol]()
    except KeyError:
        raise ValueError(
            f"unknown scale protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}"
        ) from None


class StabilityTracker:
    """Decides stability (docs/specs/edge-devices-sync-backup.md §2.7) and turns readings into ``Weight`` values.

    The scale's own flag wins when the protocol has one. Without a flag a reading is
    stable after ``count`` consecutive readings within ``tolerance_g`` of the first of
    the run. Overload is never stable.
    """

    def __init__(self, count: int = 5, tolerance_g: int = 0) -> None:
        if count < 1:
            raise ValueError("count must be >= 1")
        self.count = count
        """Consecutive equal readings needed when the scale has no stable flag."""
        self.tolerance_g = tolerance_g
        """How far (grams) a reading may differ from the run's first and still count as equal."""
        self._anchor: int | None = None
        self._run = 0

    def reset(self) -> None:
        """Start over (e.g. after a reconnect)."""
        self._anchor, self._run = None, 0

    def update(self, reading: Reading, at: datetime | None = None) -> Weight:
        """Fold one reading in and return the resulting ``Weight``."""
        when = at if at is not None else datetime.now(UTC)
        if reading.overload:
            self.reset()
            return Weight(grams=reading.grams, stable=False, at=when, overload=True)
        if self._anchor is not None and abs(reading.grams - self._anchor) <= self.tolerance_g:
            self._run += 1
        else:
            self._anchor, self._run = reading.grams, 1
        stable = reading.stable if reading.stable is not None else self._run >= self.count
        return Weight(grams=reading.grams, stable=stable, at=when)

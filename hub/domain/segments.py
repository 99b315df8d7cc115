"""How many SMS segments a body costs, and in which encoding (no I/O).

Providers bill by segment. A body that fits the GSM 03.38 alphabet is sent
in GSM-7: 160 septets in one segment, 153 per segment once it is split (the
rest of each is the concatenation header). One character outside it (an
emoji, a curly quote, most accented capitals) sends the whole body in UCS-2:
70 UTF-16 code units in one segment, 67 per segment when split. Characters
of the GSM extension table (``{ } [ ] ~ \\ | ^ €`` and form feed) take two
septets, and a surrogate pair two code units; neither is split across
segments, as phones and carriers do not split them.
"""

from __future__ import annotations

from dataclasses import dataclass

# The longest body the hub sends or accepts, in characters: ten concatenated
# SMS segments; Twilio refuses longer bodies and TeleSign takes no more.
MAX_BODY_LENGTH = 1600

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

# (single segment, per segment when split), in septets or code units.
_SIZES = {GSM_7: (160, 153), UCS_2: (70, 67)}


@dataclass(frozen=True)
class Segments:
    encoding: str  # GSM_7 or UCS_2
    segments: int
    characters: int  # as the user counts them (code points)
    ucs2_characters: tuple[str, ...]  # those that force UCS-2, in order of first use

    def as_json(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "segments": self.segments,
            "characters": self.characters,
            "ucs2_characters": list(self.ucs2_characters),
        }


def _parts(units: int, encoding: str) -> int:
    single, per_part = _SIZES[encoding]
    if units <= single:
        return 1 if units else 0
    return -(-units // per_part)


def _width(ch: str, encoding: str) -> int:
    if encoding == GSM_7:
        return 2 if ch in _GSM_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def count_segments(body: str) -> Segments:
    # Fast paths (the send path counts every rendered body): one width for all.
    if set(body) <= _GSM_BASIC:
        return Segments(GSM_7, _parts(len(body), GSM_7), len(body), ())
    forcing = tuple(dict.fromkeys(ch for ch in body if ch not in _GSM_BASIC and ch not in _GSM_EXTENSION))
    encoding = UCS_2 if forcing else GSM_7
    if encoding == UCS_2 and max(body) <= "\uffff":
        return Segments(UCS_2, _parts(len(body), UCS_2), len(body), forcing)
    widths = [_width(ch, encoding) for ch in body]
    single, per_part = _SIZES[encoding]
    if sum(widths) <= single:
        return Segments(encoding, 1 if body else 0, len(body), forcing)
    parts, used = 1, 0
    for w in widths:
        if used + w > per_part:
            parts, used = parts + 1, 0
        used += w
    return Segments(encoding, parts, len(body), forcing)

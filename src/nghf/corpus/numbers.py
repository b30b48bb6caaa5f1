"""Spelling numbers out as upper-case English words (cardinals, ordinals, years).

Transcripts of the embedded corpus contain words only, so digits in source sentences are
spelt the way a newsreader would say them: ``1984`` as a year (NINETEEN EIGHTY FOUR) when
it looks like one, ``42nd`` as FORTY SECOND, ``1,000,000`` as ONE MILLION.
"""

from __future__ import annotations

_ONES = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN", "ELEVEN", "TWELVE", "THIRTEEN", "FOURTEEN", "FIFTEEN", "SIXTEEN", "SEVENTEEN", "EIGHTEEN", "NINETEEN"]
_TENS = ["_", "_", "TWENTY", "THIRTY", "FORTY", "FIFTY", "SIXTY", "SEVENTY", "EIGHTY", "NINETY"]
_SCALES = ((10**9, "BILLION"), (10**6, "MILLION"), (1000, "THOUSAND"))
_ORDINAL_IRREGULAR = {
    "ONE": "FIRST", "TWO": "SECOND", "THREE": "THIRD", "FIVE": "FIFTH", "EIGHT": "EIGHTH",
    "NINE": "NINTH", "TWELVE": "TWELFTH",
}
MAX_CARDINAL = 10**12 - 1


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "HUNDRED"]
        if rest:
            words.append("AND")
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def cardinal(n: int) -> list[str]:
    """Words of a non-negative integer below 10**12 (British style: ONE HUNDRED AND ONE)."""
    if not 0 <= n <= MAX_CARDINAL:
        raise ValueError(f"cannot spell {n}: outside 0..{MAX_CARDINAL}")
    if n < 1000:
        return _below_thousand(n)
    words: list[str] = []
    for value, name in _SCALES:
        count, n = divmod(n, value)
        if count:
            words += _below_thousand(count) + [name]
    if n:
        if n < 100:
            words.append("AND")
        words += _below_thousand(n)
    return words


def ordinal(n: int) -> list[str]:
    """Words of an ordinal (1 -> FIRST, 21 -> TWENTY FIRST, 100 -> ONE HUNDREDTH)."""
    words = cardinal(n)
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("Y"):
        last = last[:-1] + "IETH"
    else:
        last = last + "TH"
    return words[:-1] + [last]


def year(n: int) -> list[str]:
    """Words of a year 1100..2099 the way it is read (1984 -> NINETEEN EIGHTY FOUR)."""
    if not 1100 <= n <= 2099:
        raise ValueError(f"{n} is not a year this function reads")
    if 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(high) + ["HUNDRED"]
    if low < 10:
        return cardinal(high) + ["OH", _ONES[low]]
    return cardinal(high) + _below_thousand(low)


def spell_number_token(token: str) -> list[str] | None:
    """Words for a token made of digits (commas allowed, ordinal suffix allowed), else None.

    Four-digit numbers from 1100 to 2099 without commas are read as years.
    """
    lowered = token.lower()
    suffix = ""
    for candidate in ("st", "nd", "rd", "th"):
        if lowered.endswith(candidate):
            suffix, lowered = candidate, lowered[: -len(candidate)]
            break
    if "," in lowered:
        groups = lowered.split(",")
        if not groups[0].isdigit() or len(groups[0]) > 3 or not all(
            g.isdigit() and len(g) == 3 for g in groups[1:]
        ):
            return None
        digits = "".join(groups)
    else:
        digits = lowered
    if not digits.isdigit() or (len(digits) > 1 and digits[0] == "0"):
        return None
    value = int(digits)
    if value > MAX_CARDINAL:
        return None
    if suffix:
        return ordinal(value)
    if "," not in lowered and len(digits) == 4 and 1100 <= value <= 2099:
        return year(value)
    return cardinal(value)

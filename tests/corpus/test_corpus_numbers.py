"""Number spelling: checked against an independent words-to-number parser over whole ranges."""

from __future__ import annotations

import numpy as np
import pytest

from nghf.corpus.numbers import cardinal, ordinal, spell_number_token, year

_SMALL = {w: i for i, w in enumerate(
    ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN", "ELEVEN", "TWELVE", "THIRTEEN", "FOURTEEN", "FIFTEEN", "SIXTEEN", "SEVENTEEN", "EIGHTEEN", "NINETEEN"])}
_TENS = {w: 10 * i for i, w in enumerate(["_", "_", "TWENTY", "THIRTY", "FORTY", "FIFTY", "SIXTY", "SEVENTY", "EIGHTY", "NINETY"]) if i >= 2}
_SCALE = {"THOUSAND": 10**3, "MILLION": 10**6, "BILLION": 10**9}


def parse_cardinal(words: list[str]) -> int:
    """Independent reference: words back to the number (rejects malformed sequences)."""
    total, group = 0, 0
    for w in words:
        if w == "AND":
            continue
        if w in _SMALL:
            group += _SMALL[w]
        elif w in _TENS:
            assert group % 100 == 0, words
            group += _TENS[w]
        elif w == "HUNDRED":
            assert 0 < group < 10, words
            group *= 100
        elif w in _SCALE:
            total += group * _SCALE[w]
            group = 0
        else:
            raise AssertionError(f"unexpected word {w} in {words}")
    return total + group


def test_cardinal_round_trips_over_a_range_and_random_large_numbers():
    rng = np.random.default_rng(0)
    numbers = list(range(0, 20001)) + [int(x) for x in rng.integers(0, 10**12 - 1, size=2000)]
    seen = {}
    for n in numbers:
        words = cardinal(n)
        assert parse_cardinal(words) == n
        seen.setdefault(" ".join(words), n)
        assert seen[" ".join(words)] == n  # injective


def test_cardinal_style_and_limits():
    assert cardinal(101) == ["ONE", "HUNDRED", "AND", "ONE"]
    assert cardinal(2005) == ["TWO", "THOUSAND", "AND", "FIVE"]
    assert cardinal(1_000_000) == ["ONE", "MILLION"]
    with pytest.raises(ValueError):
        cardinal(-1)
    with pytest.raises(ValueError):
        cardinal(10**12)


@pytest.mark.parametrize(("n", "words"), [
    (1, "FIRST"), (2, "SECOND"), (3, "THIRD"), (5, "FIFTH"), (8, "EIGHTH"), (9, "NINTH"),
    (12, "TWELFTH"), (20, "TWENTIETH"), (21, "TWENTY FIRST"), (42, "FORTY SECOND"),
    (100, "ONE HUNDREDTH"), (1000, "ONE THOUSANDTH"),
])
def test_ordinals(n, words):
    assert " ".join(ordinal(n)) == words


@pytest.mark.parametrize(("n", "words"), [
    (1984, "NINETEEN EIGHTY FOUR"), (1900, "NINETEEN HUNDRED"), (1905, "NINETEEN OH FIVE"),
    (2001, "TWO THOUSAND AND ONE"), (2017, "TWENTY SEVENTEEN"),
])
def test_years(n, words):
    assert " ".join(year(n)) == words


@pytest.mark.parametrize(("token", "words"), [
    ("42", "FORTY TWO"), ("1,000", "ONE THOUSAND"), ("1984", "NINETEEN EIGHTY FOUR"),
    ("3rd", "THIRD"), ("21ST", "TWENTY FIRST"), ("5000", "FIVE THOUSAND"),
    ("0", "ZERO"), ("1,984", "ONE THOUSAND NINE HUNDRED AND EIGHTY FOUR"),
])
def test_number_tokens(token, words):
    assert " ".join(spell_number_token(token)) == words


@pytest.mark.parametrize("token", ["1,00", "12,3456", "007", "1x", "3.5", "", "9" * 13])
def test_unreadable_number_tokens_are_refused(token):
    assert spell_number_token(token) is None

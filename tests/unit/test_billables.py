"""Billable totals (core.billables): Concord's arithmetic for lines, discounts and the three tax types, checked
against numbers a Concord CRM 1.4.1 computed for the same lines, and its invariants."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from polycrm.core.billables import EXCLUSIVE, FIXED, INCLUSIVE, NO_TAX, PERCENT, Line, rounded, totals

WIDGET = Line(quantity=2, unit_price=1000, tax_rate=10, tax_label="VAT", discount_type=PERCENT, discount_total=10)
SERVICE = Line(quantity=1.5, unit_price=99.999, tax_rate=20, tax_label="TAX", discount_type=FIXED, discount_total=5.5)


def test_line_amounts_take_the_discount_off() -> None:
    assert WIDGET.gross == 2000 and WIDGET.discount == 200 and WIDGET.amount == 1800
    assert SERVICE.discount == 5.5 and rounded(SERVICE.amount, 3) == 144.499  # 149.9985 - 5.5, kept to 3 places
    assert Line(1, 50, discount_type=None, discount_total=10).amount == 45  # no type: a percentage


def test_exclusive_totals_are_concords() -> None:
    result = totals(EXCLUSIVE, [WIDGET, SERVICE])
    assert rounded(result.subtotal, 2) == 1944.5 and rounded(result.total, 2) == 2153.4
    assert rounded(result.total_tax, 2) == 208.9 and rounded(result.total_discount, 2) == 205.5
    assert [(t.label, t.rate) for t in result.taxes] == [("VAT", 10), ("TAX", 20)]  # in rate order
    assert result.taxes[0].total == 180 and result.taxes[1].total == pytest.approx(28.8997)
    assert rounded(result.total, 3) == 2153.398  # the deal's amount, as Concord stored it


def test_inclusive_taxes_are_inside_the_subtotal() -> None:
    result = totals(INCLUSIVE, [Line(1, 110, tax_rate=10)])
    assert result.subtotal == result.total == 110
    assert result.taxes[0].total == pytest.approx(10)  # Concord: 10.000000000000014
    assert Line(1, 110, tax_rate=10).amount_before_tax(INCLUSIVE) == pytest.approx(100)
    assert Line(1, 110, tax_rate=10).amount_before_tax(EXCLUSIVE) == 110


def test_no_tax_has_no_taxes_and_zero_rates_none() -> None:
    assert totals(NO_TAX, [WIDGET]).taxes == () and totals(NO_TAX, [WIDGET]).total == 1800
    assert totals(EXCLUSIVE, [Line(1, 5, tax_rate=0)]).taxes == ()
    assert totals(EXCLUSIVE, []).total == 0


def test_lines_of_one_label_and_rate_share_a_tax() -> None:
    result = totals(EXCLUSIVE, [Line(1, 100, tax_rate=5), Line(2, 100, tax_rate=5), Line(1, 100, 5, "GST")])
    assert [(t.label, t.total) for t in result.taxes] == [("TAX", 15), ("GST", 5)]


def test_rounding_is_half_away_from_zero() -> None:
    assert rounded(1.005, 2) == 1.01 and rounded(-1.005, 2) == -1.01 and rounded(2.5, 0) == 3
    assert rounded(144.4985, 3) == 144.499 and rounded(144.4985, 2) == 144.5


money = st.floats(min_value=0, max_value=1e6, allow_nan=False).map(lambda v: rounded(v, 3))
lines = st.lists(st.builds(Line, quantity=st.floats(0, 1000).map(lambda v: rounded(v, 2)), unit_price=money,
                           tax_rate=st.sampled_from([0, 5, 7.5, 20]), tax_label=st.sampled_from(["TAX", "VAT"]),
                           discount_type=st.sampled_from([FIXED, PERCENT, None]),
                           discount_total=st.floats(0, 100).map(lambda v: rounded(v, 2))), max_size=8)


@given(lines)
def test_totals_invariants(items: list[Line]) -> None:
    exclusive, inclusive, untaxed = (totals(kind, items) for kind in (EXCLUSIVE, INCLUSIVE, NO_TAX))
    assert exclusive.subtotal == inclusive.subtotal == untaxed.subtotal == pytest.approx(
        sum(item.amount for item in items))
    assert exclusive.total == pytest.approx(exclusive.subtotal + exclusive.total_tax)
    assert inclusive.total == inclusive.subtotal and untaxed.total == untaxed.subtotal and untaxed.total_tax == 0
    assert [t.rate for t in exclusive.taxes] == sorted(t.rate for t in exclusive.taxes)
    assert all(t.rate > 0 for t in exclusive.taxes)

"""Tests of e3teach.tensor_products: selection rules, the product table and path tables."""
import math

import pytest
import torch
from e3nn import o3

from e3teach.tensor_products import allowed_products, path_table, selection_rules


@pytest.mark.parametrize("a, b, expected", [
    ("1o", "1o", "0e+1e+2e"),
    ("2e", "1o", "1o+2o+3o"),
    ("0e", "3o", "3o"),
    ("0o", "0o", "0e"),
    ("1e", "1o", "0o+1o+2o"),
    ("2o", "2o", "0e+1e+2e+3e+4e"),
])
def test_selection_rules_lists_the_allowed_irreps(a, b, expected):
    rule = selection_rules(a, b)
    assert rule.irreps == o3.Irreps(expected)
    assert list(rule) == [ir for _, ir in o3.Irreps(expected)]
    assert len(rule) == len(o3.Irreps(expected))


@pytest.mark.parametrize("l1, l2", [(0, 0), (1, 1), (2, 1), (3, 2), (2, 4)])
@pytest.mark.parametrize("p1, p2", [(1, 1), (1, -1), (-1, -1)])
def test_selection_rules_obey_triangle_parity_and_dimension(l1, l2, p1, p2):
    rule = selection_rules(o3.Irrep(l1, p1), o3.Irrep(l2, p2))
    assert [ir.l for ir in rule] == list(range(abs(l1 - l2), l1 + l2 + 1))
    assert all(ir.p == p1 * p2 for ir in rule)
    assert sum(ir.dim for ir in rule) == (2 * l1 + 1) * (2 * l2 + 1)
    assert rule.l_range == (abs(l1 - l2), l1 + l2) and rule.parity == p1 * p2


def test_selection_rules_membership_and_printout():
    rule = selection_rules("1o", "1o")
    assert "1e" in rule and "2e" in rule and "1o" not in rule and "not an irrep" not in rule
    text = str(rule)
    assert text.startswith("1o ⊗ 1o = 0e + 1e + 2e")
    assert "parity (−1)·(−1) = +1 → e" in text and "3×3 = 1 + 3 + 5 = 9" in text
    assert "0e + 1e + 2e" in rule._repr_html_()
    assert str(selection_rules("0e", "3o")).endswith("dimensions 1×7 = 7)")
    assert selection_rules((1, -1), o3.Irrep("1o")) == rule


def test_selection_rules_rejects_garbage():
    with pytest.raises(ValueError, match="expected an irrep"):
        selection_rules("1x", "1o")


def test_allowed_products_table_and_queries():
    table = allowed_products(2)
    assert [str(ir) for ir in table.irreps] == ["0e", "0o", "1e", "1o", "2e", "2o"]
    assert table["2e", "1o"].irreps == o3.Irreps("1o+2o+3o")
    assert table.allows("1o", "1o", "1e") and not table.allows("1o", "1o", "1o")
    pairs = table.producing("1e")
    assert (o3.Irrep("1o"), o3.Irrep("1o")) in pairs and (o3.Irrep("0e"), o3.Irrep("1e")) in pairs
    assert all(o3.Irrep("1e") in a * b for a, b in pairs)
    # every pair of the table whose product contains 1e is listed (once, with ir1 ≤ ir2 in table order)
    brute = {(a, b) for a in table.irreps for b in table.irreps if o3.Irrep("1e") in a * b}
    assert {tuple(sorted(p, key=table.irreps.index)) for p in brute} == set(pairs)
    assert len(table.rules) == 36
    text = str(table)
    assert text.splitlines()[0].split() == ["⊗", "0e", "0o", "1e", "1o", "2e", "2o"]
    assert "0e+1e+2e+3e+4e" in text
    assert "<table>" in table._repr_html_()


def test_allowed_products_options():
    assert [str(ir) for ir in allowed_products(1, parities="e").irreps] == ["0e", "1e"]
    assert [str(ir) for ir in allowed_products(irreps=["2e", "0e", "1o", "0e"]).irreps] == ["0e", "1o", "2e"]
    with pytest.raises(ValueError):
        allowed_products(-1)
    with pytest.raises(ValueError):
        allowed_products(1, parities="x")


TENSOR_PRODUCTS = [
    lambda: o3.FullTensorProduct("1o", "1o"),
    lambda: o3.FullTensorProduct("2x0e + 1x1o", "1x1o + 1x2e"),
    lambda: o3.FullyConnectedTensorProduct("3x0e + 2x1o", "0e + 1o", "4x0e + 2x1o + 1x1e"),
    lambda: o3.FullyConnectedTensorProduct("8x0e + 4x1o + 2x2e", "0e + 1o + 2e", "8x0e + 4x1o + 4x1e + 2x2e"),
    lambda: o3.ElementwiseTensorProduct("2x1o + 1x0e", "3x1o"),
    lambda: o3.TensorProduct("4x2e", "2x1o", "4x1o", [(0, 0, 0, "uvu", True)]),
    lambda: o3.TensorProduct("3x1o", "3x1o", "3x0e + 2x1e", [(0, 0, 0, "uuu", True), (0, 0, 1, "uvw", True)]),
]


@pytest.mark.parametrize("make", TENSOR_PRODUCTS)
def test_path_table_totals_equal_weight_numel(make):
    tp = make()
    table = path_table(tp)
    assert table.total_weights == tp.weight_numel
    assert len(table) == len(tp.instructions)
    assert [r.constant for r in table] == pytest.approx([ins.path_weight for ins in tp.instructions])
    assert f"{table.total_weights} weights" in str(table)
    assert "<table>" in table._repr_html_()


def test_path_table_constants_follow_the_component_element_formula():
    tp = o3.FullyConnectedTensorProduct("3x0e + 2x1o", "0e + 1o", "4x0e + 2x1o + 1x1e")
    fan_in = {}
    for ins in tp.instructions:
        fan_in[ins.i_out] = fan_in.get(ins.i_out, 0) + tp.irreps_in1[ins.i_in1].mul * tp.irreps_in2[ins.i_in2].mul
    for row, ins in zip(path_table(tp), tp.instructions):
        assert row.constant == pytest.approx(math.sqrt(tp.irreps_out[ins.i_out].ir.dim / fan_in[ins.i_out]))
    text = str(path_table(tp))
    assert "3×1×4 = 12" in text and "√(1/5)" in text and "√(3/2)" in text


def test_path_table_full_tensor_product_constants_are_sqrt_dim():
    table = path_table(o3.FullTensorProduct("1o", "1o"))
    assert [r.constant for r in table] == pytest.approx([1.0, math.sqrt(3), math.sqrt(5)])
    assert [r.weights for r in table] == [0, 0, 0]
    assert [r.out for r in table] == ["1x0e [0]", "1x1e [1]", "1x2e [2]"]


def test_path_table_of_linear_counts_weights_and_biases_apart():
    lin = o3.Linear("2x0e + 3x1o", "4x0e + 1x1o + 1x1e", biases=True)
    table = path_table(lin)
    assert table.total_weights == lin.weight_numel == 2 * 4 + 3 * 1
    assert table.bias_numel == lin.bias_numel == 4
    assert "11 weights + 4 biases" in str(table)
    assert [r.mode for r in table] == ["linear", "linear", "bias"]


def test_path_table_rejects_other_modules():
    with pytest.raises(TypeError, match="o3.TensorProduct or o3.Linear"):
        path_table(torch.nn.Linear(2, 3))

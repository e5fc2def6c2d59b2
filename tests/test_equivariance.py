"""The equivariance checker must catch the classic bugs and pass correct e3nn models below 1e-10."""
import functools

import pytest
import torch
from e3nn import o3
from e3nn.util.test import assert_equivariant as e3nn_assert_equivariant
from e3nn.util.test import equivariance_error as e3nn_equivariance_error

import e3teach
from e3teach.equivariance import check_equivariance, check_point_model, group_elements
from e3teach.models import EquivariantPointNet


def build64(fn):
    with e3teach.default_dtype(torch.float64):
        return fn()


def test_group_elements_are_orthogonal_with_right_determinants():
    for g in group_elements("E3", 4, seed=3):
        assert torch.allclose(g.matrix @ g.matrix.T, torch.eye(3, dtype=torch.float64), atol=1e-12)
        assert (torch.det(g.matrix) > 0) == g.is_proper
        assert g.is_proper == ("improper" not in g.kind and g.kind != "inversion")


def test_correct_e3nn_modules_pass_below_1e_10():
    tp = build64(lambda: o3.FullyConnectedTensorProduct("2x0e + 1x1o + 1x2e", "1x1o + 1x2e", "1x0e + 2x1o + 1x2e + 1x3o"))
    report = check_equivariance(tp, ["2x0e + 1x1o + 1x2e", "1x1o + 1x2e"], "1x0e + 2x1o + 1x2e + 1x3o")
    assert report.ok and report.max_error < 1e-10, report
    lin = build64(lambda: o3.Linear("4x0e + 2x1o", "3x0e + 3x1o"))
    assert check_equivariance(lin, "4x0e + 2x1o", "3x0e + 3x1o").max_error < 1e-10


def test_agrees_with_e3nn_util_test():
    tp = build64(lambda: o3.FullyConnectedTensorProduct("1x1o", "1x1o", "1x0e + 1x1e"))
    ours = check_equivariance(tp, ["1o", "1o"], "0e + 1e")
    x = torch.randn(4, 3, dtype=torch.float64)
    theirs = e3nn_equivariance_error(tp, [x, x.flip(0)], irreps_in=["1o", "1o"], irreps_out=["0e + 1e"])
    assert ours.max_error < 1e-10 and max(float(v.max()) for v in theirs.values()) < 1e-10


def test_catches_pointwise_relu_on_vectors_and_says_which_irrep():
    report = check_equivariance(torch.relu, "2x0e + 1x1o", "2x0e + 1x1o")
    assert not report.ok
    assert report.failing_irreps() == ["1x1o [2:5]"]
    assert report.errors_by_irrep()["2x0e [0:2]"] == 0.0
    assert "❌" in str(report) and "1x1o" in str(report)


def test_even_activation_on_pseudoscalar_fails_O3_passes_SO3():
    report = check_equivariance(torch.cos, "0o", "0o")
    assert not report.ok and report.passes("SO3") and not report.passes("O3")
    assert "fails for: inversion, improper rotation" in report.verdict()
    assert check_equivariance(torch.cos, "0o", "0o", group="SO3").ok
    assert check_equivariance(torch.tanh, "0o", "0o").ok  # odd activation is fine


def test_catches_model_using_absolute_positions():
    def uses_absolute(pos):  # centroid: rotates correctly but moves with translations
        return pos.mean(0, keepdim=True)
    report = check_point_model(uses_absolute, torch.randn(6, 3), irreps_out="1o")
    assert not report.ok and report.passes("O3")
    assert report.errors_by_kind()["translation"] > 0.1
    relative = check_point_model(lambda p: (p - p.mean(0)).pow(2).sum(1, keepdim=True), torch.randn(6, 3), irreps_out="0e")
    assert relative.ok


def test_point_model_with_features_and_e3nn_network_below_1e_10():
    net = build64(lambda: EquivariantPointNet("0o + 2x0e + 1x1o", layers=2, r_max=2.0))
    pos = torch.randn(7, 3)
    assert check_point_model(net, pos, irreps_out="0o + 2x0e + 1x1o").max_error < 1e-10

    def vector_field(pos, features):  # per-point output from a 1o feature and relative positions
        return features + (pos - pos.mean(0))
    report = check_point_model(vector_field, pos, torch.randn(7, 3), irreps_in="1o", irreps_out="1o")
    assert report.ok, report


def test_float32_module_is_recognised_and_explained_once_in_the_verdict():
    tp = o3.FullyConnectedTensorProduct("1x1o + 1x2e", "1x2e", "1x1o + 1x3o")  # built in float32
    report = check_equivariance(tp, ["1o + 2e", "2e"], "1o + 3o")
    assert report.ok and report.tolerance >= 1e-5 and report.built_in_float32
    assert report.verdict().count("float32") == 2  # "built in float32, ... float32-accurate": one sentence
    assert "e3teach.default_dtype(torch.float64)" in report.verdict()
    assert not any("float32" in note for note in report.notes)  # said once, in the verdict
    assert report._repr_html_().count("built in float32") == 1


@pytest.mark.parametrize("wrap", [
    lambda m: (lambda x, y: m(x, y)),                       # closure
    lambda m: m.forward,                                    # bound method
    lambda m: functools.partial(lambda mod, x, y: mod(x, y), m),
])
def test_wrapping_a_float32_module_in_a_function_changes_nothing(wrap):
    torch.manual_seed(0)
    tp = o3.FullyConnectedTensorProduct("1x1o + 1x2e", "1x2e", "1x1o + 1x3o")  # built in float32
    direct = check_equivariance(tp, ["1o + 2e", "2e"], "1o + 3o")
    wrapped = check_equivariance(wrap(tp), ["1o + 2e", "2e"], "1o + 3o")
    assert wrapped.verdict() == direct.verdict()
    assert torch.equal(wrapped.errors, direct.errors)
    assert all(t.dtype == torch.float32 for t in list(tp.parameters()) + list(tp.buffers()))  # restored


GLOBAL_FLOAT32_TP = None


def test_a_lambda_naming_a_global_float32_module_is_recognised():
    global GLOBAL_FLOAT32_TP
    GLOBAL_FLOAT32_TP = o3.Linear("2x1o", "2x1o")
    report = check_equivariance(lambda x: GLOBAL_FLOAT32_TP(x), "2x1o", "2x1o")
    assert report.ok and report.built_in_float32
    assert GLOBAL_FLOAT32_TP.weight.dtype == torch.float32


def test_a_function_that_casts_to_float32_for_its_module_still_runs():
    torch.manual_seed(0)
    lin = o3.Linear("2x1o", "2x1o")                          # float32, and the function feeds it float32
    report = check_equivariance(lambda x: lin(x.float()).double(), "2x1o", "2x1o")
    assert report.built_in_float32 and "float32" in report.verdict()
    assert lin.weight.dtype == torch.float32


def test_a_function_that_computes_in_float32_is_said_to_be_float32():
    report = check_equivariance(lambda v: v.float() * 2, "1o", "1o")  # returns float32
    assert report.ok and report.built_in_float32 and "float32" in report.verdict()


def test_tolerance_is_per_block_relative_to_its_size():
    # a broken small vector block beside a huge correct scalar: must fail (one global scale hid it)
    def small_block_broken(x):
        scalar, vec = x[:, :1], x[:, 1:]
        return torch.cat([1e6 * scalar, 1e-2 * torch.relu(vec)], dim=1)
    report = check_equivariance(small_block_broken, "0e + 1o", "0e + 1o")
    assert not report.ok and report.failing_irreps() == ["1x1o [1:4]"]
    assert report.block_scales[0] > 1e5 and report.block_scales[1] < 1e-1

    # a correct model whose outputs are 1e8 times larger: its round-off is 1e8 times larger too
    tp = build64(lambda: o3.FullyConnectedTensorProduct("2x1o + 1x2e", "1x2e", "2x1o + 1x3o"))
    scaled = lambda x, y: 1e8 * tp(x, y)
    ours = check_equivariance(scaled, ["2x1o + 1x2e", "2e"], "2x1o + 1x3o")
    assert ours.ok and ours.absolute_errors.max() > 1e-10  # passes relative, absolute error above 1e-10
    # e3nn's own test compares absolute errors with one tolerance: it refuses the same model
    with e3teach.default_dtype(torch.float64), pytest.raises(AssertionError):
        e3nn_assert_equivariant(scaled, irreps_in=["2x1o + 1x2e", "1x2e"], irreps_out=["2x1o + 1x3o"],
                                tolerance=1e-10)


def test_verdicts_print_a_band_not_round_off():
    lin = build64(lambda: o3.Linear("4x0e + 2x1o", "3x0e + 3x1o"))
    report = check_equivariance(lin, "4x0e + 2x1o", "3x0e + 3x1o")
    assert "max error < 1e-11 (tolerance 1e-10)" in report.verdict()
    assert "e-1" not in report.table().replace("< 1e-11", "")  # every cell is the band
    bad = check_equivariance(torch.relu, "1o", "1o")
    assert f"max error {bad.max_error:.2g} > tolerance" in bad.verdict()  # a finding keeps its digits


def test_clear_messages_for_wrong_shapes():
    with pytest.raises(ValueError, match="last axis should have"):
        check_equivariance(lambda x: x[:, :2], "1o", "1o")
    with pytest.raises(ValueError, match="dimension 3"):
        check_equivariance(lambda x: x, "1o", "1o", inputs=torch.randn(2, 4))
    with pytest.raises(ValueError, match="unknown group"):
        check_equivariance(lambda x: x, "1o", "1o", group="SU2")
    with pytest.raises(ValueError, match="irreps_in"):
        check_point_model(lambda p, f: f, torch.randn(3, 3), torch.randn(3, 3), irreps_out="1o")


def test_report_renders_html_table_and_asserts():
    report = check_equivariance(torch.relu, "1o", "1o")
    html = report._repr_html_()
    assert "<table>" in html and "1x1o" in html
    with pytest.raises(AssertionError, match="NOT equivariant"):
        report.assert_ok()
    assert "output irrep" in report.table()

"""Tests of e3teach.representations.check_representation."""
import pytest
import torch
from e3nn import o3

from e3teach import default_dtype
from e3teach.equivariance import group_elements
from e3teach.representations import RepresentationReport, check_representation, homomorphism_error


def test_e3nn_irreps_are_representations():
    report = check_representation(o3.Irreps("1o + 2e").D_from_matrix)
    assert isinstance(report, RepresentationReport)
    assert report.ok and bool(report)
    assert report.dim == 8
    assert report.max_error < 1e-9
    assert len(report.elements) == 11  # 5 rotations, the inversion, 5 improper rotations
    assert str(report).startswith("✅ a representation of O(3) (dim 8)")
    report.assert_ok()


def test_identity_map_and_det_are_representations():
    assert check_representation(lambda R: R).max_error < 1e-14
    det = check_representation(lambda R: torch.det(R))  # a 0-d tensor counts as 1x1
    assert det.ok and det.dim == 1
    assert check_representation(lambda R: float(torch.det(R))).ok  # a plain number too


def test_transpose_is_an_anti_homomorphism():
    report = check_representation(lambda R: R.T)
    assert not report.ok and not bool(report)
    assert report.failing == ["homomorphism"]
    assert report.max_error > 0.1
    text = report.verdict()
    assert text.startswith("❌ NOT a representation of O(3)")
    assert "D(g1 g2) = D(g1) D(g2) fails" in text and "worst at" in text
    assert "holds: D(I) = I, D Dᵀ = I" in text
    with pytest.raises(AssertionError, match="NOT a representation"):
        report.assert_ok()


def test_square_is_not_a_representation():
    report = check_representation(lambda R: R @ R)
    assert not report.ok and report.failing == ["homomorphism"]


def test_failure_only_on_improper_elements_is_reported():
    def forgets_parity(R):  # the 1o block for rotations, but wrong for det = -1
        return R if torch.det(R) > 0 else R @ torch.diag(R.new_tensor([1.0, 1.0, -1.0]))

    report = check_representation(forgets_parity)
    assert not report.ok
    assert report.passes("SO3") and not report.passes("O3")
    assert "improper" in report.verdict()
    assert check_representation(forgets_parity, group="SO3").ok


def test_orthogonality_is_optional():
    S = torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 0.5], [0.3, 0.0, 1.0]], dtype=torch.float64)
    conjugated = lambda R: S @ R @ torch.linalg.inv(S)  # a representation in a non-orthonormal basis
    report = check_representation(conjugated)
    assert not report.ok and report.failing == ["orthogonality"]
    assert check_representation(conjugated, orthogonal=False).ok


def test_given_elements_and_sizes():
    mats = torch.stack([g.matrix for g in group_elements("O3", 2)])
    report = check_representation(o3.Irreps("1e").D_from_matrix, mats)
    assert report.ok and len(report.elements) == 5
    assert set(report.kinds) == {"rotation", "inversion", "improper rotation"}
    so3 = check_representation(lambda R: R, group="SO3", n=3)
    assert so3.ok and len(so3.elements) == 3 and so3.kinds == ["rotation"] * 3
    with pytest.raises(ValueError, match="det = -1"):
        check_representation(lambda R: R, mats, group="SO3")
    with pytest.raises(ValueError, match="not orthogonal"):
        check_representation(lambda R: R, [2 * torch.eye(3)])
    with pytest.raises(ValueError, match="translations"):
        check_representation(lambda R: R, group="E3")


def test_bad_outputs_give_clear_errors():
    with pytest.raises(ValueError, match="square"):
        check_representation(lambda R: R[:2])
    with pytest.raises(TypeError, match="torch.Tensor"):
        check_representation(lambda R: "R")
    with pytest.raises(ValueError, match="dimension must not change"):
        check_representation(lambda R: R if torch.det(R) > 0 else torch.eye(2, dtype=R.dtype))
    nan = check_representation(lambda R: R * float("nan"))
    assert not nan.ok and nan.max_error == float("inf")
    assert any("NaN" in note for note in nan.notes)


def test_float32_outputs_get_a_float32_tolerance_and_a_note():
    report = check_representation(lambda R: R.float())
    assert report.ok and report.tolerance == pytest.approx(1e-5)
    assert any("float32" in note for note in report.notes)


def test_runs_in_float64_even_under_a_float32_default():
    assert torch.get_default_dtype() == torch.float32
    assert check_representation(o3.Irreps("2e").D_from_matrix).max_error < 1e-9
    # the trap the check avoids: under a float32 default e3nn's D is float32-accurate only
    g = group_elements("O3", 2)
    D = o3.Irreps("2e").D_from_matrix
    assert homomorphism_error(D, g[0].matrix, g[1].matrix) > 1e-9
    with default_dtype(torch.float64):
        assert homomorphism_error(D, g[0].matrix, g[1].matrix) < 1e-12


def test_report_presentation():
    report = check_representation(lambda R: R.T, n=2)
    table = report.table()
    assert "rotation × rotation" in table and "D(I) = I" in table
    assert "<table>" in report._repr_html_()
    assert report.worst_pair[0] in report.elements
    assert set(report.errors_by_property()) == {"homomorphism", "identity", "orthogonality"}

"""e3teach.schur: the null-space count of equivariant maps is Schur's lemma (o3.Linear) and the tensor-product paths."""
import pytest
import torch
from e3nn import o3

from e3teach import schur


@pytest.mark.parametrize("irreps_in, irreps_out", [
    ("1o", "1o"), ("1o", "1e"), ("0e", "0o"), ("2x0e + 1x1o", "3x0e + 1x1o"), ("1o + 2e + 1o", "2x1o + 1x2o"),
    ("2x0e + 3x1o + 1x2e + 1x1e", "1x0e + 2x1o + 2x2e + 1x1e + 1x0o"),
])
def test_linear_count_is_o3_linear_weight_numel(irreps_in, irreps_out):
    null = schur.equivariant_maps(o3.Irreps(irreps_in).D_from_matrix, o3.Irreps(irreps_out).D_from_matrix)
    assert null.dim == o3.Linear(irreps_in, irreps_out).weight_numel
    assert null.gap[0] < 1e-12 and null.gap[1] > 1e-2


def test_basis_maps_are_equivariant_and_orthonormal():
    irreps_in, irreps_out = o3.Irreps("2x0e + 1x1o + 1x2e"), o3.Irreps("1x0e + 2x1o + 1x2e")
    basis = schur.equivariant_maps(irreps_in.D_from_matrix, irreps_out.D_from_matrix).basis
    assert basis.shape == (2 + 2 + 1, irreps_out.dim, irreps_in.dim)
    g = -o3.rand_matrix(dtype=torch.float64)                          # an element not used to build the basis
    D_in, D_out = irreps_in.D_from_matrix(g), irreps_out.D_from_matrix(g)
    assert max(float((D_out @ W - W @ D_in).abs().max()) for W in basis) < 1e-12
    gram = torch.einsum("kij,lij->kl", basis, basis)
    assert torch.allclose(gram, torch.eye(len(basis), dtype=torch.float64), atol=1e-12)


def test_without_an_improper_element_parity_is_invisible():
    rotations = schur.sample_elements()[:-1]
    assert schur.count_equivariant_linear_maps("1o", "1e", elements=rotations) == 1     # SO(3) only: 1o ~ 1e
    assert schur.count_equivariant_linear_maps("1o", "1e") == 0


@pytest.mark.parametrize("irreps_1, irreps_2, irreps_out", [
    ("1o", "1o", "0e + 1e + 2e"), ("1o", "1o", "0e + 1o + 2e"), ("1o", "2e", "1o + 2o + 3o + 2e"),
    ("2x0e + 1x1o", "1x1o", "2x1o + 1x0e"), ("1e", "1o", "0o + 1o + 1e + 2o"),
])
def test_bilinear_count_is_the_number_of_tensor_product_weights(irreps_1, irreps_2, irreps_out):
    count = schur.count_equivariant_bilinear_maps(irreps_1, irreps_2, irreps_out)
    assert count == o3.FullyConnectedTensorProduct(irreps_1, irreps_2, irreps_out).weight_numel


def test_constraint_is_zero_exactly_on_equivariant_maps():
    R = o3.rand_matrix(dtype=torch.float64)
    D = o3.Irreps("1o").D_from_matrix(R)
    C = schur.equivariance_constraint(D, D)
    assert C.shape == (9, 9)
    assert torch.allclose(C @ torch.eye(3, dtype=torch.float64).T.reshape(-1), torch.zeros(9, dtype=torch.float64))
    W = torch.randn(3, 3, dtype=torch.float64)
    assert torch.allclose(C @ W.T.reshape(-1), (D @ W - W @ D).T.reshape(-1))      # vec stacks the columns

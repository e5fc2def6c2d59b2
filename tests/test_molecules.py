"""Tests of the molecular label models (e3teach.molecules): symmetries, limits, and clear errors on bad input."""
import math

import pytest
import torch

from e3teach import molecules as M
from e3teach.equivariance import random_rotation

F64 = torch.float64


def _rot(seed, improper=False):
    R = random_rotation(torch.Generator().manual_seed(seed))
    return -R if improper else R


def _mol(name, seed=0):
    return M.distort(M.g2_molecule(name), 0.05, torch.Generator().manual_seed(seed))


def test_g2_names_only_known_elements():
    names = M.g2_names()
    assert len(names) == 124 and "H2O" in names and "SiH4" not in names
    assert all(set(M.g2_molecule(n).symbols) <= set(M.ELEMENTS) for n in names[:20])


def test_charges_sum_to_total_and_solve_the_equalization():
    mol = _mol("CH3CH2OH")
    q = M.qeq_charges(mol.symbols, mol.pos)
    assert abs(float(q.sum())) < 1e-12
    # equalized electronegativity: chi_i + (A q)_i is the same for every atom
    chi = torch.tensor([M.QEQ_PARAMETERS[s][0] for s in mol.symbols], dtype=F64)
    mu = chi + M.coulomb_matrix(mol.symbols, mol.pos) @ q
    assert float(mu.max() - mu.min()) < 1e-10
    assert abs(float(M.qeq_charges(mol.symbols, mol.pos, total_charge=1.0).sum()) - 1.0) < 1e-12
    # oxygen is the most negative atom
    assert mol.symbols[int(q.argmin())] == "O"


def test_coulomb_matrix_positive_definite_and_many_body():
    mol = _mol("C6H6", 1)
    A = M.coulomb_matrix(mol.symbols, mol.pos)
    assert torch.allclose(A, A.T) and float(torch.linalg.eigvalsh(A).min()) > 0
    # moving one far-away atom changes the charges of the others (the solve couples every atom)
    q = M.qeq_charges(mol.symbols, mol.pos)
    moved = mol.pos.clone()
    moved[-1] += torch.tensor([0.0, 0.0, 0.3], dtype=F64)
    assert float((M.qeq_charges(mol.symbols, moved)[:6] - q[:6]).abs().max()) > 1e-4


def test_dipole_rotates_translates_and_flips():
    mol = _mol("H2O", 2)
    mu = M.dipole_moment(mol.symbols, mol.pos)
    for seed, improper in ((1, False), (2, True)):
        R = _rot(seed, improper)
        moved = mol.pos @ R.T + torch.tensor([1.0, -2.0, 0.5], dtype=F64)
        assert torch.allclose(M.dipole_moment(mol.symbols, moved), R @ mu, atol=1e-10)
    assert 1.0 < float(mu.norm()) < 2.5          # water: about 1.6 D in this model (experiment 1.85 D)


def test_symmetric_molecules_have_no_dipole():
    for name in ("CH4", "CO2", "C6H6", "N2"):
        mol = M.g2_molecule(name)
        assert float(M.dipole_moment(mol.symbols, mol.pos).norm()) < 1e-8, name


def test_polarizability_symmetric_rotates_and_is_anisotropic():
    mol = _mol("CH3CHO", 3)
    alpha = M.polarizability(mol.symbols, mol.pos)
    assert torch.allclose(alpha, alpha.T, atol=1e-12)
    assert float(torch.linalg.eigvalsh(alpha).min()) > 0
    ev = torch.linalg.eigvalsh(alpha)
    assert float(ev[-1] - ev[0]) > 0.1                      # anisotropic
    for seed, improper in ((4, False), (5, True)):
        R = _rot(seed, improper)
        moved = mol.pos @ R.T + 3.0
        assert torch.allclose(M.polarizability(mol.symbols, moved), R @ alpha @ R.T, atol=1e-10)


def test_homonuclear_diatomic_parallel_exceeds_perpendicular():
    for damping, bond in ((True, 1.1), (False, 1.6)):      # undamped N2 at 1.1 Å is a polarization catastrophe
        pos = torch.tensor([[0, 0, 0], [0, 0, bond]], dtype=F64)
        alpha = M.polarizability(["N", "N"], pos, damping=damping)
        assert float(alpha[2, 2]) > float(alpha[0, 0]) > 0
        assert abs(float(alpha[0, 0] - alpha[1, 1])) < 1e-12 and float(alpha[0, 1].abs()) < 1e-12


def test_undamped_diatomic_matches_applequist_formula():
    a, r = M.THOLE_POLARIZABILITY["C"], 1.5
    alpha = M.polarizability(["C", "C"], torch.tensor([[0, 0, 0], [r, 0, 0]], dtype=F64), damping=False)
    assert math.isclose(float(alpha[0, 0]), 2 * a / (1 - 2 * a / r**3), rel_tol=1e-12)
    assert math.isclose(float(alpha[1, 1]), 2 * a / (1 + a / r**3), rel_tol=1e-12)


def test_far_apart_atoms_reduce_to_isolated_sum():
    symbols = ["O", "H", "Cl"]
    pos = torch.tensor([[0, 0, 0], [60, 0, 0], [0, 70, 0]], dtype=F64)
    for damping in (True, False):
        alpha = M.polarizability(symbols, pos, damping=damping)
        assert torch.allclose(alpha, M.isolated_polarizability(symbols), atol=1e-4)


def test_damping_matters_only_at_short_range():
    pos = torch.tensor([[0, 0, 0], [0, 0, 1.6]], dtype=F64)
    damped, bare = (M.polarizability(["C", "O"], pos, damping=d) for d in (True, False))
    assert float((damped - bare).abs().max()) > 0.05
    far = pos * 8
    assert torch.allclose(M.polarizability(["C", "O"], far), M.polarizability(["C", "O"], far, damping=False), atol=1e-6)


def test_polarization_catastrophe_is_a_clear_error():
    pos = torch.tensor([[0, 0, 0], [0, 0, 0.9]], dtype=F64)
    with pytest.raises(ValueError, match="catastrophe"):
        M.polarizability(["Cl", "Cl"], pos, damping=False)
    assert bool(torch.isfinite(M.polarizability(["Cl", "Cl"], pos)).all())       # Thole damping fixes it


@pytest.mark.parametrize("fn", [M.dipole_moment, M.polarizability, M.qeq_charges])
def test_bad_input_raises_value_error(fn):
    with pytest.raises(ValueError, match="element"):
        fn(["H", "Xe"], torch.tensor([[0, 0, 0], [1.0, 0, 0]], dtype=F64))
    with pytest.raises(ValueError, match="same position"):
        fn(["H", "H", "O"], torch.tensor([[0, 0, 0], [0, 0, 0], [1.0, 0, 0]], dtype=F64))
    with pytest.raises(ValueError, match="empty"):
        fn([], torch.zeros(0, 3, dtype=F64))
    with pytest.raises(ValueError, match="NaN"):
        fn(["H", "H"], torch.tensor([[0, 0, 0], [float("nan"), 0, 0]], dtype=F64))
    with pytest.raises(ValueError, match="shape"):
        fn(["H", "H"], torch.zeros(3, 3, dtype=F64))


def test_numpy_positions_accepted():
    mol = M.g2_molecule("HF")
    assert torch.allclose(M.dipole_moment(mol.symbols, mol.pos.numpy()), M.dipole_moment(mol.symbols, mol.pos))


def test_dataset_and_rotate_set():
    data = M.molecule_dataset(["H2O", "NH3", "HCl"], copies=2, seed=0)
    assert data.num_graphs == 6 and data.features.shape == (len(data.pos), len(M.ELEMENTS))
    assert data.dipole.shape == (6, 3) and data.polarizability.shape == (6, 3, 3)
    R = torch.stack([_rot(10 + k) for k in range(6)])
    rotated = M.rotate_set(data, R)
    k = 3
    idx = data.batch == k
    symbols = [M.ELEMENTS[i] for i in data.features[idx].argmax(1).tolist()]
    assert tuple(symbols) == M.g2_molecule(data.names[k]).symbols
    assert torch.allclose(M.dipole_moment(symbols, rotated.pos[idx]), rotated.dipole[k], atol=1e-10)
    assert torch.allclose(M.polarizability(symbols, rotated.pos[idx]), rotated.polarizability[k], atol=1e-10)
    with pytest.raises(ValueError, match="element"):
        M.one_hot(["H", "Na"])

"""Tests of e3teach.vibrations and e3teach.clusters (lesson 22): Hessians, levels, character tables."""
import numpy as np
import pytest
import torch
from ase.cluster import Decahedron, Icosahedron, Octahedron

from e3teach import clusters, env, point_groups, potentials, vibrations


def morse(pos):
    i, j = torch.triu_indices(len(pos), len(pos), 1)
    r = (pos[i] - pos[j]).norm(dim=1)
    return (0.4 * ((1 - torch.exp(-1.4 * (r - 2.5))) ** 2 - 1)).sum()


def morse_forces(pos):
    p = torch.as_tensor(pos, dtype=torch.float64).requires_grad_(True)
    return -torch.autograd.grad(morse(p), p)[0].numpy()


@pytest.fixture(scope="module")
def ico13():
    atoms = Icosahedron("Cu", 2)
    return atoms, point_groups.identify(atoms.positions, tol=1e-3)


def test_finite_differences_match_autograd_to_second_order():
    pos = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 1.6
    exact = vibrations.hessian_autograd(morse, pos)
    assert torch.allclose(exact, exact.T, atol=1e-12)
    errors = [float((vibrations.hessian_finite_differences(morse_forces, pos, h) - exact).abs().max())
              for h in (1e-2, 1e-3)]
    assert errors[1] < errors[0] / 50            # O(h²): ten times smaller h, ~100 times smaller error


def test_projection_leaves_six_exact_zero_modes():
    pos = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 1.6
    H = vibrations.project_rigid(vibrations.hessian_autograd(morse, pos), pos)
    values = torch.linalg.eigvalsh(H)
    assert int((values.abs() < 1e-10).sum()) == 6
    assert vibrations.rigid_motions(pos).shape == (18, 6)


def test_group_eigenvalues_cuts_levels_and_refuses_nan():
    levels = vibrations.group_eigenvalues([3.0, 1.0, 1.0 + 1e-9, 2.0, 2.0, 2.0], rtol=1e-6)
    assert [(round(lv.value), lv.size) for lv in levels] == [(1, 2), (2, 3), (3, 1)]
    with pytest.raises(ValueError, match="finite eigenvalues"):
        vibrations.group_eigenvalues([1.0, float("nan")])


def test_character_tables_of_ih_and_oh_are_orthonormal_and_named():
    for name, names in (("Ih", ["Ag", "T1g", "T2g", "Gg", "Hg", "Au", "T1u", "T2u", "Gu", "Hu"]),
                        ("Oh", ["A1g", "A2g", "Eg", "T1g", "T2g", "A1u", "A2u", "Eu", "T1u", "T2u"])):
        table = vibrations.character_table(point_groups.point_group(name))
        assert table.names == names
        chi = table.characters
        gram = chi.conj() @ chi.T / chi.shape[1]
        assert torch.allclose(gram, torch.eye(len(names), dtype=gram.dtype), atol=1e-10)
        assert sum(d * d for d in table.dims) == chi.shape[1]
    assert str(vibrations.character_table(point_groups.point_group("Ih"))).splitlines()[0].split() == [
        "irrep", "E", "12C5", "12C5²", "20C3", "15C2", "i", "12S10", "12S10³", "20S6", "15σ"]


def test_groups_without_inversion_get_plain_labels_and_complex_characters():
    table = vibrations.character_table(point_groups.point_group("C3"))
    assert table.names == ["Γ1", "Γ2", "Γ3"] and table.characters.is_complex()
    assert vibrations.character_table(point_groups.point_group("D5h")).dims == [1, 1, 1, 1, 2, 2, 2, 2]


def test_icosahedron_13_has_33_modes_in_the_textbook_irreps(ico13):
    atoms, group = ico13
    counts = vibrations.decompose(vibrations.vibrational_characters(group, atoms.positions),
                                  vibrations.character_table(group))
    assert counts == {"Ag": 1, "Gg": 1, "Hg": 2, "T1u": 2, "T2u": 1, "Gu": 1, "Hu": 1}


def test_a_symmetrized_matrix_has_one_irrep_per_level(ico13):
    atoms, group = ico13
    A = torch.randn(39, 39, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    H = vibrations.symmetrize(A + A.T, group, atoms.positions)
    levels = vibrations.level_irreps(H, group, atoms.positions)
    assert all(sum(irreps.values()) == 1 for _, irreps in levels)
    total = {}
    for _, irreps in levels:
        for name, n in irreps.items():
            total[name] = total.get(name, 0) + n
    full = vibrations.decompose(vibrations.displacement_characters(group, atoms.positions),
                                vibrations.character_table(group))
    assert total == full
    splitting = vibrations.level_splitting(H, H)
    assert max(s for _, s in splitting) < 1e-10


def test_an_invariant_model_has_a_degenerate_hessian(ico13):
    atoms, group = ico13
    with env.default_dtype(torch.float64):
        torch.manual_seed(0)
        model = potentials.InteratomicPotential([29], r_max=4.0, zero_init_readout=False)
    H = vibrations.project_rigid(
        vibrations.hessian_autograd(vibrations.energy_function(model, atoms), atoms.positions), atoms.positions)
    levels = vibrations.level_irreps(H, group, atoms.positions, rtol=1e-8, atol=1e-12)
    assert {lv.size for lv, _ in levels} <= {1, 3, 4, 5, 6}
    assert all(lv.spread < 1e-11 * max(1.0, abs(lv.value)) for lv, _ in levels)


def test_clear_errors_for_wrong_groups_and_characters(ico13):
    atoms, group = ico13
    cubo = Octahedron("Cu", 3, 1)
    moved = atoms.positions.copy()
    moved[1] += 0.3
    with pytest.raises(ValueError, match="not a symmetry of these positions"):
        vibrations.atom_permutations(group, moved)
    with pytest.raises(ValueError, match="not an integer"):
        vibrations.decompose(torch.ones(120) * 0.5, vibrations.character_table(group))
    with pytest.raises(ValueError, match="elements"):
        vibrations.decompose(torch.ones(7), vibrations.character_table(group))
    assert vibrations.displacement_characters(point_groups.identify(cubo.positions, tol=1e-3),
                                              cubo.positions)[0] == 39


def test_level_diagram_labels_every_level_or_refuses(ico13):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    atoms, group = ico13
    A = torch.randn(39, 39, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    H = vibrations.project_rigid(vibrations.symmetrize(A @ A.T, group, atoms.positions), atoms.positions)
    fig, ax = plt.subplots()
    vibrations.level_diagram(ax, 0.0, H, "C0")
    with pytest.raises(ValueError, match="names has 1 entries"):
        vibrations.level_diagram(ax, 1.0, H, "C1", names=["Ag"])
    plt.close(fig)


def test_clusters_samples_rotations_and_crossings():
    rng = np.random.default_rng(0)
    sample = clusters.emt_sample(Decahedron("Cu", 2, 2, 0), rng)
    assert sample.get_forces().shape == (13, 3) and np.isfinite(sample.get_potential_energy())
    R = point_groups.rotation((1.0, 2.0, 3.0), 0.7).numpy()
    turned = clusters.rotated(sample, R)
    assert np.allclose(turned.get_forces(), sample.get_forces() @ R.T)
    assert turned.get_potential_energy() == sample.get_potential_energy()
    assert clusters.crossover_sizes([1.8, -0.01], [1.7, 0.0]) == [1000]
    assert clusters.crossover_sizes([1.0, 0.0], [1.0, 0.1]) == []
    with pytest.raises(ValueError, match="standard deviation"):
        clusters.emt_sample(sample, rng, shake=-1.0)
    relaxed = clusters.relaxed(Icosahedron("Cu", 2), fmax=0.01)
    assert np.abs(relaxed.get_forces()).max() < 0.01
    assert point_groups.identify(relaxed.positions, tol=1e-3).name == "Ih"

"""Tests of e3teach.crystals: periodic neighbour lists, spglib operations, site symmetries, the periodic model."""
import pytest
import torch
from ase.build import bulk
from ase.neighborlist import neighbor_list
from ase.spacegroup import crystal

from e3teach import crystals as cr
from e3teach.env import default_dtype

F64 = torch.float64


def nacl():
    return bulk("NaCl", "rocksalt", a=5.64)


def perovskite():
    return crystal(["Sr", "Ti", "O"], basis=[(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0)], spacegroup=221,
                   cellpar=[3.905] * 3 + [90] * 3)


STRUCTURES = {
    "NaCl": (nacl, 225, "Fm-3m"),
    "Si": (lambda: bulk("Si", "diamond", a=5.43), 227, "Fd-3m"),
    "C": (lambda: bulk("C", "diamond", a=3.567), 227, "Fd-3m"),
    "SrTiO3": (perovskite, 221, "Pm-3m"),
    "ZnO": (lambda: bulk("ZnO", "wurtzite", a=3.25, c=5.2), 186, "P6_3mc"),
    "GaN": (lambda: bulk("GaN", "wurtzite", a=3.19, c=5.19), 186, "P6_3mc"),
}


def edge_multiset(src, dst, shifts):
    return sorted(zip(src.tolist(), dst.tolist(), map(tuple, shifts.tolist())))


@pytest.mark.parametrize("r_max", [1.0, 2.5, 4.0, 7.0])
@pytest.mark.parametrize("name", ["NaCl", "SrTiO3", "ZnO"])
def test_neighbour_list_matches_ase(name, r_max):
    atoms = STRUCTURES[name][0]()
    pos, cell, _ = cr.from_ase(atoms, F64)
    ours = edge_multiset(*cr.periodic_radius_graph(pos, cell, r_max))
    i, j, S = neighbor_list("ijS", atoms, r_max)
    assert ours == sorted(zip(i.tolist(), j.tolist(), map(tuple, S.tolist())))


def test_neighbour_list_random_skewed_cells_and_unwrapped_positions():
    import numpy as np
    from ase import Atoms
    rng = np.random.default_rng(0)
    for trial in range(4):
        cell = np.eye(3) * 3 + rng.normal(scale=0.8, size=(3, 3))
        frac = rng.uniform(-0.7, 1.7, size=(5, 3))          # some atoms outside the cell
        atoms = Atoms("H5", scaled_positions=frac, cell=cell, pbc=True)
        pos, c, _ = cr.from_ase(atoms, F64)
        ours = edge_multiset(*cr.periodic_radius_graph(pos, c, 3.3))
        i, j, S = neighbor_list("ijS", atoms, 3.3)
        assert ours == sorted(zip(i.tolist(), j.tolist(), map(tuple, S.tolist())))


def test_self_images_are_neighbours_and_edge_vectors():
    from ase import Atoms
    atoms = Atoms("H", positions=[[0, 0, 0]], cell=[2.0, 2.0, 2.0], pbc=True)
    pos, cell, _ = cr.from_ase(atoms, F64)
    src, dst, shifts = cr.periodic_radius_graph(pos, cell, 2.5)
    assert len(src) == 6 and bool((src == dst).all())          # the six face neighbours are images of itself
    vec = cr.edge_vectors(pos, cell, src, dst, shifts)
    assert torch.allclose(vec.norm(dim=1), torch.full((6,), 2.0, dtype=F64))
    # non-periodic direction: no images along z
    src, dst, shifts = cr.periodic_radius_graph(pos, cell, 2.5, pbc=(True, True, False))
    assert len(src) == 4 and bool((shifts[:, 2] == 0).all())


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_space_groups(name):
    build, number, symbol = STRUCTURES[name]
    assert cr.space_group(build()) == (number, symbol)


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_operations_map_structure_onto_itself(name):
    atoms = STRUCTURES[name][0]()
    pos, cell, numbers = cr.from_ase(atoms, F64)
    ops = cr.symmetry_operations(atoms)
    for R, t in ops:
        assert torch.allclose(R @ R.T, torch.eye(3, dtype=F64), atol=1e-10)
        perm = cr.operation_permutation(pos, cell, R, t)
        assert sorted(perm.tolist()) == list(range(len(atoms)))        # a permutation
        assert torch.equal(numbers[perm], numbers)                     # species preserved
    with pytest.raises(ValueError):                                    # a non-symmetry is rejected
        cr.operation_permutation(pos, cell, torch.eye(3, dtype=F64), torch.tensor([0.1, 0.2, 0.3], dtype=F64))


SITES = [("NaCl", 0, "Oh", "m-3m"), ("NaCl", 1, "Oh", "m-3m"), ("C", 0, "Td", "-43m"), ("Si", 1, "Td", "-43m"),
         ("SrTiO3", 0, "Oh", "m-3m"), ("SrTiO3", 1, "Oh", "m-3m"), ("SrTiO3", 2, "D4h", "4/mmm"),
         ("ZnO", 0, "C3v", "3m"), ("ZnO", 1, "C3v", "3m"), ("GaN", 0, "C3v", "3m")]


@pytest.mark.parametrize("name,index,schoenflies,hm", SITES)
def test_site_symmetry(name, index, schoenflies, hm):
    site = cr.site_symmetry(STRUCTURES[name][0](), index)
    assert (site.name, site.hm) == (schoenflies, hm)
    assert cr.hm_to_schoenflies(site.spglib_symbol) == schoenflies        # spglib agrees
    order = {"Oh": 48, "Td": 24, "D4h": 16, "C3v": 6}[schoenflies]
    assert site.order == order and site.D("1o + 2e").shape == (order, 8, 8)


def test_invariant_harmonic_counts():
    counts = {n: cr.site_symmetry(STRUCTURES[n][0](), i).count_invariant_harmonics(4)
              for n, i in [("NaCl", 0), ("C", 0), ("SrTiO3", 2), ("ZnO", 0)]}
    counts = {k: [v[l] for l in range(5)] for k, v in counts.items()}
    assert counts == {"NaCl": [1, 0, 0, 0, 1], "C": [1, 0, 0, 1, 1], "SrTiO3": [1, 0, 1, 0, 2], "ZnO": [1, 1, 1, 2, 2]}
    point_groups = pytest.importorskip("e3teach.point_groups")
    for name, index, group in [("NaCl", 0, "Oh"), ("C", 0, "Td"), ("SrTiO3", 2, "D4h"), ("ZnO", 0, "C3v")]:
        site = cr.site_symmetry(STRUCTURES[name][0](), index)
        expected = dict(enumerate(counts[name]))
        assert point_groups.count_invariant_harmonics(site.as_point_group(), 4) == expected      # projector rank
        assert point_groups.count_invariant_harmonics(point_groups.point_group(group), 4) == expected
        assert point_groups.fingerprint(site.matrices) == point_groups.fingerprint(point_groups.point_group(group).matrices)


def test_classify_rejects_non_groups():
    with pytest.raises(ValueError):
        cr.classify_point_group([torch.eye(3, dtype=F64), torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=F64))] * 2)
    with pytest.raises(KeyError):
        cr.hm_to_schoenflies("5m")


def _model(irreps_out, species, seed=0):
    torch.manual_seed(seed)
    with default_dtype(F64):
        return cr.PeriodicPointNet(irreps_out, species, layers=1, r_max=3.5)


def test_primitive_and_supercell_give_the_same_per_atom_outputs():
    atoms = nacl()
    model = _model("0e + 1o + 2e", [11, 17])
    out = model(*cr.from_ase(atoms, F64))
    big = atoms.repeat((2, 2, 2))
    out_big = model(*cr.from_ase(big, F64))
    n = len(atoms)
    assert torch.allclose(out_big, out[torch.arange(len(big)) % n], atol=1e-10)
    # the shift-free graph does not: atoms at the cell's edge miss neighbours
    from e3teach.graph import radius_graph
    pos, cell, numbers = cr.from_ase(big, F64)
    src, dst = radius_graph(pos, model.r_max)
    x = model.embed(numbers, F64)
    for block in model.blocks:
        x = block(x, pos, src, dst)
    assert not torch.allclose(model.output(x, pos, src, dst), out[torch.arange(len(big)) % n], atol=1e-3)


def test_space_group_operations_and_site_symmetry_of_model_outputs():
    atoms = perovskite()
    model = _model("0e + 2e", [38, 22, 8])
    pos, cell, numbers = cr.from_ase(atoms, F64)
    out = model(pos, cell, numbers)
    with default_dtype(F64):
        D = model.irreps_out.D_from_matrix
        for R, t in cr.symmetry_operations(atoms):
            perm = cr.operation_permutation(pos, cell, R, t)
            moved = model(pos @ R.T + t, cell, numbers)
            assert torch.allclose(moved, out @ D(R).T, atol=1e-10)          # equivariance
            assert torch.allclose(moved, out[perm], atol=1e-10)             # same crystal, atoms relabelled
    assert out[:2, 1:].abs().max() < 1e-10                                  # Oh sites: no l=2 part
    assert out[2:, 1:].abs().max() > 1e-3                                   # D4h sites: allowed


def test_model_rejects_unknown_species():
    model = _model("0e", [11])
    with pytest.raises(ValueError, match="17"):
        model(*cr.from_ase(nacl(), F64))

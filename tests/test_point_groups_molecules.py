"""point_groups.identify on real structures: ase's g2 molecules and ase's clusters, clean and noisy.

Structures read from files always carry noise (rounded or relaxed coordinates); identify must give
the same answer on the clean geometry, with 1e-4 Å of noise (tol 1e-3 Å) and with 1e-3 Å (tol 1e-2 Å),
in any orientation — and never crash on linear molecules or single atoms.

The expected groups are the textbook ones, each checked against the g2 geometry (e.g. g2's ethane and
disilane are staggered: H–C–C–H dihedrals 60°/180°, so D3d; cyclobutane is puckered, D2d; allene and
spiropentane have their two ends in perpendicular planes, D2d).
"""
import warnings

import numpy as np
import pytest
import torch
from ase.cluster import Decahedron, Icosahedron, Octahedron
from ase.collections import g2

from e3teach import point_groups as pg
from e3teach.equivariance import random_rotation

TEXTBOOK = {
    # tetrahedral
    "CH4": "Td", "SiH4": "Td", "CF4": "Td", "CCl4": "Td", "SiF4": "Td", "SiCl4": "Td",
    # pyramidal and other C3v
    "NH3": "C3v", "PH3": "C3v", "NF3": "C3v", "PF3": "C3v", "CH3Cl": "C3v", "HCF3": "C3v",
    "HCCl3": "C3v", "CH3CN": "C3v", "CH3SiH3": "C3v", "isobutane": "C3v", "C3H9N": "C3v",
    # planar trigonal
    "BF3": "D3h", "BCl3": "D3h", "AlCl3": "D3h", "CH3": "D3h", "C3H6_D3h": "D3h",
    # bent, planar rings and other C2v
    "H2O": "C2v", "SH2": "C2v", "SO2": "C2v", "O3": "C2v", "H2CO": "C2v", "ClF3": "C2v",
    "H2CCl2": "C2v", "CH2OCH2": "C2v", "C3H8": "C2v", "C5H5N": "C2v", "C4H4O": "C2v", "C4H4S": "C2v",
    # others
    "C6H6": "D6h", "C2H6": "D3d", "Si2H6": "D3d", "C2H4": "D2h", "C2F4": "D2h", "C2Cl4": "D2h",
    "C3H4_D2d": "D2d", "cyclobutane": "D2d", "C5H8": "D2d",
    "trans-butane": "C2h", "butadiene": "C2h", "OCHCHO": "C2h",
    "H2O2": "C2", "N2H4": "C2", "HOCl": "Cs", "HCOOH": "Cs", "CH3OH": "Cs",
    # linear and atoms: infinite groups
    "CO2": "D∞h", "CS2": "D∞h", "C2H2": "D∞h", "NCCN": "D∞h", "N2": "D∞h",
    "HCN": "C∞v", "OCS": "C∞v", "N2O": "C∞v", "CO": "C∞v",
    "H": "Kh", "C": "Kh",
}
NOISE_AND_TOL = [(0.0, 1e-2), (1e-4, 1e-3), (1e-3, 1e-2)]     # Å: noise std per coordinate, tol


def _identify_all_ways(atoms, seed):
    """identify on the clean and the two noisy copies, each randomly rotated and moved."""
    gen = torch.Generator().manual_seed(seed)
    pos = torch.tensor(atoms.positions, dtype=torch.float64)
    species = atoms.get_chemical_symbols()
    results = []
    for noise, tol in NOISE_AND_TOL:
        R = random_rotation(gen, dtype=torch.float64)
        moved = pos @ R.T + torch.randn(3, generator=gen, dtype=torch.float64)
        moved = moved + noise * torch.randn(moved.shape, generator=gen, dtype=torch.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("error")                       # no caveat expected on these
            results.append(pg.identify(moved, species, tol=tol))
    return results


def test_at_least_thirty_real_molecules():
    assert sum(1 for name in TEXTBOOK if len(g2[name]) > 2) >= 30


@pytest.mark.parametrize("molecule", sorted(TEXTBOOK))
def test_g2_molecule_textbook_group_clean_and_noisy(molecule):
    atoms = g2[molecule]
    expected = TEXTBOOK[molecule]
    for G in _identify_all_ways(atoms, seed=sum(map(ord, molecule))):
        assert G.name == expected, (molecule, G.name, getattr(G, "notes", None))
        if isinstance(G, pg.PointGroup):
            assert G.order == pg.point_group(expected).order and G.notes == []
            # an exact group: orthogonal matrices, closed under products
            M = G.matrices
            prods = (M[:, None] @ M[None]).reshape(-1, 9)
            gaps = torch.cdist(prods, M.reshape(-1, 9), compute_mode="donot_use_mm_for_euclid_dist")
            assert gaps.min(dim=1).values.max() < 1e-10
            assert G.deviation <= G.tol


CLUSTERS = {
    "icosahedron 13": (lambda: Icosahedron("Cu", 2), "Ih"),
    "icosahedron 55": (lambda: Icosahedron("Cu", 3), "Ih"),
    "octahedron 44": (lambda: Octahedron("Cu", 4), "Oh"),
    "truncated octahedron 79": (lambda: Octahedron("Cu", 5, cutoff=1), "Oh"),
    "decahedron 13": (lambda: Decahedron("Cu", 2, 2, 0), "D5h"),
    "decahedron 39": (lambda: Decahedron("Cu", 3, 2, 0), "D5h"),
}


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_ase_clusters_clean_and_noisy(cluster):
    build, expected = CLUSTERS[cluster]
    for G in _identify_all_ways(build(), seed=len(cluster)):
        assert G.name == expected and G.order == pg.point_group(expected).order


def test_cluster_species_lower_the_symmetry():
    atoms = Octahedron("Cu", 3)                                  # 19 atoms: Oh
    r = np.linalg.norm(atoms.positions - atoms.positions.mean(0), axis=1)
    species = atoms.get_chemical_symbols()
    species[int(np.argmax(r))] = "Au"                            # one vertex replaced
    assert pg.identify(atoms.positions, species).name == "C4v"
    core = Icosahedron("Cu", 2)
    species = core.get_chemical_symbols()
    species[int(np.argmin(np.linalg.norm(core.positions - core.positions.mean(0), axis=1)))] = "Ag"
    assert pg.identify(core.positions, species).name == "Ih"    # a different central atom keeps Ih


def test_whole_g2_collection_never_crashes_and_noise_changes_nothing():
    gen = torch.Generator().manual_seed(11)
    for name in g2.names:
        atoms = g2[name]
        pos = torch.tensor(atoms.positions, dtype=torch.float64)
        clean = pg.identify(pos, atoms.get_chemical_symbols())
        noisy = pg.identify(pos + 1e-3 * torch.randn(pos.shape, generator=gen, dtype=torch.float64),
                            atoms.get_chemical_symbols())
        assert noisy.name == clean.name, name


def test_a_large_tol_still_gives_the_right_group():
    # tol = 0.3 Å is far above the noise but below half of every H–H distance: still exact answers
    for name, expected in [("H2O", "C2v"), ("C6H6", "D6h"), ("CH4", "Td"), ("C2H6", "D3d"), ("NH3", "C3v")]:
        atoms = g2[name]
        assert pg.identify(atoms.positions, atoms.get_chemical_symbols(), tol=0.3).name == expected, name


def test_ch3s_is_a_jahn_teller_distorted_cs_not_c3v():
    """Issue 19 reported CH3S (C3v) named Cs with 1e-3 Å of noise. The root is the expectation, not identify:
    ase's g2 CH3S is the Jahn–Teller distorted radical (a ²E state in C3v distorts). One H sits 1.0952 Å from C,
    the other two 1.0905 Å, and 0.08 Å apart along the C–S axis: only the mirror z → −z holds; the two C3
    rotations and the two other mirrors map the clean geometry only within 0.045 Å, 4.5 × the default tol.
    So it is Cs clean and noisy; a tol within a factor 3 of 0.045 says so in .notes; tol = 0.05 gives C3v."""
    atoms = g2["CH3S"]
    for G in _identify_all_ways(atoms, seed=19):
        assert G.name == "Cs" and G.order == 2, (G.name, G.notes)
    pos, species = atoms.positions, atoms.get_chemical_symbols()
    near = pg.identify(pos, species, tol=0.02)
    assert near.name == "Cs" and any("4 more operation(s)" in note and "0.045" in note for note in near.notes)
    assert pg.identify(pos, species, tol=0.05).name == "C3v"

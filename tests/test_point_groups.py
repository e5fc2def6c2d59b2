"""Tests of e3teach.point_groups against textbook facts (orders, invariant counts, Neumann tables)."""
import math

import pytest
import torch

from e3teach import point_groups as pg
from e3teach.equivariance import random_rotation

torch.set_num_threads(1)

# orders from the standard character tables
ORDERS = {"C1": 1, "Ci": 2, "Cs": 2, "C2": 2, "C3": 3, "C6": 6, "C2v": 4, "C3v": 6, "C4v": 8,
          "C6v": 12, "C2h": 4, "C3h": 6, "C4h": 8, "D2": 4, "D3": 6, "D6": 12, "D2h": 8,
          "D3h": 12, "D4h": 16, "D6h": 24, "D2d": 8, "D3d": 12, "D4d": 16, "S4": 4, "S6": 6,
          "S8": 8, "T": 12, "Td": 24, "Th": 24, "O": 24, "Oh": 48, "I": 60, "Ih": 120}


@pytest.mark.parametrize("name,order", sorted(ORDERS.items()))
def test_group_orders(name, order):
    G = pg.point_group(name)
    assert G.order == order == len(G)
    M = G.matrices
    assert M.dtype == torch.float64
    assert torch.allclose(M[0], torch.eye(3, dtype=torch.float64))
    assert torch.allclose(M @ M.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand_as(M), atol=1e-12)
    # closed under multiplication
    prods = torch.einsum("aij,bjk->abik", M, M).reshape(-1, 1, 3, 3)
    assert ((prods - M[None]).abs().amax(dim=(2, 3)).min(dim=1).values < 1e-9).all()
    assert G.proper == (name in {"C1", "C2", "C3", "C6", "D2", "D3", "D6", "T", "O", "I"})


def test_principal_axis_and_axis_option():
    z = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    G = pg.point_group("C4")
    assert torch.allclose(G.matrices @ z, z.expand(4, 3))
    Gy = pg.point_group("C4", axis="y")
    y = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    assert torch.allclose(Gy.matrices @ y, y.expand(4, 3))
    assert pg.point_group("oh").name == "Oh"
    with pytest.raises(ValueError):
        pg.point_group("C3d")
    with pytest.raises(ValueError):
        pg.point_group("S3")


def test_generate_closure_and_infinite():
    G = pg.generate([pg.rotation((0, 0, 1), math.pi / 2), -torch.eye(3, dtype=torch.float64)])
    assert len(G) == 8                                   # C4h
    with pytest.raises(ValueError):
        pg.generate([pg.rotation((0, 0, 1), 1.0)], max_order=100)


def test_fingerprints_distinguish_catalogue():
    seen = {}
    for name in pg.catalogue(max_order=48, max_n=24):
        fp = pg.fingerprint(pg.point_group(name).matrices)
        assert fp not in seen, (name, seen.get(fp))
        seen[fp] = name


def _harm(name, lmax):
    return [pg.count_invariant_harmonics(name, lmax)[l] for l in range(lmax + 1)]


def test_invariant_harmonics_known_counts():
    assert _harm("Oh", 8) == [1, 0, 0, 0, 1, 0, 1, 0, 1]      # cubic harmonics
    assert _harm("O", 9) == [1, 0, 0, 0, 1, 0, 1, 0, 1, 1]    # O adds l=9 (chiral)
    assert _harm("Td", 4)[3] == 1                              # xyz
    ih = _harm("Ih", 12)
    assert ih[1:6] == [0] * 5 and ih[6] == 1 and ih[10] == 1 and ih[12] == 1
    assert _harm("D2h", 2)[2] == 2                             # x²-y², 3z²-r²... (two of d)
    assert _harm("Th", 6) == [1, 0, 0, 0, 1, 0, 2]
    # a many-sided Cnv behaves like C∞v up to l < n: one invariant (the zonal harmonic) per l
    assert _harm("C12v", 8) == [1] * 9
    assert _harm("C1", 3) == [1, 3, 5, 7]
    assert _harm("Ci", 3) == [1, 0, 5, 0]


@pytest.mark.parametrize("name", ["Oh", "Td", "D4h", "C3v", "D3d", "S4", "Ih", "C2h", "T"])
def test_character_count_equals_projector_rank(name):
    counts = pg.count_invariant_harmonics(name, 6)
    for l, c in counts.items():
        assert pg.character_count(name, f"{l}{'e' if l % 2 == 0 else 'o'}") == c


def test_projector_is_projector():
    P = pg.invariant_projector("Td", "0e + 1o + 2e + 3o")
    assert torch.allclose(P @ P, P, atol=1e-12) and torch.allclose(P, P.T, atol=1e-12)


def test_degeneracies_schur():
    assert pg.degeneracies("Oh", "2e") == [2, 3]
    assert pg.degeneracies("Td", "1o") == [3]
    assert pg.degeneracies("D4h", "2e") == [1, 1, 1, 2]
    assert pg.degeneracies("C1", "2e") == [1, 1, 1, 1, 1]
    assert pg.degeneracies("Ih", "3o") == [3, 4]                  # f: T2u + Gu
    assert pg.degeneracies("Oh", "3o") == [1, 3, 3]               # f: A2u + T1u + T2u


DIELECTRIC = {"Oh": 1, "Td": 1, "D4h": 2, "D6h": 2, "D3d": 2, "C4v": 2, "D2h": 3, "C2v": 3,
              "C2h": 4, "Cs": 4, "Ci": 6, "C1": 6}
PIEZO = {"Oh": 0, "O": 0, "Td": 1, "C1": 18, "C2v": 5, "C3v": 4, "D3": 2, "C6v": 3, "D2d": 2,
         "Ci": 0, "C4": 4, "D2": 3}
ELASTIC = {"Oh": 3, "Td": 3, "D6h": 5, "D4h": 6, "C4h": 7, "D2h": 9, "C2h": 13, "C1": 21, "D3d": 6}


@pytest.mark.parametrize("name,count", sorted(DIELECTRIC.items()))
def test_neumann_dielectric(name, count):
    assert pg.tensor_component_count(name, "ij=ji", i="1o") == count


@pytest.mark.parametrize("name,count", sorted(PIEZO.items()))
def test_neumann_piezoelectric(name, count):
    assert pg.tensor_component_count(name, "ijk=ikj", i="1o") == count


@pytest.mark.parametrize("name,count", sorted(ELASTIC.items()))
def test_neumann_elastic(name, count):
    assert pg.tensor_component_count(name, "ijkl=jikl=ijlk=klij", i="1o") == count


# --- molecules built from bond lengths and angles (Å) -------------------------------------------
def methane():
    c = 1.09 / math.sqrt(3)
    h = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=torch.float64) * c
    return torch.cat([torch.zeros(1, 3, dtype=torch.float64), h]), ["C"] + ["H"] * 4


def water():
    t = math.radians(104.5) / 2
    return torch.tensor([[0, 0, 0], [0.96 * math.sin(t), 0, 0.96 * math.cos(t)],
                         [-0.96 * math.sin(t), 0, 0.96 * math.cos(t)]], dtype=torch.float64), ["O", "H", "H"]


def ammonia():
    pos = [[0, 0, 0.38]] + [[0.94 * math.cos(2 * math.pi * k / 3), 0.94 * math.sin(2 * math.pi * k / 3), 0]
                            for k in range(3)]
    return torch.tensor(pos, dtype=torch.float64), ["N", "H", "H", "H"]


def benzene():
    pos = []
    for r in (1.39, 2.48):
        pos += [[r * math.cos(math.pi * k / 3), r * math.sin(math.pi * k / 3), 0] for k in range(6)]
    return torch.tensor(pos, dtype=torch.float64), ["C"] * 6 + ["H"] * 6


def sf6():
    e = torch.eye(3, dtype=torch.float64) * 1.56
    return torch.cat([torch.zeros(1, 3, dtype=torch.float64), e, -e]), ["S"] + ["F"] * 6


def ethane_staggered():
    pos = [[0, 0, 0.77], [0, 0, -0.77]]
    for k in range(3):
        a = 2 * math.pi * k / 3
        pos.append([1.03 * math.cos(a), 1.03 * math.sin(a), 1.13])
        pos.append([1.03 * math.cos(a + math.pi / 3), 1.03 * math.sin(a + math.pi / 3), -1.13])
    return torch.tensor(pos, dtype=torch.float64), ["C", "C"] + ["H"] * 6


MOLECULES = {"CH4": (methane, "Td"), "H2O": (water, "C2v"), "NH3": (ammonia, "C3v"),
             "C6H6": (benzene, "D6h"), "SF6": (sf6, "Oh"), "C2H6": (ethane_staggered, "D3d")}


@pytest.mark.parametrize("molecule", sorted(MOLECULES))
def test_identify_molecules_any_orientation(molecule):
    build, expected = MOLECULES[molecule]
    pos, species = build()
    gen = torch.Generator().manual_seed(7)
    for _ in range(3):
        R = random_rotation(gen, dtype=torch.float64)
        moved = pos @ R.T + torch.randn(3, generator=gen, dtype=torch.float64)
        G = pg.identify(moved, species)
        assert G.name == expected
        assert G.order == pg.point_group(expected).order
        # the returned matrices are symmetries of the molecule in its own frame
        x = moved - moved.mean(0)
        for M in G.matrices:
            assert torch.cdist(x @ M.T, x).min(dim=1).values.max() < 1e-6


def test_identify_species_matter_and_shapes():
    from e3teach.data.tetris import tetris
    data = tetris()
    from e3teach.data.tetris import SHAPE_NAMES
    names = {SHAPE_NAMES[int(s)]: pg.identify(p).name
             for p, s in zip(data.pos, data.shape) if SHAPE_NAMES[int(s)] != "line"}
    # the chiral pieces are not C1: each has a C2 axis (rotations only, hence chiral);
    # the corner is a tripod (C3v); the flat pieces keep their plane as a mirror
    assert names == {"chiral_shape_1": "C2", "chiral_shape_2": "C2", "square": "D4h", "corner": "C3v",
                     "L": "Cs", "T": "C2v", "zigzag": "C2h"}
    assert pg.identify(data.pos[0]).proper
    generic = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert pg.identify(generic).name == "C1"
    line = pg.identify(data.pos[SHAPE_NAMES.index("line")])    # four cubes in a row: infinite group
    assert isinstance(line, pg.InfinitePointGroup) and line.name == "D∞h" and line.order == math.inf
    square = torch.tensor([[1, 1, 0], [1, -1, 0], [-1, 1, 0], [-1, -1, 0]], dtype=torch.float64)
    assert pg.identify(square).name == "D4h"
    pos, _ = water()
    assert pg.identify(pos, ["O", "H", "H"]).name == "C2v"
    assert pg.identify(pos, ["O", "H", "D"]).name == "Cs"     # an HDO molecule
    assert pg.identify(torch.tensor([[0, 0, 0], [0, 0, 1.0]])).name == "D∞h"            # species ignored
    assert pg.identify(torch.tensor([[0, 0, 0], [0, 0, 1.0]]), ["C", "O"]).name == "C∞v"


def test_pictures_and_generic_point():
    for name in pg.catalogue(max_order=120, max_n=12):
        pts = pg.orbit(name)
        d = torch.cdist(pts, pts) + 9 * torch.eye(len(pts), dtype=torch.float64)
        assert d.min() > 1e-3, name                           # the generic point has |G| distinct images
    l, c = pg.first_invariant_harmonic("Td")
    assert l == 3
    D = pg.point_group("Td").D(f"{l}o")
    assert torch.allclose(D @ c, c.expand(24, -1), atol=1e-12)
    fig = pg.group_figure("D4h")
    assert len(fig.data[0].x) == 16 and len(fig.data) >= 2
    assert fig.layout.template.layout.to_plotly_json() == {} and fig.layout.margin.b > 0    # the course template ("none")
    explorer = pg.group_explorer(["C2v", "Oh"])
    assert len(explorer.select("Oh").data[0].x) == 48


def test_degeneracies_any_orientation():
    G = pg.point_group("D4h", axis=(1.0, 2.0, 0.5))
    assert pg.degeneracies(G, "2e") == [1, 1, 1, 2]
    assert pg.count_invariant_harmonics(G, 4) == pg.count_invariant_harmonics("D4h", 4)


def test_element_symbols_match_class_structure():
    from collections import Counter

    def kinds(name):
        return dict(Counter(pg.element_symbol(g) for g in pg.point_group(name).matrices))
    # standard character tables (classes merged by element kind)
    assert kinds("Oh") == {"E": 1, "C3": 8, "C2": 9, "C4": 6, "i": 1, "S4": 6, "S6": 8, "σ": 9}
    assert kinds("Td") == {"E": 1, "C3": 8, "C2": 3, "S4": 6, "σ": 6}
    assert kinds("Ih") == {"E": 1, "C5": 24, "C3": 20, "C2": 15, "i": 1, "S10": 24, "S6": 20, "σ": 15}
    assert kinds("C3h") == {"E": 1, "C3": 2, "σ": 1, "S3": 2}
    assert kinds("D3d") == {"E": 1, "C3": 2, "C2": 3, "i": 1, "S6": 2, "σ": 3}


# --- naming groups from their structure; identify's contract on hard input ----------------------
def test_schoenflies_name_recovers_every_catalogue_group_in_any_orientation():
    gen = torch.Generator().manual_seed(3)
    for name in pg.catalogue(max_order=120, max_n=16):
        Q = random_rotation(gen, dtype=torch.float64)
        M = Q @ pg.point_group(name).matrices @ Q.T
        M = M[torch.randperm(len(M), generator=gen)]              # identity anywhere
        assert pg.schoenflies_name(M) == name
    with pytest.raises(ValueError, match="not closed"):
        pg.schoenflies_name(pg.point_group("C4").matrices[:3])
    with pytest.raises(ValueError, match="smaller tol"):
        pg.schoenflies_name(pg.point_group("C24").matrices, tol=0.2)


def test_identify_single_atom_and_linear_groups():
    atom = pg.identify(torch.tensor([[1.0, 2.0, 3.0]]), ["Ar"])
    assert isinstance(atom, pg.InfinitePointGroup) and atom.name == "Kh" and atom.has_inversion
    hcn = pg.identify(torch.tensor([[0, 0, -1.07], [0, 0, 0], [0, 0, 1.16]]), "HCN")
    assert hcn.name == "C∞v" and not hcn.has_inversion
    assert abs(abs(float(hcn.axis[2])) - 1) < 1e-12
    sub = hcn.finite_subgroup(8)                                  # C8v about the molecular axis
    assert sub.name == "C8v" and sub.order == 16
    assert pg.count_invariant_harmonics(sub, 6) == {l: 1 for l in range(7)}   # as C∞v below l = 8
    with pytest.raises(ValueError, match="infinite"):
        hcn.matrices
    # CO2 with a noisy bond length: C∞v, and the note says the inversion only just misses
    co2 = pg.identify(torch.tensor([[0, 0, -1.16], [0, 0, 0], [0, 0, 1.19]]), "OCO", tol=0.01)
    assert co2.name == "C∞v" and "D∞h" in co2.notes[0]
    assert pg.identify(torch.tensor([[0, 0, -1.16], [0, 0, 0], [0, 0, 1.19]]), "OCO", tol=0.025).name == "D∞h"
    # CO2 bent by 0.012 Å: C2v at tol 0.01, with a note that it is almost linear
    bent = pg.identify(torch.tensor([[0, 0, -1.16], [0.012, 0, 0], [0, 0, 1.16]]), "OCO", tol=0.01)
    assert bent.name == "C2v" and "linear" in bent.notes[-1]
    with pytest.raises(ValueError, match="no single axis"):
        atom.finite_subgroup(4)


def test_identify_refuses_a_tol_that_cannot_tell_atoms_apart():
    pos, species = water()                                       # H–H distance 1.52 Å
    assert pg.identify(pos, species, tol=0.3).name == "C2v"
    with pytest.raises(ValueError, match="tol is too large"):
        pg.identify(pos, species, tol=0.8)
    with pytest.raises(ValueError, match="within tol"):
        pg.identify(torch.tensor([[0, 0, 0], [0, 0, 0.5]]), ["Li", "H"], tol=0.3)
    with pytest.raises(ValueError, match="shape"):
        pg.identify(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="NaN"):
        pg.identify(torch.tensor([[0, 0, float("nan")], [0, 0, 1.0], [0, 1.0, 0]]))


def test_identify_returns_the_largest_group_when_operations_do_not_close():
    # an octagon with radii 1 + e cos 3θ: C8³ moves each corner by ≤ 2 sin(3π/8)·e·... = 0.77e, but its
    # square C8⁶ by 1.41e and its fourth power C2 by 2e; exactly, only C2v (mirror xz, plane, C2 along x)
    e = 0.01
    theta = torch.arange(8, dtype=torch.float64) * math.pi / 4
    radius = 1 + e * torch.cos(3 * theta)
    octagon = torch.stack([radius * torch.cos(theta), radius * torch.sin(theta), 0 * theta], dim=1)
    with pytest.warns(UserWarning, match="do not form a group"):
        G = pg.identify(octagon, tol=e)                          # finds C8³ but not C8⁶: no group
    assert G.name == "C2v" and G.order == 4
    assert "D8h (order 32)" in G.notes[0] and "0.02" in G.notes[0]      # what a larger tol gives
    assert pg.identify(octagon, tol=2.1 * e).name == "D8h"
    G = pg.identify(octagon, tol=0.5 * e)
    assert G.name == "C2v" and "just above tol" in G.notes[0]     # near misses are reported


def test_identify_snaps_noisy_operations_onto_an_exact_group():
    pos, species = methane()
    gen = torch.Generator().manual_seed(5)
    noisy = pos + 1e-3 * torch.randn(pos.shape, generator=gen, dtype=torch.float64)
    G = pg.identify(noisy, species)
    assert G.name == "Td" and G.notes == []
    M = G.matrices
    eye = torch.eye(3, dtype=torch.float64)
    assert (M @ M.transpose(1, 2) - eye).abs().max() < 1e-12                    # orthogonal
    prods = torch.einsum("aij,bjk->abik", M, M).reshape(-1, 1, 3, 3)
    assert (prods - M[None]).abs().amax(dim=(2, 3)).min(dim=1).values.max() < 1e-12   # closed
    x = noisy - G.center
    assert G.deviation < 5e-3                                 # symmetrized positions stay close
    sym = G.symmetrized
    assert (torch.einsum("gij,nj->gni", M, sym) - sym[G.permutations]).abs().max() < 1e-12
    assert (sym - x).norm(dim=1).max() <= G.deviation + 1e-15

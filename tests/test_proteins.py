"""Tests of e3teach.proteins: peptides built from φ/ψ give those angles and the textbook helices back, mirrors
turn L into D, the virtual-Cβ formula assumes L, batches carry 1o features, and the residue network transforms
as its irreps say (float64)."""
import pytest
import torch
from e3nn import o3

from e3teach import env, proteins

MIRROR = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))


def helix(phi=-57.0, psi=-47.0, n=10, sequence=None):
    return proteins.build_peptide([phi] * n, [psi] * n, sequence)


def test_dihedral_of_a_square_corner_is_plus_or_minus_90_degrees():
    a, b, c = torch.tensor([[1.0, 0, 0]]), torch.tensor([[0.0, 0, 0]]), torch.tensor([[0.0, 0, 1]])
    assert torch.allclose(proteins.dihedral(a, b, c, torch.tensor([[0.0, 1, 1]])), torch.tensor([90.0]))
    assert torch.allclose(proteins.dihedral(a, b, c, torch.tensor([[0.0, -1, 1]])), torch.tensor([-90.0]))


@pytest.mark.parametrize("name", list(proteins.CONFORMATIONS))
def test_built_chains_give_their_angles_back(name):
    phi, psi = proteins.CONFORMATIONS[name]
    chain = helix(phi, psi, sequence="ACDEFHIKLM")
    assert chain.pos.shape == (10, 5, 3) and chain.pos.dtype == torch.float64
    phi_back, psi_back = proteins.backbone_dihedrals(chain.pos)
    assert (phi_back - phi).abs().max() < 1e-3 and (psi_back - psi).abs().max() < 1e-3


def test_alpha_helix_parameters_and_handedness_flip_in_a_mirror():
    chain = helix(n=12)
    rise, per_turn = proteins.helix_parameters(chain.pos[:, 1])
    assert abs(rise - 1.5) < 0.1 and abs(per_turn - 3.6) < 0.1
    rise_m, per_turn_m = proteins.helix_parameters(proteins.mirror(chain.pos)[:, 1])
    assert rise_m == pytest.approx(rise) and per_turn_m == pytest.approx(-per_turn)


def test_mirror_turns_L_into_D_and_alpha_into_alpha_L_backbone():
    alpha, alpha_L = helix(), helix(57.0, 47.0)
    assert (proteins.chirality(alpha.pos) > 0).all() and (proteins.chirality(alpha_L.pos) > 0).all()
    d_alpha = proteins.mirror(alpha.pos)
    assert (proteins.chirality(d_alpha) < 0).all()
    assert proteins.superposed_rmsd(d_alpha[:, :4], alpha_L.pos[:, :4]) < 1e-4
    assert proteins.superposed_rmsd(d_alpha, alpha_L.pos) > 0.5
    R = o3.rand_matrix(dtype=torch.float64)
    assert proteins.superposed_rmsd(alpha.pos @ R.T + 3.0, alpha.pos) < 1e-6


def test_ideal_virtual_cb_is_close_on_L_and_wrong_on_D():
    pos = proteins.random_chain(torch.Generator().manual_seed(0)).pos
    for transform, low, high in ((lambda p: p, 0.0, 2.0), (proteins.mirror, 90.0, 130.0)):
        p = transform(pos)
        cb = proteins.ideal_virtual_cb(p[:, 0], p[:, 1], p[:, 2])
        angle = proteins.angle_deg(cb - p[:, 1], p[:, 4] - p[:, 1]).mean()
        assert low < angle < high


def test_build_peptide_refuses_glycine_and_mismatched_lengths():
    with pytest.raises(ValueError, match=r"\['G'\].*glycine has no Cβ"):
        proteins.build_peptide([-57.0] * 3, [-47.0] * 3, "AGA")
    with pytest.raises(ValueError, match="same length"):
        proteins.build_peptide([-57.0] * 3, [-47.0] * 2)
    with pytest.raises(ValueError, match="finite"):
        proteins.build_peptide([-57.0, float("nan")], [-47.0, -47.0])


def test_random_chains_are_reproducible_and_labelled():
    a = proteins.random_chain(torch.Generator().manual_seed(5))
    b = proteins.random_chain(torch.Generator().manual_seed(5))
    assert a.sequence == b.sequence and torch.equal(a.pos, b.pos)
    assert a.labels.shape == (len(a),) and set(a.labels.tolist()) <= set(range(len(proteins.CLASSES)))
    with pytest.raises(ValueError, match="unknown class 'sheet'"):
        proteins.sample_angles("sheet", 3, torch.Generator())


def test_batch_chains_features_are_vectors_from_ca():
    chains = [helix(n=6), helix(-139.0, 135.0, n=4)]
    batch = proteins.batch_chains(chains, ("N", "C", "O", "CB"))
    assert batch.x.shape == (10, 12) and batch.cloud.pos.shape == (10, 3) and batch.cloud.num_graphs == 2
    assert torch.allclose(batch.x[:6, :3], chains[0].pos[:, 0] - chains[0].pos[:, 1])
    assert torch.allclose(batch.cb_dir.norm(dim=1), torch.ones(10, dtype=torch.float64))
    assert (batch.labels == -1).all()
    with pytest.raises(ValueError, match=r"\['CA'\] cannot be features"):
        proteins.batch_chains(chains, ("CA",))
    with pytest.raises(ValueError, match="no chains"):
        proteins.batch_chains([])


def test_residue_network_outputs_transform_as_declared_in_float64():
    chains = [proteins.random_chain(torch.Generator().manual_seed(s)) for s in (1, 2)]
    with env.default_dtype(torch.float64):
        torch.manual_seed(0)
        net = proteins.ResidueNetwork("4x1o", "0e + 1o + 0o")
        batch = proteins.batch_chains(chains, ("N", "C", "O", "CB"))
        out = net(batch)
        for g in (o3.rand_matrix(dtype=torch.float64), MIRROR, -o3.rand_matrix(dtype=torch.float64)):
            moved = net(proteins.batch_chains(chains, ("N", "C", "O", "CB"), transform=lambda p: p @ g.T))
            assert (moved - out @ net.irreps_out.D_from_matrix(g).T).abs().max() < 1e-10
    assert out.abs().max() > 1e-3
    with pytest.raises(ValueError, match="expects 3x1o"):
        net32 = proteins.ResidueNetwork("3x1o", "0e")
        net32(batch)


def test_fit_lowers_the_loss():
    batch = proteins.batch_chains([proteins.random_chain(torch.Generator().manual_seed(3))])
    torch.manual_seed(0)
    net = proteins.ResidueNetwork("3x1o", "1o")
    losses = proteins.fit(net, batch, lambda out: (out - batch.cb_dir.float()).pow(2).mean(), steps=15)
    assert len(losses) == 15 and losses[-1] < losses[0]


def test_kabsch_undoes_a_rotation_and_never_reflects():
    pos = proteins.random_chain(torch.Generator().manual_seed(4)).pos
    R = o3.rand_matrix(dtype=torch.float64)
    rotation, centre_a, centre_b = proteins.kabsch(pos @ R.T + 1.0, pos)
    assert torch.allclose((pos @ R.T + 1.0 - centre_a) @ rotation + centre_b, pos, atol=1e-8)
    rotation, _, _ = proteins.kabsch(proteins.mirror(pos), pos)
    assert torch.det(rotation) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same number of points"):
        proteins.kabsch(pos[:2], pos)

"""e3teach.diagnose names each planted set-up mistake, and raises no false alarm on correct models."""
import pytest
import torch
from e3nn import o3

from e3teach import env
from e3teach.diagnose import CODES, check_matrix, diagnose, diagnose_labels
from e3teach.graph import radius_graph
from e3teach.models import EquivariantPointNet

R_MAX = 2.0


@pytest.fixture(scope="module")
def model():
    with env.default_dtype(torch.float64):
        torch.manual_seed(0)
        return EquivariantPointNet("0e + 1o", layers=2, r_max=R_MAX, pool=False)


@pytest.fixture(scope="module")
def pos():
    return torch.randn(8, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def run_model(model, pos, src, dst, vec):
    x = pos.new_ones(len(pos), 1)
    for block in model.blocks:
        x = block(x, pos, src, dst, edge_vec=vec)
    return model.output(x, pos, src, dst, edge_vec=vec)


def correct_pipeline(model):
    def pipeline(pos):
        src, dst = radius_graph(pos, R_MAX)
        vec = pos[dst] - pos[src]
        return {"outputs": run_model(model, pos, src, dst, vec), "edge_src": src, "edge_dst": dst, "edge_vec": vec}
    return pipeline


def test_no_false_alarm_on_the_course_model(model, pos):
    diag = diagnose(correct_pipeline(model), pos, irreps_out="0e + 1o", r_max=R_MAX)
    assert diag.ok and diag.findings == [], str(diag)
    assert str(diag).startswith("✅") and "graph" in str(diag)


def test_no_false_alarm_on_the_plain_model_and_on_a_batch(model, pos):
    assert diagnose(model, pos, irreps_out="0e + 1o").ok
    batch = torch.tensor([0] * 4 + [1] * 4)
    diag = diagnose(lambda p: model(p, batch=batch), pos, irreps_out="0e + 1o", batch=batch)
    assert diag.ok and not diag.findings, str(diag)


def test_no_false_alarm_on_the_course_potential():
    from ase.build import bulk
    from e3teach import potentials
    atoms = bulk("Ag", "fcc", a=4.1, cubic=True)
    atoms.pbc = False
    with env.default_dtype(torch.float64):
        torch.manual_seed(0)
        potential = potentials.InteratomicPotential([47], lmax=1, r_max=3.6)
        with torch.no_grad():
            potential.readout.weights[-1].weight.normal_()
    numbers = torch.tensor(atoms.numbers)

    def energy_forces(p):
        p = p.detach().requires_grad_(True)
        src, dst = radius_graph(p, 3.6)
        e = potential(p, numbers, torch.zeros(len(p), dtype=torch.long), 1, src, dst, p.new_zeros(len(src), 3))
        (grad,) = torch.autograd.grad(e.sum(), p)
        return e.detach().reshape(1, 1), -grad
    diag = diagnose(energy_forces, torch.tensor(atoms.positions), irreps_out=["0e", "1o"])
    assert diag.ok and not diag.findings, str(diag)


def test_stale_edge_vectors_are_named(model, pos):
    cache = {}

    def pipeline(p):
        src, dst = radius_graph(p, R_MAX)
        cache.setdefault("vec", p[dst] - p[src])          # computed once, from the first structure
        return {"outputs": run_model(model, p, src, dst, cache["vec"]), "edge_src": src, "edge_dst": dst,
                "edge_vec": cache["vec"]}
    diag = diagnose(pipeline, pos, irreps_out="0e + 1o")
    assert not diag.ok and diag.codes == ["stale-edge-vectors"], str(diag)


def test_stale_harmonics_without_a_graph_are_stale_geometry(model, pos):
    cache = {}

    def pipeline(p):
        src, dst = radius_graph(p, R_MAX)
        vec = cache.setdefault("vec", p[dst] - p[src])
        return run_model(model, p, src, dst, vec)
    diag = diagnose(pipeline, pos, irreps_out="0e + 1o")
    assert diag.codes == ["stale-geometry"], str(diag)


def test_a_cached_neighbour_list_is_named(model, pos):
    cache = {}

    def pipeline(p):
        src, dst = cache.setdefault("edges", radius_graph(p, R_MAX))
        vec = p[dst] - p[src]
        return {"outputs": run_model(model, p, src, dst, vec), "edge_src": src, "edge_dst": dst}
    diag = diagnose(pipeline, pos, irreps_out="0e + 1o", r_max=R_MAX)
    assert "stale-neighbour-list" in diag.codes and not diag.ok, str(diag)
    without_r_max = diagnose(pipeline, pos, irreps_out="0e + 1o")
    assert "stale-per-edge-cache" in without_r_max.codes, str(without_r_max)


def test_a_cached_radial_basis_is_seen_by_relabelling(model, pos):
    conv = model.blocks[0].conv
    cache = {}

    def pipeline(p):
        src, dst = radius_graph(p, R_MAX)
        vec = p[dst] - p[src]
        radial = cache.setdefault("radial", conv.weights(conv.radial(vec.norm(dim=1))))
        sh = o3.spherical_harmonics(conv.irreps_sh, vec, normalize=True, normalization="component")
        x = p.new_ones(len(p), 1)
        messages = conv.tp(x[src], sh, radial)
        out = torch.zeros(len(p), conv.irreps_out.dim, dtype=p.dtype).index_add_(0, dst, messages)
        return out
    diag = diagnose(pipeline, pos, irreps_out=model.blocks[0].conv.irreps_out)
    assert diag.codes == ["stale-per-edge-cache"], str(diag)


def test_transposed_rotation_is_named(model, pos):
    template = pos.clone()
    y_template = model(template).detach()

    def align_then_predict(p):                      # predict on a template, turn the answer back ...
        a, b = template - template.mean(0), p - p.mean(0)
        u, _, vt = torch.linalg.svd(b.T @ a)
        R = u @ vt                                  # p ≈ template @ R.T
        with env.default_dtype(torch.float64):
            D = o3.Irreps("0e + 1o").D_from_matrix(R)
        return y_template @ D                       # ... with D where D.T is meant
    diag = diagnose(align_then_predict, pos, irreps_out="0e + 1o", group="O3")
    assert "transposed-rotation" in diag.codes, str(diag)


def test_parity_declared_wrong_is_named(model, pos):
    diag = diagnose(model, pos, irreps_out="0e + 1e")
    assert diag.codes == ["wrong-parity"] and "1x1e behaves as 1o" in str(diag), str(diag)


def test_absolute_positions_are_named(model, pos):
    diag = diagnose(lambda p: model(p) + p[:, :1].sum() * 0 + p.sum() * torch.tensor([1.0, 0, 0, 0]), pos,
                    irreps_out="0e + 1o")
    assert "absolute-positions" in diag.codes or "not-equivariant" in diag.codes, str(diag)


def test_zero_length_and_cross_graph_edges_are_named(model, pos):
    def self_loops(p):                                 # distance filter keeps i → i
        d = torch.cdist(p, p)
        src, dst = torch.nonzero(d < R_MAX, as_tuple=True)
        vec = p[dst] - p[src]
        return {"outputs": run_model(model, p, src, dst, vec), "edge_src": src, "edge_dst": dst, "edge_vec": vec}
    assert "zero-length-edge" in diagnose(self_loops, pos, irreps_out="0e + 1o").codes
    doubled = torch.cat([pos, pos[:1]])
    assert "zero-length-edge" in diagnose(model, doubled, irreps_out="0e + 1o").codes

    batch = torch.tensor([0, 1] * 4)                   # unsorted: graphs interleaved

    def across(p):
        src, dst = radius_graph(p, R_MAX)              # ignores batch
        vec = p[dst] - p[src]
        return {"outputs": run_model(model, p, src, dst, vec), "edge_src": src, "edge_dst": dst, "batch": batch}
    diag = diagnose(across, pos, irreps_out="0e + 1o", batch=batch)
    assert "cross-graph-edge" in diag.codes and "not sorted" in str(diag), str(diag)


def test_float32_growth_is_round_off_not_a_bug(pos):
    with env.default_dtype(torch.float32):
        torch.manual_seed(0)
        model32 = EquivariantPointNet("0e + 1o", layers=3, r_max=R_MAX, pool=False)
        with torch.no_grad():
            for p in model32.parameters():
                p.mul_(6.0)                            # "after training": large weights
    diag = diagnose(lambda p: model32(p), pos.float(), irreps_out="0e + 1o")
    assert diag.ok, str(diag)
    assert diag.codes in ([], ["float32-roundoff"]), str(diag)


def test_an_approximately_equivariant_s2_activation_is_named():
    from e3nn.nn import S2Activation
    with env.default_dtype(torch.float64):
        act = S2Activation("0e + 1o + 2e", torch.tanh, res=12)
        torch.manual_seed(0)
        lin = o3.Linear("1o", "0e + 1o + 2e")

    def pipeline(p):
        return act(lin(p - p.mean(0)))
    pos = torch.randn(6, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    diag = diagnose(pipeline, pos, irreps_out=act.irreps_out)
    assert diag.codes == ["approximate"] and diag.ok, str(diag)


def test_non_orthogonal_matrices_are_named():
    shear = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    finding = check_matrix(shear)
    assert finding.code == "non-orthogonal-matrix" and "silently" in finding.message
    assert "AssertionError" in check_matrix(2 * torch.eye(3)).message
    assert check_matrix(o3.rand_matrix()) is None
    with pytest.raises(ValueError, match="3×3"):
        check_matrix(torch.eye(4))


def test_labels_that_do_not_transform_are_named(pos):
    R = o3.rand_matrix(dtype=torch.float64)
    pos_b = pos @ R.T + 1.0
    T = torch.randn(3, 3, dtype=torch.float64)
    assert diagnose_labels(pos, T, pos_b, R @ T @ R.T) == []
    assert diagnose_labels(pos, T, pos_b, T)[0].code == "labels-not-rotated"
    assert diagnose_labels(pos, T, pos_b, R.T @ T @ R)[0].code == "labels-transposed-rotation"
    assert diagnose_labels(pos, T, pos_b, R @ T.T @ R.T)[0].code == "labels-transposed-index"
    v = torch.randn(2, 3, dtype=torch.float64)
    assert diagnose_labels(pos, v, pos_b, v @ R.T, "1o") == []
    assert diagnose_labels(pos, v, pos_b, 2 * v @ R.T, "1o")[0].code == "labels-wrong"
    with pytest.raises(ValueError, match="not a rotated"):
        diagnose_labels(pos, v, pos * 1.1, v, "1o")


def test_bad_input_gets_a_clear_message(model, pos):
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        diagnose(model, pos[:, :2], irreps_out="0e + 1o")
    with pytest.raises(ValueError, match="irreps_out should be irreps"):
        diagnose(model, pos, irreps_out="vector")
    with pytest.raises(ValueError, match="last axis should be 1"):
        diagnose(model, pos, irreps_out="0e")
    with pytest.raises(ValueError, match="function"):
        diagnose(3, pos, irreps_out="0e")
    with pytest.raises(ValueError, match="batch should be an integer tensor of shape \\(8,\\)"):
        diagnose(model, pos, irreps_out="0e + 1o", batch=torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="r_max should be a positive"):
        diagnose(model, pos, irreps_out="0e + 1o", r_max=-1.0)
    with pytest.raises(ValueError, match="pos_b, y_a, y_b"):
        diagnose(model, pos, irreps_out="0e + 1o", labels=(pos,))
    with pytest.raises(ValueError, match="3×3"):
        diagnose(model, pos, irreps_out="0e + 1o", matrices=[torch.eye(2)])
    with pytest.raises(ValueError, match="unknown group 'SU2'"):
        diagnose(model, pos, irreps_out="0e + 1o", group="SU2")
    with pytest.raises(RuntimeError, match="the pipeline raised ZeroDivisionError"):
        diagnose(lambda p: 1 / 0, pos, irreps_out="0e")


def test_every_code_is_documented():
    assert len(CODES) == len(set(CODES)) and all(CODES.values())


def test_no_false_alarm_on_a_real_nequip_model_and_its_stale_twin_is_named():
    pytest.importorskip("nequip")
    from ase.build import bulk
    from e3teach import nequip_bridge as NB
    NB.init_nequip()
    from nequip.model import NequIPGNNModel
    model = NequIPGNNModel(seed=0, model_dtype="float64", type_names=["Ag", "Au"], r_max=3.6, num_layers=2, l_max=1,
                           parity=True, num_features=8, num_bessels=8, polynomial_cutoff_p=6, radial_mlp_depth=1,
                           radial_mlp_width=16, avg_num_neighbors=12.0, per_type_energy_shifts={"Ag": -2.9, "Au": -3.8},
                           per_type_energy_scales=0.5)
    atoms = bulk("Ag", "fcc", a=4.1, cubic=True).repeat((2, 1, 1))
    atoms.pbc = False
    atoms.rattle(0.05, seed=1)
    energy_forces = NB.energy_forces_of_positions(model, atoms, 3.6)
    diag = diagnose(energy_forces, torch.tensor(atoms.positions), irreps_out=["0e", "1o"])
    assert diag.ok and not diag.findings, str(diag)
    first = {}

    def stale(pos):                                    # the data dict built once and reused
        first.setdefault("out", energy_forces(pos))
        return first["out"]
    assert diagnose(stale, torch.tensor(atoms.positions), irreps_out=["0e", "1o"]).codes == ["stale-geometry"]
    data = NB.to_nequip_data(atoms, ["Ag", "Au"], 3.6)

    def reused_data(pos):                              # the data dict built once, only `pos` replaced
        energy, forces = NB.nequip_energy_and_forces(model, dict(data, pos=pos))
        return {"outputs": (energy.reshape(1, 1), forces), "edge_index": data["edge_index"]}
    found = diagnose(reused_data, torch.tensor(atoms.positions), irreps_out=["0e", "1o"], r_max=3.6)
    assert found.codes == ["stale-neighbour-list"], str(found)


def test_absolute_positions_non_finite_and_ignored_positions_are_named(model, pos):
    def absolute(p):                                   # a vector output that reads the centroid itself
        out = model(p)
        return torch.cat([out[:, :1], out[:, 1:] + p.mean(0)], dim=1)
    assert diagnose(absolute, pos, irreps_out="0e + 1o").codes == ["absolute-positions"]
    assert diagnose(lambda p: model(p) * float("nan"), pos, irreps_out="0e + 1o").codes == ["non-finite"]
    frozen = model(pos).sum(0, keepdim=True)[:, :1].detach()
    assert diagnose(lambda p: frozen, pos, irreps_out="0e").codes == ["ignores-positions"]


def test_float32_round_off_above_a_strict_tolerance_is_a_note_after_the_float64_recheck(monkeypatch, pos):
    import e3teach.diagnose as D
    monkeypatch.setitem(D.TOLERANCE, torch.float32, 1e-9)      # stricter than float32 can be
    with env.default_dtype(torch.float32):
        torch.manual_seed(0)
        model32 = EquivariantPointNet("0e + 1o", layers=2, r_max=R_MAX, pool=False)
    diag = diagnose(lambda p: model32(p), pos.float(), irreps_out="0e + 1o")
    assert diag.codes == ["float32-roundoff"] and diag.ok and "re-checked in float64" in str(diag), str(diag)

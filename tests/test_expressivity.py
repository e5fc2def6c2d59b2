"""e3teach.expressivity: the structures, the signal, the three models and the body-order features."""
import math

import pytest
import torch

import e3teach
from e3teach import expressivity as ex
from e3teach import point_groups as pg
from e3teach.graph import radius_graph

F64 = torch.float64


@pytest.mark.parametrize("n", range(1, 9))
def test_star_is_seen_first_at_l_equal_n(n):
    star = ex.n_fold_star(n)
    assert ex.first_distinguishing_l(star, ex.n_fold_star(n, angle=math.pi / n)) == n
    assert ex.first_distinguishing_l(star, ex.n_fold_star(n, angle=2 * math.pi / n)) is None   # a symmetry
    # the same from the other side: the signal of the star is C_n-invariant
    R = pg.rotation((0, 0, 1), 2 * math.pi / n)
    assert torch.allclose(ex.sh_signal(star @ R.T, n), ex.sh_signal(star, n), atol=1e-12)


def test_star_geometry():
    star = ex.n_fold_star(5, radius=2.0, angle=0.3)
    assert star.shape == (5, 3) and star.dtype == F64
    assert torch.allclose(star.norm(dim=1), torch.full((5,), 2.0, dtype=F64))
    assert torch.equal(star[:, 2], torch.zeros(5, dtype=F64))
    assert ex.n_fold_star(3, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("k", [2, 3, 4, 7])
def test_k_chain_pair_has_equal_neighbourhoods_but_is_not_isometric(k):
    a, b = ex.k_chain(k, True), ex.k_chain(k, False)
    assert a.shape == (k + 2, 3) and torch.allclose(a.mean(0), torch.zeros(3, dtype=F64), atol=1e-12)
    for pos in (a, b):
        src, dst = radius_graph(pos, 1.5)
        assert sorted(zip(src.tolist(), dst.tolist())) == sorted(
            [(i, i + 1) for i in range(k + 1)] + [(i + 1, i) for i in range(k + 1)])
    assert ex.neighbour_distances(a, 1.5) == ex.neighbour_distances(b, 1.5)
    da = ex.pairwise_distances(a).flatten().sort().values
    db = ex.pairwise_distances(b).flatten().sort().values
    assert (da - db).abs().max() > 0.1                 # no isometry maps one onto the other
    with pytest.raises(ValueError):
        ex.k_chain(1, True)


def test_scalar_indices():
    assert ex.scalar_indices("2x0e + 1x1o + 1x0e + 1x0o").tolist() == [0, 1, 5]
    assert ex.scalar_indices("1x1o").numel() == 0


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny graphs: one thread is faster, and much faster on a busy machine (no OpenMP spinning)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def models():
    with e3teach.default_dtype(F64):
        torch.manual_seed(0)
        return ex.DistanceMPNN(layers=4), ex.GatedMPNN(layers=4), ex.ProductMPNN(layers=2)


def _gap(model, a, b, depth):
    with torch.no_grad():
        return float((model(a, depth=depth) - model(b, depth=depth)).abs().max())


def test_k_chain_depths(models):
    """k = 3: distances never; linear messages first at k + 1 = 4; products at ⌊k/2⌋ + 1 = 2."""
    distance, gated, product = models
    a, b = ex.k_chain(3, True), ex.k_chain(3, False)
    assert all(_gap(distance, a, b, d) < 1e-12 for d in range(1, 5))
    assert [_gap(gated, a, b, d) > 1e-9 for d in range(1, 5)] == [False, False, False, True]
    assert [_gap(product, a, b, d) > 1e-9 for d in range(1, 3)] == [False, True]


def test_models_are_invariant(models):
    pos = ex.k_chain(3, True)
    Q = pg.rotation((0.2, 1.0, -0.4), 0.9)
    for model in models:
        with torch.no_grad():
            assert torch.allclose(model(pos @ Q.T + 1.0), model(pos), atol=1e-10)
            assert torch.allclose(model(-pos), model(pos), atol=1e-10)          # 0e readout: also inversion


def test_batching_matches_single_graphs(models):
    from e3teach.graph import batch_point_clouds
    a, b = ex.k_chain(3, True), ex.k_chain(3, False)
    batch = batch_point_clouds([a, b])
    for model in models:
        with torch.no_grad():
            together = model(batch.pos, batch.batch)
            assert torch.allclose(together, torch.cat([model(a), model(b)]), atol=1e-12)


def test_training_separates_only_when_it_can(models):
    distance, _, product = models
    pair, labels = [ex.k_chain(2, True), ex.k_chain(2, False)], torch.tensor([0, 1])
    acc, logits, losses = ex.train_classifier(product, pair, labels, depth=2, steps=200, lr=3e-2, loss_goal=0.3)
    assert acc == 1.0
    acc, logits, losses = ex.train_classifier(distance, pair, labels, steps=10)
    assert acc == 0.5 and min(losses) > math.log(2) - 1e-9


def test_three_body_features_follow_the_addition_theorem():
    g = torch.Generator().manual_seed(0)
    v = ex.random_environments(3, 4, generator=g)
    A = ex.atomic_basis(v, n_basis=1, lmax=3)               # R_0 = 1
    B = ex.three_body_features(A, lmax=3)                   # one radial pair: (E, 4)
    u = v / v.norm(dim=-1, keepdim=True)
    cos = u @ u.transpose(1, 2)
    legendre = [torch.ones_like(cos), cos, (3 * cos ** 2 - 1) / 2, (5 * cos ** 3 - 3 * cos) / 2]
    expected = torch.stack([(2 * l + 1) * legendre[l].sum(dim=(1, 2)) for l in range(4)], dim=1)
    assert torch.allclose(B, expected, atol=1e-10)


def test_body_order_fits():
    g = torch.Generator().manual_seed(1)
    v = ex.random_environments(300, 4, generator=g)
    y = ex.angular_target(v)
    assert ex.best_fit_residual(ex.two_body_features(v, 8), y) > 0.5
    B = ex.three_body_features(ex.atomic_basis(v, 4, 2), 2)
    assert ex.best_fit_residual(torch.cat([B, ex.two_body_features(v, 6)], 1), y) < 1e-9
    # the target is rotation invariant and zero for a tetrahedron
    tetra = torch.tensor([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1.0]], dtype=F64)[None] / math.sqrt(3)
    assert float(ex.angular_target(tetra).abs()) < 1e-12
    Q = pg.rotation((1.0, 2.0, 0.5), 0.4)
    assert torch.allclose(ex.angular_target(v @ Q.T), y, atol=1e-12)

import torch

import e3teach
from e3teach.data import tetris as T
from e3teach.graph import batch_point_clouds, radius_graph, scatter_mean, scatter_sum
from e3teach.models import MLPEnsemble, SortedDistanceMLP, sorted_distances
from e3teach import training
from e3teach.training import tetris_accuracy, train_tetris


def test_radius_graph_has_no_self_loops_and_stays_within_graphs():
    torch.manual_seed(0)
    clouds = torch.randn(5, 40, 3)  # > 25 points each: cdist would take its matmul path
    batch = batch_point_clouds(clouds)
    src, dst = radius_graph(batch.pos, 1.5, batch.batch)
    assert bool((src != dst).all())
    assert bool((batch.batch[src] == batch.batch[dst]).all())
    dist = (batch.pos[dst] - batch.pos[src]).norm(dim=1)
    assert bool((dist < 1.5).all())
    brute = sum(int(((torch.cdist(c, c) < 1.5).sum() - 40)) for c in clouds)
    assert src.numel() == brute


def test_radius_graph_keeps_coincident_points_as_neighbours():
    pos = torch.zeros(3, 3)  # three atoms on top of each other: 6 edges, no self-loop
    src, dst = radius_graph(pos, 1.0)
    assert src.numel() == 6 and bool((src != dst).all())


def test_scatter():
    src = torch.tensor([[1.0], [2.0], [3.0]])
    index = torch.tensor([0, 0, 2])
    assert scatter_sum(src, index, 3).flatten().tolist() == [3.0, 0.0, 3.0]
    assert scatter_mean(src, index, 3).flatten().tolist() == [1.5, 0.0, 3.0]


def test_tetris_data():
    pieces = T.tetris()
    assert pieces.pos.shape == (8, 4, 3) and torch.allclose(pieces.pos.mean(1), torch.zeros(8, 3), atol=1e-6)
    assert T.decode(pieces.label).tolist() == list(range(8))
    mirrored = T.transform(pieces, -torch.eye(3).expand(8, 3, 3))
    assert mirrored.shape.tolist()[:2] == [1, 0] and mirrored.shape.tolist()[2:] == list(range(2, 8))
    assert torch.equal(mirrored.label[:, 0], -pieces.label[:, 0])
    copies = T.random_copies(pieces, 10, reflections=True, seed=1)
    assert len(copies) == 80
    dets = torch.linalg.det(copies.matrix)
    assert bool((dets > 0).any()) and bool((dets < 0).any())
    same = T.random_copies(pieces, 10, reflections=True, seed=1)
    assert torch.equal(copies.pos, same.pos)


def test_chiral_pair_has_identical_distances():
    pieces = T.tetris(torch.float64)
    d = sorted_distances(pieces.pos)
    assert torch.allclose(d[0], d[1], atol=1e-12)
    assert SortedDistanceMLP(4, 8)(pieces.pos.float()).shape == (8, 8)


def test_mlp_ensemble_members_are_independent():
    torch.manual_seed(0)
    ens = MLPEnsemble(3, 5, 2, hidden=8)
    x = torch.randn(3, 4, 5)
    out = ens(x)
    x2 = x.clone()
    x2[1] += 1.0
    out2 = ens(x2)
    assert torch.equal(out[0], out2[0]) and torch.equal(out[2], out2[2]) and not torch.equal(out[1], out2[1])


def test_equivariant_tetris_reaches_100_percent_on_3_seeds():
    """Trained on ONE orientation with chiral_shape_1 left out: 100% on 1000+ random rotations and
    reflections, and the unseen shape gets the opposite pseudoscalar of its mirror partner."""
    torch.set_num_threads(1)
    pieces = T.tetris()
    train = pieces.subset(pieces.shape != 0)
    test = T.random_copies(pieces, 128, reflections=True, seed=7)
    for seed in range(3):
        run = train_tetris(train, seed=seed, max_steps=500)
        assert run.reached_goal, f"seed {seed}: did not converge in {run.steps} steps"
        assert tetris_accuracy(run.model, test) == 1.0
        with torch.no_grad():
            unseen, partner = (run.model(pieces.pos[i])[0, 0] for i in (0, 1))
        assert float(unseen) > 0.5 and torch.allclose(unseen, -partner, atol=1e-4)


def test_setup_notebook_is_deterministic():
    e3teach.setup_notebook(seed=3)
    a = torch.randn(3)
    device = e3teach.setup_notebook(seed=3)
    assert torch.equal(a, torch.randn(3)) and device.type == "cpu" and torch.get_num_threads() == 1


def test_doctor_reports_versions():
    report = e3teach.doctor()
    assert report.versions["e3nn"].startswith("0.6") and report.ok, str(report)
    assert "✅" in str(report) and "<table>" in report._repr_html_()


def test_point_convolution_smooth_cutoff_and_self_interaction():
    """The options of lesson 07: messages vanish at r_max with the cutoff; the layer stays E(3)-equivariant."""
    from e3teach import default_dtype
    from e3teach.equivariance import check_point_model
    from e3teach.models import PointConvolution, polynomial_cutoff

    with default_dtype(torch.float64):
        torch.manual_seed(0)
        conv = PointConvolution("2x0e + 1x1o", "2x0e + 1x1o + 1x1e", r_max=1.5, self_interaction=True,
                                smooth_cutoff=True)
        plain = PointConvolution("2x0e + 1x1o", "2x0e + 1x1o + 1x1e", r_max=1.5)
        x = conv.irreps_in.randn(2, -1)
        src = torch.tensor([0])
        for r, small in ((1.5, True), (1.5 - 1e-3, True), (0.8, False)):
            vec = torch.tensor([[r, 0.0, 0.0]])
            m = conv.messages(x, src, vec).abs().max().item()
            assert (m < 1e-8) == small, (r, m)
        assert polynomial_cutoff(torch.tensor([0.0, 1.5, 2.0]), 1.5).tolist() == [1.0, 0.0, 0.0]
        assert conv.self_interaction is not None and plain.self_interaction is None
        pos = torch.randn(5, 3)
        i, j = torch.meshgrid(torch.arange(5), torch.arange(5), indexing="ij")
        keep = i != j
        src, dst = i[keep], j[keep]
        feats = conv.irreps_in.randn(5, -1)
        verdict = check_point_model(lambda p, f: conv(f, p, src, dst), pos, feats, irreps_in=conv.irreps_in,
                                    irreps_out=conv.irreps_out)
        assert verdict.ok, verdict


def test_fit_lbfgs_solves_a_small_smooth_least_squares_problem():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 50, dtype=torch.float64)[:, None]
    target = 3.0 * x - 0.5
    model = torch.nn.Linear(1, 1, dtype=torch.float64)
    loss = training.fit_lbfgs(model, lambda: (model(x) - target).pow(2).mean(), iterations=50)
    assert loss < 1e-12
    assert abs(float(model.weight) - 3.0) < 1e-6 and abs(float(model.bias) + 0.5) < 1e-6

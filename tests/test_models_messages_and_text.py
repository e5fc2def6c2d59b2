"""Layers that could only output zeros are refused with the path and the fix; the course's modules,
training runs and error reports print what a reader needs (irreps, lmax, r_max in Å, losses, errors)."""
import inspect

import pytest
import torch

import e3teach
from e3teach import equivariance, models, point_groups, potentials, training


# ----------------------------------------------------------------------------- refused layers
def test_a_gated_block_with_an_empty_gate_is_refused_with_the_path_and_the_fix():
    """0e ⊗ Y(l ≤ 1) = 0e + 1o: no path to 1e, so the gate would have nothing in it."""
    with pytest.raises(ValueError, match=r"no tensor-product path 1x0e ⊗ Y\(l ≤ 1\) → 4x1e.*raise lmax"):
        models.GatedBlock("0e", "4x1e", lmax=1)
    with pytest.raises(ValueError, match="the gate would be empty"):
        models.GatedBlock("0e", "4x1e", lmax=3)              # Y(l) has parity (-1)^l: 1e never comes from 0e
    assert models.GatedBlock("0e", "4x1o", lmax=1).irreps_out == models.o3.Irreps("4x1o")


def test_gated_vectors_that_no_scalar_can_gate_are_refused():
    """1e ⊗ Y(0) = 1e only: the vectors could be made, their gate scalars not (the gates would stay zero)."""
    with pytest.raises(ValueError, match=r"1x1e ⊗ Y\(l ≤ 0\) → 0e or 0o.*raise lmax"):
        models.GatedBlock("1e", "4x1e", lmax=0)
    assert models.GatedBlock("1e", "4x1e", lmax=1).irreps_out.dim == 12      # gated by 0o scalars (1e ⊗ 1o)


def test_a_convolution_that_reaches_no_output_irrep_is_refused_naming_them():
    with pytest.raises(ValueError, match=r"1x1o ⊗ Y\(l ≤ 0\) → 1x0e \(the layer would output zeros only\): "
                                         r"raise lmax.*tp_path_exists"):
        models.PointConvolution("1x1o", "1x0e", lmax=0)
    for mode in ("full", "uvu"):
        with pytest.raises(ValueError, match="no tensor-product path"):
            models.PointConvolution("1x0e", "1x0o", lmax=2, tensor_product=mode)
    # some outputs reachable: allowed (a first layer cannot make every hidden irrep yet), the others stay zero
    conv = models.PointConvolution("0e", "2x0e + 1x1e", lmax=1)
    assert not models.tp_path_exists(conv.irreps_in, conv.irreps_sh, "1e")


def test_no_notebook_style_network_is_refused():
    """The networks the lessons build (tetris, lesson 11, 13, 19) still build."""
    for kwargs in [dict(irreps_out="0o + 6x0e"), dict(irreps_out="8x0e"), dict(irreps_out="1x1o + 1x2e", r_max=3.0),
                   dict(irreps_out="1x1o", irreps_node_in="1x0e + 1x2e", layers=1,
                        irreps_hidden="8x0e + 2x1o + 2x1e + 2x2e + 2x2o"),
                   dict(irreps_out="1o", irreps_node_in="7x0e", irreps_hidden="16x0e + 4x1o", lmax=1, layers=1),
                   dict(irreps_out="0e + 0o", layers=2), dict(irreps_out="0e + 1o", layers=3)]:
        models.EquivariantPointNet(**kwargs)
    potentials.InteratomicPotential([47, 79], **potentials.RECIPE)
    potentials.InteratomicPotential([47, 79], lmax=0, irreps_hidden="8x0e")


def test_gated_block_takes_its_lmax_default_from_one_place():
    default = inspect.signature(models.PointConvolution).parameters["lmax"].default
    assert default == models.DEFAULT_LMAX == inspect.signature(models.GatedBlock).parameters["lmax"].default
    assert models.GatedBlock("0e", "4x0e + 2x2e").conv.irreps_sh.lmax == models.DEFAULT_LMAX


# ----------------------------------------------------------------------------- print(model)
def test_printing_the_course_modules_shows_irreps_lmax_and_r_max_in_angstrom():
    conv = models.PointConvolution("4x0e + 2x1o", "4x0e + 1x2e", lmax=2, r_max=1.5)
    assert "4x0e+2x1o -> 4x0e+1x2e, lmax=2, r_max=1.5 Å" in repr(conv)
    assert "RadialBasis(r_max=1.5 Å, num_basis=10)" in repr(conv)
    assert "BesselBasis(r_max=3.6 Å, num_basis=8, p=6)" in repr(models.BesselBasis(3.6))
    net = models.EquivariantPointNet("0o + 6x0e")
    assert "1x0e -> 1x0o+6x0e, r_max=1.5 Å" in repr(net) and "GatedBlock(\n      1x0e -> " in repr(net)
    potential = potentials.InteratomicPotential([47, 79], **potentials.RECIPE)
    first, second = repr(potential).splitlines()[1:3]
    assert "species=[47, 79]" in first and "lmax=1" in second and "r_max=3.6 Å" in second
    assert "16x0e+16x1o (2 layers) -> 0e" in first and max(len(first), len(second)) <= 100


def test_every_forward_states_its_shapes():
    classes = [models.RadialBasis, models.BesselBasis, models.UvuThenLinear, models.PointConvolution,
               models.GatedBlock, models.EquivariantPointNet, models.PlainMLP, models.SortedDistanceMLP,
               models.MLPEnsemble, potentials.InteratomicPotential, potentials.DirectForceModel]
    for cls in classes:
        doc = inspect.getdoc(cls.forward) or ""
        assert "(" in doc and "→" in doc, f"{cls.__name__}.forward: {doc!r}"


# ----------------------------------------------------------------------------- runs and errors as text
def test_a_training_run_prints_steps_and_losses_but_no_seconds():
    run = training.TrainingRun(torch.nn.Linear(1, 1), [0.5, 0.1, 0.0123], seconds=2.5)
    assert run.steps == 3 and run.reached_goal is None
    assert str(run) == "Linear: 3 steps, loss 0.5 → 0.0123"
    run.reached_goal = True
    assert str(run).endswith("; goal reached") and "2.5" not in str(run)
    assert "no training step yet" in str(training.TrainingRun(torch.nn.Linear(1, 1)))


def test_full_batch_adam_and_train_tetris_return_the_same_training_run():
    model = torch.nn.Linear(2, 1)
    x = torch.randn(8, 2)
    run = potentials.full_batch_adam(model, lambda: model(x).pow(2).mean(), steps=4, lr=1e-2)
    assert isinstance(run, training.TrainingRun) and run.steps == 4 and run.reached_goal is None


def test_force_errors_print_as_one_line_with_units_and_stay_a_dict():
    errors = potentials.prediction_errors(torch.tensor([1.0, 4.0]), torch.zeros(3, 3), torch.tensor([1.0, 3.0]),
                                          torch.full((3, 3), 0.1), torch.tensor([1, 2]))
    assert isinstance(errors, dict) and errors["energy_mae_per_atom"] == pytest.approx(0.25)
    assert str(errors) == "energy MAE 250 meV/atom, force MAE 0.1 eV/Å, force RMSE 0.1 eV/Å"


# ----------------------------------------------------------------------------- constants in one place
def test_the_recipe_lists_only_what_it_changes_and_hparams_match_the_signature():
    defaults = {k: p.default for k, p in inspect.signature(potentials.InteratomicPotential).parameters.items()}
    assert all(potentials.RECIPE[k] != defaults[k] for k in potentials.RECIPE), potentials.RECIPE
    model = potentials.InteratomicPotential([47])
    assert set(model.hparams) == set(defaults) - {"species", "zero_init_readout"}


def test_equivariance_tolerances_are_read_from_the_constants():
    f = torch.nn.Identity()
    assert equivariance.check_equivariance(f, "1o", "1o").tolerance == equivariance.TOLERANCE[torch.float64]
    report = equivariance.check_equivariance(f, "1o", "1o", dtype=torch.float32)
    assert report.tolerance == equivariance.TOLERANCE[torch.float32]
    doc = inspect.getdoc(equivariance.check_equivariance)
    assert "TOLERANCE[dtype]" in doc and "1e-10" not in doc and doc.startswith("Check")
    assert inspect.getdoc(equivariance.check_point_model).startswith("Check a model on a point cloud")


def test_a_float32_built_module_gets_the_float32_built_tolerance_in_its_verdict():
    with e3teach.default_dtype(torch.float32):
        linear = models.o3.Linear("2x1o", "2x1o")
    report = equivariance.check_equivariance(linear, "2x1o", "2x1o")
    assert report.built_in_float32 and report.tolerance == equivariance.FLOAT32_BUILT_TOLERANCE
    assert "for a 1e-10 check" in report.verdict()


def test_point_group_tolerances_are_named_once():
    from e3teach.point_groups import _groups
    assert (_groups.MATCH_TOL, _groups.RANK_TOL, _groups.ORTHOGONAL_TOL) == (1e-6, 1e-8, 1e-8)
    assert inspect.signature(point_groups.generate).parameters["tol"].default == _groups.MATCH_TOL
    with pytest.raises(ValueError, match="orthogonal"):
        point_groups.generate([torch.eye(3) * (1 + 10 * _groups.ORTHOGONAL_TOL)])

"""The layer-by-layer locator must name the module where a planted bug sits, at any depth."""
import pytest
import torch
from e3nn import o3

import e3teach
from e3teach.equivariance import locate_equivariance_break
from e3teach.models import EquivariantPointNet


class PointwiseReLU(torch.nn.Module):
    """A planted bug: ReLU on every component, vectors included (keeps the irreps bookkeeping)."""

    def __init__(self, irreps_in, irreps_out):
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.select = torch.nn.Identity()

    def forward(self, x):
        return torch.relu(x[..., : self.irreps_out.dim])


def network():
    with e3teach.default_dtype(torch.float64):
        torch.manual_seed(0)
        return EquivariantPointNet("0o + 2x0e + 1x1o", layers=3, r_max=2.0)


def test_correct_network_passes_everywhere():
    report = locate_equivariance_break(network(), torch.randn(6, 3))
    assert report.ok, report
    names = [m.name for m in report.modules]
    assert "blocks.0.conv" in names and "blocks.2.gate" in names and "output" in names
    assert all(m.max_error < 1e-10 for m in report.modules)


@pytest.mark.parametrize("depth", [0, 1, 2])
def test_planted_bug_is_found_at_its_depth(depth):
    model = network()
    gate = model.blocks[depth].gate
    model.blocks[depth].gate = PointwiseReLU(gate.irreps_in, gate.irreps_out)
    report = locate_equivariance_break(model, torch.randn(6, 3))
    assert not report.ok
    assert report.first_break.name == f"blocks.{depth}.gate", report
    # everything before the bug is still fine
    before = [m for m in report.modules if m.name == f"blocks.{depth}.conv"]
    assert before and before[0].ok
    assert f"blocks.{depth}.gate" in report.verdict() and "❌" in str(report)


def test_feature_mode_with_user_supplied_irreps_for_plain_modules():
    with e3teach.default_dtype(torch.float64):
        model = torch.nn.Sequential(o3.Linear("2x0e + 1x1o", "2x0e + 2x1o"), torch.nn.Tanh(),
                                    o3.Linear("2x0e + 2x1o", "1x0e + 1x1o"))
    report = locate_equivariance_break(model, inputs=torch.randn(4, 5), irreps_in="2x0e + 1x1o",
                                       irreps={"1": "2x0e + 2x1o"})
    assert report.first_break.name == "1" and report.first_break.errors_by_irrep["2x0e [0:2]"] < 1e-12
    assert report.modules[0].ok and report.unchecked == []
    assert "<table>" in report._repr_html_()

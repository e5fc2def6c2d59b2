"""Checkers of lesson 09: right answers pass, typical wrong answers fail with a useful message,
stubs are "not attempted", and broken code is ❌ without raising."""
import math

import pytest
import torch

from e3teach.checks import lesson09 as check
from e3teach.data import tetris as T


def stub(*args):
    raise NotImplementedError


def boom(*args):
    raise ZeroDivisionError("oops")


# ------------------------------------------------------------------ right answers
def batch_graphs(clouds):
    pos = torch.cat(list(clouds))
    batch = torch.cat([torch.full((len(c),), k, dtype=torch.long) for k, c in enumerate(clouds)])
    return pos, batch


def decode_outputs(outputs):
    return torch.cdist(outputs, T.tetris(outputs.dtype).label).argmin(dim=1)


def transformed_labels(shape, det):
    return torch.where((shape < 2) & (det < 0), 1 - shape, shape)


@pytest.mark.parametrize("q, answer", [(check.q1, batch_graphs), (check.q2, decode_outputs),
                                       (check.q3, transformed_labels), (check.q4, "0o"),
                                       (check.q4, "1x0o + 6x0e")])
def test_right_answers_pass(q, answer):
    res = q.run(answer)
    assert res.passed, str(res)


@pytest.mark.parametrize("q", [check.q1, check.q2, check.q3, check.q4])
def test_stubs_are_not_attempted(q):
    assert q.run(...).status == "not attempted"
    if q is not check.q4:
        assert q.run(stub).status == "not attempted"


@pytest.mark.parametrize("q", [check.q1, check.q2, check.q3])
def test_exceptions_fail_without_raising(q):
    res = q.run(boom)
    assert res.status == "fail" and "ZeroDivisionError" in res.message


# ------------------------------------------------------------------ typical wrong answers
def test_q1_wrong_answers():
    res = check.q1.run(lambda clouds: (torch.cat(clouds), torch.arange(sum(len(c) for c in clouds))))
    assert res.status == "fail" and "batch" in res.message
    res = check.q1.run(lambda clouds: (torch.cat(clouds), torch.cat([torch.full((len(c),), float(k)) for k, c in enumerate(clouds)])))
    assert res.status == "fail" and "dtype" in res.message
    res = check.q1.run(lambda clouds: (torch.stack([c.mean(0) for c in clouds]), torch.arange(len(clouds))))
    assert res.status == "fail" and "shape" in res.message
    res = check.q1.run(lambda clouds: torch.cat(clouds))
    assert res.status == "fail" and "two tensors" in res.message
    res = check.q1.run(lambda clouds: (torch.cat(clouds) * math.nan, batch_graphs(clouds)[1]))
    assert res.status == "fail" and "NaN" in res.message


def test_q2_wrong_answers():
    res = check.q2.run(lambda out: out.argmax(dim=1))        # argmax is not nearest-label decoding
    assert res.status == "fail" and "nearest" in res.message.lower()
    res = check.q2.run(lambda out: torch.cdist(out, T.tetris(out.dtype).label).argmin(dim=1).float())
    assert res.status == "fail" and "integers" in res.message
    res = check.q2.run(lambda out: torch.cdist(out, T.tetris(out.dtype).label).argmin(dim=1)[:3])
    assert res.status == "fail" and "shape" in res.message


def test_q3_wrong_answers():
    res = check.q3.run(lambda shape, det: shape)             # forgets that mirrors swap the chiral pair
    assert res.status == "fail" and "chiral_shape_2" in res.message
    res = check.q3.run(lambda shape, det: torch.where((shape < 2) & (det == -1), 1 - shape, shape))
    assert res.status == "fail" and "det < 0" in res.message  # exact comparison breaks on computed dets
    res = check.q3.run(lambda shape, det: torch.where(det < 0, 1 - shape, shape))
    assert res.status == "fail"


def test_q4_wrong_answers():
    res = check.q4.run("8x0e")
    assert res.status == "fail" and "inversion" in res.message
    res = check.q4.run("0o + 1o")
    assert res.status == "fail" and "rotated" in res.message
    res = check.q4.run("1e")
    assert res.status == "fail" and "rotated" in res.message
    res = check.q4.run("zero-odd")
    assert res.status == "fail" and "cannot read" in res.message
    assert check.q4.run("").status == "fail"


# ------------------------------------------------------------------ issue 8 classes
import numpy as np  # noqa: E402

from checker_stubs import (assert_checker_error, assert_learner_error, assert_missing_return,  # noqa: E402
                           assert_passes, returning_float32, returning_numpy)

FUNCTIONS = [(check.q1, batch_graphs), (check.q2, decode_outputs), (check.q3, transformed_labels)]


@pytest.mark.parametrize("q, right", FUNCTIONS)
def test_numpy_missing_return_and_learner_errors(q, right):
    assert_passes(q, returning_numpy(right))
    assert_missing_return(q)
    assert_learner_error(q)


def test_numpy_integer_indices_pass():
    assert_passes(check.q2, lambda out: decode_outputs(out).numpy().astype(np.int32))
    assert_passes(check.q3, lambda s, d: [np.int64(v) for v in transformed_labels(s, d).tolist()] and
                  transformed_labels(s, d).numpy())


def test_float32_answers():
    res = check.q1.run(returning_float32(batch_graphs))     # batching must not round the positions
    assert res.status == "fail" and "float32" in res.message and "in order" not in res.message
    assert_passes(check.q2, returning_float32(decode_outputs))
    assert_passes(check.q3, returning_float32(transformed_labels))


def test_q4_numpy_string_passes():
    assert_passes(check.q4, np.str_("0o"))


@pytest.mark.parametrize("q, helper, answer", [
    (check.q1, "_as_index", batch_graphs), (check.q2, "_as_index", decode_outputs),
    (check.q3, "_as_index", transformed_labels), (check.q4, "random_rotation", "0o")])
def test_exception_in_the_checker_is_reported_as_such(monkeypatch, q, helper, answer):
    assert_checker_error(monkeypatch, q, check, helper, answer)


# ------------------------------------------------------------------ q5: build and train the network
from e3teach.graph import scatter_sum  # noqa: E402
from e3teach.models import EquivariantPointNet  # noqa: E402
from e3teach.training import train_tetris  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    """A network trained as in the lesson (seed 0: ~80 steps)."""
    torch.set_num_threads(1)
    pieces = T.tetris()
    return train_tetris(pieces.subset(pieces.shape != 0), seed=0).model


def test_q5_trained_network_passes_and_stubs_wait(trained):
    res = check.q5.run(lambda: trained)
    assert res.passed and "1024" in res.message, str(res)
    assert check.q5.run(...).status == "not attempted"
    assert check.q5.run(stub).status == "not attempted"


def test_q5_untrained_network_fails_on_accuracy():
    torch.manual_seed(0)
    res = check.q5.run(lambda: EquivariantPointNet(T.LABEL_IRREPS))
    assert res.status == "fail" and "accuracy" in res.message and "not 100%" in res.message


def test_q5_typical_wrong_networks(trained):
    res = check.q5.run(lambda: EquivariantPointNet(T.LABEL_IRREPS, pool=False))        # forgot the pooling
    assert res.status == "fail" and "one row per point" in res.message
    res = check.q5.run(lambda: (lambda pos, batch=None: trained(pos)))                 # ignores the batch vector
    assert res.status == "fail" and "pools all 8 pieces together" in res.message
    res = check.q5.run(lambda: EquivariantPointNet("7x0e"))                            # no pseudoscalar output
    assert res.status == "fail" and "does not change sign under inversion" in res.message
    res = check.q5.run(lambda: EquivariantPointNet("8x0e"))                            # wrong number of outputs
    assert res.status == "fail" and "(8, 7)" in res.message


class CoordinateNet(torch.nn.Module):
    """Reads raw coordinates: not equivariant."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 7)

    def forward(self, pos, batch=None):
        batch = torch.zeros(len(pos), dtype=torch.long) if batch is None else batch
        return scatter_sum(self.linear(pos), batch, int(batch.max()) + 1)


def test_q5_non_equivariant_missing_return_and_errors():
    res = check.q5.run(lambda: CoordinateNet())
    assert res.status == "fail" and "not E(3)-equivariant" in res.message
    res = check.q5.run(lambda: None)
    assert res.status == "fail" and "return" in res.message
    res = check.q5.run(lambda: "model")
    assert res.status == "fail" and "trained model" in res.message
    res = check.q5.run(boom)
    assert res.status == "fail" and "ZeroDivisionError" in res.message

    def broken_forward(pos, batch=None):
        raise ValueError("shapes do not match")
    res = check.q5.run(lambda: broken_forward)
    assert res.status == "fail" and "ValueError" in res.message
    nan_model = lambda pos, batch=None: torch.full((int(batch.max()) + 1, 7), math.nan)  # noqa: E731
    res = check.q5.run(lambda: nan_model)
    assert res.status == "fail" and "NaN" in res.message


# ------------------------------------------------------------------ issue 19
def test_q2_labels_in_float32_say_dtype():
    """Hint 2's code with labels built in float32 fails on the checker's float64 outputs: say dtype."""
    res = check.q2.run(lambda outputs: torch.cdist(outputs, T.tetris().label).argmin(dim=1))
    assert res.status == "fail" and "float64" in res.message and "T.tetris(outputs.dtype)" in res.message, res
    assert "tetris(outputs.dtype)" in check.q2.hints[1]


class MisfedGateNet(torch.nn.Module):
    """Lesson 08's pitfall: the convolution's irreps_out lists the gate's irreps in another order (same dim)."""

    def __init__(self):
        from e3nn import nn, o3
        from e3teach.models import PointConvolution
        super().__init__()
        self.gate = nn.Gate("4x0e", [torch.nn.functional.silu], "2x0e", [torch.sigmoid], "2x1o")
        self.conv = PointConvolution("0e", "2x1o + 4x0e + 2x0e")             # not gate.irreps_in
        self.out = PointConvolution(self.gate.irreps_out, T.LABEL_IRREPS)
        assert o3.Irreps(self.conv.irreps_out).dim == self.gate.irreps_in.dim

    def forward(self, pos, batch=None):
        from e3teach.graph import radius_graph
        batch = torch.zeros(len(pos), dtype=torch.long) if batch is None else batch
        src, dst = radius_graph(pos, 1.5, batch)
        x = self.gate(self.conv(pos.new_ones(len(pos), 1), pos, src, dst))
        return scatter_sum(self.out(x, pos, src, dst), batch, int(batch.max()) + 1)


def test_q5_convolution_that_does_not_output_the_gates_irreps_in_is_named():
    torch.manual_seed(0)
    res = check.q5.run(lambda: MisfedGateNet())
    assert res.status == "fail" and "`conv` outputs" in res.message and "irreps_in" in res.message, res
    assert "raw coordinates" not in res.message

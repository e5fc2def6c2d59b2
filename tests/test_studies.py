"""The studies lesson 14 and 18 read (``python -m e3teach.studies ...``): the shipped tables are in step with the code,
and a reduced learning-curve run, re-made here, agrees with the shipped one."""
import json

import numpy as np
import pytest

from e3teach import studies


@pytest.mark.parametrize("name", ["ablation", "learning_curves", "nve", "versus_nequip"])
def test_every_study_ships_a_full_table(name):
    table = studies.load_study(name)
    assert table["study"] == name and not table["quick"]


def test_ablation_table_follows_the_steps_in_the_code():
    rows = studies.load_study("ablation")["rows"]
    expected = [name for name, _ in studies.ABLATION_STEPS + studies.ABLATION_VARIATIONS]
    assert [row["step"] for row in rows] == expected


def test_learning_curves_span_the_promised_range():
    table = studies.load_study("learning_curves")
    assert len(table["sizes"]) >= 4 and table["sizes"][-1] / table["sizes"][0] >= 10**1.5 and len(table["seeds"]) >= 3
    for name, curve in table["table"].items():
        assert np.isfinite(curve["force_mae"]).all() and len(curve["slope_per_seed"]) == len(table["seeds"])


def test_a_reduced_learning_curve_run_agrees_with_the_shipped_table(tmp_path):
    """The quick run (3 sizes, 1 seed, 400 steps) must show errors falling with data, and land within a factor 2
    of the shipped (longer) trainings at the sizes both have."""
    assert studies.main(["learning-curves", "--quick", "--out-dir", str(tmp_path)]) == 0
    quick = json.loads((tmp_path / "learning_curves.json").read_text())
    shipped = studies.load_study("learning_curves")
    for name, curve in quick["table"].items():
        mae = np.array(curve["force_mae"])[:, 0]
        assert mae[-1] < mae[0], f"{name}: more data did not help in the quick run"
        for n, value in zip(quick["sizes"], mae):
            if n in shipped["sizes"]:
                full = np.mean(shipped["table"][name]["force_mae"][shipped["sizes"].index(n)])
                assert 0.5 < value / full < 2.0, f"{name}, N = {n}: quick {value:.3f} vs shipped {full:.3f}"


def test_missing_study_says_which_command_makes_it(tmp_path):
    with pytest.raises(OSError, match="python -m e3teach.studies learning-curves"):
        studies.load_study("learning_curves", path=tmp_path / "none.json")

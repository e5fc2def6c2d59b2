"""Every name that lessons, solutions, exercises, tests and other modules use keeps working from its old
path after the house-keeping split (point_groups and equivariance became packages; one TrainingRun),
and the package's modules import one another without a cycle."""
import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import e3teach

PACKAGE = Path(e3teach.__file__).parent

#: Names read from notebooks (``pg.identify``, ``from e3teach.equivariance import ...``), tests and modules.
USED = {
    "e3teach.point_groups": [
        "InfinitePointGroup", "PointGroup", "catalogue", "character_count", "count_invariant_harmonics",
        "degeneracies", "element_symbol", "energy_levels", "fingerprint", "first_invariant_harmonic", "generate",
        "group_explorer", "group_figure", "identify", "invariant_projector", "orbit", "point_group", "reflection",
        "rotation", "improper_rotation", "schoenflies_name", "tensor_component_count", "GROUP_NAMES"],
    "e3teach.equivariance": [
        "GroupElement", "EquivarianceReport", "check_equivariance", "check_point_model", "equivariance_error",
        "group_elements", "locate_equivariance_break", "random_rotation", "is_dtype_error", "ModuleCheck",
        "LocatorReport", "GROUPS", "GROUP_LABELS", "TOLERANCE", "FLOAT32_BUILT_TOLERANCE", "group_key"],
    "e3teach.models": [
        "EquivariantPointNet", "GatedBlock", "MLPEnsemble", "PlainMLP", "PointConvolution", "RadialBasis",
        "BesselBasis", "SortedDistanceMLP", "UvuThenLinear", "gated_irreps", "sorted_distances", "tp_path_exists",
        "polynomial_cutoff"],
    "e3teach.potentials": [
        "AdamTrainer", "AtomsBatch", "DirectForceModel", "InteratomicPotential", "PotentialCalculator", "RECIPE",
        "RECIPE_TRAINING", "TrainingRun", "average_num_neighbors", "batch_structures", "course_potential",
        "course_trainer", "direct_forces", "energy_and_forces", "energy_drift", "fit_energy_shift", "force_errors",
        "full_batch_adam", "minibatches", "race", "rebuilt_in", "run_nve", "thermalize", "train_potential",
        "validate_atoms", "prediction_errors"],
    "e3teach.training": ["TrainingRun", "train_tetris", "tetris_accuracy", "predict_tetris"],
    "e3teach.nequip_bridge": ["prediction_errors", "TrainingRun"],
    "e3teach.roundoff": ["LADDER", "decade", "error_band", "format_error"],
    "e3teach.scale": ["UvuThenLinear", "uvu_then_linear", "polar_irreps", "code_of"],
    "e3teach.representations": ["check_representation"],
    "e3teach": ["check_equivariance", "check_point_model", "default_dtype", "setup_notebook"],
}


@pytest.mark.parametrize("module", sorted(USED))
def test_every_name_used_imports_from_its_old_path(module):
    mod = importlib.import_module(module)
    for name in USED[module]:
        exec(f"from {module} import {name}", {})          # from e3teach.point_groups import identify
        assert getattr(mod, name) is not None              # e3teach.point_groups.identify


MODULES = sorted(m.name for m in pkgutil.walk_packages(e3teach.__path__, "e3teach.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("module", MODULES)
def test_all_lists_only_names_that_exist(module):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:                      # an optional dependency
        pytest.skip(f"{module} needs {exc.name}")
    names = getattr(mod, "__all__", [])
    assert len(set(names)) == len(names)
    assert [n for n in names if not hasattr(mod, n)] == []


def test_one_meaning_per_public_name():
    """One TrainingRun everywhere; GROUP_NAMES names Schoenflies symbols, GROUP_LABELS the printed group names."""
    from e3teach import equivariance, nequip_bridge, point_groups, potentials, training
    assert potentials.TrainingRun is training.TrainingRun is nequip_bridge.TrainingRun
    assert "Td" in point_groups.GROUP_NAMES and not hasattr(equivariance, "GROUP_NAMES")
    assert equivariance.GROUP_LABELS["E3"] == "E(3)"


@pytest.mark.parametrize("package", ["point_groups", "equivariance"])
def test_split_modules_are_under_600_lines(package):
    sizes = {p.name: len(p.read_text().splitlines()) for p in (PACKAGE / package).glob("*.py")}
    assert len(sizes) >= 4 and max(sizes.values()) < 600, sizes


def _relative_imports(path: Path) -> set:
    """The e3teach modules that ``path`` imports at import time (top-level relative imports)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    found = set()
    for node in ast.parse(path.read_text()).body:                # top level only: lazy imports cannot cycle
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[:len(package) - node.level + 1]
            target = base + (node.module.split(".") if node.module else [])
            if node.module is None:                              # from . import viz
                found |= {".".join(target + [a.name]) for a in node.names}
            else:
                found.add(".".join(target))
    return found - {".".join(parts)}


def import_graph() -> dict:
    """{module: modules it imports at import time}, for every module of e3teach."""
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = _relative_imports(path)
    known = set(graph)
    return {m: {d for d in deps if d in known} for m, deps in graph.items()}


def test_the_modules_import_one_another_without_a_cycle():
    graph, state, cycle = import_graph(), {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if dep.startswith(node + "."):            # a package importing its own submodules is fine
                continue
            if state.get(dep) == "open" and not node.startswith(dep + "."):
                cycle.append(stack + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert not cycle, cycle

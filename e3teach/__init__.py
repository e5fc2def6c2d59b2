"""e3teach: helpers for an executed-notebook course on E(3)-equivariant networks with e3nn.

The real equivariant machinery comes from e3nn; e3teach adds what a learner needs around it:
one-call notebook setup, equivariance checking with readable verdicts, toy data (tetris),
small reference models, visualizers, exercise checkers and authoring tools.

Typical first cell of a lesson::

    import e3teach
    device = e3teach.setup_notebook(seed=0)
"""
from .env import default_dtype, doctor, seed_everything, setup_notebook
from .equivariance import check_equivariance, check_point_model
from .progress import progress  # e3teach.progress(): your latest ✅/❌/⏳ per exercise

__all__ = ["setup_notebook", "seed_everything", "default_dtype", "doctor", "check_equivariance",
           "check_point_model", "progress", "__version__"]

__version__ = "0.1.0"

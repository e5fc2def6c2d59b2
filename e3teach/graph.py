r"""Graphs and scatter in plain torch (no torch_cluster / torch_scatter / torch_geometric).

Convention used all course long: an edge ``(src, dst)`` carries a message from ``src`` to ``dst``
and its vector is ``edge_vec = pos[dst] - pos[src]``.

Many small graphs (molecules, tetris pieces) are batched by concatenating their nodes and keeping
a ``batch`` vector that says which graph each node belongs to; edges never cross graphs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["scatter_sum", "scatter_mean", "radius_graph", "PointCloudBatch", "batch_point_clouds"]


def scatter_sum(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    r"""``out[i] = Σ_{e: index[e] = i} src[e]`` along the first axis (``index_add_``)."""
    out = src.new_zeros((dim_size,) + tuple(src.shape[1:]))
    return out.index_add_(0, index, src)


def scatter_mean(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Mean of the rows of ``src`` sharing an index (0 where none)."""
    total = scatter_sum(src, index, dim_size)
    count = scatter_sum(torch.ones_like(index, dtype=src.dtype), index, dim_size).clamp(min=1)
    return total / count.reshape((-1,) + (1,) * (src.dim() - 1))


def _pairs_within_graphs(batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All ordered pairs (i, j), i != j, of nodes in the same graph; ``batch`` must be sorted."""
    n_nodes = batch.numel()
    counts = torch.bincount(batch)
    first_node = torch.cumsum(counts, 0) - counts            # index of each graph's first node
    size_of_graph_of = counts[batch]                          # per node: size of its graph
    src = torch.arange(n_nodes, device=batch.device).repeat_interleave(size_of_graph_of)
    block_start = torch.cumsum(size_of_graph_of, 0) - size_of_graph_of
    k = torch.arange(src.numel(), device=batch.device) - block_start.repeat_interleave(size_of_graph_of)
    dst = first_node[batch[src]] + k
    keep = src != dst                                         # mask self-loops by index, never by distance
    return src[keep], dst[keep]


def radius_graph(pos: torch.Tensor, r_max: float, batch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Edges between distinct nodes of the same graph closer than ``r_max``.

    Returns ``(edge_src, edge_dst)``, both directions of each pair. Self-loops are removed by
    *index* (``src != dst``), not by a ``distance > 0`` test: the distance of a node to itself
    computed by a fast matrix product (``torch.cdist`` on many points) is not exactly zero, and such
    spurious self-loops break equivariance. Memory is Σ (graph size)², fine for the small graphs
    of this course.
    """
    if pos.dim() != 2 or pos.shape[1] != 3:
        raise ValueError(f"pos should have shape (N, 3), got {tuple(pos.shape)}")
    if batch is None:
        batch = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
    if batch.numel() > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted (nodes of each graph contiguous), as batch_point_clouds makes it")
    src, dst = _pairs_within_graphs(batch)
    dist = (pos[dst] - pos[src]).norm(dim=1)
    keep = dist < r_max
    return src[keep], dst[keep]


@dataclass
class PointCloudBatch:
    """Several point clouds as one: ``pos`` (N, 3), ``batch`` (N,) graph index, ``num_graphs``."""

    pos: torch.Tensor
    batch: torch.Tensor
    num_graphs: int

    def to(self, device) -> "PointCloudBatch":
        return PointCloudBatch(self.pos.to(device), self.batch.to(device), self.num_graphs)


def batch_point_clouds(clouds) -> PointCloudBatch:
    """Concatenate point clouds: a tensor (B, n, 3) or a list of (n_b, 3) tensors."""
    if isinstance(clouds, torch.Tensor):
        if clouds.dim() != 3 or clouds.shape[-1] != 3:
            raise ValueError(f"expected a (B, n, 3) tensor of clouds, got {tuple(clouds.shape)}")
        b, n, _ = clouds.shape
        batch = torch.arange(b, device=clouds.device).repeat_interleave(n)
        return PointCloudBatch(clouds.reshape(b * n, 3), batch, b)
    clouds = list(clouds)
    if not clouds:
        raise ValueError("no point clouds to batch")
    batch = torch.cat([torch.full((len(c),), i, dtype=torch.long, device=c.device) for i, c in enumerate(clouds)])
    return PointCloudBatch(torch.cat(list(clouds)), batch, len(clouds))

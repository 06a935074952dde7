"""Deterministic orchestration only: no I/O, clocks or randomness outside Temporal's APIs."""

from workflows.pipeline import PipelineWorkflow

__all__ = ["PipelineWorkflow"]

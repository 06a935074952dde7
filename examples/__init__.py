"""Example pipelines that ship with TaskAgent and run offline."""

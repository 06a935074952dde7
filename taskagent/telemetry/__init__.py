"""Traces, metrics and log context: names and instruments shared by workflow and activity code
(`names`, `instruments`: pure), what activities count (`metrics`), the worker's set-up from the
standard OTEL_* variables (`setup`) and the interceptor that carries each step's scope to its
activities (`interceptor`)."""

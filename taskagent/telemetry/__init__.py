"""Traces, metrics and log context: names shared by workflow and activity code (`names`, pure),
the worker's set-up from the standard OTEL_* variables (`setup`) and the interceptor that carries
each step's scope to its activities (`interceptor`)."""

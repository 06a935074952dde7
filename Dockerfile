# TaskAgent worker image (used by docker-compose.yml's `worker` service).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# README.m[d] is a glob so the build still works if the readme is absent.
COPY pyproject.toml README.m[d] ./
COPY taskagent/ ./taskagent/
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY examples/ ./examples/
COPY pipelines/ ./pipelines/
COPY worker.py starter.py ./

RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin taskagent \
    && mkdir -p /app/data \
    && chown -R taskagent:taskagent /app

USER taskagent

CMD ["python", "worker.py"]

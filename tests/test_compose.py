"""Structural checks for docker-compose.yml and the worker Dockerfile.

Docker is not available on the build machines, so the stack itself is never
started here; these tests only validate the configuration files.
"""

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICES = ("postgresql", "temporal", "temporal-ui", "worker")


@pytest.fixture(scope="module")
def services() -> dict:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict) and isinstance(data.get("services"), dict), (
        "docker-compose.yml must define a 'services' mapping"
    )
    return data["services"]


def env(service: dict) -> dict:
    """Return a service's environment as a dict (mapping or list form)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    return {k: (None if v is None else str(v)) for k, v in raw.items()}


def depends_condition(service: dict, target: str) -> str | None:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return "service_started" if target in deps else None
    return (deps.get(target) or {}).get("condition", "service_started") if target in deps else None


def test_all_services_defined(services):
    missing = [name for name in SERVICES if name not in services]
    assert not missing, f"missing compose services: {missing}"


def test_temporal_uses_postgres(services):
    temporal = services["temporal"]
    temporal_env = env(temporal)
    assert temporal_env.get("DB", "").startswith("postgres"), (
        f"temporal DB must be postgres, got {temporal_env.get('DB')!r}"
    )
    assert temporal_env.get("POSTGRES_SEEDS") == "postgresql", (
        "temporal POSTGRES_SEEDS must name the 'postgresql' service"
    )
    assert depends_condition(temporal, "postgresql") == "service_healthy", (
        "temporal must depend on postgresql with condition service_healthy"
    )
    assert "healthcheck" in services["postgresql"], "postgresql needs a healthcheck"
    assert "healthcheck" in temporal, "temporal needs a healthcheck"


def test_ui_points_at_temporal(services):
    address = env(services["temporal-ui"]).get("TEMPORAL_ADDRESS")
    assert address == "temporal:7233", (
        f"UI TEMPORAL_ADDRESS should be temporal:7233, got {address!r}"
    )


def test_worker_targets_temporal_and_queue(services):
    worker_env = env(services["worker"])
    address, queue = worker_env.get("TEMPORAL_ADDRESS"), worker_env.get("TASKAGENT_TASK_QUEUE")
    assert address == "temporal:7233", (
        f"worker TEMPORAL_ADDRESS should be temporal:7233: {address!r}"
    )
    assert queue == "taskagent", f"worker task queue should be 'taskagent', got {queue!r}"
    assert depends_condition(services["worker"], "temporal") == "service_healthy", (
        "worker must wait for temporal to be healthy"
    )


def test_worker_is_scalable(services):
    worker = services["worker"]
    assert "container_name" not in worker, "worker must not set container_name (breaks --scale)"
    replicas = (worker.get("deploy") or {}).get("replicas", 1)
    assert isinstance(replicas, int) and replicas >= 2, (
        f"worker deploy.replicas should be >= 2, got {replicas!r}"
    )


def test_no_literal_secrets(services):
    offenders = [
        f"{name}.{key}"
        for name, service in services.items()
        for key, value in env(service).items()
        if key.endswith("_KEY") and not (value and re.fullmatch(r"\$\{[^}]+\}", value))
    ]
    assert not offenders, (
        f"*_KEY variables must be ${{...}} pass-throughs, not literals: {offenders}"
    )


def test_images_are_pinned(services):
    for name, service in services.items():
        image = service.get("image")
        if image is None:
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", (
            f"service {name!r} image {image!r} must be pinned to a non-latest tag"
        )


def test_worker_builds_from_dockerfile(services):
    build = services["worker"].get("build")
    spec = {"context": build} if isinstance(build, str) else (build or {})
    context, dockerfile = spec.get("context"), spec.get("dockerfile", "Dockerfile")
    assert context in (".", "./"), f"worker should build from the repo root, got {build!r}"
    path = ROOT / dockerfile
    assert path.is_file(), f"worker Dockerfile {path} is missing"
    cmd_lines = [
        line for line in path.read_text().splitlines() if line.strip().upper().startswith("CMD")
    ]
    assert cmd_lines and "worker.py" in cmd_lines[-1], (
        f"Dockerfile CMD must run worker.py, got {cmd_lines}"
    )


def test_worker_replicas_share_the_payload_store() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    worker = compose["services"]["worker"]
    env = worker["environment"]
    assert env["TASKAGENT_PAYLOAD_DIR"] == "/app/data/payloads"
    assert "payloads:/app/data/payloads" in worker["volumes"], "replicas must share one store"
    assert "payloads" in compose["volumes"]
    assert env["TASKAGENT_DEFAULT_MODEL"] == "${TASKAGENT_DEFAULT_MODEL:-}"  # no default model


# -- observability: the collector, Prometheus with the alert rules, Grafana with the dashboard --
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "taskagent.json"
RECOMMENDED_ALERTS = {  # seed 11.5: error rate, breaker open, p99 latency, daily cost, retries
    "TaskAgentStepErrorRate",
    "TaskAgentCircuitBreakerOpen",
    "TaskAgentStepLatencyP99",
    "TaskAgentDailyCost",
    "TaskAgentCognitiveRetries",
}
STATUSES = {"completed", "failed", "skipped", "cancelled"}
"""The `status` label values of the step metrics (workflows/telemetry.py)."""


def exported_metrics() -> set[str]:
    """Every series name TaskAgent's worker serves (names.py; tests/test_metrics.py scrapes
    them from a real worker)."""
    from taskagent.telemetry import names

    counters = {names.STEP_EXECUTIONS, names.STEP_RETRIES, names.LLM_TOKENS, names.LLM_COST}
    counters.add(names.TOOL_CALLS)
    histogram = names.STEP_DURATION
    return (
        {f"{name}_total" for name in counters}
        | {f"{histogram}_{suffix}" for suffix in ("bucket", "count", "sum")}
        | {names.ACTIVE_STEPS, names.BREAKER_STATE}
    )


def check_query(expr: str) -> None:
    """The query parses as PromQL and reads only metrics the worker serves."""
    import promql_parser

    promql_parser.parse(expr.replace("$pipeline", ".*"))
    for metric in re.findall(r"\b(taskagent_\w+)", expr):
        assert metric in exported_metrics(), f"{metric} is not a metric the worker serves"
    for status in re.findall(r'status="(\w+)"', expr):
        assert status in STATUSES, f"status {status!r} is never a label value"
    for metric in re.findall(r"\b(temporal_\w+)", expr):
        assert metric.endswith(("_total", "_bucket", "_used")), metric  # the SDK's, as scraped


def test_the_stack_has_its_observability_services(services):
    for name in ("otel-collector", "jaeger", "prometheus", "grafana", "api"):
        assert name in services, f"missing compose service {name!r}"
    worker = env(services["worker"])
    assert worker["TASKAGENT_METRICS_PORT"] == "9464"
    assert worker["TASKAGENT_METRICS_HOST"] == "0.0.0.0"
    assert worker["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    for name in ("otel-collector", "prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    assert collector["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]


def test_prometheus_scrapes_every_worker_and_loads_the_alerts():
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "taskagent-worker"]
    (discovery,) = job["dns_sd_configs"]
    assert discovery["names"] == ["worker"] and discovery["port"] == 9464


def test_the_recommended_alerts_are_valid_promql_on_served_metrics():
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == RECOMMENDED_ALERTS
    for rule in rules:
        check_query(rule["expr"])
        assert rule["annotations"]["summary"] and rule["labels"]["severity"]


def test_the_dashboard_queries_are_valid_promql_on_served_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    targets = [target for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(targets) >= 10
    for target in targets:
        check_query(target["expr"])
    queried = " ".join(target["expr"] for target in targets)
    for metric in exported_metrics() - {"taskagent_step_duration_seconds_count"}:
        if not metric.endswith("_sum"):
            assert metric in queried, f"the dashboard shows nothing of {metric}"


def test_payloads_are_encrypted_and_the_ui_reads_them_through_the_codec_server(services):
    keys = {
        name: env(services[name]).get("TASKAGENT_ENCRYPTION_KEYS")
        for name in ("worker", "api", "codec-server")
    }
    assert len(set(keys.values())) == 1  # one set of keys for every process that reads runs
    assert re.fullmatch(r"\$\{TASKAGENT_ENCRYPTION_KEYS:\?[^}]+\}", keys["worker"] or "")
    assert env(services["temporal-ui"])["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8081"
    assert "codec-server" in services["codec-server"]["command"]
    urls = {env(services[name])["TASKAGENT_DATABASE_URL"] for name in ("worker", "api")}
    assert urls == {"postgresql+psycopg://temporal:temporal@postgresql:5432/taskagent"}
    assert env(services["postgresql"])["POSTGRES_DB"] == "taskagent"

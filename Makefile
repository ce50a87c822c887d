PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint typecheck deploy-check demo bench bench-org bench-soak clean
.PHONY: bench-org-free bench-org-quota bench-team-3w bench-org2

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy src

# Offline validation of deploy/: compose against the Compose spec, Kubernetes manifests against
# the bundled schemas, alert rules with promtool (Debian package prometheus: installed when
# missing and running as root; skipped with a message when that is impossible).
deploy-check: install
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/kubernetes-validate --strict --quiet deploy/k8s/*.yaml deploy/k8s/templates/*.yaml
	@command -v promtool >/dev/null || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (echo "installing promtool (Debian package prometheus)..." && \
	   export DEBIAN_FRONTEND=noninteractive && \
	   { apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || \
	     { apt-get update -qq >/dev/null 2>&1 && \
	       apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; }; } || true)
	@if command -v promtool >/dev/null; then \
	  promtool check rules deploy/monitoring/alerts.yml && \
	  promtool test rules deploy/monitoring/alerts.test.yml; \
	else echo "SKIPPED promtool checks: promtool is not installed and cannot be (not root / no apt-get)"; fi
	$(BIN)/python -c "import json; json.load(open('deploy/monitoring/grafana/volt-agent-dashboard.json'))"

test: lint typecheck deploy-check
	@# headless chromium for tests/integration/test_report_html_browser.py: installed only when
	@# missing and running as root; a failed install is ignored (that test then skips, saying why)
	-@[ -x /usr/bin/chromium ] || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || \
	  (echo "installing chromium for the HTML report browser test..." && \
	   export DEBIAN_FRONTEND=noninteractive && \
	   { apt-get install -y -qq chromium >/dev/null 2>&1 || \
	     { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; } || \
	   echo "chromium could not be installed: the browser test will be skipped")
	$(BIN)/pytest -n 3 --dist loadfile  # most tests wait on servers: 3 processes on 2 cores halve the time

demo: install
	$(BIN)/volt-agent demo

bench: install  # small + team, small under page caps 50 and 1000, team under the strict caps (about 7 minutes); docs/BENCHMARKS.md
	$(BIN)/python -m benchmarks.bench small team small-cap50 small-cap1000 team-cap200

bench-org: install  # 500 users x 4 weeks, template writer (the CPU target is without an LLM; about 10 minutes)
	$(BIN)/python -m benchmarks.bench org --llm template

bench-org2: install  # 1,000 users x 4 weeks (~185k entries): its worker peak must stay < 1.3 x org's
	$(BIN)/python -m benchmarks.bench org2 --llm template

bench-soak: install  # 20 sequential runs through one worker: RSS must not grow (about 3 minutes)
	$(BIN)/python -m benchmarks.soak

# org under Toggl's hourly quota compressed 60x (1-minute windows): Free about 21 minutes,
# Starter and Premium (rate-bound at that factor) about 11 each; see docs/BENCHMARKS.md
bench-org-free: install
	$(BIN)/python -m benchmarks.bench org-free

bench-org-quota: install  # Free, Starter and Premium in turn (about 45 minutes)
	$(BIN)/python -m benchmarks.bench org-free org-starter org-premium

bench-team-3w: install  # 3 workers, 3 team runs side by side, local disk then S3 (about 4 minutes)
	$(BIN)/python -m benchmarks.bench team-3w

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache tmp

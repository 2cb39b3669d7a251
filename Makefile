# The two commands a newcomer needs: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint unit e2e controlplane venv demo sandbox clean bench chaos tools chart-readme kind-demo

# What each command needs from hack/controlplane.sh: the demo no helm; the suite against an existing
# cluster (TENDLC_TEST_KUBECONFIG) no local control plane, only the kubectl and helm it lacks.
DEMO_BINARIES := etcd kube-apiserver kube-controller-manager kubectl
ifdef TENDLC_TEST_KUBECONFIG
TEST_BINARIES := $(if $(shell command -v kubectl),,kubectl) $(if $(shell command -v helm),,helm)
else
TEST_BINARIES := etcd kube-apiserver kube-controller-manager kubectl helm
endif

demo: venv ## THE main job: control plane + sandbox + operator + three example migrations
	bash hack/controlplane.sh $(DEMO_BINARIES)
	$(BIN)/python -m tendlc_dev.demo

test: venv tools lint ## THE test command: lint, then every test against a real control plane
	$(if $(strip $(TEST_BINARIES)),bash hack/controlplane.sh $(TEST_BINARIES),@echo "controlplane: not built (TENDLC_TEST_KUBECONFIG=$(TENDLC_TEST_KUBECONFIG))")
	$(BIN)/pytest

tools: ## promtool for the alert tests (from Debian's prometheus package; skipped with a message if impossible)
	bash hack/tools.sh

chart-readme: venv ## regenerate helm/tendlc/README.md from the comments in values.yaml
	$(BIN)/python hack/chart_readme.py

kind-demo: ## with Docker and kind: build the images, install the chart and the sandbox in kind, apply the examples
	bash hack/kind-demo.sh

venv: $(STAMP)
$(STAMP): pyproject.toml devtools/pyproject.toml plugin/pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# the operator, and beside it what it never ships with: the dev tools (sandbox, dev cluster, demo), the kubectl plugin
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]' -e ./devtools -e ./plugin
	touch $@

controlplane: ## build (or reuse) etcd, kube-apiserver, kube-controller-manager, kubectl, helm
	bash hack/controlplane.sh

lint: venv
	$(BIN)/ruff check operator devtools plugin tests hack
	$(BIN)/mypy
	$(BIN)/mypy --strict hack/chart_readme.py
	$(BIN)/shellcheck hack/*.sh hack/k8s/*.sh

unit: venv ## the fast layer only: no control plane needed
	$(BIN)/pytest tests/unit tests/sandbox

RUNTIME_VENV := .cache/venv-runtime

bench: venv controlplane ## issue 8 benchmark (not part of make test) → bench/results/, docs/performance.md
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]' -e ./devtools
	@# the operator runs from a venv with the runtime dependencies only, as in the container image
	test -x $(RUNTIME_VENV)/bin/python || $(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python -m pip install --quiet -c constraints.txt -e .
	$(BIN)/python -m bench.run --n 100 --baseline
	-$(BIN)/python -m bench.run --n 1000 --baseline --timeout 600
	-$(BIN)/python -m bench.run --n 1000 --rate-limit-scale 10 --baseline --timeout 900
	-$(BIN)/python -m bench.run --n 1000 --rate-limit-scale 10 --profile py-spy-gil --timeout 900
	-$(BIN)/python -m bench.run --n 1000 --scenario idle --timeout 600
	-$(BIN)/python -m bench.run --n 5000 --scenario idle --timeout 1500
	-$(BIN)/python -m bench.run --n 5000 --timeout 1500
	-$(BIN)/python -m bench.webhook_latency --runs 20 --background 980
	-$(BIN)/python -m bench.restart_storm --n 5000 --timeout 1500
	-$(BIN)/python -m bench.wave --max-in-flight 300 --timeout 600
	$(BIN)/python -m bench.report

chaos: venv controlplane ## the large chaos run: 60 campaigns, 12 SIGKILLs, one kube-apiserver restart
	mkdir -p .cache/chaos
	TENDLC_CHAOS_CAMPAIGNS=$${TENDLC_CHAOS_CAMPAIGNS:-60} TENDLC_CHAOS_KILLS=$${TENDLC_CHAOS_KILLS:-12} \
	TENDLC_CHAOS_REPORT=$${TENDLC_CHAOS_REPORT:-.cache/chaos/last.json} \
	$(BIN)/pytest tests/chaos -m chaos

sandbox: venv ## run the Infobip + TCR sandbox on :8085
	$(BIN)/python -m tendlc_dev.sandbox --port 8085

clean:
	rm -rf .cache/devcluster .pytest_cache .mypy_cache .ruff_cache

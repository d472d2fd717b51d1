# scopegate — see README.md. `make run` and `make test` are the two commands.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN        ?= $(CURDIR)/bin
K8S_BIN    := $(BIN)/k8s
IMG        ?= scopegate:dev
ARCH       ?= $(shell $(GO) env GOARCH)
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION   ?= $(shell git rev-parse HEAD 2>/dev/null)
GO         ?= go
CONTROLLER_GEN := $(GO) tool controller-gen
export KUBEBUILDER_ASSETS := $(K8S_BIN)

# Fuzz targets run briefly by `make test`: package and target pairs.
# A count of executions, not a duration: with a duration, Go's fuzzing
# coordinator can end a run on a loaded machine with "context deadline
# exceeded" when a worker answers late, a failure that is no finding.
FUZZTIME   ?= 5000x
FUZZ_TARGETS ?= ./tokenserver:FuzzParseForm ./tokenserver:FuzzDecodeBasic ./internal/scope:FuzzParse ./internal/gateway:FuzzRouting ./internal/gateway:FuzzQuickHead ./internal/dpop:FuzzVerify ./internal/dpop:FuzzNormalizeURL ./internal/tlsclientauth:FuzzParseDN ./internal/jsonrpc:FuzzParse ./internal/jsonrpc:FuzzValid ./internal/jsonrpc:FuzzFilterAgreesWithTheOld ./internal/llm:FuzzUsage ./internal/jsonmember:FuzzScan

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs and the RBAC role from markers.
	$(CONTROLLER_GEN) crd rbac:roleName=scopegate-manager-role paths=./... output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	hack/sync-chart.sh

.PHONY: generate
generate: ## Generate DeepCopy methods from markers.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: verify
verify: ## Fail when generated files (CRDs, RBAC role, deepcopy) or formatting drift from the sources, or a package imports upward.
	@hack/check-layers.sh
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@snap=$$(mktemp -d); trap 'rm -rf "$$snap"' EXIT; \
	  cp -r config/crd/bases "$$snap/crd"; cp config/rbac/role.yaml "$$snap/role.yaml"; cp api/v1alpha1/zz_generated.deepcopy.go "$$snap/"; \
	  cp -r dist/chart/crds "$$snap/chart-crds"; cp -r dist/chart/files "$$snap/chart-files"; \
	  $(MAKE) -s manifests generate; \
	  diff -ru "$$snap/crd" config/crd/bases && diff -u "$$snap/role.yaml" config/rbac/role.yaml && \
	  diff -u "$$snap/zz_generated.deepcopy.go" api/v1alpha1/zz_generated.deepcopy.go && \
	  diff -ru "$$snap/chart-crds" dist/chart/crds && diff -ru "$$snap/chart-files" dist/chart/files || \
	  { echo "generated files (or their copies in dist/chart) drifted from their markers: run 'make manifests generate' and commit the result"; exit 1; }

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: k8s-binaries
k8s-binaries: ## Build kube-apiserver, kube-controller-manager, etcd and kubectl from Go modules into bin/k8s (cached per user).
	hack/build-k8s.sh

.PHONY: helm
helm: ## Build helm from Go modules into bin/helm (cached per user), for the chart tests.
	hack/build-helm.sh

##@ Test

.PHONY: test
test: k8s-binaries verify vet test-go fuzz test-e2e test-node ## Run every test: unit, envtest, fuzz (briefly), end-to-end, and the node suite (root, Linux: a real kubelet).

.PHONY: test-go
test-go: k8s-binaries helm ## Unit and envtest suites (with the image, chart and install-bundle tests).
	$(GO) test -count=1 -timeout 25m $$($(GO) list ./... | grep -v -e /test/e2e -e /test/node)

.PHONY: fuzz
fuzz: ## Run each fuzz target for $(FUZZTIME) (executions, or a duration such as 1m).
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; done

.PHONY: test-e2e
test-e2e: k8s-binaries build e2e-deps ## End-to-end suite: the built binary driven by real clients.
	$(GO) test -count=1 -timeout 30m -v ./test/e2e/...

.PHONY: test-node
test-node: image helm ## Node suite (root, Linux): scopegate on a real single-node cluster (containerd, kubelet) in a network namespace of its own; installs the Debian packages it needs when missing.
	hack/install-node-deps.sh
	hack/build-k8s.sh node
	$(GO) test -count=1 -timeout 30m -v ./test/node

.PHONY: e2e-deps
e2e-deps: ## Install the Node.js clients of the end-to-end suite (again when package-lock.json changed since).
	@if [ -f test/e2e/package-lock.json ] && [ ! test/e2e/node_modules/.package-lock.json -nt test/e2e/package-lock.json ]; then cd test/e2e && npm ci --no-audit --no-fund; fi

# Micro-benchmarks: packages, repetitions (for benchstat) and time per run.
BENCH_PKGS  ?= ./tokenserver ./internal/gateway ./internal/registry ./internal/scope
BENCH_COUNT ?= 6
BENCH_TIME  ?= 500ms
# Flags of the external harness, e.g. BENCH_ARGS="-clients 100 -note 'quiet machine'".
BENCH_ARGS  ?=

.PHONY: bench
bench: k8s-binaries build ## Micro-benchmarks (bin/bench/micro.txt, for benchstat), then the external harness: the built binary on a local control plane against baselines in their own processes; writes docs/benchmarks.md and docs/benchmarks.json.
	@mkdir -p $(BIN)/bench
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(BENCH_COUNT) -benchtime=$(BENCH_TIME) $(BENCH_PKGS) | tee $(BIN)/bench/micro.txt
	$(GO) run ./hack/bench -manager $(BIN)/scopegate $(BENCH_ARGS)

##@ Build

.PHONY: build
build: ## Build the manager binary into bin/scopegate.
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/scopegate .

.PHONY: run
run: k8s-binaries build ## Run the manager; with no kubeconfig, on a local control plane kept under bin/dev.
	@$(GO) build -o $(BIN)/devcluster ./hack/devcluster
	$(BIN)/devcluster --manager $(BIN)/scopegate -- $(ARGS)

.PHONY: image
image: ## Build the OCI image tarball bin/scopegate-image.tar ($(IMG)) with no Docker daemon.
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) $(GO) build -trimpath -ldflags='-s -w' -o $(BIN)/linux_$(ARCH)/scopegate .
	$(GO) run ./hack/image -binary $(BIN)/linux_$(ARCH)/scopegate -arch $(ARCH) -out $(BIN)/scopegate-image.tar \
	  -tag $(IMG) -version $(VERSION) -revision $(REVISION)

.PHONY: docker-build
docker-build: ## Build the container image $(IMG) with a Docker daemon (the same content as make image).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: build-installer
build-installer: k8s-binaries ## Write dist/install.yaml: CRDs, RBAC, Deployment and Service for image $(IMG), one file for kubectl apply.
	@mkdir -p $(BIN)/installer dist
	@printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../../config/default]\nimages: [{name: scopegate, newName: %s, newTag: %s}]\n' \
	  "$$(echo $(IMG) | sed 's/:[^:/]*$$//')" "$$(echo $(IMG) | sed -n 's/.*:\([^:/]*\)$$/\1/p')" > $(BIN)/installer/kustomization.yaml
	$(K8S_BIN)/kubectl kustomize $(BIN)/installer > dist/install.yaml
	@echo "wrote dist/install.yaml for image $(IMG)"

.PHONY: install
install: k8s-binaries ## Install the CRDs into the cluster of $KUBECONFIG.
	$(K8S_BIN)/kubectl apply --server-side -k config/crd

.PHONY: deploy
deploy: k8s-binaries ## Deploy scopegate to the cluster of $KUBECONFIG.
	$(K8S_BIN)/kubectl apply --server-side -k config/default

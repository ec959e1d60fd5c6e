# herald's build, test and run commands. SAM's BuildMethod: makefile calls
# `make build-<LogicalId>` with ARTIFACTS_DIR set and nothing else, so each
# build target sets its own GOOS/GOARCH. Keep top-level $(shell ...) cheap:
# make reads this file once per function during `sam build`.

# The Go release herald is built and tested with; the environment may
# override it.
export GOTOOLCHAIN ?= go1.27.3
GO        ?= go
NODE_DIR  := infra/node
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags="-s -w"
FUNCTIONS := QueueFunction StreamFunction PublishFunction AuthFunction WebhookFunction
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d

# LogicalId -> package directory under functions/.
pkg_QueueFunction   := queue
pkg_StreamFunction  := stream
pkg_PublishFunction := publish
pkg_AuthFunction    := auth
pkg_WebhookFunction := webhook

.PHONY: all build $(addprefix build-,$(FUNCTIONS)) test lint node-deps moto-deps dev invoke smoke bench fuzz load deploy deploy-guided sam-invoke clean

all: build

# build-<LogicalId>: an arm64 Linux bootstrap at the top of $(ARTIFACTS_DIR).
define build_function
build-$(1):
	@test -n "$$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it; or: make build)"; exit 2; }
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $$(GO) build $$(GOFLAGS_LAMBDA) -o $$(ARTIFACTS_DIR)/bootstrap ./functions/$$(pkg_$(1))/bootstrap
endef
$(foreach f,$(FUNCTIONS),$(eval $(call build_function,$(f))))

# build: every function into .aws-sam/build/<LogicalId>/bootstrap, without the SAM CLI.
build:
	@for f in $(FUNCTIONS); do \
		$(MAKE) --no-print-directory build-$$f ARTIFACTS_DIR=$(CURDIR)/.aws-sam/build/$$f || exit 1; \
	done

node-deps: $(NODE_DIR)/node_modules/.package-lock.json

$(NODE_DIR)/node_modules/.package-lock.json: $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund
	@touch $@

# moto-deps: moto (the local AWS) for dev. When no python3 has it, the
# pinned release of infra/local/requirements.txt goes into the project
# virtualenv .venv, if the package index answers; if not, nothing is done
# and `go run ./infra/local` stops with the command to run.
moto-deps:
	@python3 -c 'import moto.server' 2>/dev/null || .venv/bin/python -c 'import moto.server' 2>/dev/null || \
	! python3 -m pip index versions moto --timeout 5 --retries 0 >/dev/null 2>&1 || { \
		echo "installing moto (infra/local/requirements.txt) into .venv"; \
		python3 -m venv .venv && .venv/bin/pip install -q -r infra/local/requirements.txt; }

# dev: the whole system on this machine: the embedded Pusher-compatible
# server, the HTTP functions, moto as the local AWS (AWS_ENDPOINT_URL=
# http://127.0.0.1:4566: template.yaml's queues, tables with streams,
# secret, SNS topic and EventBridge rule, feeding the QueueFunction and the
# StreamFunction as Lambda's event source mappings do), the demo page at
# http://127.0.0.1:3000/. Ctrl-C stops it, moto included.
# Flags: DEV_FLAGS="-http 127.0.0.1:3000 -server 127.0.0.1:6001 -aws 127.0.0.1:4566 -visibility 10s".
dev: node-deps moto-deps
	$(GO) run ./infra/local $(DEV_FLAGS)

# invoke: one function on one event, like `sam local invoke`, against the
# running `make dev` (its moto and embedded server); DEV_FLAGS as for dev:
#   make invoke FN=QueueFunction EVENT=events/samples/<event>.json [DEV_FLAGS="-server ... -aws ..."]
# HTTP events to the publish and webhook functions are signed again with the
# running stack's credentials; DEV_FLAGS=-keep-signature sends them as they are.
invoke:
	@test -n "$(FN)" && test -n "$(EVENT)" || { echo "usage: make invoke FN=<LogicalId> EVENT=<event.json> [DEV_FLAGS=...]" >&2; exit 2; }
	@$(GO) run ./infra/local invoke $(FN) -e $(EVENT) $(DEV_FLAGS)

# smoke: a deployed stack (or the local one) end to end: a token minted
# with the JWT secret, pusher-js subscribed to a private channel through the
# AuthFunction, an event published through the PublishFunction, received.
#   make smoke API=<ApiUrl> PUBLISH_APP_ID=... PUBLISH_APP_KEY=... PUBLISH_APP_SECRET=... \
#     AUTH_JWT_SECRET=... PUSHER_KEY=<provider key> [PUSHER_CLUSTER=eu | WS_HOST=host:port]
# Without API: the running `make dev`. Make passes its command-line
# variables to the script's environment.
smoke: node-deps
	@node $(NODE_DIR)/scripts/smoke.js

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './infra/node/*')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# test: everything, installing what the tests need first.
test: node-deps moto-deps lint
	@python3 -c 'import moto.server' 2>/dev/null || .venv/bin/python -c 'import moto.server' 2>/dev/null || \
		{ echo "!!! MOTO NOT FOUND: the tests run SQS, DynamoDB and Secrets Manager on moto. pip install 'moto[server]==5.2.1' (infra/local/requirements.txt)" >&2; exit 1; }
	@command -v chromium >/dev/null 2>&1 || test -n "$$HERALD_CHROMIUM" || echo "!!! CHROMIUM NOT FOUND: the browser tests (infra/local TestDemoInBrowser) will be SKIPPED. apt-get install -y chromium" >&2
	$(GO) test -count=1 -timeout 30m ./...

# bench: fan-out, cold start and auth against the Node.js pusher SDK, and
# backpressure against a rate-limited provider with the scale model's
# simulated burst, on loopback (about 7 minutes); tables to stdout and
# infra/bench/results.md.
# Flags: BENCH_FLAGS="-sizes 10,1000 -parts fanout,cold,auth ..." (go run ./infra/bench -h).
bench: node-deps
	$(GO) run ./infra/bench $(BENCH_FLAGS)

# fuzz: every fuzz target for FUZZTIME each (default 20s), one after the
# other (about 5 minutes); a failing input is saved under the package's
# testdata/fuzz/ and stops the run.
FUZZTIME ?= 20s
FUZZ_TARGETS := \
	./events:FuzzParse \
	./functions/queue:FuzzUnwrap \
	./functions/stream:FuzzToJSON \
	./functions/auth:FuzzParseRequest \
	./functions/auth/rules:FuzzPatternMatch \
	./functions/auth/rules:FuzzAuthorize \
	./functions/auth/rules/expr:FuzzEval \
	./functions/auth/rules/expr:FuzzBudget \
	./shared/protocol:FuzzValidSocketID \
	./shared/signature:FuzzVerifyRequest \
	./infra/server:FuzzDispatch
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

# load: the long runs, on loopback (about 15 minutes): 10,000 events through
# the fault-injection suite (queue and stream, idempotency off and on), the
# auth and publish endpoints of the local stack (20,000 and 10,000
# requests), 30 s of connection churn, the server's 5,000-connection
# fan-out. Figures are printed; make test runs short versions of each.
load: node-deps
	HERALD_LOAD=1 HERALD_FAULTS_FULL=1 $(GO) test -count=1 -timeout 60m -v \
		-run '^(TestFaults|TestAuthEndpoint|TestPublishEndpoint|TestConnectionChurn|TestLoadFanout)$$' \
		./infra/faults ./infra/load ./infra/server

# sam-invoke: the same in a Lambda container with the SAM CLI (Docker):
#   make sam-invoke FN=StreamFunction EVENT=events/samples/dynamodb-users-insert.json
# ENV_FILE (optional) is a JSON file of environment overrides (--env-vars).
sam-invoke:
	@test -n "$(FN)" && test -n "$(EVENT)" || { echo "usage: make sam-invoke FN=<LogicalId> EVENT=<event.json> [ENV_FILE=env.json]" >&2; exit 2; }
	sam build --cached --parallel
	sam local invoke $(FN) --event $(EVENT) $(if $(ENV_FILE),--env-vars $(ENV_FILE))

# deploy: build and deploy with samconfig.toml's defaults; deploy-guided
# asks for every parameter (the first deployment to an account).
deploy:
	sam build --cached --parallel
	sam deploy

deploy-guided:
	sam build --cached --parallel
	sam deploy --guided

clean:
	rm -rf .aws-sam bin

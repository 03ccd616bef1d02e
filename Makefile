# Mailnest developer commands. `make run` and `make test` set up a fresh machine:
# they install what is missing (npm packages, Debian packages the tests use),
# build, and run.

SHELL := /bin/bash
NODE_BIN := node_modules/.bin
DEPS_STAMP := node_modules/.mailnest-installed
DEBIAN_STAMP := .build/debian-packages
# Debian packages the tests drive as real clients.
DEBIAN_PACKAGES := swaks libnet-ssleay-perl libio-socket-ssl-perl curl isync fetchmail

.PHONY: all deps debian-deps build run test typecheck bench clean

all: build

$(DEPS_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

deps: $(DEPS_STAMP)

# Installs the Debian packages in DEBIAN_PACKAGES that are missing (needs root or sudo).
debian-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	node --import tsx scripts/build.ts

# Development runs through the firmware supervisor, with simulated hardware (LED changes go to the log).
run: build
	bin/mailnest firmware --data ./var --port-offset 10000 --listen 127.0.0.1

typecheck: deps
	$(NODE_BIN)/tsc --noEmit -p .

test: deps debian-deps build typecheck
	node --import tsx scripts/run-tests.ts

bench: build
	@for script in scripts/bench-*.ts; do echo "== $$script"; node --import tsx $$script || exit 1; done

clean:
	rm -rf dist .build

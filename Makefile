# Mailnest developer commands. `make run` and `make test` set up a fresh machine:
# they install what is missing (npm packages, Debian packages the tests use),
# build, and run.

SHELL := /bin/bash
NODE_BIN := node_modules/.bin
DEPS_STAMP := node_modules/.mailnest-installed
DEBIAN_STAMP := .build/debian-packages
# Debian packages the tests drive as real clients (and strace, which watches the durability syscalls;
# chromium, the browser the web UI tests drive through playwright-core; iproute2, whose `ip netns` makes the mDNS tests' LAN).
DEBIAN_PACKAGES := swaks libnet-ssleay-perl libio-socket-ssl-perl curl isync fetchmail strace chromium fonts-dejavu-core iproute2

.PHONY: all deps debian-deps build run test typecheck bench image qemu-test clean

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
# ARGS go on to the supervisor and so to serve, after the defaults, which they override:
# make run ARGS="--port http=18080"   make run ARGS="--log-level debug --hostname mail.example.test"
run: build
	bin/mailnest firmware --data ./var --port-offset 10000 --listen 127.0.0.1 $(ARGS)

typecheck: deps
	$(NODE_BIN)/tsc --noEmit -p .

test: deps debian-deps build typecheck
	node --import tsx scripts/run-tests.ts

# Benchmarks print figures, Mailnest's beside the reference Postfix and Dovecot (private instances on
# 127.0.0.1, started by ../shared/tools/bench-reference/setup.sh when they are not up). ROUNDS=1 is quicker.
BENCH_REFERENCE := ../shared/tools/bench-reference
bench: build
	@$(BENCH_REFERENCE)/ref-dovecot.sh status >/dev/null 2>&1 && $(BENCH_REFERENCE)/ref-postfix.sh status >/dev/null 2>&1 || $(BENCH_REFERENCE)/setup.sh
	@echo "== scripts/bench-side-by-side.sh"; scripts/bench-side-by-side.sh $(or $(ROUNDS),3)
	@for script in scripts/bench-*.ts; do echo "== $$script"; node --import tsx $$script || exit 1; done

# The arm64 disk image for QEMU's virt board (root needed; see os-image/README.md).
# The Debian base and the arm64 Node runtime are cached in ../.cache/mailnest-image.
image: build
	os-image/build-image.sh $(CURDIR)

# Boots the image in qemu-system-aarch64 and exchanges mail with it; ends with `qemu-test: PASS` or `qemu-test: FAIL: ...`.
qemu-test: image
	os-image/qemu-test.sh $(CURDIR)

clean:
	rm -rf dist .build

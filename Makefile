# Backup Center. `make run` starts the app; `make test` runs every test; `make bench` prints
# the snapshot benchmarks. They install what they need (system packages with apt-get, npm
# packages) and are fast when it is there.

SHELL := /bin/bash
.DEFAULT_GOAL := run
.PHONY: run demo test bench bench-build bench-snapshot bench-ftp bench-sftp system-run system-test frontend-deps frontend app lint rust-tests frontend-tests bindings clean

# What building and running the desktop app needs on Debian/Ubuntu.
PKGS_RUN := build-essential pkg-config curl file libwebkit2gtk-4.1-dev libssl-dev \
            libayatana-appindicator3-dev librsvg2-dev libxdo-dev libdbus-1-dev
# What the tests add: a virtual display, WebKitWebDriver, a session bus and the Secret Service.
PKGS_TEST := $(PKGS_RUN) unzip python3 xvfb xauth webkit2gtk-driver dbus dbus-x11 at-spi2-core \
             gnome-keyring libsecret-tools trayer xdotool vsftpd openssh-server openssh-client

NPM := npm --prefix frontend --no-audit --no-fund --loglevel=error

system-run:
	@scripts/ensure-packages.sh $(PKGS_RUN)

system-test:
	@scripts/ensure-packages.sh $(PKGS_TEST)

# npm ci only when the lockfile changed since the last install.
frontend/node_modules/.installed: frontend/package-lock.json
	$(NPM) ci
	@touch $@

frontend-deps: frontend/node_modules/.installed

frontend: frontend-deps
	$(NPM) run build

app: frontend
	cargo build -p backup-center -p backup-center-engine --bins

run: system-run app
	cargo run -p backup-center

# The app against the Jira Cloud simulator with a sample site (its token in a private
# keychain), a local destination, two preset schemes and a first backup already taken; all
# in target/demo, recreated each time. DEMO_ARGS e.g. "--size medium".
demo: system-test app
	cargo build -p backup-center-tests --bin demo
	$${CARGO_TARGET_DIR:-target}/debug/demo $(DEMO_ARGS)

lint: frontend
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(NPM) run check

frontend-tests: frontend-deps
	$(NPM) test

rust-tests: app
	cargo test --workspace --no-fail-fast

test: system-test lint frontend-tests rust-tests
	@echo "make test: all checks passed"

# Every benchmark, figures and ratios printed (not part of `make test`); each section still
# runs when an earlier one misses its goal, and the exit status says whether all goals held.
# - snapshot-bench: figures 1-3 on the medium site; BENCH_LARGE=1 adds figure 4 (the CLI's peak
#   RSS on the large site, much longer). SNAPSHOT_ARGS e.g. "--only 2 --rate 400". Figure 3
#   keeps each round's downloads until the end: about 2 GB of disk per round (--rounds N).
# - ftp-bench / sftp-bench: 1 GB uploads to a local vsftpd / sshd against curl / OpenSSH sftp,
#   median of 3 (need root). UPLOAD_ARGS e.g. "--size-mb 200".
# `make bench-snapshot`, `make bench-ftp`, `make bench-sftp` run one section.
BIN := $${CARGO_TARGET_DIR:-target}/release
bench: system-test bench-build
	@status=0; \
	BENCH_LARGE=$(BENCH_LARGE) $(BIN)/snapshot-bench --bin-dir $(BIN) $(SNAPSHOT_ARGS) || status=1; \
	$(BIN)/ftp-bench $(UPLOAD_ARGS) || status=1; \
	$(BIN)/sftp-bench $(UPLOAD_ARGS) || status=1; \
	exit $$status

bench-build: system-run
	cargo build --release -p backup-center-tests -p backup-center-engine --bins

bench-snapshot: system-test bench-build
	BENCH_LARGE=$(BENCH_LARGE) $(BIN)/snapshot-bench --bin-dir $(BIN) $(SNAPSHOT_ARGS)

bench-ftp: system-test bench-build
	$(BIN)/ftp-bench $(UPLOAD_ARGS)

bench-sftp: system-test bench-build
	$(BIN)/sftp-bench $(UPLOAD_ARGS)

# Regenerates frontend/src/lib/bindings.ts from the Rust commands.
bindings: frontend
	UPDATE_BINDINGS=1 cargo test -p backup-center --lib ipc::tests

clean:
	cargo clean
	rm -rf frontend/dist frontend/node_modules .test-artifacts

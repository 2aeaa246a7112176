# pfc-metarl — the two commands a fresh machine needs are `make figures` and `make test`.
# Everything builds once, in the release profile (see Cargo.toml), into CARGO_TARGET_DIR:
# `build` compiles every target (binary, tests, benches, examples) in one go, so that the
# dev-dependencies' features are unified with the binary's and `make test` after
# `make figures` (or the reverse) recompiles nothing.

CARGO ?= cargo
export CARGO_TARGET_DIR ?= $(CURDIR)/target
METARL := $(CARGO_TARGET_DIR)/release/metarl
EXPERIMENTS := $(sort $(wildcard experiments/*.toml))

.PHONY: all build figures test check bench report controls sweep-example clean

all: figures

build:
	$(CARGO) build --release --locked --all-targets

# Train, analyse and plot every experiment at its default budget, then copy the
# figures into figures/. Re-running replaces the previous runs in runs/.
figures: build
	@mkdir -p figures
	@set -e; for f in $(EXPERIMENTS); do \
	  name=$$(basename $$f .toml); \
	  $(METARL) run $$f --out runs/$$name --force; \
	  cp runs/$$name/figures/*.png runs/$$name/figures/*.svg figures/; \
	done
	@echo "figures written to figures/; run 'make check' for the paper's targets"

# The project's tests: unit, gradient checks, task statistics, CLI, determinism and
# outcome regressions (which train for real on small budgets).
test: build
	$(CARGO) test --release --locked

# The paper reproduction checks on the runs made by `make figures`.
check: build
	$(METARL) check

# Training throughput: criterion benchmark, then network steps/s and trials/s per experiment
# (best of 3), appended to the history in bench/history.jsonl and compared with the previous
# line of the same machine: a slowdown beyond 10% exits non-zero. Draws bench/history.png.
bench: build
	$(CARGO) bench --locked --bench throughput
	$(METARL) bench --repeat 3 --history bench/history.jsonl --threshold 0.10 \
	  --criterion $(CARGO_TARGET_DIR)/criterion --plot bench/history

# The reproduction report of the runs made by `make figures`: REPRODUCTION.md,
# REPRODUCTION.html (self-contained) and the summary table of README.md. Exits non-zero
# if an experiment does not fully reproduce (the report is written either way).
report: build
	$(METARL) report --all --readme README.md

# The mechanism controls of every experiment that declares [controls] (issue 15; README
# "Controls"): no reward input, untrained, plastic at test, LSTM size, beside the experiment at the
# controls' budget and its default run (runs/<name>, from `make figures`, if present). Writes
# runs/controls/ (controls.json, controls.parquet, controls.md, figures/) and copies the figure
# into figures/. Exits non-zero if a control check fails (the table and figure are written first).
controls: build
	@mkdir -p figures
	nice -n 10 $(METARL) controls --all --threads 2; status=$$?; \
	  cp runs/controls/figures/controls.png runs/controls/figures/controls.svg figures/ && exit $$status

# The worked sweep example of the README (S4 model-based index by LSTM size and training
# length, 16 cells × 8 seeds, about 6 minutes of CPU per core on two cores): run, merge, copy the figure.
sweep-example: build
	$(METARL) sweep run sweeps/s4_size_by_training.toml --jobs 2 --threads 1
	$(METARL) sweep merge sweeps/s4_size_by_training.toml
	cp runs/sweeps/s4_size_by_training/figures/s4_size_by_training.png runs/sweeps/s4_size_by_training/figures/s4_size_by_training.svg figures/

clean:
	rm -rf runs

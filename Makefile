# The two commands a new user types: `make demo` and `make test`.
# Both create .venv on first use and install regcast with its dev extras into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The producer's hot path runs compiled (producer/native.py says why). The editable
# install leaves it as Python; `native` compiles it in place and again whenever a
# producer source changes, so tests and benchmarks never run stale compiled code.
NATIVE := $(VENV)/.native
NATIVE_SOURCES := $(wildcard producer/*.py producer/records/*.py) setup.py

.PHONY: install native demo test lint typecheck soak bench clean tools

# Programs the tests run that are not Python packages: socat is the TLS terminator
# (OpenSSL) the producer's TLS tests connect through; wrk is the HTTP load generator of
# benchmarks/bench_serve. Installed from Debian when missing.
tools:
	@command -v socat >/dev/null 2>&1 || { \
	echo "installing socat (Debian package) for the TLS tests"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends socat >/dev/null; }
	@command -v wrk >/dev/null 2>&1 || { \
	echo "installing wrk (Debian package) for benchmarks/bench_serve"; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null; }

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	REGCAST_PURE_PYTHON=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Without a C compiler (or Python's headers) the producer runs as plain Python: slower,
# the same behaviour; the next make tries again. `make test` fails on purpose then
# (test_native) and says so.
$(NATIVE): $(STAMP) $(NATIVE_SOURCES)
	@echo "compiling the producer's hot path with mypyc (producer/native.py)"
	@if REGCAST_PURE_PYTHON= $(BIN)/python setup.py --quiet build_ext --inplace --force; \
	then touch $(NATIVE); \
	else find producer -name '*.so' -delete; \
	echo "make: could not compile the producer's hot path (no C compiler or Python headers?): it runs as plain Python"; fi

install: $(NATIVE)

native: $(NATIVE)

demo: $(NATIVE)
	$(BIN)/regcast demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# --durations: the slowest tests in every run's log, to keep the suite under 15 minutes
test: $(NATIVE) tools lint typecheck
	$(BIN)/pytest --durations=20
	REGCAST_PURE_PYTHON=1 $(BIN)/pytest -q tests/unit/producer tests/integration/producer/test_producer_tansu.py \
		tests/integration/producer/test_producer_faults.py tests/integration/producer/test_transactions_tansu.py

soak: $(NATIVE)
	$(BIN)/pytest -m soak

bench: $(NATIVE)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
	find producer -name '*.so' -delete

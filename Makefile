# Encore: `make demo` and `make test` each set up everything they need on a fresh Debian machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := libfluidsynth3 fluid-soundfont-gm libportaudio2 mosquitto openssl jackd2 tmux chromium chromium-driver iproute2
APT_STAMP := $(VENV)/.apt-done
PY_STAMP := $(VENV)/.py-done

.PHONY: setup demo test bench lint clean

setup: $(APT_STAMP) $(PY_STAMP)

$(APT_STAMP):
	@if ! dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then \
		echo "installing Debian packages: $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi
	@mkdir -p $(VENV) && touch $@

$(PY_STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

demo: setup
	$(VENV)/bin/encore play setlists/demo.toml --headless --record out/demo.mid --wav out/demo.wav

test: setup
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/python -m benchmarks.run_all

lint: setup
	$(VENV)/bin/ruff check engine models training stage tests benchmarks
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) .cache out

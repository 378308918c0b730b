# Two commands on a fresh machine: `make run` and `make test`. Both create the
# virtual environment first (idempotent: re-run only when pyproject.toml changes).
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The CPU build of torch lies on this machine's disk; an unpinned torch would pull a
# multi-GB CUDA build. pyproject.toml itself declares torch>=2.5.
TORCH_PIN ?= torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --no-compile $(TORCH_PIN)
	$(PY) -m pip install -q --disable-pip-version-check --no-compile -e '.[dev]'
	@# Byte-compile on every core: pip compiles one file at a time, 2 of the set-up's 3.4
	@# minutes here; 1.1 on two cores. (A few template files are not Python: ignored.)
	$(PY) -m compileall -q -j 0 "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null 2>&1 || true
	touch $(STAMP)

# The main job: a bake-off of the advisor's shortlist on a bundled real dataset
# (GunPoint, UCR archive via aeon), three-minute budget, HTML report and exported winner.
run: setup
	$(VENV)/bin/seqselect models
	$(VENV)/bin/seqselect bakeoff ucr:GunPoint --budget 3m --seeds 3 --params 20000 \
		--html seqselect-runs/gunpoint.html --export seqselect-runs/gunpoint-winner

# Debian packages the tests use: Chromium (the HTML report test renders the page),
# espeak-ng (spoken digits), fortunes (English text). Installed where apt exists; a test
# that needs one skips, saying why, only where it cannot be installed.
test: setup
	-bash scripts/install-debian-packages.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(PY) scripts/check_structure.py

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache

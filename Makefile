# Two commands for a fresh machine:
#   make run    set everything up, then read the plates in the built-in sample images
#   make test   set everything up, then run the test suite (what CI runs)
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BROWSER := $(VENV)/.browser

.PHONY: run test setup

setup: $(STAMP) $(BROWSER)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/alprkit run

# The leaderboard page's test (tests/test_leaderboard_page.py) drives Debian's Chromium. Where it is missing and
# apt-get can run (as root, as in CI) it is installed once; anywhere else the test is skipped and says why.
APT = DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120
$(BROWSER): | $(STAMP)
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "make: installing Chromium for the leaderboard page's test (apt-get)"; \
	  { $(APT) install chromium chromium-driver || { $(APT) update && $(APT) install chromium chromium-driver; }; } \
	    > $(VENV)/apt.log 2>&1 || echo "make: Chromium not installed ($(VENV)/apt.log): that test will be skipped"; \
	else echo "make: no Chromium, and apt-get cannot run here: the leaderboard page's test will be skipped"; fi
	@touch $@

# The parsers' fuzzing (tests/test_fuzz_parsers.py, FUZZ_SECONDS per parser) runs in two processes beside
# the rest of the suite at the lowest priority: it takes the CPU time the suite leaves idle, not wall time.
FUZZ_SECONDS ?= 60
FUZZ = ALPRKIT_FUZZ_SECONDS=$(FUZZ_SECONDS) nice -n 19 $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_fuzz_parsers.py
test: $(STAMP) $(BROWSER)
	@$(FUZZ) -k "ccpd or labels or tao" > $(VENV)/fuzz-1.log 2>&1 & one=$$!; \
	$(FUZZ) -k "not (ccpd or labels or tao)" > $(VENV)/fuzz-2.log 2>&1 & two=$$!; \
	$(BIN)/python -m pytest -q --ignore=tests/test_fuzz_parsers.py; suite=$$?; \
	wait $$one; a=$$?; wait $$two; b=$$?; \
	echo "== fuzzing, $(FUZZ_SECONDS) s per parser =="; grep -h -E "passes of|passed|failed|Error" $(VENV)/fuzz-1.log $(VENV)/fuzz-2.log; \
	[ $$a -eq 0 ] || cat $(VENV)/fuzz-1.log; [ $$b -eq 0 ] || cat $(VENV)/fuzz-2.log; \
	exit $$(( suite ? suite : (a ? a : b) ))

# The two commands a newcomer needs:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install install-test browser test-sqlite test-postgres lint bench clean

## make run: install paperfeed, load the bundled corpus (30 real arXiv days), serve it.
run: install
	$(BIN)/paperfeed demo --host $(HOST) --port $(PORT)

## make test: install everything the suite needs, run it on SQLite and on PostgreSQL.
# Both databases always run; the target fails if either run failed.
test: install-test browser
	@status=0; \
	$(BIN)/python -m pytest -n 2 --db=sqlite || status=1; \
	$(BIN)/python -m pytest -n 2 --db=postgres || status=1; \
	exit $$status

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned in pyproject (2.13.0, the CPU build on this disk); install it first so
# that nothing pulls a CUDA build.
install: $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'

# Debian's Chromium for the Playwright browser tests (Playwright's own download cannot work here).
# With PAPERFEED_REQUIRE_BROWSER=1 (CI: .ci/run) a failed install fails the target, and the
# browser tests fail instead of skipping.
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || \
	  if [ "$$PAPERFEED_REQUIRE_BROWSER" = 1 ]; then \
	    echo "error: could not install chromium (PAPERFEED_REQUIRE_BROWSER=1)" >&2; exit 1; \
	  else echo "warning: could not install chromium; browser tests will be skipped"; fi
	@if [ "$$PAPERFEED_REQUIRE_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then \
	  echo "error: /usr/bin/chromium is missing (PAPERFEED_REQUIRE_BROWSER=1)" >&2; exit 1; fi

## make bench: the headline benchmark table (python -m bench: machine block, then one Markdown
## table of figures, in-run references and ratios, SQLite then PostgreSQL + pgvector rows on an
## embedded server; needs ../shared/data; the whole corpus is embedded, most of the ~15-20 min).
## Runs under the team's bench lock when flock exists.
bench: install-test
	$$(command -v flock >/dev/null && echo flock /tmp/paperfeed-bench.lock) $(BIN)/python -m bench

lint: install-test
	$(BIN)/ruff check paperfeed tests bench
	$(BIN)/mypy paperfeed
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

# The two commands a new user needs: `make demo` and `make test`. Both set themselves up.
.PHONY: demo test bench setup clean

demo:
	./scripts/setup.sh demo
	.venv/bin/micrograd demo

test:
	./scripts/setup.sh dev
	.venv/bin/python -m pytest

bench:
	./scripts/setup.sh dev
	.venv/bin/python bench/run.py

clean:
	rm -rf .venv build dist *.egg-info src/*.egg-info .pytest_cache .hypothesis

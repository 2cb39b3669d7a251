"""tendlc benchmarks (issue 8): `make bench` / `python -m bench.run`. Not part of `make test`."""

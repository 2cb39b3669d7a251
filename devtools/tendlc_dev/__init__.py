"""Development tools of tendlc, never shipped with the operator: the sandbox, the dev cluster, the demo.

`tendlc_dev.sandbox` simulates Infobip and TCR over HTTP, `tendlc_dev.devcluster` runs a local
control plane from binaries built out of Go modules, and `tendlc_dev.demo` puts the two together
with the operator for `make demo`. They are a distribution of their own (`devtools/pyproject.toml`),
installed by `make venv` beside the operator; the operator's wheel and image carry none of it, and
nothing in `tendlc` may import from here.
"""

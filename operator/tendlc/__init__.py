"""tendlc: a Kubernetes operator that migrates US 10DLC campaigns to Infobip."""

# The one place the version is written: the package metadata (pyproject.toml reads it), the chart's
# appVersion and the default image tag follow it (tests/unit/test_version.py checks they agree).
__version__ = "0.1.0"

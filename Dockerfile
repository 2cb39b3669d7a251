# tendlc operator image. Build from the repository root (the tag and the version label follow
# operator/tendlc/__init__.py `__version__`; tests/unit/test_version.py checks):
#   docker build -t tendlc/operator:0.1.0 .
# Two stages: the builder installs the project into a virtualenv exactly as docs/install.md does
# (tests/unit/test_dockerfile.py checks the command); the final stage copies only that virtualenv
# onto a clean slim Python, runs as a numeric non-root user and has no compiler or pip cache.

FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY operator/ operator/
RUN pip install -c constraints.txt .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="tendlc" \
      org.opencontainers.image.description="Kubernetes operator that migrates US 10DLC SMS campaigns to Infobip" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
# A passwd entry for UID 10001, so tools that look the user up (getpass) find a name.
RUN useradd --uid 10001 --user-group --no-log-init --no-create-home --shell /usr/sbin/nologin tendlc
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001:10001
# 8080 liveness (/healthz), 8081 Infobip webhook receiver, 9090 Prometheus metrics.
EXPOSE 8080 8081 9090
ENTRYPOINT ["python", "-m", "tendlc"]

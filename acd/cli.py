"""The ``acd`` command."""

import typer

app = typer.Typer(help="acd: automatic call distributor for Asterisk.", no_args_is_help=True)


@app.command()
def version() -> None:
    """Print the version."""
    from acd import __version__

    typer.echo(__version__)


def main() -> None:
    app()

"""CLI command groups; each module exposes ``register(app: typer.Typer)``.

Commands stay thin: parse options, call one library function, print. Shared
option helpers (``--db``) live in :mod:`lightcomp.commands.common`.
"""

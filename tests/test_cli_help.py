"""Help that helps: every option of every command is explained and shows its default."""

from __future__ import annotations

import argparse

import pytest

from causalmmm_ppl.cli import build_parser, main


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", list(_commands()))
def test_every_option_is_explained_and_shows_its_default(name, capsys):
    command = _commands()[name]
    for action in command._actions:
        assert action.help, f"{name} {action.option_strings or action.dest}: no help"
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for action in command._actions:
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS, ()) and action.nargs != 0:
            assert f"default: {action.default}" in text or "default" in (action.help or ""), action.option_strings
    if any("--data" in a.option_strings for a in command._actions) or name in ("fit", "validate"):
        assert "one row per shop" in text  # what DATA is, on every command that reads it

"""The command line explains itself: commands, defaults and exit codes in --help."""

from __future__ import annotations

import pytest

from delivery.cli import main


@pytest.mark.parametrize("argv", [["--help"], ["rehearse", "--help"], ["check", "--help"]])
def test_help_lists_the_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {code}" in text
    assert "(default: None)" not in text


def test_rehearse_help_names_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["rehearse", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: staging)" in text
    assert "out/rehearsal-<stack>-<time>.png" in text

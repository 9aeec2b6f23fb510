"""``chainrule quiz --answers FILE`` on hostile files (issue 25): a UTF-8 BOM, a binary
file, a 10 MB line, a pipe fed by ``yes``. How the file is read, not how it is graded."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule.cli import main
from chainrule.cli.main import ANSWER_MAX_CHARS, answer_lines
from chainrule.practice.quiz import Drill


def quiz(capsys, *args) -> tuple[int, str, str]:
    code = main(["quiz", "--seed", "7", "--topic", "backward", "--count", "3", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_bom_does_not_turn_the_first_right_answer_wrong(tmp_path, capsys):
    right = f"{Drill(seed=7, topic='backward', count=3).questions[0].answer:.3g}"
    answers = tmp_path / "answers.txt"
    answers.write_bytes(b"\xef\xbb\xbf" + f"{right}\n".encode())  # Notepad's UTF-8
    code, out, _ = quiz(capsys, "--answers", answers)
    assert code == 0
    assert f"right: {float(right):.4g}" in out and "score: 1/3" in out


def test_a_binary_file_is_one_line_naming_it(tmp_path, capsys):
    answers = tmp_path / "photo.png"
    answers.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    code, _, err = quiz(capsys, "--answers", answers)
    assert code == 2
    assert err == (
        f"chainrule quiz: error: --answers {answers} is not a text file (it holds bytes that "
        "are not UTF-8: invalid start byte); write one answer per line in a plain text file.\n"
    )


def test_a_10_mb_answer_is_not_echoed_back_whole(tmp_path, capsys):
    answers = tmp_path / "answers.txt"
    answers.write_text("7" * 10_000_000 + "\n-0.5\n")
    code, out, _ = quiz(capsys, "--answers", answers)
    assert code == 0
    assert "could not read '77777777777777777777... (10,000,000 characters)' as a number" in out
    assert "you gave -0.5" in out  # the next line is the next answer
    assert len(out) < 10_000


def test_answers_from_a_pipe_fed_by_yes_are_read_only_as_far_as_asked(tmp_path):
    """``yes | chainrule quiz --answers /dev/stdin`` read the endless stream whole."""
    yes = subprocess.Popen(["yes", "0.5"], stdout=subprocess.PIPE)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "chainrule", "quiz", "--seed", "1", "--count", "4",
             "--answers", "/dev/stdin"],
            stdin=yes.stdout, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        yes.kill()
        yes.wait()
        yes.stdout.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("you gave 0.5") + done.stdout.count("right: 0.5") == 4


@settings(max_examples=60, deadline=1000, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(lines=st.lists(st.text(max_size=40) | st.integers(0, 3000).map(lambda n: "9" * n),
                      max_size=6))  # fmt: skip
def test_fuzz_answer_lines_are_bounded_and_in_order(lines):
    """Any text: each line comes back whole when short, shortened (with its length)
    when over ANSWER_MAX_CHARS, one per line of the file, in order."""
    text = "".join(line.replace("\n", " ").replace("\r", " ") + "\n" for line in lines)
    got = list(answer_lines(io.StringIO(text, newline="\n"), "answers.txt"))
    assert len(got) == len(lines)
    for line, read in zip(lines, got, strict=True):
        line = line.replace("\n", " ").replace("\r", " ")
        if len(line) <= ANSWER_MAX_CHARS:
            assert read == line + "\n"
        else:
            assert read == f"{line[:20]}... ({len(line):,} characters)\n"


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n", b"# only a comment\n"])
def test_empty_answers_files_give_no_answers(tmp_path, capsys, content):
    answers = tmp_path / "answers.txt"
    answers.write_bytes(content)
    code, out, _ = quiz(capsys, "--answers", answers)
    assert code == 0 and "score: 0/3" in out

"""Runs the Python example of README.md as written."""

import glob
import os
import re
import subprocess
import sys


def _example():
    found = glob.glob(os.path.join("**", "README.md"), recursive=True)
    assert found, "README.md is not in the runfiles"
    with open(found[0], encoding="utf-8") as f:
        text = f.read()
    section = text.split("### Example", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_example_is_three_lines():
    lines = [l for l in _example().splitlines() if l.strip()]
    assert len(lines) == 3, lines


def test_example_runs_as_written():
    code = _example() + "\nprint('grad', model[0].weight.grad.abs().sum().item() > 0)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "grad True" in result.stdout

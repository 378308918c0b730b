"""The house rules of ARCHITECTURE.md hold: no file over 500 lines, no function over 80,
no import cycle in src/ (scripts/check_structure.py)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_structure.py"


def test_sizes_and_import_graph(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_the_checker_finds_a_cycle_and_a_long_function(tmp_path):
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("from pkg import a\n\ndef long():\n" + "    x = 1\n" * 90)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "check_structure.py").write_text(SCRIPT.read_text())
    done = subprocess.run(
        [sys.executable, str(scripts / "check_structure.py")], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "import cycle: pkg.a <-> pkg.b" in done.stdout
    assert "long: 91 lines" in done.stdout

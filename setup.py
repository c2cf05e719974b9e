"""Build step beyond pyproject.toml: compile the validation rules into the wheel (and
write the commands' index that ``ubltr --help`` reads, ubltr/cli.py).

``ubltr validate`` turns GİB's schematron and ubltr's rules into XSLT 1.0 once and
caches the result; a wheel carries that result (``ubltr/_schematron/compiled``), built
here from the very files it ships, so the first validate after an install costs what
later ones do.  The engine uses a compiled file only when its name (a hash of the
compiler and of every rule source) matches, so a stale one is never used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithCompiledRules(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install compiles on first use, as a checkout does
            return
        dest = Path(self.build_lib) / "ubltr" / "_schematron" / "compiled"
        shutil.rmtree(dest, ignore_errors=True)  # (a reused build/ must not keep stale files)
        with tempfile.TemporaryDirectory() as cache:
            # a fresh process on the source tree, with an empty rule cache and no user rule store
            env = {**os.environ, "UBLTR_CACHE_DIR": cache, "UBLTR_RULES_DIR": os.path.join(cache, "store"),
                   "PYTHONPATH": str(HERE)}
            code = ("import sys; from pathlib import Path; from ubltr.validation import engine; from ubltr import _command_index; "
                    "print(len(engine.compile_into(Path(sys.argv[1]))), 'compiled rule sets'); "
                    "_command_index.build_index(Path(sys.argv[2]))")
            index = Path(self.build_lib) / "ubltr" / "commands" / "_index.json"
            subprocess.run([sys.executable, "-c", code, str(dest), str(index)], check=True, cwd=HERE, env=env)


setup(cmdclass={"build_py": BuildPyWithCompiledRules})

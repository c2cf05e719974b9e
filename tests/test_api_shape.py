"""#17: the stage functions are plain functions and the stage modules plain modules
(no module whose class was swapped to make it callable)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import subprocess
import sys
import types

import ubltr


def test_stage_functions_are_functions_and_modules_are_modules() -> None:
    for name, module in (("parse", "parsing"), ("sign", "signing"), ("validate", "validation")):
        fn = getattr(ubltr, name)
        assert inspect.isfunction(fn), name
        mod = importlib.import_module(f"ubltr.{module}")
        assert type(mod) is types.ModuleType, module
        assert fn is getattr(mod, name)
        assert fn.__module__ == f"ubltr.{module}"
        assert pickle.loads(pickle.dumps(fn)) is fn  # a function pickles by reference
    assert importlib.util.find_spec("ubltr._callable") is None


def test_importing_a_stage_module_does_not_shadow_its_function() -> None:
    code = ("import ubltr, ubltr.validation, ubltr.signing, ubltr.parsing, inspect; "
            "print(all(inspect.isfunction(f) for f in (ubltr.validate, ubltr.sign, ubltr.parse)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr

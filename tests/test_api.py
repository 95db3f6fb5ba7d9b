"""The public namespace: every exported name exists and is documented."""

from __future__ import annotations

import inspect

import sharedrep as sr


def test_every_exported_name_exists_and_star_import_works():
    missing = [n for n in sr.__all__ if not hasattr(sr, n)]
    assert missing == []
    namespace: dict = {}
    exec("from sharedrep import *", namespace)
    assert "ShaReD" in namespace and "Cohort" in namespace


def test_public_functions_and_classes_have_docstrings():
    undocumented = []
    for name in sr.__all__:
        obj = getattr(sr, name)
        members = (
            [
                (f"{name}.{m}", f)
                for m, f in inspect.getmembers(obj)
                if not m.startswith("_")
                and (inspect.isfunction(f) or inspect.isclass(f))
                and getattr(f, "__module__", "") == obj.__name__
            ]
            if inspect.ismodule(obj)
            else [(name, obj)]
            if callable(obj)
            else []
        )
        undocumented += [n for n, f in members if not (f.__doc__ or "").strip()]
    assert undocumented == []

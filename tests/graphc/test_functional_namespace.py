"""The functional namespaces are the union of their topic modules: a public function
defined in a topic module is exported (by its module's ``__all__``, then by the package),
and no name is exported twice or by two modules."""

import importlib
import pkgutil

import pytest

import graphc
import graphc._functional
import graphc.nn.functional

# Public-looking names that are not functions of the namespace, with the reason.
NOT_EXPORTED = {
    "graphc._functional.getitem": {"getitem", "setitem"},  # Tensor.__getitem__ / __setitem__
}


def _topic_modules(package):
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{package.__name__}.{info.name}")


@pytest.mark.parametrize("package", [graphc._functional, graphc.nn.functional], ids=lambda p: p.__name__)
def test_each_topic_module_exports_what_it_defines(package):
    exported = []
    for module in _topic_modules(package):
        defined = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and callable(value) and getattr(value, "__module__", None) == module.__name__
        }
        assert set(module.__all__) == defined - NOT_EXPORTED.get(module.__name__, set()), module.__name__
        exported += module.__all__
        for name in module.__all__:
            assert getattr(package, name) is getattr(module, name), f"{package.__name__}.{name}"
    assert len(exported) == len(set(exported)), "a name is exported by two topic modules"
    assert sorted(package.__all__) == sorted(exported)


def test_functional_aliases_and_the_graphc_namespace():
    assert importlib.import_module("graphc.functional") is graphc._functional  # the sys.modules alias
    for name in graphc._functional.__all__:
        assert getattr(graphc, name) is getattr(graphc._functional, name), name
    assert graphc.Tensor.add is graphc._functional.add and graphc.Tensor.exp is graphc._functional.exp

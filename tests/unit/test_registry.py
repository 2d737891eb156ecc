"""Registry: registration, lookup, duplicate names and the unknown-name message."""

import pytest

from ineqbench.registry import Registry, UnknownNameError


def make_registry() -> Registry:
    reg: Registry = Registry("colour")
    reg.add("red", 1)
    reg.add("green", 2)

    @reg.register("blue")
    def blue():
        return 3

    return reg


def test_add_and_get_return_the_registered_objects():
    reg = make_registry()
    assert reg.get("red") == 1
    assert reg.get("green") == 2
    assert reg.get("blue")() == 3


def test_register_decorator_returns_the_object_unchanged():
    reg: Registry = Registry("thing")

    def f():
        return 42

    assert reg.register("f")(f) is f
    assert reg.get("f") is f


def test_names_contains_len_and_iteration_are_sorted():
    reg = make_registry()
    assert len(reg) == 3
    assert list(reg) == ["blue", "green", "red"]
    assert reg.names() == ["blue", "green", "red"]
    assert reg.names("*e*") == ["blue", "green", "red"]
    assert reg.names("g*") == ["green"]
    assert "red" in reg and "purple" not in reg


def test_duplicate_name_raises_value_error_and_keeps_the_first_entry():
    reg = make_registry()
    with pytest.raises(ValueError, match="'red' is already registered"):
        reg.add("red", 99)
    with pytest.raises(ValueError):
        reg.register("green")(lambda: None)
    assert reg.get("red") == 1
    assert len(reg) == 3


def test_unknown_name_lists_valid_choices_and_suggests_a_close_match():
    reg = make_registry()
    with pytest.raises(UnknownNameError) as info:
        reg.get("gren")
    message = str(info.value)
    assert "unknown colour 'gren'" in message
    assert "Did you mean 'green'?" in message
    assert "Valid choices: blue, green, red" in message
    # KeyError would normally quote its message; UnknownNameError must not.
    assert not message.startswith(("'", '"'))


def test_unknown_name_error_is_a_key_error():
    reg = make_registry()
    with pytest.raises(KeyError):
        reg.get("nope")


def test_unknown_name_without_close_match_has_no_hint():
    reg = make_registry()
    with pytest.raises(UnknownNameError) as info:
        reg.get("zzzzzzzz")
    message = str(info.value)
    assert "Did you mean" not in message
    assert "Valid choices: blue, green, red" in message
    assert reg.unknown_message("zzzzzzzz") == message


def test_a_declared_name_is_valid_at_once_and_its_module_is_imported_on_first_get(tmp_path, monkeypatch):
    from ineqbench import registry as registry_module

    reg: Registry = Registry("widget")
    monkeypatch.setattr(registry_module, "_TEST_WIDGETS", reg, raising=False)
    (tmp_path / "widget_impl.py").write_text(
        "from ineqbench.registry import _TEST_WIDGETS\n_TEST_WIDGETS.add('cog', 'the cog object')\n"
    )
    (tmp_path / "widget_empty.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg.declare("cog", "widget_impl")
    reg.declare("gear", "widget_empty")
    assert "cog" in reg and reg.names() == ["cog", "gear"]
    import sys

    assert "widget_impl" not in sys.modules  # declaring imports nothing
    assert reg.get("cog") == "the cog object"
    with pytest.raises(RuntimeError, match="widget_empty, which does not add it"):
        reg.get("gear")
    with pytest.raises(ValueError, match="already registered"):
        reg.declare("cog", "widget_impl")
    with pytest.raises(ValueError, match="already registered"):
        reg.add("cog", "a second cog")


def test_lazy_imports_its_target_on_the_first_call():
    from ineqbench.registry import Lazy

    join = Lazy("os.path:join")
    assert join("a", "b") == "a/b" and "os.path:join" in repr(join)

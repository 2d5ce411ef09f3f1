"""Typed session variables: the seed's test cases, every type and constraint, limits,
export/import, and a property test over random operation sequences."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from alc_mcp.domain.variables import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_COUNT,
    BatchRejected,
    ConstraintViolation,
    ImportRejected,
    InvalidConstraints,
    InvalidValue,
    UnknownType,
    Variable,
    VariableError,
    VariableExists,
    VariableLimit,
    VariableNotFound,
    VariableSet,
    VarType,
    check_constraints,
    check_value,
    coerce,
    glob_match,
    validate_name,
)

T0 = 1_700_000_000_000


def same(a: Any, b: Any) -> bool:
    """Equal as JSON, so 1, 1.0 and True are told apart."""
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


@pytest.fixture
def vs() -> VariableSet:
    return VariableSet()


# ── seed: register ──────────────────────────────────────────


def test_register_with_type_validation_and_constraints(vs: VariableSet) -> None:
    created = vs.define(
        "temperature",
        "float",
        0.7,
        constraints={"min": 0.0, "max": 2.0},
        description="LLM temperature",
        now_ms=T0,
    )
    assert created.id.startswith("var_temperature_")
    variable = vs.get(created.id)
    assert variable == created
    assert variable.name == "temperature"
    assert variable.type is VarType.FLOAT
    assert variable.value == 0.7
    assert variable.constraints == {"min": 0.0, "max": 2.0}
    assert variable.description == "LLM temperature"
    assert variable.metadata == {}  # the engine passes metadata; no default source here
    assert (variable.version, variable.created_at, variable.updated_at) == (0, T0, T0)


def test_register_rejects_unknown_type(vs: VariableSet) -> None:
    with pytest.raises(UnknownType) as info:
        vs.define("bad", "invalid", "value", now_ms=T0)
    assert str(info.value) == (
        "unknown variable type 'invalid' (use string, integer, float, boolean, choice or json)"
    )
    assert not vs.has("bad")


def test_register_enforces_type(vs: VariableSet) -> None:
    with pytest.raises(InvalidValue) as info:
        vs.define("count", "integer", "not a number", now_ms=T0)
    assert str(info.value) == "variable 'count' must be an integer, got string"
    assert len(vs) == 0


def test_register_enforces_constraints(vs: VariableSet) -> None:
    with pytest.raises(ConstraintViolation) as info:
        vs.define("percentage", VarType.FLOAT, 1.5, constraints={"min": 0.0, "max": 1.0}, now_ms=T0)
    assert str(info.value) == "variable 'percentage' value 1.5 is above maximum 1.0"
    assert not vs.has("percentage")


# ── seed: get ───────────────────────────────────────────────


@pytest.fixture
def with_test_var(vs: VariableSet) -> Variable:
    return vs.define("test_var", "string", "hello", now_ms=T0)


def test_get_by_id(vs: VariableSet, with_test_var: Variable) -> None:
    assert vs.get(with_test_var.id).value == "hello"


def test_get_by_name(vs: VariableSet, with_test_var: Variable) -> None:
    assert vs.get("test_var").value == "hello"
    assert vs.has("test_var") and vs.has(with_test_var.id)


def test_get_not_found(vs: VariableSet, with_test_var: Variable) -> None:
    with pytest.raises(VariableNotFound) as info:
        vs.get("nonexistent")
    assert str(info.value) == "variable 'nonexistent' not found"
    assert info.value.key == "nonexistent"
    assert not vs.has("nonexistent")
    assert not vs.has(42)  # type: ignore[arg-type]


# ── seed: update ────────────────────────────────────────────


@pytest.fixture
def counter(vs: VariableSet) -> Variable:
    return vs.define("counter", "integer", 0, constraints={"min": 0, "max": 100}, now_ms=T0)


def test_update_changes_value_and_increments_version(vs: VariableSet, counter: Variable) -> None:
    first = vs.update("counter", 42, now_ms=T0 + 1)
    assert (first.value, first.version, first.updated_at, first.created_at) == (42, 1, T0 + 1, T0)
    assert vs.get("counter") == first
    vs.update(counter.id, 50, now_ms=T0 + 2)
    variable = vs.get("counter")
    assert (variable.value, variable.version) == (50, 2)
    assert variable.id == counter.id


def test_update_enforces_constraints_and_leaves_value_and_version(vs: VariableSet, counter: Variable) -> None:
    with pytest.raises(ConstraintViolation) as info:
        vs.update("counter", 150, now_ms=T0 + 1)
    assert str(info.value) == "variable 'counter' value 150 is above maximum 100"
    with pytest.raises(ConstraintViolation, match="value -1 is below minimum 0"):
        vs.update("counter", -1, now_ms=T0 + 1)
    with pytest.raises(InvalidValue, match="must be an integer, got string"):
        vs.update("counter", "7", now_ms=T0 + 1)
    assert vs.get("counter") == counter
    assert (vs.get("counter").value, vs.get("counter").version) == (0, 0)


def test_update_adds_metadata(vs: VariableSet) -> None:
    vs.define("counter", "integer", 0, metadata={"source": "lua", "reason": "start"}, now_ms=T0)
    vs.update("counter", 1, metadata={"reason": "increment", "user": "test"}, now_ms=T0 + 1)
    variable = vs.get("counter")
    assert variable.metadata["reason"] == "increment"
    assert variable.metadata["user"] == "test"
    assert variable.metadata["source"] == "lua"  # merged, not replaced


def test_update_of_unknown_variable(vs: VariableSet) -> None:
    with pytest.raises(VariableNotFound, match="variable 'nope' not found"):
        vs.update("nope", 1, now_ms=T0)


# ── seed: batch ─────────────────────────────────────────────


@pytest.fixture
def abc(vs: VariableSet) -> VariableSet:
    for i, name in enumerate("abc", start=1):
        vs.define(name, "integer", i, now_ms=T0)
    return vs


def test_batch_get_with_missing_names(abc: VariableSet) -> None:
    found, missing = abc.get_many(["a", "b", "nonexistent", "c"])
    assert len(found) == 3
    assert {key: v.value for key, v in found.items()} == {"a": 1, "b": 2, "c": 3}
    assert missing == ["nonexistent"]


def test_batch_get_keys_results_by_the_requested_key(abc: VariableSet) -> None:
    a_id = abc.get("a").id
    found, missing = abc.get_many([a_id, "zz", "b", "zz", "yy"])
    assert list(found) == [a_id, "b"]
    assert found[a_id].name == "a"
    assert missing == ["zz", "yy"]
    assert abc.get_many([]) == ({}, [])


def test_batch_update_non_atomic(abc: VariableSet) -> None:
    results = abc.set_many({"a": 10, "b": 20, "c": 30}, atomic=False, now_ms=T0 + 1)
    assert all(isinstance(r, Variable) for r in results.values())
    assert list(results) == ["a", "b", "c"]
    assert [abc.get(n).value for n in "abc"] == [10, 20, 30]
    assert [abc.get(n).version for n in "abc"] == [1, 1, 1]


def test_batch_update_non_atomic_records_each_failure(abc: VariableSet) -> None:
    abc.define("constrained", "integer", 5, constraints={"max": 10}, now_ms=T0)
    results = abc.set_many(
        {"a": 100, "constrained": 20, "ghost": 1, "b": "x"},
        atomic=False,
        metadata={"reason": "tune"},
        now_ms=T0 + 1,
    )
    assert isinstance(results["a"], Variable) and results["a"].value == 100
    assert isinstance(results["constrained"], ConstraintViolation)
    assert "above maximum 10" in str(results["constrained"])
    assert isinstance(results["ghost"], VariableNotFound)
    assert isinstance(results["b"], InvalidValue)
    assert abc.get("a").value == 100 and abc.get("a").metadata == {"reason": "tune"}
    assert abc.get("constrained").value == 5 and abc.get("constrained").version == 0
    assert abc.get("b").metadata == {}


def test_batch_update_atomic_with_validation_failure(abc: VariableSet) -> None:
    abc.define("constrained", "integer", 5, constraints={"max": 10}, now_ms=T0)
    before = abc.export()
    with pytest.raises(BatchRejected) as info:
        abc.set_many({"a": 100, "constrained": 20}, atomic=True, now_ms=T0 + 1)
    errors = info.value.errors
    assert list(errors) == ["constrained"]
    assert "above maximum" in str(errors["constrained"])
    assert str(info.value) == (
        "atomic update rejected, nothing changed: constrained: variable 'constrained' value 20 "
        "is above maximum 10"
    )
    assert abc.get("a").value == 1
    assert abc.get("constrained").value == 5
    assert abc.export() == before


def test_batch_update_atomic_lists_every_failure(abc: VariableSet) -> None:
    with pytest.raises(BatchRejected) as info:
        abc.set_many({"a": 2, "ghost": 1, "b": 1.5}, atomic=True, now_ms=T0 + 1)
    assert list(info.value.errors) == ["ghost", "b"]
    assert isinstance(info.value.errors["ghost"], VariableNotFound)
    assert isinstance(info.value.errors["b"], InvalidValue)
    assert "ghost: variable 'ghost' not found; b: variable 'b' must be an integer, got 1.5" in str(info.value)


def test_batch_update_atomic_success(abc: VariableSet) -> None:
    a_id = abc.get("a").id
    results = abc.set_many({a_id: 7, "b": 8, "a": 9}, atomic=True, metadata={"who": "host"}, now_ms=T0 + 5)
    # Two keys for the same variable apply in order, each a version.
    assert results[a_id].version == 1 and results["a"].version == 2  # type: ignore[union-attr]
    assert abc.get("a").value == 9 and abc.get("a").version == 2
    assert abc.get("b").value == 8 and abc.get("b").updated_at == T0 + 5
    assert abc.get("b").metadata == {"who": "host"}
    assert abc.get("c").version == 0
    assert abc.set_many({}, atomic=True, now_ms=T0) == {}


def test_batch_update_with_bad_metadata_changes_nothing(abc: VariableSet) -> None:
    before = abc.export()
    for atomic in (True, False):
        with pytest.raises(VariableError, match="metadata of the batch update must be a table"):
            abc.set_many({"a": 5}, atomic=atomic, metadata=["x"], now_ms=T0)  # type: ignore[arg-type]
    assert abc.export() == before


# ── seed: list ──────────────────────────────────────────────


@pytest.fixture
def temps(vs: VariableSet) -> VariableSet:
    vs.define("temp_cpu", "float", 45.0, now_ms=T0)
    vs.define("temp_gpu", "float", 60.0, now_ms=T0 + 1)
    vs.define("memory", "integer", 1024, now_ms=T0 + 2)
    return vs


def test_list_all(temps: VariableSet) -> None:
    variables = temps.matching()
    assert len(variables) == 3
    assert [v.name for v in variables] == ["temp_cpu", "temp_gpu", "memory"]
    assert temps.names() == ["temp_cpu", "temp_gpu", "memory"]
    assert len(temps) == 3


def test_list_by_pattern(temps: VariableSet) -> None:
    found = temps.matching("temp_*")
    assert len(found) == 2
    assert all(v.name.startswith("temp_") for v in found)
    assert [v.name for v in temps.matching("*")] == ["temp_cpu", "temp_gpu", "memory"]
    assert temps.matching("temp_?pu") == found
    assert temps.matching("temp") == []
    assert [v.name for v in temps.matching("*o*")] == ["memory"]


def test_list_is_oldest_first_with_ties_by_insertion(vs: VariableSet) -> None:
    vs.define("late", "boolean", True, now_ms=T0 + 10)
    vs.define("early", "boolean", True, now_ms=T0)  # a clock that went back
    vs.define("tie_b", "boolean", True, now_ms=T0 + 5)
    vs.define("tie_a", "boolean", True, now_ms=T0 + 5)
    assert vs.names() == ["early", "tie_b", "tie_a", "late"]
    vs.update("early", False, now_ms=T0 + 20)  # updates do not reorder
    assert vs.names() == ["early", "tie_b", "tie_a", "late"]
    assert [r["name"] for r in vs.export()] == vs.names()


def test_list_pattern_must_be_a_string(vs: VariableSet) -> None:
    with pytest.raises(VariableError, match="pattern must be a string"):
        vs.matching(3)  # type: ignore[arg-type]


# ── glob ────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("temp_*", "temp_", True),
        ("temp_*", "temp_cpu", True),
        ("temp_*", "xtemp_cpu", False),
        ("*_cpu", "temp_cpu", True),
        ("t?mp", "temp", True),
        ("t?mp", "tmp", False),
        ("t?mp", "teemp", False),
        ("??", "ab", True),
        ("??", "a", False),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXbYY", False),
        ("*", "", True),
        ("", "", True),
        ("", "a", False),
        ("cfg.v1", "cfg.v1", True),
        ("cfg.v1", "cfgXv1", False),  # '.' is literal
        ("[ab]", "a", False),  # brackets are literal
        ("[ab]", "[ab]", True),
        ("a+", "aa", False),
        ("a+", "a+", True),
        ("x^$", "x^$", True),
        ("a\\b", "a\\b", True),
        ("temp", "temp_cpu", False),  # whole-name match
        ("cpu", "temp_cpu", False),
    ],
)
def test_glob_match(pattern: str, name: str, expected: bool) -> None:
    assert glob_match(pattern, name) is expected


# ── names ───────────────────────────────────────────────────


@pytest.mark.parametrize("name", ["a", "_x", "Temp_1", "cfg.model-name", "a" * 128, "x.9-_"])
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "1abc", "-a", ".a", "a b", "a/b", "ä", "a" * 129, "a\n"])
def test_invalid_names(name: str, vs: VariableSet) -> None:
    with pytest.raises(VariableError, match="invalid variable name"):
        validate_name(name)
    with pytest.raises(VariableError, match="invalid variable name"):
        vs.define(name, "string", "x", now_ms=T0)


def test_name_must_be_a_string() -> None:
    with pytest.raises(VariableError) as info:
        validate_name(5)  # type: ignore[arg-type]
    assert str(info.value) == "a variable name must be a string, got integer"


# ── coercion ────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("var_type", "value", "stored"),
    [
        (VarType.STRING, "", ""),
        (VarType.STRING, "héllo", "héllo"),
        (VarType.INTEGER, 0, 0),
        (VarType.INTEGER, -5, -5),
        (VarType.INTEGER, 2.0, 2),
        (VarType.INTEGER, -0.0, 0),
        (VarType.INTEGER, 2**63 - 1, 2**63 - 1),
        (VarType.INTEGER, -(2**63), -(2**63)),
        (VarType.FLOAT, 0.5, 0.5),
        (VarType.FLOAT, 3, 3.0),
        (VarType.FLOAT, -1, -1.0),
        (VarType.BOOLEAN, True, True),
        (VarType.BOOLEAN, False, False),
        (VarType.CHOICE, "brief", "brief"),
        (VarType.JSON, None, None),
        (VarType.JSON, True, True),
        (VarType.JSON, 1, 1),
        (VarType.JSON, 1.5, 1.5),
        (VarType.JSON, "s", "s"),
        (VarType.JSON, [1, (2, 3)], [1, [2, 3]]),
        (VarType.JSON, {"a": {"b": [None, False]}}, {"a": {"b": [None, False]}}),
        (VarType.JSON, [], []),
        (VarType.JSON, {}, {}),
    ],
)
def test_coerce_accepts(var_type: VarType, value: Any, stored: Any) -> None:
    result = coerce(var_type, value, "v")
    assert same(result, stored)
    assert type(result) is type(stored)


@pytest.mark.parametrize(
    ("var_type", "value", "message"),
    [
        (VarType.STRING, 5, "variable 'v' must be a string, got integer"),
        (VarType.STRING, None, "variable 'v' must be a string, got null"),
        (VarType.STRING, b"x", "variable 'v' must be a string, got bytes"),
        (VarType.INTEGER, True, "variable 'v' must be an integer, got boolean"),
        (VarType.INTEGER, "3", "variable 'v' must be an integer, got string"),
        (VarType.INTEGER, 1.5, "variable 'v' must be an integer, got 1.5"),
        (VarType.INTEGER, math.inf, "variable 'v' must be an integer, got inf"),
        (VarType.INTEGER, math.nan, "variable 'v' must be an integer, got nan"),
        (VarType.INTEGER, 2**63, f"variable 'v' value {2**63} is outside the 64-bit integer range"),
        (
            VarType.INTEGER,
            1e20,
            "variable 'v' value 100000000000000000000 is outside the 64-bit integer range",
        ),
        (VarType.INTEGER, [1], "variable 'v' must be an integer, got array"),
        (VarType.FLOAT, False, "variable 'v' must be a number, got boolean"),
        (VarType.FLOAT, "0.5", "variable 'v' must be a number, got string"),
        (VarType.FLOAT, {}, "variable 'v' must be a number, got object"),
        (VarType.FLOAT, math.nan, "variable 'v' must be a finite number, got nan"),
        (VarType.FLOAT, -math.inf, "variable 'v' must be a finite number, got -inf"),
        (VarType.FLOAT, 10**400, f"variable 'v' value {10**400} is too large for a float"),
        (VarType.BOOLEAN, 1, "variable 'v' must be a boolean, got integer"),
        (VarType.BOOLEAN, "true", "variable 'v' must be a boolean, got string"),
        (VarType.BOOLEAN, None, "variable 'v' must be a boolean, got null"),
        (VarType.CHOICE, 1, "variable 'v' must be a string (one of its choices), got integer"),
        (VarType.JSON, math.nan, "variable 'v' must be a JSON value: number nan is not finite at $"),
        (VarType.JSON, {"a": [1, {"b": math.inf}]}, "number inf is not finite at $.a[1].b"),
        (VarType.JSON, {1: "x"}, "object key 1 is not a string at $"),
        (VarType.JSON, [{1, 2}], "set is not a JSON type at $[0]"),
        (VarType.JSON, 2**64, "is outside the 64-bit range"),
    ],
)
def test_coerce_rejects(var_type: VarType, value: Any, message: str) -> None:
    with pytest.raises(InvalidValue) as info:
        coerce(var_type, value, "v")
    assert message in str(info.value)


def test_coerce_json_rejects_too_deep_and_cycles() -> None:
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    with pytest.raises(InvalidValue, match="nested deeper than 128 levels"):
        coerce(VarType.JSON, deep, "v")
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(InvalidValue, match="nested deeper"):
        coerce(VarType.JSON, cyclic, "v")


def test_coerce_accepts_type_names_and_rejects_unknown() -> None:
    assert coerce("float", 1, "v") == 1.0  # type: ignore[arg-type]
    with pytest.raises(UnknownType, match="unknown variable type 'Float'"):
        coerce("Float", 1, "v")  # type: ignore[arg-type]


def test_json_values_are_copied_in(vs: VariableSet) -> None:
    config = {"models": ["a", "b"]}
    vs.define("cfg", "json", config, now_ms=T0)
    config["models"].append("c")
    assert vs.get("cfg").value == {"models": ["a", "b"]}
    meta = {"who": {"name": "x"}}
    vs.update("cfg", [1], metadata=meta, now_ms=T0)
    meta["who"]["name"] = "y"
    assert vs.get("cfg").metadata == {"who": {"name": "x"}}


def test_unencodable_string_is_invalid(vs: VariableSet) -> None:
    with pytest.raises(InvalidValue, match="cannot be stored as JSON"):
        vs.define("s", "string", "\ud800", now_ms=T0)


# ── constraints on values ───────────────────────────────────


@pytest.mark.parametrize(
    ("var_type", "constraints", "value", "message"),
    [
        (
            VarType.STRING,
            {"min_length": 3},
            "ab",
            "variable 'v' value of length 2 is shorter than min_length 3",
        ),
        (
            VarType.STRING,
            {"max_length": 10},
            "x" * 11,
            "variable 'v' value of length 11 is longer than max_length 10",
        ),
        (
            VarType.STRING,
            {"pattern": "^a"},
            "banana",
            "variable 'v' value 'banana' does not match pattern '^a'",
        ),
        (VarType.INTEGER, {"min": 0}, -1, "variable 'v' value -1 is below minimum 0"),
        (VarType.INTEGER, {"max": 100}, 150, "variable 'v' value 150 is above maximum 100"),
        (VarType.FLOAT, {"min": 0.0}, -0.5, "variable 'v' value -0.5 is below minimum 0.0"),
        (VarType.FLOAT, {"min": 0, "max": 2}, 2.5, "variable 'v' value 2.5 is above maximum 2.0"),
        (
            VarType.CHOICE,
            {"choices": ["brief", "detailed"]},
            "long",
            "variable 'v' value 'long' is not one of the choices 'brief', 'detailed'",
        ),
        (VarType.JSON, {"max_size": 100}, "x" * 120, "variable 'v' value is larger than max_size 100 bytes"),
    ],
)
def test_constraint_violations(
    var_type: VarType, constraints: dict[str, Any], value: Any, message: str
) -> None:
    spec = check_constraints(var_type, constraints, "v")
    with pytest.raises(ConstraintViolation) as info:
        check_value(var_type, value, spec, "v", DEFAULT_MAX_BYTES)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("var_type", "constraints", "value"),
    [
        (VarType.STRING, {"min_length": 2, "max_length": 2}, "ab"),
        (VarType.STRING, {"min_length": 0}, ""),
        (VarType.STRING, {"max_length": 2}, "日本"),  # characters, not bytes
        (VarType.STRING, {"pattern": "an"}, "banana"),  # re.search, not a full match
        (VarType.STRING, {"pattern": r"^\d{3}$"}, "123"),
        (VarType.INTEGER, {"min": 0, "max": 100}, 0),
        (VarType.INTEGER, {"min": 0, "max": 100}, 100),
        (VarType.INTEGER, {"min": 5, "max": 5}, 5.0),
        (VarType.FLOAT, {"min": 0.0, "max": 2.0}, 2),
        (VarType.FLOAT, {"min": -1}, -1.0),
        (VarType.CHOICE, {"choices": ["brief", "detailed"]}, "detailed"),
        (VarType.JSON, {"max_size": 7}, {"a": 1}),  # {"a":1} is exactly 7 bytes
        (VarType.BOOLEAN, {}, False),
    ],
)
def test_constraints_accept_boundaries(var_type: VarType, constraints: dict[str, Any], value: Any) -> None:
    spec = check_constraints(var_type, constraints, "v")
    check_value(var_type, value, spec, "v", DEFAULT_MAX_BYTES)


def test_json_max_size_counts_compact_utf8_bytes() -> None:
    spec = check_constraints(VarType.JSON, {"max_size": 4}, "v")
    assert check_value(VarType.JSON, "é", spec, "v") == "é"  # '"é"' is 4 bytes
    with pytest.raises(ConstraintViolation, match=r"larger than max_size 4 bytes \(5 bytes as JSON\)"):
        check_value(VarType.JSON, "éa", spec, "v")


# ── constraint specs ────────────────────────────────────────


def test_check_constraints_normalises() -> None:
    assert check_constraints(VarType.FLOAT, {"min": 0, "max": 2}, "v") == {"min": 0.0, "max": 2.0}
    assert type(check_constraints(VarType.FLOAT, {"min": 0}, "v")["min"]) is float
    assert check_constraints(VarType.INTEGER, {"min": 1.0, "max": 10}, "v") == {"min": 1, "max": 10}
    assert type(check_constraints(VarType.INTEGER, {"min": 1.0}, "v")["min"]) is int
    assert check_constraints(VarType.STRING, {"min_length": 3.0, "max_length": None}, "v") == {
        "min_length": 3
    }
    assert check_constraints(VarType.CHOICE, {"choices": ("a", "b")}, "v") == {"choices": ["a", "b"]}
    assert check_constraints(VarType.JSON, {"max_size": 10}, "v") == {"max_size": 10}
    assert check_constraints(VarType.BOOLEAN, {}, "v") == {}
    assert check_constraints(VarType.STRING, None, "v") == {}
    original = {"choices": ["a"]}
    copy = check_constraints("choice", original, "v")  # type: ignore[arg-type]
    copy["choices"].append("b")
    assert original == {"choices": ["a"]}


@pytest.mark.parametrize(
    ("var_type", "constraints", "message"),
    [
        (
            VarType.STRING,
            {"min": 1},
            "unknown constraint 'min' for string variable 'v' (allowed: min_length, max_length, pattern)",
        ),
        (
            VarType.INTEGER,
            {"max_length": 1},
            "unknown constraint 'max_length' for integer variable 'v' (allowed: min, max)",
        ),
        (
            VarType.FLOAT,
            {"choices": ["a"]},
            "unknown constraint 'choices' for float variable 'v' (allowed: min, max)",
        ),
        (
            VarType.BOOLEAN,
            {"min": 0},
            "unknown constraint 'min' for boolean variable 'v' (boolean variables take none)",
        ),
        (
            VarType.CHOICE,
            {"choices": ["a"], "max": 1},
            "unknown constraint 'max' for choice variable 'v' (allowed: choices)",
        ),
        (
            VarType.JSON,
            {"max_length": 1},
            "unknown constraint 'max_length' for json variable 'v' (allowed: max_size)",
        ),
        (
            VarType.STRING,
            ["min_length"],
            "constraints of variable 'v' must be a table of constraint names to values, got array",
        ),
        (VarType.INTEGER, {"min": 5, "max": 1}, "constraint min 5 is greater than max 1 for variable 'v'"),
        (
            VarType.FLOAT,
            {"min": 2.0, "max": 0.5},
            "constraint min 2.0 is greater than max 0.5 for variable 'v'",
        ),
        (
            VarType.STRING,
            {"min_length": 5, "max_length": 2},
            "constraint min_length 5 is greater than max_length 2",
        ),
        (
            VarType.STRING,
            {"min_length": -1},
            "constraint 'min_length' of variable 'v' must be a non-negative integer, got -1",
        ),
        (
            VarType.STRING,
            {"max_length": 2.5},
            "constraint 'max_length' of variable 'v' must be a non-negative integer, got 2.5",
        ),
        (VarType.STRING, {"max_length": True}, "must be a non-negative integer, got True"),
        (VarType.STRING, {"max_length": "3"}, "must be a non-negative integer, got '3'"),
        (
            VarType.STRING,
            {"pattern": 5},
            "constraint 'pattern' of variable 'v' must be a string, got integer",
        ),
        (
            VarType.STRING,
            {"pattern": "(unclosed"},
            "constraint pattern '(unclosed' of variable 'v' is not a valid regular expression",
        ),
        (
            VarType.INTEGER,
            {"min": 0.5},
            "constraint 'min' of integer variable 'v' must be an integer, got 0.5",
        ),
        (
            VarType.INTEGER,
            {"max": False},
            "constraint 'max' of integer variable 'v' must be an integer, got False",
        ),
        (
            VarType.FLOAT,
            {"max": "2"},
            "constraint 'max' of float variable 'v' must be a finite number, got '2'",
        ),
        (
            VarType.FLOAT,
            {"max": math.inf},
            "constraint 'max' of float variable 'v' must be a finite number, got inf",
        ),
        (VarType.FLOAT, {"min": True}, "must be a finite number, got True"),
        (
            VarType.CHOICE,
            {},
            "choice variable 'v' needs constraint 'choices': a non-empty list of distinct strings",
        ),
        (VarType.CHOICE, {"choices": []}, "needs constraint 'choices'"),
        (VarType.CHOICE, {"choices": "brief"}, "needs constraint 'choices'"),
        (VarType.CHOICE, {"choices": ["a", 1]}, "needs constraint 'choices'"),
        (VarType.CHOICE, {"choices": {"a": 1}}, "needs constraint 'choices'"),
        (VarType.CHOICE, {"choices": ["a", "b", "a"]}, "choice 'a' is listed twice for variable 'v'"),
        (
            VarType.JSON,
            {"max_size": 0},
            "constraint 'max_size' of variable 'v' must be a positive integer, got 0",
        ),
        (VarType.JSON, {"max_size": 1.5}, "must be a positive integer, got 1.5"),
    ],
)
def test_constraint_spec_errors(var_type: VarType, constraints: Any, message: str) -> None:
    with pytest.raises(InvalidConstraints) as info:
        check_constraints(var_type, constraints, "v")
    assert message in str(info.value)


def test_define_with_bad_constraints_changes_nothing(vs: VariableSet) -> None:
    with pytest.raises(InvalidConstraints):
        vs.define("style", "choice", "brief", now_ms=T0)
    with pytest.raises(InvalidConstraints):
        vs.define("rounds", "integer", 3, constraints={"min": 10, "max": 1}, now_ms=T0)
    assert len(vs) == 0


def test_the_issue_knobs(vs: VariableSet) -> None:
    vs.define("temperature", "float", 0.7, constraints={"min": 0, "max": 2}, now_ms=T0)
    vs.define("rounds", "integer", 3, constraints={"min": 1, "max": 10}, now_ms=T0)
    vs.define("style", "choice", "brief", constraints={"choices": ["brief", "detailed"]}, now_ms=T0)
    vs.set_many({"temperature": 1, "rounds": 10.0, "style": "detailed"}, atomic=True, now_ms=T0 + 1)
    assert same([v.value for v in vs.matching()], [1.0, 10, "detailed"])
    with pytest.raises(BatchRejected, match="is not one of the choices 'brief', 'detailed'"):
        vs.set_many({"rounds": 2, "style": "long"}, atomic=True, now_ms=T0 + 2)
    assert vs.get("rounds").value == 10


# ── limits ──────────────────────────────────────────────────


def test_defaults() -> None:
    assert DEFAULT_MAX_BYTES == 1024 * 1024
    assert DEFAULT_MAX_COUNT == 1000


def test_size_limit_on_define_and_set() -> None:
    vs = VariableSet(max_bytes=100)
    with pytest.raises(VariableLimit) as info:
        vs.define("blob", "string", "x" * 99, now_ms=T0)  # 101 bytes with the quotes
    assert str(info.value) == (
        "variable 'blob' value is 101 bytes as JSON, over the limit of 100 bytes per variable; "
        "store less or raise ALC_MAX_VARIABLE_BYTES"
    )
    created = vs.define("blob", "string", "x" * 98, now_ms=T0)
    with pytest.raises(VariableLimit, match="over the limit of 100 bytes"):
        vs.update("blob", "y" * 200, now_ms=T0 + 1)
    assert vs.get("blob") == created
    with pytest.raises(VariableLimit, match="over the limit of 100 bytes"):
        vs.define("cfg", "json", list(range(50)), now_ms=T0)


def test_size_limit_applies_to_metadata() -> None:
    vs = VariableSet(max_bytes=50)
    with pytest.raises(
        VariableLimit, match=r"metadata of variable 'a' is 70 bytes as JSON, over the limit of 50"
    ):
        vs.define("a", "boolean", True, metadata={"why": "x" * 60}, now_ms=T0)
    vs.define("a", "boolean", True, metadata={"why": "x" * 30}, now_ms=T0)
    with pytest.raises(VariableLimit, match="metadata of variable 'a'"):
        vs.update("a", False, metadata={"more": "y" * 30}, now_ms=T0)  # merged total is too big
    assert vs.get("a").value is True


def test_count_limit() -> None:
    vs = VariableSet(max_count=2)
    vs.define("a", "integer", 1, now_ms=T0)
    vs.define("b", "integer", 2, now_ms=T0)
    with pytest.raises(VariableLimit) as info:
        vs.define("c", "integer", 3, now_ms=T0)
    assert str(info.value) == (
        "cannot define variable 'c': the session already has 2 variables, the limit; "
        "delete some or raise ALC_MAX_VARIABLES (now 2)"
    )
    assert vs.names() == ["a", "b"]
    vs.delete("a")
    vs.define("c", "integer", 3, now_ms=T0)
    assert vs.names() == ["b", "c"]


@pytest.mark.parametrize(
    "kwargs", [{"max_count": 0}, {"max_bytes": -1}, {"max_count": True}, {"max_bytes": 1.5}]
)
def test_limits_must_be_positive_integers(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        VariableSet(**kwargs)


# ── define, delete, ids ─────────────────────────────────────


def test_define_twice(vs: VariableSet) -> None:
    first = vs.define("rounds", "integer", 3, now_ms=T0)
    with pytest.raises(VariableExists) as info:
        vs.define("rounds", "integer", 4, now_ms=T0 + 1)
    assert str(info.value) == f"variable 'rounds' is already defined (id {first.id}); use set to change it"
    assert vs.get("rounds") == first


def test_delete_then_get(vs: VariableSet) -> None:
    created = vs.define("gone", "string", "x", now_ms=T0)
    assert vs.delete("gone") == created
    with pytest.raises(VariableNotFound, match="variable 'gone' not found"):
        vs.get("gone")
    with pytest.raises(VariableNotFound):
        vs.get(created.id)
    with pytest.raises(VariableNotFound, match="variable 'gone' not found"):
        vs.delete("gone")
    assert len(vs) == 0
    again = vs.define("gone", "integer", 1, now_ms=T0)  # the name is free again, with a new id
    assert again.id != created.id


def test_delete_by_id(vs: VariableSet) -> None:
    created = vs.define("x", "boolean", True, now_ms=T0)
    vs.delete(created.id)
    assert not vs.has("x")


def test_default_ids_are_deterministic() -> None:
    one, two = VariableSet(), VariableSet()
    for vs in (one, two):
        vs.define("temperature", "float", 0.7, now_ms=T0)
        vs.define("rounds", "integer", 3, now_ms=T0)
    assert [v.id for v in one.matching()] == ["var_temperature_1", "var_rounds_2"]
    assert one.export() == two.export()


def test_failed_define_does_not_use_up_an_id(vs: VariableSet) -> None:
    with pytest.raises(InvalidValue):
        vs.define("a", "integer", "x", now_ms=T0)
    assert vs.define("a", "integer", 1, now_ms=T0).id == "var_a_1"


def test_injected_id_factory_and_collisions() -> None:
    issued = iter(["dup", "dup", "var_b_x"])
    vs = VariableSet(new_id=lambda name: "dup" if name == "a" else next(issued))
    assert vs.define("a", "integer", 1, now_ms=T0).id == "dup"
    assert vs.define("b", "integer", 2, now_ms=T0).id == "var_b_x"  # "dup" is taken, asked again
    assert vs.get("dup").name == "a" and vs.get("var_b_x").name == "b"
    # An id may equal its own name (never another variable's).
    assert VariableSet(new_id=lambda n: n).define("a", "integer", 1, now_ms=T0).id == "a"


def test_id_factory_that_always_collides() -> None:
    vs = VariableSet(new_id=lambda name: "fixed")
    vs.define("a", "integer", 1, now_ms=T0)
    with pytest.raises(VariableError, match="could not allocate a unique id for variable 'b'"):
        vs.define("b", "integer", 1, now_ms=T0)
    assert vs.names() == ["a"]


def test_id_factory_must_return_a_string() -> None:
    vs = VariableSet(new_id=lambda name: "")
    with pytest.raises(VariableError, match="the id factory returned ''"):
        vs.define("a", "integer", 1, now_ms=T0)


def test_a_name_never_shadows_an_id(vs: VariableSet) -> None:
    vs.define("x", "integer", 1, now_ms=T0)  # id var_x_1
    with pytest.raises(VariableError, match="'var_x_1' is already the id of variable 'x'"):
        vs.define("var_x_1", "integer", 2, now_ms=T0)
    # …and a new id never equals an existing name: "var_y_3" is a name, so y gets var_y_4.
    assert vs.define("var_y_3", "integer", 2, now_ms=T0).id == "var_var_y_3_2"
    assert vs.define("y", "integer", 3, now_ms=T0).id == "var_y_4"
    assert vs.get("var_y_3").name == "var_y_3"


def test_description_and_metadata_are_checked(vs: VariableSet) -> None:
    with pytest.raises(VariableError, match="description of variable 'a' must be a string, got integer"):
        vs.define("a", "integer", 1, description=5, now_ms=T0)  # type: ignore[arg-type]
    with pytest.raises(VariableError, match="metadata of variable 'a' must be a table, got string"):
        vs.define("a", "integer", 1, metadata="lua", now_ms=T0)  # type: ignore[arg-type]
    with pytest.raises(VariableError, match=r"metadata of variable 'a' must be JSON: .* at \$\.when"):
        vs.define("a", "integer", 1, metadata={"when": math.nan}, now_ms=T0)
    vs.define("a", "integer", 1, now_ms=T0)
    with pytest.raises(VariableError, match="metadata of variable 'a' must be a table"):
        vs.update("a", 2, metadata=[1], now_ms=T0)  # type: ignore[arg-type]
    assert vs.get("a").version == 0


def test_now_ms_must_be_an_int(vs: VariableSet) -> None:
    with pytest.raises(TypeError, match="now_ms must be an int"):
        vs.define("a", "integer", 1, now_ms=1.5)  # type: ignore[arg-type]
    assert len(vs) == 0


# ── records, export, import, journal rebuild ────────────────


def populated() -> VariableSet:
    vs = VariableSet()
    vs.define(
        "temperature",
        "float",
        0.7,
        constraints={"min": 0, "max": 2},
        description="LLM temperature",
        metadata={"source": "lua"},
        now_ms=T0,
    )
    vs.define("rounds", "integer", 3, constraints={"min": 1, "max": 10}, now_ms=T0 + 1)
    vs.define("style", "choice", "brief", constraints={"choices": ["brief", "detailed"]}, now_ms=T0 + 2)
    vs.define("name", "string", "x", constraints={"pattern": "^[a-z]+$", "max_length": 8}, now_ms=T0 + 3)
    vs.define("on", "boolean", True, now_ms=T0 + 4)
    vs.define("cfg", "json", {"a": [1, 2.5, None]}, constraints={"max_size": 200}, now_ms=T0 + 5)
    vs.update("temperature", 1.2, metadata={"source": "host", "reason": "explore"}, now_ms=T0 + 6)
    return vs


def test_to_json_and_from_json_round_trip() -> None:
    for variable in populated().matching():
        data = variable.to_json()
        assert set(data) == {
            "id",
            "name",
            "type",
            "value",
            "constraints",
            "description",
            "metadata",
            "version",
            "created_at",
            "updated_at",
        }
        assert data["type"] == variable.type.value and type(data["type"]) is str
        assert Variable.from_json(data) == variable
        assert Variable.from_json(orjson.loads(orjson.dumps(data))) == variable


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "decimal"}, "unknown variable type 'decimal'"),
        ({"value": "hot"}, "variable 'rounds' must be an integer, got string"),
        ({"value": 11}, "above maximum 10"),
        ({"constraints": {"min": 1, "step": 2}}, "unknown constraint 'step'"),
        ({"version": -1}, "variable record 'rounds': 'version' must be a non-negative integer, got -1"),
        ({"created_at": "now"}, "'created_at' must be an integer, got 'now'"),
        ({"updated_at": 1.5}, "'updated_at' must be an integer, got 1.5"),
        ({"id": ""}, "'id' must be a non-empty string"),
        ({"name": "1x"}, "invalid variable name '1x'"),
        ({"extra": 1}, "variable record 'rounds': unknown field 'extra'"),
        ({"metadata": [1]}, "metadata of variable 'rounds' must be a table"),
        ({"description": 1}, "description of variable 'rounds' must be a string"),
    ],
)
def test_from_json_validates(change: dict[str, Any], message: str) -> None:
    data = {**populated().get("rounds").to_json(), **change}
    with pytest.raises(VariableError) as info:
        Variable.from_json(data)
    assert message in str(info.value)


def test_from_json_needs_every_field() -> None:
    data = populated().get("rounds").to_json()
    del data["version"], data["id"]
    with pytest.raises(VariableError, match="variable record 'rounds': missing field 'id', 'version'"):
        Variable.from_json(data)
    with pytest.raises(VariableError, match="a variable record must be an object, got array"):
        Variable.from_json([1])  # type: ignore[arg-type]
    optional = populated().get("on").to_json()
    del optional["constraints"], optional["description"], optional["metadata"]
    assert Variable.from_json(optional) == populated().get("on")


def test_export_import_round_trip() -> None:
    source = populated()
    exported = source.export()
    assert [r["name"] for r in exported] == ["temperature", "rounds", "style", "name", "on", "cfg"]
    target = VariableSet()
    imported = target.import_records(orjson.loads(orjson.dumps(exported)), now_ms=T0 + 100)
    assert imported == source.matching()
    assert target.export() == exported
    assert target.get("temperature").version == 1  # versions and timestamps survive
    # New definitions continue after the imported ids.
    assert target.define("extra", "boolean", False, now_ms=T0 + 101).id == "var_extra_7"


def test_import_minimal_records_gets_defaults(vs: VariableSet) -> None:
    vs.define("a", "integer", 1, now_ms=T0)
    imported = vs.import_records(
        [
            {"name": "temperature", "type": "float", "value": 1},
            {"name": "b", "type": "integer", "value": 2, "id": None, "version": None},
            {"name": "c", "type": "boolean", "value": True, "id": "var_c_custom", "version": 4},
        ],
        now_ms=T0 + 5,
    )
    assert [v.id for v in imported] == ["var_temperature_2", "var_b_3", "var_c_custom"]
    first = imported[0]
    assert same(first.value, 1.0)
    assert (first.version, first.created_at, first.updated_at, first.metadata, first.constraints) == (
        0,
        T0 + 5,
        T0 + 5,
        {},
        {},
    )
    assert imported[2].version == 4
    assert vs.names() == ["a", "temperature", "b", "c"]


def test_import_is_all_or_nothing(vs: VariableSet) -> None:
    vs.define("a", "integer", 1, now_ms=T0)
    before = vs.export()
    records = [
        {"name": "ok", "type": "integer", "value": 1},
        {"name": "bad", "type": "integer", "value": 1.5},
        {"name": "a", "type": "integer", "value": 2},
        "not a record",
        {"name": "ok", "type": "string", "value": "again"},
    ]
    with pytest.raises(ImportRejected) as info:
        vs.import_records(records, now_ms=T0 + 1)  # type: ignore[arg-type]
    errors = info.value.errors
    assert list(errors) == [1, 2, 3, 4]
    assert isinstance(errors[1], InvalidValue)
    assert isinstance(errors[2], VariableExists)
    assert isinstance(errors[4], VariableExists)
    assert str(info.value).startswith("import rejected, nothing changed: record 1: variable 'bad' must be")
    assert "record 3: a variable record must be an object, got string" in str(info.value)
    assert vs.export() == before
    assert vs.define("next", "boolean", True, now_ms=T0).id == "var_next_2"  # no id was used up


def test_import_rejects_duplicate_ids() -> None:
    exported = populated().export()
    clash = {**exported[1], "name": "other"}  # same id as "rounds"
    with pytest.raises(ImportRejected, match="id 'var_rounds_2' is already in use"):
        VariableSet().import_records([*exported, clash], now_ms=T0)
    with pytest.raises(ImportRejected, match="id 'var_rounds_2' is already in use"):
        populated().import_records([clash], now_ms=T0)


def test_import_replace() -> None:
    vs = populated()
    vs.define("leftover", "boolean", True, now_ms=T0)
    exported = populated().export()
    vs.import_records(exported, replace=True, now_ms=T0 + 1)
    assert vs.export() == exported
    failing = VariableSet()
    failing.define("kept", "boolean", True, now_ms=T0)
    with pytest.raises(ImportRejected):
        failing.import_records([{"name": "x", "type": "integer", "value": "no"}], replace=True, now_ms=T0)
    assert failing.names() == ["kept"]


def test_import_respects_the_limits() -> None:
    vs = VariableSet(max_count=3)
    vs.define("a", "integer", 1, now_ms=T0)
    records = [{"name": n, "type": "integer", "value": 1} for n in ("b", "c", "d")]
    with pytest.raises(VariableLimit) as info:
        vs.import_records(records, now_ms=T0)
    assert str(info.value) == (
        "import rejected, nothing changed: 3 variables would make 4, over the limit of 3 per session; "
        "import fewer or raise ALC_MAX_VARIABLES"
    )
    assert vs.names() == ["a"]
    vs.import_records(records, replace=True, now_ms=T0)
    assert vs.names() == ["b", "c", "d"]
    small = VariableSet(max_bytes=10)
    with pytest.raises(ImportRejected, match="over the limit of 10 bytes"):
        small.import_records([{"name": "s", "type": "string", "value": "x" * 20}], now_ms=T0)


def test_import_reports_odd_ids_without_crashing(vs: VariableSet) -> None:
    with pytest.raises(
        ImportRejected, match="record 0: variable record 'a': 'id' must be a non-empty string"
    ):
        vs.import_records([{"name": "a", "type": "integer", "value": 1, "id": ["x"]}], now_ms=T0)
    assert len(vs) == 0


def test_import_needs_a_list(vs: VariableSet) -> None:
    with pytest.raises(VariableError, match="import needs a list of variable records, got object"):
        vs.import_records({"name": "a"}, now_ms=T0)  # type: ignore[arg-type]
    assert vs.import_records([], now_ms=T0) == []


def test_put_and_remove_rebuild_from_a_journal() -> None:
    source = populated()
    rebuilt = VariableSet()
    for record in source.export():
        rebuilt.put(Variable.from_json(record))
    assert rebuilt.export() == source.export()
    # Replacing a record keeps its place; a rebuilt set keeps allocating fresh ids.
    rounds = rebuilt.get("rounds")
    rebuilt.put(Variable.from_json({**rounds.to_json(), "value": 9, "version": 1}))
    assert rebuilt.names() == source.names()
    assert rebuilt.get("rounds").value == 9
    assert rebuilt.define("z", "boolean", True, now_ms=T0 + 50).id == "var_z_7"
    rebuilt.remove(rounds.id)
    rebuilt.remove(rounds.id)  # absent: no error
    rebuilt.remove("never-existed")
    assert not rebuilt.has("rounds")


def test_put_keeps_names_unique(vs: VariableSet) -> None:
    a = vs.define("a", "integer", 1, now_ms=T0)
    impostor = Variable.from_json({**a.to_json(), "id": "var_a_99"})
    with pytest.raises(VariableExists):
        vs.put(impostor)
    shadow = Variable.from_json({**a.to_json(), "id": "other", "name": a.id})
    with pytest.raises(VariableError, match="already the id of variable 'a'"):
        vs.put(shadow)
    alias = Variable.from_json({**a.to_json(), "id": "a", "name": "b"})
    with pytest.raises(VariableError, match="variable id 'a' is already the name of another variable"):
        vs.put(alias)
    with pytest.raises(TypeError):
        vs.put(a.to_json())  # type: ignore[arg-type]
    assert vs.export() == [a.to_json()]


def test_put_can_rename_a_record(vs: VariableSet) -> None:
    a = vs.define("a", "integer", 1, now_ms=T0)
    vs.put(Variable.from_json({**a.to_json(), "name": "renamed"}))
    assert vs.names() == ["renamed"]
    assert not vs.has("a") and vs.get("renamed").id == a.id


# ── property: random operation sequences ────────────────────

SPECS: dict[str, tuple[VarType, dict[str, Any]]] = {
    "temp": (VarType.FLOAT, {"min": 0.0, "max": 2.0}),
    "rounds": (VarType.INTEGER, {"min": 1, "max": 10}),
    "style": (VarType.CHOICE, {"choices": ["brief", "detailed"]}),
    "flag": (VarType.BOOLEAN, {}),
    "label": (VarType.STRING, {"max_length": 5}),
    "blob": (VarType.JSON, {"max_size": 20}),
}
NAMES = sorted(SPECS)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 15),
    st.floats(-1, 3, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, 2.0, 1.0]),
    st.sampled_from(["brief", "detailed", "", "x", "abcdefgh"]),
    st.lists(st.integers(0, 9999), max_size=6),
)

VALID = {
    "temp": st.floats(0, 2),
    "rounds": st.integers(1, 10),
    "style": st.sampled_from(["brief", "detailed"]),
    "flag": st.booleans(),
    "label": st.text(max_size=5),
    "blob": st.lists(st.integers(0, 9), max_size=5),
}
# A name with a value that is valid for it about half the time.
NAMED_VALUE = st.sampled_from(NAMES).flatmap(lambda n: st.tuples(st.just(n), st.one_of(VALID[n], VALUES)))


def oracle(name: str, value: Any) -> tuple[bool, Any]:
    """Whether SPECS[name] accepts ``value``, and what it stores (an independent model)."""
    var_type, c = SPECS[name]
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if var_type is VarType.FLOAT:
        ok = is_number and math.isfinite(value) and c["min"] <= value <= c["max"]
        return ok, float(value) if ok else None
    if var_type is VarType.INTEGER:
        ok = is_number and math.isfinite(value) and value == int(value) and c["min"] <= value <= c["max"]
        return ok, int(value) if ok else None
    if var_type is VarType.CHOICE:
        return isinstance(value, str) and value in c["choices"], value
    if var_type is VarType.BOOLEAN:
        return isinstance(value, bool), value
    if var_type is VarType.STRING:
        return isinstance(value, str) and len(value) <= c["max_length"], value
    if isinstance(value, float) and not math.isfinite(value):
        return False, None
    return len(orjson.dumps(value)) <= c["max_size"], value


class VariableSetModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.vs = VariableSet(max_count=5)
        self.now = T0
        self.order: list[str] = []
        self.values: dict[str, Any] = {}
        self.versions: dict[str, int] = {}
        self.ids: dict[str, str] = {}
        self.issued: set[str] = set()

    def tick(self, step: int) -> int:
        self.now += step
        return self.now

    def key(self, name: str, by_id: bool) -> str:
        return self.ids.get(name, name) if by_id else name

    def unchanged(self, exc: type[Exception] | tuple[type[Exception], ...], call: Any) -> None:
        before = self.vs.export()
        with pytest.raises(exc):
            call()
        assert self.vs.export() == before, "a refused operation must change nothing"

    @rule(named=NAMED_VALUE, step=st.integers(0, 2))
    def define(self, named: tuple[str, Any], step: int) -> None:
        name, value = named
        var_type, constraints = SPECS[name]
        now = self.tick(step)

        def call() -> Variable:
            return self.vs.define(name, var_type, value, constraints=constraints, now_ms=now)

        ok, stored = oracle(name, value)
        if name in self.values:
            self.unchanged(VariableExists, call)
        elif not ok:
            self.unchanged((InvalidValue, ConstraintViolation), call)
        elif len(self.order) >= 5:
            self.unchanged(VariableLimit, call)
        else:
            created = call()
            assert created.id not in self.issued, "ids are never reused"
            self.issued.add(created.id)
            assert created.version == 0 and same(created.value, stored)
            self.order.append(name)
            self.values[name], self.versions[name], self.ids[name] = stored, 0, created.id

    @rule(named=NAMED_VALUE, by_id=st.booleans(), step=st.integers(0, 2))
    def set(self, named: tuple[str, Any], by_id: bool, step: int) -> None:
        name, value = named
        now = self.tick(step)

        def call() -> Variable:
            return self.vs.update(self.key(name, by_id), value, metadata={"step": now}, now_ms=now)

        ok, stored = oracle(name, value)
        if name not in self.values:
            self.unchanged(VariableNotFound, call)
        elif not ok:
            self.unchanged((InvalidValue, ConstraintViolation), call)
        else:
            updated = call()
            assert updated.version == self.versions[name] + 1
            assert updated.updated_at == now and updated.metadata == {"step": now}
            self.values[name], self.versions[name] = stored, updated.version

    @rule(
        updates=st.lists(NAMED_VALUE, max_size=4).map(dict),
        atomic=st.booleans(),
        step=st.integers(0, 2),
    )
    def set_many(self, updates: dict[str, Any], atomic: bool, step: int) -> None:
        now = self.tick(step)
        verdicts = {n: (n in self.values, *oracle(n, v)) for n, v in updates.items()}
        if atomic and not all(exists and ok for exists, ok, _ in verdicts.values()):
            self.unchanged(BatchRejected, lambda: self.vs.set_many(updates, atomic=True, now_ms=now))
            return
        results = self.vs.set_many(updates, atomic=atomic, now_ms=now)
        assert list(results) == list(updates)
        for n, (exists, ok, stored) in verdicts.items():
            if exists and ok:
                assert isinstance(results[n], Variable)
                self.values[n], self.versions[n] = stored, self.versions[n] + 1
            else:
                assert isinstance(
                    results[n], VariableNotFound if not exists else (InvalidValue, ConstraintViolation)
                )

    @rule(name=st.sampled_from(NAMES), by_id=st.booleans())
    def delete(self, name: str, by_id: bool) -> None:
        if name not in self.values:
            self.unchanged(VariableNotFound, lambda: self.vs.delete(self.key(name, by_id)))
            return
        removed = self.vs.delete(self.key(name, by_id))
        assert removed.name == name and removed.version == self.versions[name]
        self.order.remove(name)
        del self.values[name], self.versions[name], self.ids[name]

    @rule(keys=st.lists(st.sampled_from([*NAMES, "ghost"]), max_size=5))
    def get_many(self, keys: list[str]) -> None:
        found, missing = self.vs.get_many(keys)
        assert set(found) == {k for k in keys if k in self.values}
        assert missing == list(dict.fromkeys(k for k in keys if k not in self.values))

    @rule(pattern=st.sampled_from(["*", "?????", "*e*", "r*s", "t?mp", "[ab]", ""]))
    def list_pattern(self, pattern: str) -> None:
        assert self.vs.names() == self.order
        assert [v.name for v in self.vs.matching(pattern)] == [
            n for n in self.order if glob_match(pattern, n)
        ]

    @rule()
    def export_import_round_trip(self) -> None:
        exported = self.vs.export()
        copy = VariableSet()
        copy.import_records(orjson.loads(orjson.dumps(exported)), now_ms=self.now)
        assert copy.export() == exported
        rebuilt = VariableSet()
        for record in exported:
            rebuilt.put(Variable.from_json(record))
        assert rebuilt.export() == exported

    @invariant()
    def matches_model(self) -> None:
        assert self.vs.names() == self.order
        assert len(self.vs) == len(self.order)
        for name in self.order:
            variable = self.vs.get(name)
            assert self.vs.get(self.ids[name]) is variable
            assert same(variable.value, self.values[name])
            assert variable.version == self.versions[name]


VariableSetModel.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestVariableSetProperties = VariableSetModel.TestCase


def test_a_pathological_pattern_is_cut_off_with_a_clear_error() -> None:
    # Catastrophic backtracking: without a bound this match would run for years.
    variables = VariableSet()
    variables.define("word", "string", "a", constraints={"pattern": "(a|aa)+$"}, now_ms=0)
    with pytest.raises(
        ConstraintViolation, match=r"could not be checked against pattern .* use a simpler pattern"
    ):
        variables.update("word", "a" * 40 + "b", now_ms=1)
    assert variables.get("word").value == "a"
    assert variables.get("word").version == 0

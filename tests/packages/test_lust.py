"""Our lust (require("lust")), as a spec author meets it through alc_pkg_test: each
assertion passes when it should, and a failing one says what it expected and where."""

from __future__ import annotations

import pytest

from tests.conftest import EngineHost, Host

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(engine_host: EngineHost) -> EngineHost:
    return engine_host


PASSING = """
local describe, it, expect = lust.describe, lust.it, lust.expect
describe("assertions", function()
  it("equal is deep, with an optional tolerance", function()
    expect({ a = { 1, 2 }, b = "x" }).to.equal({ b = "x", a = { 1, 2 } })
    expect(0.1 + 0.2).to.equal(0.3, 1e-9)
    expect({ 1, 2 }).to_not.equal({ 1, 2, 3 })
  end)
  it("be is identity", function()
    local t = {}
    expect(t).to.be(t)
    expect({}).to_not.be({})
  end)
  it("types, truthiness, existence, patterns, membership", function()
    expect("s").to.be.a("string")
    expect(1).to.be.an("number")
    expect(false).to.be.falsy()
    expect(0).to.be.truthy()
    expect(nil).to_not.exist()
    expect("abc123").to.match("%d+$")
    expect({ "x", { y = 1 } }).to.have({ y = 1 })
    expect({ "x" }).to_not.have("z")
  end)
  it("fail and fail.with", function()
    expect(function() error({ code = 1 }) end).to.fail()
    expect(function() error("disk is full") end).to.fail.with("disk is")
    expect(function() end).to_not.fail()
  end)
  it("spies on a table's function and keep calling it", function()
    local obj = { add = function(a, b) return a + b end }
    local spy = lust.spy(obj, "add")
    expect(obj.add(2, 3)).to.equal(5)
    expect(spy).to.be.called(1)
    expect(spy).to.have_been.called_with(2, 3)
    expect(#spy).to.equal(1)
  end)
end)
"""

FAILING = {
    "expect(1).to.equal(2)": "expected 1 to equal 2",
    "expect({ a = 1 }).to.equal({ a = 2 })": "expected {a = 1} to equal {a = 2}",
    "expect('x').to_not.equal('x')": 'expected "x" to not equal "x"',
    "expect(nil).to.exist()": "expected nil to exist",
    "expect(1).to.be.a('string')": "expected 1 to be a string",
    "expect(function() end).to.fail()": "expected the function to fail",
    "expect(function() error('no') end).to.fail.with('disk')": 'expected the function to fail with "disk"',
    "expect(lust.spy(print)).to.be.called()": "expected the spy to be called at least once, it was called 0",
    "expect(nil).to.be.truthy()": "expected nil to be truthy",
}


async def test_every_assertion_passes_when_it_holds(host: Host) -> None:
    report = await host.ok("alc_pkg_test", code=PASSING)
    assert [r["name"] for r in report["results"] if not r["ok"]] == []
    assert report["summary"]["tests"] == 5


async def test_a_failing_assertion_says_what_it_expected_on_the_spec_line(host: Host) -> None:
    lines = [
        f"local expect = lust.expect lust.it({i}, function() {call} end)" for i, call in enumerate(FAILING)
    ]
    report = await host.ok("alc_pkg_test", code="\n".join(lines))
    results = report["results"]
    assert [r["ok"] for r in results] == [False] * len(FAILING)
    for line, (result, message) in enumerate(zip(results, FAILING.values(), strict=True), start=1):
        assert result["error"].startswith(f"(inline):{line}: {message}"), (result, message)


async def test_hooks_run_around_each_test_in_nesting_order(host: Host) -> None:
    code = """
    local log = {}
    lust.before(function(name) log[#log + 1] = "top-before " .. name end)
    lust.describe("outer", function()
      lust.before(function() log[#log + 1] = "outer-before" end)
      lust.after(function() log[#log + 1] = "outer-after" end)
      lust.it("one", function() log[#log + 1] = "one" end)
    end)
    lust.it("the log", function()
      lust.expect(log).to.equal({ "top-before one", "outer-before", "one", "outer-after",
        "top-before the log" })
    end)
    lust.describe("a failing before", function()
      lust.before(function() error("no fixture") end)
      lust.it("never runs its body", function() error("body ran") end)
    end)
    """
    report = await host.ok("alc_pkg_test", code=code)
    by_name = {r["name"]: r for r in report["results"]}
    assert by_name["outer > one"]["ok"] and by_name["the log"]["ok"]
    failed = by_name["a failing before > never runs its body"]
    assert failed["error"].startswith("before: ") and "no fixture" in failed["error"]
    assert "body ran" not in failed["error"]

"""Cards are immutable, aliases move, and comparisons give scipy's Welch t-test."""

from __future__ import annotations

import sqlite3
import warnings

import pytest
from scipy import stats

from alc_mcp.domain.evaluation import Card, matches, order_cards, welch
from alc_mcp.store.cards import CardExists, CardNotFound, CardStore

pytestmark = pytest.mark.anyio


def _card(card_id: str, scores: list[float], strategy: str = "cot", at: int = 1) -> Card:
    n = len(scores)
    mean = sum(scores) / n
    return Card.build(
        card_id,
        at,
        {
            "strategy": {"name": strategy, "hash": "h"},
            "scenario": {"name": "factual", "hash": "s"},
            "model": "m",
            "scores": scores,
            "summary": {"n": n, "mean": mean, "pass_rate": sum(1 for s in scores if s >= 0.5) / n},
        },
    )


@pytest.mark.parametrize("path", ["memory", "file"])
def test_a_second_write_of_the_same_card_fails(tmp_path, path):
    store = CardStore(None if path == "memory" else tmp_path / "alc.db")
    card = _card("c1", [1.0, 0.0])
    store.put_card(card)
    with pytest.raises(CardExists, match="never rewritten"):
        store.put_card(_card("c1", [0.5, 0.5]))
    assert store.get_card("c1").scores == [1.0, 0.0]
    # Not even SQL issued past the store can change or remove a card.
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store._conn.execute("UPDATE cards SET model = 'x' WHERE id = 'c1'")
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        store._conn.execute("DELETE FROM cards WHERE id = 'c1'")


def test_a_card_in_memory_cannot_be_changed_through_its_json():
    card = _card("c1", [1.0, 0.0])
    data = card.to_json()
    data["scores"].append(5)
    data["model"] = "other"
    assert card.to_json()["scores"] == [1.0, 0.0]
    assert card.model == "m"


def test_aliases_move_between_cards_and_need_a_card(tmp_path):
    store = CardStore(tmp_path / "alc.db")
    store.put_card(_card("c1", [1.0, 0.0]))
    store.put_card(_card("c2", [1.0, 1.0]))
    assert store.set_alias("best", "c1", 10) is None
    assert store.set_alias("best", "c2", 11) == "c1"
    assert store.alias("best") == "c2"
    with pytest.raises(CardNotFound):
        store.set_alias("best", "nope", 12)
    assert store.alias("best") == "c2"
    # Reopening the file keeps cards and aliases.
    again = CardStore(tmp_path / "alc.db")
    assert again.alias("best") == "c2"
    assert again.get_card("c1").scores == [1.0, 0.0]


def test_find_filters_and_orders():
    cards = [_card("a", [1, 0], at=1), _card("b", [1, 1], at=2), _card("c", [0, 0], "sc", at=3)]
    found = [c.card_id for c in cards if matches(c.data, {"summary.mean": {"gte": 0.5}})]
    assert found == ["a", "b"]
    assert [c.card_id for c in cards if matches(c.data, {"strategy.name": "sc"})] == ["c"]
    assert [
        c.card_id for c in cards if matches(c.data, {"_or": [{"strategy.name": "sc"}, {"summary.mean": 1.0}]})
    ] == ["b", "c"]
    assert [c.card_id for c in order_cards(cards, "-summary.mean")] == ["b", "a", "c"]
    assert [c.card_id for c in order_cards(cards, None)] == ["c", "b", "a"]


def test_welch_matches_scipy_on_known_scores():
    a = [1.0, 0.7, 1.0, 1.0, 0.3, 1.0, 0.7, 1.0]
    b = [0.0, 0.7, 0.3, 1.0, 0.0, 0.3, 0.7, 0.0, 0.3]
    reference = stats.ttest_ind(a, b, equal_var=False)
    result = welch(a, b)
    assert result["t"] == pytest.approx(float(reference.statistic), rel=1e-12)
    assert result["p_value"] == pytest.approx(float(reference.pvalue), rel=1e-12)
    assert result["df"] == pytest.approx(float(reference.df), rel=1e-12)
    ci = reference.confidence_interval(0.95)
    assert result["ci_95_diff"] == pytest.approx([ci.low, ci.high])
    assert result["significant"] is True
    assert result["cohen_d"] > 0.8


def test_welch_without_variance_is_exact():
    result = welch([1.0, 1.0], [0.0, 0.0])
    assert result["t"] is None
    assert result["p_value"] == 0.0
    with pytest.raises(ValueError, match="at least 2 scores"):
        welch([1.0], [0.0, 1.0])


async def test_compare_tool_on_two_cards_gives_scipys_numbers(host):
    from tests.eval.support import FACTUAL, cot_reply, drive

    card_ids = []
    for wrong in (set(), {"Hamlet", "Moon", "formula of water"}):
        first = await host.ok("alc_eval", strategy="cot", scenario_name="factual", repeats=2)
        await drive(host, first, cot_reply(FACTUAL, wrong=wrong))
        card_ids.append(first["card_id"])
    cards = [await host.ok("alc_card_get", card_id=c) for c in card_ids]
    with warnings.catch_warnings():  # one side has no spread; scipy warns, the numbers stand
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = stats.ttest_ind(cards[0]["scores"], cards[1]["scores"], equal_var=False)

    await host.ok("alc_card_alias_set", alias="baseline", card_id=card_ids[1])
    compared = await host.ok("alc_eval_compare", a=card_ids[0], b="baseline")
    assert compared["t"] == pytest.approx(float(reference.statistic), rel=1e-12)
    assert compared["p_value"] == pytest.approx(float(reference.pvalue), rel=1e-12)
    assert compared["a"]["card_id"] == card_ids[0]
    assert compared["b"]["card_id"] == card_ids[1]
    assert compared["verdict"].startswith("a scores higher")

    assert (await host.ok("alc_card_get_by_alias", alias="baseline"))["card_id"] == card_ids[1]
    moved = await host.ok("alc_card_alias_set", alias="baseline", card_id=card_ids[0])
    assert moved["previous"] == card_ids[1]
    assert (await host.ok("alc_card_get_by_alias", alias="baseline"))["card_id"] == card_ids[0]

    found = await host.ok("alc_card_find", where={"summary.pass_rate": {"lt": 1.0}})
    assert [c["card_id"] for c in found["cards"]] == [card_ids[1]]
    ordered = await host.ok("alc_card_find", order_by=["-summary.mean"])
    assert [c["card_id"] for c in ordered["cards"]] == card_ids

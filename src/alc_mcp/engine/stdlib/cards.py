"""``alc.card.*``: the evaluation cards, in the same store the ``alc_card_*`` tools read.

Cards are immutable: ``create`` of an id that exists fails, and so does a second
``write_samples`` for one card. Every operation goes through ``effects.observe`` and
journals its outcome, a refusal included: a revived session gets the recorded answer
back and never writes a card (or its samples) a second time.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from alc_mcp.domain.evaluation import Card, matches, order_cards, short_name
from alc_mcp.domain.jsonfmt import dumps_compact
from alc_mcp.engine.errors import BridgeError
from alc_mcp.engine.luaargs import Callback, as_text, is_table, lua_callback, lua_type_name
from alc_mcp.engine.port import BridgeContext
from alc_mcp.engine.storage import CardArchive, CardRefused

__all__ = ["CARD_URI", "functions", "new_card_id"]

CARD_URI = "alc://cards/"


def new_card_id(pkg: str, model: str | None, at_ms: int, salt: str) -> str:
    """``{pkg}_{model}_{YYYYMMDDTHHMMSS}_{hash6}`` (algocline's card id shape)."""
    stamp = datetime.fromtimestamp(at_ms / 1000, tz=UTC).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(f"{salt}\0{time.time_ns()}".encode()).hexdigest()[:6]
    return f"{short_name(pkg, 40)}_{short_name(model)}_{stamp}_{digest}"


def _name_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("name")
    return value if isinstance(value, str) and value else None


def _card_data(table: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
    """The package name, model and the card body of ``alc.card.create``'s table."""
    pkg = _name_of(table.get("pkg"))
    if pkg is None:
        raise BridgeError("pkg.name is required (alc.card.create{ pkg = { name = 'mypkg' }, ... })")
    model = table.get("model")
    model_name = _name_of(model) if not isinstance(model, str) else model
    data = dict(table)
    data.setdefault("strategy", {"name": pkg})
    data.setdefault("scenario", {"name": _name_of(table.get("scenario")) or "none"})
    data.setdefault("created_by", "alc-mcp")
    return pkg, model_name, data


def _int_option(options: Any, key: str, default: int | None) -> int | None:
    value = options.get(key) if isinstance(options, dict) else None
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != int(value):
        raise BridgeError(f"{key} must be a non-negative integer, got {value!r}")
    return int(value)


def functions(context: BridgeContext) -> dict[str, Callback]:
    json, effects = context.json, context.effects
    archive = context.facilities.cards

    def cards() -> CardArchive:
        if archive is None:
            raise BridgeError("cards are not available here (only inside a session)")
        return archive

    def run(op: str, key: str, compute: Callable[[CardArchive], Any]) -> Any:
        """Observe ``compute``'s outcome, a refusal included; raise the refusal in Lua."""

        def outcome() -> dict[str, Any]:
            try:
                return {"ok": compute(cards())}
            except CardRefused as exc:
                return {"error": str(exc)}

        result = effects.observe(f"card.{op}", outcome, key=key)
        if "error" in result:
            raise BridgeError(result["error"])
        return result["ok"]

    def table_arg(value: Any, what: str) -> dict[str, Any]:
        if not is_table(value):
            raise BridgeError(f"{what} must be a table, got {lua_type_name(value)}")
        data = json.from_lua(value)
        if not isinstance(data, dict):
            data = {}
        return data

    def found_or_nil(get: Callable[[CardArchive], Any]) -> Callable[[CardArchive], Any]:
        """A read that answers nil for a card that is not there."""

        def compute(store: CardArchive) -> Any:
            try:
                return get(store)
            except CardRefused:
                return None

        return compute

    @lua_callback("alc.card.create")
    def create(spec: Any = None) -> Any:
        pkg, model, data = _card_data(table_arg(spec, "the card"))
        given = data.pop("card_id", None)
        if given is not None and not isinstance(given, str):
            raise BridgeError("card_id must be a string")

        def write(store: CardArchive) -> dict[str, Any]:
            at = int(time.time() * 1000)
            card_id = given or new_card_id(pkg, model, at, context.namespace)
            store.put_card(Card.build(card_id, at, data))
            return {"card_id": card_id, "created_at": at, "path": CARD_URI + card_id}

        return json.to_lua(run("create", given or pkg, write))

    @lua_callback("alc.card.get")
    def get(card_id: Any = None) -> Any:
        key = as_text(card_id, "card_id")
        card = run("get", key, found_or_nil(lambda store: store.get_card(key).to_json()))
        return None if card is None else json.to_lua(card)

    def cards_of(store: CardArchive, filters: dict[str, Any]) -> list[Card]:
        return store.list_cards(
            strategy=_name_of(filters.get("pkg")) or _name_of(filters.get("strategy")),
            scenario=_name_of(filters.get("scenario")),
            model=filters.get("model") if isinstance(filters.get("model"), str) else None,
        )

    @lua_callback("alc.card.list")
    def list_(filters: Any = None) -> Any:
        wanted = {} if filters is None else table_arg(filters, "the filter")
        found = run("list", dumps_compact(wanted), lambda s: [c.brief() for c in cards_of(s, wanted)])
        return json.to_lua(found)

    @lua_callback("alc.card.find")
    def find(query: Any = None) -> Any:
        spec = {} if query is None else table_arg(query, "the query")
        where = spec.get("where") if isinstance(spec.get("where"), dict) else None
        order_by = spec.get("order_by")
        offset = _int_option(spec, "offset", 0) or 0
        limit = _int_option(spec, "limit", None)

        def search(store: CardArchive) -> list[dict[str, Any]]:
            chosen = order_cards((c for c in cards_of(store, spec) if matches(c.data, where)), order_by)
            end = None if limit is None else offset + limit
            return [c.to_json() for c in chosen[offset:end]]

        return json.to_lua(run("find", dumps_compact(spec), search))

    @lua_callback("alc.card.alias_set")
    def alias_set(alias: Any = None, card_id: Any = None) -> Any:
        if is_table(alias):  # alc.card.alias_set{alias = ..., card_id = ...}
            spec = table_arg(alias, "the alias")
            name, target = spec.get("alias") or spec.get("name"), spec.get("card_id")
            if not isinstance(name, str) or not isinstance(target, str):
                raise BridgeError("the alias table needs alias = <name> and card_id = <id>, both strings")
        else:
            name, target = as_text(alias, "alias"), as_text(card_id, "card_id")

        def point(store: CardArchive) -> dict[str, Any]:
            store.get_card(target)  # a missing card is refused before the alias moves
            previous = store.set_alias(name, target, int(time.time() * 1000))
            return {"alias": name, "card_id": target, "previous": previous}

        return json.to_lua(run("alias_set", f"{name}\0{target}", point))

    @lua_callback("alc.card.alias_list")
    def alias_list() -> Any:
        return json.to_lua(run("alias_list", "", lambda store: store.aliases()))

    @lua_callback("alc.card.get_by_alias")
    def get_by_alias(alias: Any = None) -> Any:
        name = as_text(alias, "alias")

        def lookup(store: CardArchive) -> Any:
            card_id = store.alias(name)
            return None if card_id is None else store.get_card(card_id).to_json()

        card = run("get_by_alias", name, found_or_nil(lookup))
        return None if card is None else json.to_lua(card)

    @lua_callback("alc.card.write_samples")
    def write_samples(card_id: Any = None, samples: Any = None) -> Any:
        key = as_text(card_id, "card_id")
        if not is_table(samples):
            raise BridgeError(f"samples must be an array of tables, got {lua_type_name(samples)}")
        rows = json.from_lua(samples)
        rows = rows if isinstance(rows, list) else []
        written = run("write_samples", key, lambda store: store.put_samples(key, rows))
        return json.to_lua({"card_id": key, "count": written})

    @lua_callback("alc.card.read_samples")
    def read_samples(card_id: Any = None, options: Any = None) -> Any:
        key = as_text(card_id, "card_id")
        spec = {} if options is None else table_arg(options, "the options")
        offset, limit = _int_option(spec, "offset", 0) or 0, _int_option(spec, "limit", None)
        where = spec.get("where") if isinstance(spec.get("where"), dict) else None

        def read(store: CardArchive) -> list[Any]:
            rows = store.samples(key, 0, None)
            chosen = [r for r in rows if not where or (isinstance(r, dict) and matches(r, where))]
            end = None if limit is None else offset + limit
            return chosen[offset:end]

        return json.to_lua(run("read_samples", f"{key}\0{dumps_compact(spec)}", read))

    return {
        "card.create": create,
        "card.get": get,
        "card.list": list_,
        "card.find": find,
        "card.alias_set": alias_set,
        "card.alias_list": alias_list,
        "card.get_by_alias": get_by_alias,
        "card.write_samples": write_samples,
        "card.read_samples": read_samples,
    }

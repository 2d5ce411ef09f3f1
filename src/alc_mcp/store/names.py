"""Human-friendly session names: two random words, ``adjective-noun`` (``amber-falcon``).

Session ids (``s-<ns hex>-<16 hex>``) are exact but impossible to say aloud or remember;
a name lets a user type ``alc_continue amber-falcon`` after a restart. The words are our
own, short, lower-case ASCII and harmless in any context, because a name shows up in
tool output that users may paste into tickets or chats.

Names are not secrets and not unique by construction (the store retries on collision);
the default generator is nonetheless ``secrets.SystemRandom`` so that two servers
started at the same instant cannot hand out the same sequence of names.
"""

from __future__ import annotations

import random
import secrets

__all__ = ["ADJECTIVES", "NOUNS", "random_name"]

ADJECTIVES: tuple[str, ...] = (
    "agile", "airy", "amber", "amused", "ancient", "aqua", "autumn", "azure",
    "balmy", "bold", "brave", "breezy", "bright", "brisk", "bronze", "bubbly",
    "calm", "candid", "careful", "cheerful", "chilly", "civic", "clever", "cloudy",
    "coastal", "cobalt", "copper", "coral", "cosmic", "cozy", "crimson", "crisp",
    "curious", "dapper", "daring", "dazzling", "deft", "dewy", "diligent", "dusky",
    "eager", "early", "earnest", "easy", "electric", "elegant", "emerald", "epic",
    "fabled", "fair", "fancy", "fearless", "festive", "fiery", "fleet", "floral",
    "fluffy", "flying", "fond", "frank", "free", "fresh", "friendly", "frosty",
    "gentle", "giant", "gifted", "gilded", "glad", "gleaming", "glossy", "golden",
    "graceful", "grand", "green", "happy", "hardy", "hazel", "hearty", "helpful",
    "hidden", "honest", "humble", "icy", "indigo", "ivory", "jade", "jolly",
    "jovial", "joyful", "keen", "kind", "lavish", "leafy", "lilac", "lively",
    "lofty", "loyal", "lucid", "lucky", "lunar", "magic", "majestic", "mellow",
    "merry", "mighty", "mild", "minty", "misty", "modest", "mossy", "nimble",
    "noble", "northern", "oaken", "oceanic", "olive", "opal", "orange", "patient",
    "peaceful", "pearly", "placid", "plucky", "polar", "polished", "proud", "purple",
    "quick", "quiet", "radiant", "rapid", "rare", "ready", "regal", "rosy",
    "royal", "ruby", "rustic", "sandy", "scarlet", "serene", "shady", "sharp",
    "shiny", "silent", "silver", "simple", "sleek", "smart", "smooth", "snowy",
    "solar", "sonic", "sparkling", "speedy", "spry", "starry", "steady", "stellar",
    "stormy", "sturdy", "sunny", "swift", "tall", "tidy", "tranquil", "trusty",
    "upbeat", "valiant", "velvet", "verdant", "vivid", "warm", "wavy", "windy",
    "wise", "witty", "woolly", "young", "zealous", "zesty",
)  # fmt: skip

NOUNS: tuple[str, ...] = (
    "acorn", "albatross", "alpaca", "anchor", "antelope", "armadillo", "aspen", "aurora",
    "badger", "beacon", "beaver", "birch", "bison", "bluejay", "breeze", "buffalo",
    "camel", "canary", "canyon", "cardinal", "caribou", "cedar", "cheetah", "chipmunk",
    "cloud", "clover", "comet", "compass", "condor", "cougar", "coyote", "crane",
    "cricket", "deer", "dolphin", "dove", "dragonfly", "duck", "eagle", "egret",
    "elk", "ember", "falcon", "fern", "ferret", "finch", "firefly", "flamingo",
    "fox", "frost", "galaxy", "gazelle", "gecko", "glacier", "gull", "harbor",
    "hare", "harp", "hawk", "hedgehog", "heron", "horizon", "hummingbird", "ibis",
    "island", "jaguar", "kestrel", "kettle", "kingfisher", "kiwi", "koala", "ladybug",
    "lagoon", "lantern", "lark", "lemur", "leopard", "llama", "lobster", "lotus",
    "lynx", "magpie", "mallard", "manatee", "maple", "marmot", "meadow", "meerkat",
    "mesa", "meteor", "mink", "mongoose", "moose", "narwhal", "nebula", "newt",
    "nightingale", "ocelot", "octopus", "orca", "orchard", "orchid", "oriole", "osprey",
    "otter", "owl", "panda", "panther", "parrot", "pebble", "pelican", "penguin",
    "pheasant", "pine", "planet", "platypus", "poppy", "porcupine", "prairie", "puffin",
    "quail", "quasar", "quill", "rabbit", "raccoon", "raven", "reef", "reindeer",
    "river", "robin", "salmon", "seahorse", "seal", "shark", "skylark", "sloth",
    "sparrow", "squirrel", "starling", "stork", "summit", "swallow", "swan", "tapir",
    "thistle", "tiger", "toad", "toucan", "trout", "tulip", "turtle", "valley",
    "walrus", "warbler", "weasel", "whale", "willow", "wolf", "wombat", "woodpecker",
    "wren", "yak", "zebra",
)  # fmt: skip

_SYSTEM_RANDOM = secrets.SystemRandom()


def random_name(rng: random.Random | None = None) -> str:
    """A fresh ``adjective-noun`` name; pass a seeded ``random.Random`` for repeatable tests."""
    source = rng if rng is not None else _SYSTEM_RANDOM
    return f"{source.choice(ADJECTIVES)}-{source.choice(NOUNS)}"

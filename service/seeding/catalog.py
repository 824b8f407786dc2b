"""What can be rented: categories with their unit, price range, capacity, amenities, attributes."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from documents import Unit

AttrMaker = Callable[[random.Random], dict[str, Any]]


@dataclass(frozen=True)
class Category:
    name: str
    unit: Unit
    weight: int  # share of listings
    price_eur: tuple[float, float]  # typical range per unit, in euros at price level 1.0
    capacity: tuple[int, int]  # guests (night), seats (hour); items always 1
    stock: tuple[int, int] | None  # items only
    nouns: tuple[str, ...]  # for titles
    amenities: tuple[str, ...]
    attributes: AttrMaker


def _home(bedrooms: tuple[int, int]) -> AttrMaker:
    def make(rng: random.Random) -> dict[str, Any]:
        beds = rng.randint(*bedrooms)
        return {
            "bedrooms": beds,
            "bathrooms": max(1, beds - rng.randint(0, 1)),
            "size_sqm": rng.randint(20 + 15 * beds, 40 + 30 * beds),
            "pets_allowed": rng.random() < 0.3,
        }

    return make


def _room(rng: random.Random) -> dict[str, Any]:
    return {"private_bathroom": rng.random() < 0.4, "size_sqm": rng.randint(9, 25)}


def _boat(rng: random.Random) -> dict[str, Any]:
    return {
        "length_m": rng.randint(6, 18),
        "cabins": rng.randint(1, 4),
        "skipper_included": rng.random() < 0.35,
    }


def _desk(rng: random.Random) -> dict[str, Any]:
    return {"monitor": rng.random() < 0.7, "standing_desk": rng.random() < 0.3}


def _meeting_room(rng: random.Random) -> dict[str, Any]:
    return {"projector": rng.random() < 0.6, "whiteboard": rng.random() < 0.8}


def _bike(rng: random.Random) -> dict[str, Any]:
    return {
        "kind": rng.choice(["city", "road", "mountain", "e-bike", "cargo"]),
        "frame_size": rng.choice(["S", "M", "L", "XL"]),
        "helmet_included": rng.random() < 0.6,
    }


def _kayak(rng: random.Random) -> dict[str, Any]:
    return {"seats": rng.randint(1, 2), "paddles_included": True, "length_m": rng.randint(3, 5)}


def _camera(rng: random.Random) -> dict[str, Any]:
    return {
        "brand": rng.choice(["Canon", "Nikon", "Sony", "Fujifilm", "Leica"]),
        "megapixels": rng.choice([20, 24, 33, 45, 61]),
        "lens_mm": rng.choice(["24-70", "35", "50", "70-200", "16-35"]),
    }


def _surfboard(rng: random.Random) -> dict[str, Any]:
    return {"length_ft": rng.choice([6, 7, 8, 9]), "wetsuit_included": rng.random() < 0.5}


def _tent(rng: random.Random) -> dict[str, Any]:
    return {"persons": rng.randint(1, 6), "season": rng.choice(["3-season", "4-season"])}


HOME_AMENITIES = (
    "wifi",
    "kitchen",
    "washer",
    "dryer",
    "air conditioning",
    "heating",
    "tv",
    "free parking",
    "balcony",
    "workspace",
    "dishwasher",
    "coffee maker",
    "elevator",
    "self check-in",
    "crib",
)
OUTDOOR_AMENITIES = ("fireplace", "sauna", "hot tub", "garden", "bbq grill", "lake access", "pool")
OFFICE_AMENITIES = (
    "wifi",
    "coffee",
    "printer",
    "phone booth",
    "lockers",
    "kitchen",
    "air conditioning",
    "24-7 access",
    "bike storage",
)
GEAR_AMENITIES = ("delivery", "pickup", "insurance included", "lock included", "carry bag")

CATEGORIES: tuple[Category, ...] = (
    Category(
        "apartment",
        Unit.night,
        30,
        (55, 220),
        (1, 6),
        None,
        ("apartment", "flat", "loft", "studio"),
        HOME_AMENITIES,
        _home((0, 3)),
    ),
    Category(
        "house",
        Unit.night,
        14,
        (90, 420),
        (2, 12),
        None,
        ("house", "townhouse", "villa", "family home"),
        HOME_AMENITIES + OUTDOOR_AMENITIES,
        _home((2, 6)),
    ),
    Category(
        "cabin",
        Unit.night,
        6,
        (70, 260),
        (2, 8),
        None,
        ("cabin", "chalet", "lodge", "hut"),
        HOME_AMENITIES[:8] + OUTDOOR_AMENITIES,
        _home((1, 4)),
    ),
    Category(
        "room",
        Unit.night,
        14,
        (28, 110),
        (1, 2),
        None,
        ("room", "guest room", "private room"),
        HOME_AMENITIES[:10],
        _room,
    ),
    Category(
        "boat",
        Unit.night,
        3,
        (110, 480),
        (2, 8),
        None,
        ("sailboat", "houseboat", "yacht", "catamaran"),
        ("wifi", "kitchen", "heating", "deck shower", "life jackets", "snorkel gear"),
        _boat,
    ),
    Category(
        "desk",
        Unit.hour,
        8,
        (3, 14),
        (1, 1),
        None,
        ("desk", "hot desk", "coworking desk"),
        OFFICE_AMENITIES,
        _desk,
    ),
    Category(
        "meeting-room",
        Unit.hour,
        5,
        (6, 25),  # per seat-hour: a booking takes `seats` seats for its hours
        (4, 20),
        None,
        ("meeting room", "boardroom", "workshop space"),
        (*OFFICE_AMENITIES, "video conferencing", "projector screen"),
        _meeting_room,
    ),
    Category(
        "bike",
        Unit.item,
        8,
        (9, 45),
        (1, 1),
        (1, 12),
        ("bike", "bicycle", "e-bike"),
        GEAR_AMENITIES,
        _bike,
    ),
    Category(
        "kayak",
        Unit.item,
        3,
        (20, 70),
        (1, 1),
        (1, 8),
        ("kayak", "sea kayak", "canoe"),
        GEAR_AMENITIES,
        _kayak,
    ),
    Category(
        "camera",
        Unit.item,
        4,
        (25, 140),
        (1, 1),
        (1, 4),
        ("camera", "mirrorless camera", "camera kit"),
        GEAR_AMENITIES,
        _camera,
    ),
    Category(
        "surfboard",
        Unit.item,
        2,
        (12, 40),
        (1, 1),
        (1, 10),
        ("surfboard", "longboard", "shortboard"),
        GEAR_AMENITIES,
        _surfboard,
    ),
    Category(
        "tent",
        Unit.item,
        3,
        (8, 35),
        (1, 1),
        (1, 10),
        ("tent", "camping kit"),
        GEAR_AMENITIES,
        _tent,
    ),
)

ADJECTIVES: tuple[str, ...] = (
    "Sunny",
    "Cosy",
    "Bright",
    "Spacious",
    "Quiet",
    "Modern",
    "Charming",
    "Stylish",
    "Rustic",
    "Minimalist",
    "Airy",
    "Elegant",
    "Compact",
    "Renovated",
    "Historic",
)

FIRST_NAMES: tuple[str, ...] = (
    "Ana",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Lars",
    "Maya",
    "Nikhil",
    "Olivia",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
)
LAST_INITIALS = "ABCDEFGHIJKLMNOPRSTVWYZ"

REVIEW_TEXTS: dict[int, tuple[str, ...]] = {
    5: (
        "Wonderful stay, exactly as described.",
        "Perfect location and a very responsive host.",
        "Would book again in a heartbeat.",
        "Spotless and thoughtfully equipped.",
    ),
    4: (
        "Great value, a few small things to fix.",
        "Very good overall; check-in took a while.",
        "Nice place, a bit noisy at night.",
    ),
    3: ("Fine for the price.", "Okay, but not quite as pictured.", "Average experience."),
    2: ("Several things were broken.", "Not very clean on arrival."),
    1: ("Did not match the description at all.", "Host never answered; would not recommend."),
}

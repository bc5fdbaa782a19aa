"""Synthetic orders for ``regcast demo``, reproducible from their sequence number.

Every field of order ``i`` is a cheap function of ``i`` (no random generator per
record), and the order id carries ``i`` in its low 32 bits. So the read-back step can
rebuild the exact order it expects from the id of whatever record it consumed, and
compare field by field, without keeping the records it sent in memory.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from google.protobuf.message import Message

__all__ = ["avro_order", "index_of", "order_id", "order_key", "protobuf_order", "salt_of"]

_STATUSES = ("PLACED", "PAID", "SHIPPED", "DELIVERED", "CANCELLED")
_CITIES = (
    ("Rue de Rivoli 12", "Paris", "75001", "FR"),
    ("Unter den Linden 5", "Berlin", "10117", "DE"),
    ("Karl Johans gate 22", "Oslo", "0159", "NO"),
    ("Gran Via 31", "Madrid", "28013", "ES"),
    ("Damrak 70", "Amsterdam", "1012 LM", "NL"),
)
_SKUS = ("BK-1042", "MUG-007", "TSHIRT-M", "USB-C-2M", "LAMP-E27", "PEN-BLUE", "NOTE-A5")
_EPOCH_MS = 1_714_560_000_000  # 2024-05-01T10:40:00Z
_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _order_id_bits(i: int, salt: int) -> int:
    # salt in the top 48 bits, version 4, RFC 4122 variant, i in the low 32 bits.
    return ((salt & 0xFFFF_FFFF_FFFF) << 80) | (0x4 << 76) | (0b10 << 62) | (i & 0xFFFF_FFFF)


def order_id(i: int, salt: int) -> uuid.UUID:
    """A UUID holding ``salt`` (one per demo run) and ``i``."""
    return uuid.UUID(int=_order_id_bits(i, salt))


def _order_id_text(i: int, salt: int) -> str:
    """``str(order_id(i, salt))``, formatted without building a UUID (once per record)."""
    h = f"{_order_id_bits(i, salt):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def order_key(i: int, salt: int) -> bytes:
    """The record key of order ``i``: its order id as text (see :func:`index_of`)."""
    return _order_id_text(i, salt).encode()


def index_of(key: bytes | str) -> int:
    """The sequence number inside an order id (a record key)."""
    text = key.decode() if isinstance(key, bytes) else key
    return uuid.UUID(text).int & 0xFFFF_FFFF


def salt_of(key: bytes | str) -> int:
    """The run's salt inside an order id (a record key)."""
    text = key.decode() if isinstance(key, bytes) else key
    return uuid.UUID(text).int >> 80


def _lines(i: int) -> list[tuple[str, int, int]]:
    """(sku, quantity, unit price in cents) for order ``i``: 1 to 4 lines."""
    return [
        (_SKUS[(i + n) % len(_SKUS)], 1 + (i + n) % 3, 199 + ((i * 37 + n * 101) % 9800))
        for n in range(1 + i % 4)
    ]


def avro_order(i: int, salt: int) -> dict[str, Any]:
    """Order ``i`` as the Avro record of ``schemas/avro/order.avsc`` (typed values)."""
    lines = _lines(i)
    total_cents = sum(q * p for _, q, p in lines)
    street, city, postal, country = _CITIES[i % len(_CITIES)]
    placed_ms = _EPOCH_MS + i * 1_337
    return {
        "order_id": order_id(i, salt),
        "customer_id": 10_000 + (i * 7_919) % 90_000,
        "status": _STATUSES[i % len(_STATUSES)],
        "placed_at": _UNIX_EPOCH + dt.timedelta(milliseconds=placed_ms),
        "delivery_date": None
        if i % 3 == 0
        else dt.date.fromordinal(dt.date(2024, 5, 3).toordinal() + i % 30),
        "total": Decimal(total_cents).scaleb(-2),
        "currency": "EUR",
        "shipping_address": {
            "street": street,
            "city": city,
            "postal_code": postal,
            "country": country,
        },
        "lines": [
            {"sku": sku, "quantity": q, "unit_price": Decimal(p).scaleb(-2)} for sku, q, p in lines
        ],
        "coupon_code": f"SPRING{i % 50}" if i % 7 == 0 else None,
        "express": i % 5 == 0,
    }


def protobuf_order(message_class: type[Message], i: int, salt: int) -> Message:
    """Order ``i`` as ``regcast.demo.Order`` of ``schemas/protobuf/order.proto``."""
    lines = _lines(i)
    total_cents = sum(q * p for _, q, p in lines)
    street, city, postal, country = _CITIES[i % len(_CITIES)]
    placed_ms = _EPOCH_MS + i * 1_337
    order: Any = message_class()
    order.order_id = _order_id_text(i, salt)
    order.customer_id = 10_000 + (i * 7_919) % 90_000
    order.status = 1 + i % len(_STATUSES)
    order.placed_at.seconds = placed_ms // 1000
    order.placed_at.nanos = (placed_ms % 1000) * 1_000_000
    order.total.currency_code = "EUR"
    order.total.units = total_cents // 100
    order.total.nanos = (total_cents % 100) * 10_000_000
    address = order.shipping_address
    address.street, address.city, address.postal_code, address.country = (
        street,
        city,
        postal,
        country,
    )
    for sku, quantity, price in lines:
        line = order.lines.add()
        line.sku = sku
        line.quantity = quantity
        line.unit_price.currency_code = "EUR"
        line.unit_price.units = price // 100
        line.unit_price.nanos = (price % 100) * 10_000_000
    if i % 7 == 0:
        order.coupon_code = f"SPRING{i % 50}"
    order.express = i % 5 == 0
    order.attributes["channel"] = ("web", "app", "store")[i % 3]
    result: Message = order
    return result

"""The demo's synthetic orders: valid for both schemas, rebuildable from their key."""

from __future__ import annotations

import io
from pathlib import Path

import fastavro

from regcast.demo_data import avro_order, index_of, order_id, order_key, protobuf_order, salt_of
from regcast.schema_files import compile_protos, load_avro

REPO = Path(__file__).resolve().parents[3]


def test_order_id_carries_the_sequence_number() -> None:
    for i in (0, 1, 99_999, 2**32 - 1):
        key = str(order_id(i, salt=0xABCDEF)).encode()
        assert index_of(key) == i
    assert order_id(1, 1) != order_id(1, 2)


def test_order_key_is_the_order_ids_text() -> None:
    for i, salt in ((0, 0), (1, 0xABCDEF), (2**32 - 1, 2**48 - 1), (12_345, 0x0000_0000_0001)):
        key = order_key(i, salt)
        assert key == str(order_id(i, salt)).encode()
        assert (index_of(key), salt_of(key)) == (i, salt)


def test_avro_orders_fit_the_schema_and_round_trip() -> None:
    schema = load_avro(REPO / "schemas/avro/order.avsc").parsed
    for i in range(40):
        order = avro_order(i, 7)
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, schema, order)
        buffer.seek(0)
        assert fastavro.schemaless_reader(buffer, schema) == order
        assert avro_order(i, 7) == order  # deterministic


def test_protobuf_orders_are_deterministic_and_complete() -> None:
    root = REPO / "schemas/protobuf"
    cls = (
        compile_protos([root / "order.proto"], [root])
        .files[(root / "order.proto").resolve()]
        .message_class()
    )
    first = protobuf_order(cls, 14, 3)
    assert first == protobuf_order(cls, 14, 3)
    assert first != protobuf_order(cls, 15, 3)
    assert first.IsInitialized()
    assert index_of(first.order_id) == 14  # type: ignore[attr-defined]
    assert first.HasField("coupon_code")  # 14 % 7 == 0

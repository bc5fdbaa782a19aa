import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from regcast_demo import address_pb2 as _address_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATUS_UNSPECIFIED: _ClassVar[Status]
    NEW: _ClassVar[Status]
    PAID: _ClassVar[Status]
    SHIPPED: _ClassVar[Status]
STATUS_UNSPECIFIED: Status
NEW: Status
PAID: Status
SHIPPED: Status

class Order(_message.Message):
    __slots__ = ("order_id", "customer", "shipping", "lines", "attributes", "status", "created", "voucher", "card_token", "note", "signature")
    class Line(_message.Message):
        __slots__ = ("sku", "quantity", "unit_price", "discounts")
        class Discount(_message.Message):
            __slots__ = ("code", "percent")
            CODE_FIELD_NUMBER: _ClassVar[int]
            PERCENT_FIELD_NUMBER: _ClassVar[int]
            code: str
            percent: float
            def __init__(self, code: _Optional[str] = ..., percent: _Optional[float] = ...) -> None: ...
        SKU_FIELD_NUMBER: _ClassVar[int]
        QUANTITY_FIELD_NUMBER: _ClassVar[int]
        UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
        DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
        sku: str
        quantity: int
        unit_price: float
        discounts: _containers.RepeatedCompositeFieldContainer[Order.Line.Discount]
        def __init__(self, sku: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[float] = ..., discounts: _Optional[_Iterable[_Union[Order.Line.Discount, _Mapping]]] = ...) -> None: ...
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    SHIPPING_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    VOUCHER_FIELD_NUMBER: _ClassVar[int]
    CARD_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    customer: str
    shipping: _address_pb2.Address
    lines: _containers.RepeatedCompositeFieldContainer[Order.Line]
    attributes: _containers.ScalarMap[str, str]
    status: Status
    created: _timestamp_pb2.Timestamp
    voucher: str
    card_token: int
    note: str
    signature: bytes
    def __init__(self, order_id: _Optional[int] = ..., customer: _Optional[str] = ..., shipping: _Optional[_Union[_address_pb2.Address, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[Order.Line, _Mapping]]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[Status, str]] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., voucher: _Optional[str] = ..., card_token: _Optional[int] = ..., note: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class OrderKey(_message.Message):
    __slots__ = ("order_id", "region")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    order_id: int
    region: str
    def __init__(self, order_id: _Optional[int] = ..., region: _Optional[str] = ...) -> None: ...

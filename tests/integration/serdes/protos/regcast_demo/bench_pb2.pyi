from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BenchOrder(_message.Message):
    __slots__ = ("id", "customer", "amount", "quantity", "active", "note", "tags", "attrs", "status", "created_ms")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NEW: _ClassVar[BenchOrder.Status]
        PAID: _ClassVar[BenchOrder.Status]
        SHIPPED: _ClassVar[BenchOrder.Status]
    NEW: BenchOrder.Status
    PAID: BenchOrder.Status
    SHIPPED: BenchOrder.Status
    class AttrsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    ATTRS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    id: int
    customer: str
    amount: float
    quantity: int
    active: bool
    note: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    attrs: _containers.ScalarMap[str, str]
    status: BenchOrder.Status
    created_ms: int
    def __init__(self, id: _Optional[int] = ..., customer: _Optional[str] = ..., amount: _Optional[float] = ..., quantity: _Optional[int] = ..., active: _Optional[bool] = ..., note: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., attrs: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[BenchOrder.Status, str]] = ..., created_ms: _Optional[int] = ...) -> None: ...

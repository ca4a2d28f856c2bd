"""How Waypoint's savers encode a blob: msgpack, zstd with a frozen dictionary, fast messages.

Every lever that makes storage small makes the first read of a thread decode more pieces: at 1,000
turns a thread's messages are 4,000 separate writes, each its own zstd frame and msgpack document.
So decoding is built for that many: `loads_many` decodes a whole history with one zstd context,
and a stored LangChain message is rebuilt from its dumped fields without pydantic validating them
again (they were validated when the message was made). Both are exact: what they give back equals
what the stock `JsonPlusSerializer` gives back (tests/test_storage.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import ormsgpack
import zstandard
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.serde.jsonplus import EXT_PYDANTIC_V2, JsonPlusSerializer
from pydantic import BaseModel


def _message_framing(module: str, name: str, fields: dict[str, Any]) -> ormsgpack.Ext:
    """A LangChain message as `JsonPlusSerializer` frames it, with empty content."""
    return ormsgpack.Ext(
        EXT_PYDANTIC_V2, ormsgpack.packb([module, name, fields, "model_validate_json"])
    )


_BASE_FIELDS = {"content": "", "additional_kwargs": {}, "response_metadata": {}}
_TOOL_CALL = {"name": "", "args": {"query": ""}, "id": "call_", "type": "tool_call"}
_USAGE = {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}

# What zstd may copy from instead of storing again in every blob. Frozen: changing a byte makes
# every stored "mpz1" blob unreadable, so a new dictionary needs a new type tag
# (tests/test_storage.py pins its digest).
_DICTIONARY_SAMPLE = [
    {
        "v": 4,
        "ts": "2026-01-01T00:00:00.000000+00:00",
        "id": "1f000000-0000-6000-8000-000000000000",
        "channel_values": {"__start__": {"messages": []}, "branch:to:llm": None},
        "channel_versions": {
            "__start__": 1,
            "messages": 1,
            "branch:to:llm": 1,
            "branch:to:action": 1,
        },
        "versions_seen": {
            "__input__": {},
            "__start__": {"__start__": 1},
            "llm": {"branch:to:llm": 1},
            "action": {"branch:to:action": 1},
        },
        "updated_channels": ["branch:to:action", "branch:to:llm", "messages"],
    },
    [
        _message_framing(
            "langchain_core.messages.human",
            "HumanMessage",
            {**_BASE_FIELDS, "type": "human", "name": None, "id": ""},
        )
    ],
    [
        _message_framing(
            "langchain_core.messages.system",
            "SystemMessage",
            {**_BASE_FIELDS, "type": "system", "name": None, "id": ""},
        )
    ],
    [
        _message_framing(
            "langchain_core.messages.tool",
            "ToolMessage",
            {
                **_BASE_FIELDS,
                "type": "tool",
                "name": "",
                "id": "",
                "tool_call_id": "call_",
                "artifact": None,
                "status": "success",
            },
        )
    ],
    [
        _message_framing(
            "langchain_core.messages.ai",
            "AIMessage",
            {
                **_BASE_FIELDS,
                "response_metadata": {"finish_reason": "stop", "model_name": ""},
                "type": "ai",
                "name": None,
                "id": "run-",
                "tool_calls": [_TOOL_CALL],
                "invalid_tool_calls": [],
                "usage_metadata": _USAGE,
            },
        )
    ],
]
ZSTD_DICTIONARY = ormsgpack.packb(_DICTIONARY_SAMPLE)


# The messages a conversation stores by the thousand, by (module, class) as their framing names them.
_STORED_MESSAGES = {
    (cls.__module__, cls.__name__): cls
    for cls in (AIMessage, HumanMessage, SystemMessage, ToolMessage)
}


_set = object.__setattr__  # how pydantic itself fills a constructed model


def _constructor(cls: type[BaseModel]) -> Callable[[dict[str, Any]], Any]:
    """`cls.model_construct(**fields)`, faster for fields that name exactly every field of `cls`.

    `model_construct` walks every field for aliases and defaults; a stored message dump names each
    field once and needs neither, so the dict it was unpacked into becomes the model's `__dict__`,
    as `model_construct` would set it. A class with what this skips (aliases, a post-init hook, a
    root model), or other fields, goes through `model_construct`.
    """
    fields = cls.__pydantic_fields__
    plain = not (
        cls.__pydantic_post_init__
        or cls.__pydantic_root_model__
        or any(f.alias is not None or f.validation_alias is not None for f in fields.values())
    )
    names = frozenset(fields)
    extra_allowed = cls.model_config.get("extra") == "allow"

    def construct(values: dict[str, Any]) -> Any:
        if not plain or values.keys() != names:
            return cls.model_construct(**values)
        message = cls.__new__(cls)
        _set(message, "__dict__", values)
        _set(message, "__pydantic_fields_set__", set(names))
        _set(message, "__pydantic_extra__", {} if extra_allowed else None)
        _set(message, "__pydantic_private__", None)
        return message

    return construct


# The messages a conversation stores by the thousand, by (module, class) as their framing names them.
_CONSTRUCTORS = {
    (cls.__module__, cls.__name__): _constructor(cls)
    for cls in (AIMessage, HumanMessage, SystemMessage, ToolMessage)
}


class CompressedSerializer(JsonPlusSerializer):
    """`JsonPlusSerializer` whose msgpack blobs are zstd-compressed when that makes them smaller.

    It subclasses rather than wraps, so LangGraph can still extend its strict msgpack allowlist
    (`with_msgpack_allowlist`). Blobs of other types ("null", "bytes", small msgpack) are stored
    as the stock serializer writes them, and stock blobs read back unchanged.
    """

    TYPE = "mpz1"  # msgpack + zstd with ZSTD_DICTIONARY version 1; stored on every row: keep short
    MIN_SIZE = 48  # below this a zstd frame's own header eats the gain
    LEVEL = 3

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._dictionary = zstandard.ZstdCompressionDict(
            ZSTD_DICTIONARY, dict_type=zstandard.DICT_TYPE_RAWCONTENT
        )
        # zstd contexts are not thread-safe, and LangGraph saves from background threads. They are
        # pooled, not kept per thread: every sync run brings new threads (its worker, LangGraph's
        # executor), and a context per new thread (4 per run) grew the process's memory for good.
        self._idle: list[tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]] = []

    @contextmanager
    def _contexts(self) -> Iterator[tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]]:
        """A compressor and a decompressor no other thread uses until this one is done."""
        try:
            contexts = self._idle.pop()  # atomic: two threads never take the same pair
        except IndexError:  # as many pairs exist as threads ever used them at once
            contexts = self._new_contexts()
        try:
            yield contexts
        finally:
            self._idle.append(contexts)

    def _new_contexts(self) -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
        """A compressor and a decompressor with the dictionary (`bench/storage.py` measures them
        without it)."""
        return (
            zstandard.ZstdCompressor(
                level=self.LEVEL, dict_data=self._dictionary, write_dict_id=False
            ),
            zstandard.ZstdDecompressor(dict_data=self._dictionary),
        )

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = super().dumps_typed(obj)
        if type_ == "msgpack" and len(data) >= self.MIN_SIZE:
            with self._contexts() as (compressor, _):
                compressed = compressor.compress(data)
            if len(compressed) < len(data):
                return self.TYPE, compressed
        return type_, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.loads_many([data])[0]

    def loads_many(self, blobs: Iterable[tuple[str, bytes]]) -> list[Any]:
        """`loads_typed` of each (type, blob), in order, with one decompressor for them all."""
        values = []
        hook, option = self._message_hook, ormsgpack.OPT_NON_STR_KEYS
        with self._contexts() as (_, decompressor):
            for type_, payload in blobs:
                if type_ == self.TYPE:
                    payload = decompressor.decompress(payload)
                elif type_ != "msgpack":
                    values.append(super().loads_typed((type_, payload)))
                    continue
                values.append(ormsgpack.unpackb(payload, ext_hook=hook, option=option))
        return values

    def _message_hook(self, code: int, data: bytes) -> Any:
        """The stock hook, except that a stored message is rebuilt without validating it again.

        A first read decodes every message of the thread (4,000 at 1,000 turns); validating each
        one, as the stock hook does, was the largest part of that read. What is stored is the dump
        of a message that was validated when it was made, so constructing it (`_constructor`)
        gives back an equal message. Anything else, or a message that will not construct, goes
        through the stock hook and its allowlist.
        """
        stock = self._unpack_ext_hook
        if code != EXT_PYDANTIC_V2:
            return stock(code, data)
        framing = ormsgpack.unpackb(data, ext_hook=stock, option=ormsgpack.OPT_NON_STR_KEYS)
        construct = _CONSTRUCTORS.get((framing[0], framing[1]))
        if construct is None or not isinstance(framing[2], dict):
            return stock(code, data)
        try:
            return construct(framing[2])
        except (TypeError, ValueError):
            return stock(code, data)

"""The streaming multipart reader agrees with Werkzeug's parser, however the body is cut."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from advocacy.responses.inbound import KEPT_PARTS, MalformedPost, read_parts
from tests.fakes.fixtures import CONTRACTS_DIR

SAMPLES = CONTRACTS_DIR / "sendgrid" / "inbound_parse"
BOUNDARY = b"xYzZY"


def werkzeug_fields(body: bytes) -> dict[str, bytes]:
    """The form fields Werkzeug's decoder finds (files left out), cut to our caps."""
    decoder = MultipartDecoder(BOUNDARY, max_form_memory_size=None)
    decoder.receive_data(body)
    decoder.receive_data(None)
    fields: dict[str, bytes] = {}
    name, data = None, b""
    while True:
        event = decoder.next_event()
        if isinstance(event, NeedData | Epilogue):
            break
        if isinstance(event, File):
            name = None
        elif isinstance(event, Field):
            name, data = event.name, b""
        elif isinstance(event, Data) and name is not None:
            data += event.data
            if not event.more_data:
                if name in KEPT_PARTS:
                    fields[name] = data[: KEPT_PARTS[name]]
                name = None
    return fields


def with_attachment(body: bytes) -> bytes:
    """The sample with a file part whose content looks almost like a boundary."""
    part = (
        b'--xYzZY\nContent-Disposition: form-data; name="attachment1"; filename="a.txt"\n'
        b"Content-Type: text/plain\n\nline\n--xYzZ not quite\r\n-- xYzZY\nsubject\n"
    )
    return body.replace(b"--xYzZY--", part + b"--xYzZY--")


BODIES = [
    (SAMPLES / "default_data.txt").read_bytes(),
    (SAMPLES / "raw_data.txt").read_bytes(),
]
BODIES += [body.replace(b"\n", b"\r\n") for body in BODIES]
BODIES += [with_attachment(body) for body in BODIES]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(BODIES), st.lists(st.integers(1, 200), min_size=1, max_size=40))
def test_reader_matches_werkzeug_for_any_chunking(body: bytes, cuts: list[int]) -> None:
    chunks, start = [], 0
    for size in cuts:
        chunks.append(body[start : start + size])
        start += size
    chunks.append(body[start:])
    assert read_parts([c for c in chunks if c], BOUNDARY, 10**6) == werkzeug_fields(body)


def test_a_body_without_any_boundary_is_malformed() -> None:
    with pytest.raises(MalformedPost):
        read_parts([b"just some text"], BOUNDARY, 10**6)

"""albert_tok.io.sha256_of: the one block-wise file hash (training fingerprints, model cards, the ONNX cache)."""

from __future__ import annotations

import hashlib
import io

from hypothesis import given
from hypothesis import strategies as st

from albert_tok.io import sha256_of


@given(data=st.binary(max_size=3 << 20), skip=st.integers(0, 64))
def test_hash_size_and_copy_are_of_the_bytes_left_to_read(data, skip):
    fh = io.BytesIO(data)
    fh.read(skip)
    copy = io.BytesIO()
    assert sha256_of(fh, copy) == (hashlib.sha256(data[skip:]).hexdigest(), len(data[skip:]))
    assert copy.getvalue() == data[skip:]
    assert sha256_of(io.BytesIO(data)) == (hashlib.sha256(data).hexdigest(), len(data))

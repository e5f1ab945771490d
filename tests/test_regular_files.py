"""albert_tok.io._regular: paths named as files must be regular files; JSON is bounded in depth."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from albert_tok.io._regular import (
    MAX_JSON_DEPTH,
    NotARegularFileError,
    first_invalid_utf8,
    load_json,
    read_json,
    regular_file,
)


@pytest.mark.parametrize("special", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_devices_are_not_regular_files(special: str) -> None:
    with pytest.raises(NotARegularFileError, match=r"not a regular file .*a device"):
        regular_file(special, "config file")


def test_directory_and_fifo_are_not_regular_files(tmp_path) -> None:
    with pytest.raises(NotARegularFileError, match="a directory"):
        regular_file(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFileError, match="FIFO"):
        read_json(fifo)  # must not block reading the pipe


def test_missing_file_says_does_not_exist(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        regular_file(tmp_path / "nope.json", "data file")


def test_deep_json_is_a_value_error_naming_the_file(tmp_path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match=f"{path}: JSON nested more than {MAX_JSON_DEPTH}"):
        read_json(path)


def test_invalid_utf8_and_json_name_the_file(tmp_path) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(ValueError, match="not UTF-8"):
        read_json(path)
    path.write_text("{")
    with pytest.raises(ValueError, match=r"bad.json: not valid JSON"):
        read_json(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet='[]{}"\\ab'), inner, max_size=3),
    max_leaves=30,
)


@given(json_values)
def test_shallow_json_parses_as_json_does(value) -> None:
    text = json.dumps(value)
    assert load_json(text, "x") == json.loads(text)


@given(st.integers(min_value=1, max_value=2 * MAX_JSON_DEPTH), st.text(alphabet='[]{}"\\', max_size=20))
def test_depth_limit_is_exact_and_ignores_brackets_in_strings(depth: int, inside: str) -> None:
    text = "[" * (depth - 1) + json.dumps([inside]) + "]" * (depth - 1)
    if depth > MAX_JSON_DEPTH:
        with pytest.raises(ValueError, match="nested more than"):
            load_json(text, "x")
    else:
        assert load_json(text, "x") == json.loads(text)


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r")),
        min_size=1,
        max_size=6,
    ),
    st.data(),
)
def test_first_invalid_utf8_finds_the_line_column_and_offset(tmp_path_factory, lines, data) -> None:
    path = tmp_path_factory.mktemp("utf8") / "f.txt"
    encoded = [line.encode("utf-8") + b"\n" for line in lines]
    path.write_bytes(b"".join(encoded))
    assert first_invalid_utf8(path) is None
    line = data.draw(st.integers(0, len(lines) - 1))
    cut = data.draw(
        st.sampled_from([i for i in range(len(encoded[line])) if i == 0 or (encoded[line][i] & 0xC0) != 0x80])
    )  # a character boundary
    broken = [*encoded[:line], encoded[line][:cut] + b"\xff" + encoded[line][cut:], *encoded[line + 1 :]]
    path.write_bytes(b"".join(broken))
    bad = first_invalid_utf8(path)
    assert bad is not None
    assert (bad.line, bad.column, bad.offset) == (line + 1, cut, sum(map(len, encoded[:line])) + cut)
    assert b"\xff" in bad.excerpt

"""bench/train.py's pure parts: the text split, run_mlm's blocks and the table (the timed runs are the bench's)."""

from __future__ import annotations

import pytest

from bench import train as B

from .conftest import SPIECE


def test_text_is_split_into_consecutive_whole_lines(tmp_path, monkeypatch):
    corpus = tmp_path / "c.txt"
    lines = [f"line {i} " + "x" * (i % 7) for i in range(200)]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(B, "CORPORA", [corpus])
    train, heldout = B.write_text(tmp_path, 1000, 300)
    got_train = train.read_text(encoding="utf-8").splitlines()
    got_heldout = heldout.read_text(encoding="utf-8").splitlines()
    assert got_train + got_heldout == lines[: len(got_train) + len(got_heldout)]
    assert 1000 <= sum(len(s) + 1 for s in got_train) < 1000 + 20
    assert 300 <= sum(len(s) + 1 for s in got_heldout) < 300 + 20
    with pytest.raises(SystemExit, match="hold less than"):
        B.write_text(tmp_path, 10**6, 10)


def test_blocks_are_run_mlms_group_texts(tmp_path):
    from albert_tok import AlbertTokenizerFast

    tok = AlbertTokenizerFast(SPIECE)
    path = tmp_path / "text.txt"
    text = "The cat sat on the mat.\n\nA second paragraph, with more words in it.\nthird\n"
    path.write_text(text, encoding="utf-8")
    blocks = B.mlm_blocks(tok, path, 8)
    lines = [s for s in text.splitlines() if s.strip()]
    ids = [x for row in tok(lines)["input_ids"] for x in row]
    assert [b["input_ids"] for b in blocks] == [ids[i : i + 8] for i in range(0, len(ids) // 8 * 8, 8)]
    assert all(len(b[k]) == 8 for b in blocks for k in b)
    cls = tok.cls_token_id
    assert all(
        m == (i in (cls, tok.sep_token_id))
        for b in blocks
        for i, m in zip(b["input_ids"], b["special_tokens_mask"], strict=True)
    )


def _results(ddp):
    side = {"tokens_per_second": 100.0, "tokens": 1024, "steps": 2, "padding_share": 0.25, "VmHWM": 200 << 20}
    theirs = {**side, "tokens_per_second": 50.0, "padding_share": 0.0, "VmHWM": 400 << 20}
    return {
        "machine": "m",
        "torch": "t",
        "transformers": "x",
        "command": "python -m bench.train",
        "settings": {
            "model": {"hidden_size": 8},
            "batch_size": 2,
            "max_seq_length": 8,
            "learning_rate": 1e-3,
            "threads": 2,
        },
        "ours": side,
        "transformers_trainer": theirs,
        "speed_ratio": 2.0,
        "heldout_mlm_loss": {"ours": 7.5, "transformers": 7.25},
        "ddp": ddp,
    }


def test_table_shows_the_ratios_and_the_ddp_row_or_why_not():
    text = B.table(_results({"skipped": "torchrun is not installed"}))
    assert "| real tokens / s | 100 | 50 | 2.00x |" in text
    assert "| held-out masked-LM loss | 7.500 | 7.250 | |" in text
    assert "| peak RSS (VmHWM) | 200 MiB | 400 MiB | 0.50x |" in text
    assert "skipped: torchrun is not installed" in text
    ddp = {
        "2 ranks": {"seconds_per_step": 0.3, "threads_per_rank": 1},
        "1 process": {"seconds_per_step": 0.2, "threads_per_rank": 2},
        "step_cost_ratio": 1.5,
    }
    assert "| seconds / step: 2 ranks x 1 thread(s), 1 process x 2 (same global batch) | 0.300, 0.200 | | 1.50x |" in (
        B.table(_results(ddp))
    )


def test_wikitext_articles_are_the_documents():
    lines = [" ", " = A = ", " ", " p1 ", " ", " = = Sub = = ", " ", " p2 ", " ", " = B = ", " ", " p3 "]
    assert B.documents(lines, wikitext=True) == [" = A = ", " p1 ", " = = Sub = = ", " p2 ", "", " = B = ", " p3 "]
    assert B.documents(lines, wikitext=False) == lines

"""Model cards: every directory `albert finetune` and `albert pretrain` save holds a README.md whose front matter
the hub's own parser (huggingface_hub) reads back with the right fields, and whose body holds the facts of
training.json (the data's sha256, budget, hardware, metrics, the loss curve as a bounded table)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from huggingface_hub.repocard import metadata_load
from hypothesis import given
from hypothesis import strategies as st

import albert_model as A
import albert_model.training._finetune as F
import albert_model.training._pretrain as P
from albert_model.checkpoints import (
    DEFAULT_MODEL,
    CardFacts,
    SourceFile,
    command_line,
    dataset_ids,
    front_matter,
    markdown_text,
    origin_of,
    read_front_matter,
    render_card,
    write_card,
)
from albert_model.checkpoints._card import MAX_CURVE_ROWS
from albert_tok import AlbertTokenizerFast

from .conftest import SPIECE
from .test_finetune import SQUAD, TINY, args, conll, sentiment_csv
from .test_pretrain import TINY_MODEL
from .test_pretrain import _args as pretrain_args


def _sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _table(card: str, heading: str) -> list[list[str]]:
    """The rows of the Markdown table under ``## heading`` (header and rule left out)."""
    section = card.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[2:]]


@pytest.fixture(scope="module")
def hub_model(tmp_path_factory):
    """A tiny pretraining checkpoint laid out as a snapshot of the hub's cache, whose card states a licence."""
    path = tmp_path_factory.mktemp("hub") / "models--acme--tiny-albert" / "snapshots" / "0123abcd"
    torch.manual_seed(0)
    A.AlbertForPreTraining(A.AlbertConfig(**TINY)).save_pretrained(path)
    AlbertTokenizerFast(SPIECE).save_pretrained(path)
    (path / "README.md").write_text("---\nlicense: mit\nlibrary_name: transformers\n---\n\n# tiny\n")
    return path


@pytest.fixture(scope="module")
def local_model(tmp_path_factory):
    """The same tiny checkpoint in a plain directory with no card."""
    path = tmp_path_factory.mktemp("local") / "my-base"
    torch.manual_seed(0)
    A.AlbertForPreTraining(A.AlbertConfig(**TINY)).save_pretrained(path)
    AlbertTokenizerFast(SPIECE).save_pretrained(path)
    return path


def test_finetune_writes_a_card_with_the_hub_metadata_and_the_training_facts(tmp_path, hub_model):
    train = sentiment_csv(tmp_path / "train.csv")
    dev = sentiment_csv(tmp_path / "dev.csv", n=8)
    out = tmp_path / "out"
    steps = MAX_CURVE_ROWS + 5  # a longer curve than the table holds
    F.finetune(args("text-classification", [train], out, hub_model, eval=[str(dev)], steps=steps))
    meta = metadata_load(out / "README.md")
    assert meta == {
        "library_name": "transformers",
        "license": "mit",  # from the base model's card
        "base_model": "acme/tiny-albert",  # the repo id of the cache snapshot it started from
        "metrics": ["accuracy", "f1"],
        "pipeline_tag": "text-classification",
        "tags": ["albert", "albert_model"],
    }
    card = (out / "README.md").read_text(encoding="utf-8")
    training = json.loads((out / "training.json").read_text())
    assert training["data"] == [
        {"name": "train.csv", "sha256": _sha256(train), "size": train.stat().st_size, "role": "train"},
        {"name": "dev.csv", "sha256": _sha256(dev), "size": dev.stat().st_size, "role": "eval"},
    ]
    assert _table(card, "Training data") == [["train.csv", f"{train.stat().st_size:,}", f"`{_sha256(train)}`"]]
    assert _table(card, "Evaluation data") == [["dev.csv", f"{dev.stat().st_size:,}", f"`{_sha256(dev)}`"]]
    metrics = dict(_table(card, "Metrics"))
    assert metrics["eval\\_accuracy"] == f"{training['metrics']['eval_accuracy']:.4g}"
    assert metrics["final\\_loss"] == f"{training['metrics']['final_loss']:.4g}"
    assert dict(_table(card, "Budget"))["steps"] == str(steps)
    hardware = dict(_table(card, "Hardware"))
    assert hardware["torch"] == torch.__version__ and "cpu" in hardware["machine"]
    curve = _table(card, "Loss curve")
    history = training["history"]
    assert len(history) == steps and len(curve) == MAX_CURVE_ROWS
    assert curve[0][0] == "1" and curve[-1][0] == str(steps)  # first and last points kept
    by_step = {str(h["step"]): h for h in history}
    assert all(row[-2] == f"{by_step[row[0]]['loss']:.4g}" for row in curve)
    assert "Labels (id: name): 0: neg, 1: pos." in card
    assert 'pipeline("text-classification", model="out")' in card
    assert 'AutoModelForSequenceClassification.from_pretrained("out")' in card
    command = card.split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert command.startswith("albert finetune --task text-classification --train ") and f"--steps {steps}" in command


@pytest.mark.parametrize(
    ("task", "extra"),
    [("token-classification", {}), ("question-answering", {"max_seq_length": 96, "doc_stride": 24})],
)
def test_each_task_gets_its_pipeline_tag_and_a_local_base_is_not_a_hub_id(tmp_path, local_model, task, extra):
    train = conll(tmp_path / "t.conll") if task == "token-classification" else SQUAD
    out = tmp_path / "out"
    F.finetune(args(task, [train], out, local_model, steps=2, **extra))
    meta = metadata_load(out / "README.md")
    assert meta["pipeline_tag"] == task and meta["library_name"] == "transformers"
    assert "base_model" not in meta and "metrics" not in meta  # a local directory; no --eval files
    assert meta["license"] == "other"  # its base states none: the card says to set it
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "from my-base." in card and "states no licence" in card
    assert _table(card, "Training data")[0][2] == f"`{_sha256(train)}`"
    assert ("Labels (id: name): 0: O," in card) == (task == "token-classification")


def test_pretrain_writes_a_card(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(
        "\n\n".join("\n".join(f"the cat {d} sat on the mat {i}. the dog ran." for i in range(8)) for d in range(30))
        + "\n"
    )
    out = tmp_path / "out"
    P.pretrain(pretrain_args(corpus, out, steps=4, eval_every=0, checkpoint_every=4))
    meta = metadata_load(out / "README.md")
    assert meta == {
        "library_name": "transformers",
        "license": "other",  # trained from scratch: no licence to inherit
        "metrics": ["accuracy"],
        "pipeline_tag": "fill-mask",
        "tags": ["albert", "albert_model"],
    }
    card = (out / "README.md").read_text(encoding="utf-8")
    training = json.loads((out / "training.json").read_text())
    assert training["data"] == [
        {"name": "c.txt", "sha256": _sha256(corpus), "size": corpus.stat().st_size, "role": "train"}
    ]
    assert _table(card, "Training data") == [["c.txt", f"{corpus.stat().st_size:,}", f"`{_sha256(corpus)}`"]]
    budget = dict(_table(card, "Budget"))
    assert budget["steps"] == "4" and budget["budget\\_steps"] == "4" and "budget\\_max\\_tokens" not in budget
    assert budget["tokens\\_seen"] == f"{training['metrics']['tokens_seen']:,}"
    assert dict(_table(card, "Metrics"))["heldout\\_top1\\_accuracy"] == f"{training['metrics']['top1_accuracy']:.4g}"
    assert [row[0] for row in _table(card, "Loss curve")] == ["1", "2", "3", "4"]
    assert f"hidden {TINY_MODEL['hidden_size']}, 2 layers in 1 shared group" in card
    assert "--model-json '{" in card and "AutoModelForMaskedLM" in card


def test_origins():
    shipped = origin_of(DEFAULT_MODEL)
    assert shipped.repo_id is None and shipped.license == "apache-2.0"  # as the shipped card states
    assert origin_of("albert/albert-base-v2").repo_id == "albert/albert-base-v2"
    assert origin_of("no/such/thing").repo_id is None  # neither a directory nor an id


def test_hub_dataset_ids_come_from_cache_paths(tmp_path):
    cached = tmp_path / "datasets--nyu-mll--glue" / "snapshots" / "abc" / "mrpc" / "train.tsv"
    assert dataset_ids([cached, tmp_path / "train.csv", cached]) == ["nyu-mll/glue"]


def test_the_card_is_saved_atomically_beside_what_it_describes(tmp_path):
    facts = CardFacts(title="t", pipeline_tag="fill-mask")
    path = write_card(tmp_path, facts)
    assert Path(path).read_text(encoding="utf-8") == render_card(facts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]  # no temporaries or journal left


def test_a_converted_checkpoint_card_names_its_sources(tmp_path):
    source = tmp_path / "model.ckpt-best.index"
    source.write_bytes(b"\x00index")
    facts = CardFacts(
        title="albert-base-v2",
        pipeline_tag="fill-mask",
        license="apache-2.0",
        base_model="albert/albert-base-v2",
        files=[SourceFile.of(source, role="source")],
        tags=["tensorflow-conversion"],
    )
    card = render_card(facts)
    assert ModelCard(card).data.to_dict()["tags"] == ["albert", "albert_model", "tensorflow-conversion"]
    assert _table(card, "Converted from") == [["model.ckpt-best.index", "6", f"`{_sha256(source)}`"]]
    assert "## Loss curve" not in card and "## Budget" not in card  # no training facts


def test_the_command_line_flags_follow_the_dataclass_flags():
    defaults = {"steps": None, "progress": True, "resume": False, "model": {"a": 1}}
    line = command_line(
        "albert pretrain",
        {"train": ["a b.txt", "c"], "steps": 3, "progress": False, "resume": True, "model": {"a": 2}},
        defaults,
        {"model": "--model-json"},
    )
    assert line == "albert pretrain --train 'a b.txt' c --steps 3 --no-progress --resume --model-json '{\"a\":2}'"


# -- the YAML writer against the hub's parser ---------------------------------------------------------------
_HARD = [
    '"', "'", ":", ": ", "#", " #", "---", "...", "\n", "\r\n", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\0",
    "\x7f", "\t", "\\", "- ", "? ", "yes", "No", "null", "~", "1e5", "0x1f", "1_000", ".inf", "&a", "*a", "!t",
    "%", "@", "`", "{", "}", "[", "]", "|", ">", ",", " ", "é", "😀", "\ud800", "\udfff", "\uffff", "\U0010ffff",
]  # fmt: skip
yaml_hard_text = st.lists(
    st.one_of(st.sampled_from(_HARD), st.text(st.characters(exclude_categories=()), max_size=3)), max_size=8
).map("".join)
_CARD_DATA_PARAMETERS = {
    "base_model", "datasets", "eval_results", "language", "library_name", "license", "license_name", "license_link",
    "metrics", "model_name", "pipeline_tag", "tags", "ignore_metadata_errors", "model-index", "nested",
}  # fmt: skip


@given(
    license_=yaml_hard_text,
    tags=st.lists(yaml_hard_text, max_size=4, unique=True),
    extra=st.dictionaries(yaml_hard_text.filter(lambda k: k not in _CARD_DATA_PARAMETERS), yaml_hard_text, max_size=3),
    number=st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()),
)
def test_any_strings_round_trip_through_the_yaml_writer_and_the_hubs_parser(license_, tags, extra, number):
    metadata = {"license": license_, "tags": tags, "nested": [{"x": [number, license_]}, []], **extra}
    text = front_matter(metadata) + "\n# body\n---\nnot metadata\n"
    text.encode("utf-8")  # always encodable: lone surrogates are escaped
    parsed = ModelCard(text).data.to_dict()
    assert parsed.get("license") == license_ and parsed.get("tags", []) == tags
    assert parsed["nested"] == [{"x": [number, license_]}, []]
    assert {k: parsed[k] for k in extra} == extra


@given(title=yaml_hard_text, name=yaml_hard_text, label=yaml_hard_text, value=yaml_hard_text)
def test_any_names_make_a_card_whose_metadata_and_tables_hold(tmp_path_factory, title, name, label, value):
    facts = CardFacts(
        title=title,
        pipeline_tag="text-classification",
        license=value,
        base_model=name,
        labels=[label],
        files=[SourceFile(name, "0" * 64, 1)],
        metrics={name: 0.5},
        command=f"albert finetune --x {value}",
        summary=markdown_text(name),
    )
    card = render_card(facts)
    card.encode("utf-8")  # valid UTF-8 whatever the names hold
    meta = ModelCard(card).data.to_dict()
    assert meta["license"] == value and meta["base_model"] == name
    assert len(_table(card, "Training data")) == 1 and len(_table(card, "Training data")[0]) == 3
    assert len(_table(card, "Metrics")) == 1
    directory = tmp_path_factory.mktemp("card")
    write_card(directory, facts)
    assert read_front_matter(directory)["license"] == value  # the reader a successor's card uses


@given(value=yaml_hard_text)
def test_the_small_reader_reads_quoted_and_plain_scalars(tmp_path_factory, value):
    directory = tmp_path_factory.mktemp("card")
    (directory / "README.md").write_text(
        front_matter({"license": value, "tags": ["x"]}) + "\n# x\n", encoding="utf-8", errors="surrogatepass"
    )
    assert read_front_matter(directory) == {"license": value}

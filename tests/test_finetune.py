"""Fine-tuning: the readers and their errors, label alignment, SQuAD windows, the metrics, and the loop
(every head, periodic evaluation, output loaded by our pipelines and by transformers, exact resume after kill -9)."""

from __future__ import annotations

import json
import math
import signal
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import albert_model as A
import albert_model.training._finetune as F
import albert_model.training._finetune_data as D
from albert_model.training import _metrics as M
from albert_tok import AlbertTokenizerFast

from .conftest import EVAL, SPIECE, run_killed_after_checkpoint
from .strategies import plain_text

MRPC = EVAL / "mrpc_dev.tsv"
SQUAD = EVAL / "squad_sample.json"
TINY = {
    "vocab_size": 30000,
    "embedding_size": 16,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 160,
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "classifier_dropout_prob": 0.1,
}


@pytest.fixture(scope="module")
def fast():
    return AlbertTokenizerFast(SPIECE)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, fast):
    """A random-weight pretraining checkpoint with the fixture tokenizer beside it."""
    path = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    A.AlbertForPreTraining(A.AlbertConfig(**TINY)).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def sentiment_csv(path, n=24):
    rows = "".join(
        f'"the film number {i}, {"good" if i % 2 else "bad"}",{"pos" if i % 2 else "neg"}\n' for i in range(n)
    )
    return write(path, "text,label\n" + rows)


def conll(path, n=12):
    return write(
        path,
        "-DOCSTART- -X- O\n\n"
        + "".join(
            f"John NNP B-PER\nSmith NNP I-PER\nvisited VBD O\nParis NNP B-LOC\n{'today' if i % 2 else 'again'} RB O\n\n"
            for i in range(n)
        ),
    )


def args(task, train, out, model, **kw):
    base = {
        "task": task,
        "train": [str(p) for p in train],
        "output": str(out),
        "model": str(model),
        "steps": 8,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "log_every": 1,
        "checkpoint_every": 4,
        "progress": False,
        "device": "cpu",
        "seed": 3,
    }
    base.update(kw)
    return F.FinetuneArgs(**base)


# -- readers and their errors -------------------------------------------------------------------------------
def test_table_formats_read_the_same_examples(tmp_path):
    csv_file = write(tmp_path / "a.csv", 'text,pair,label\n"hi, there",you,pos\nbye,"a ""q""",neg\n')
    tsv_file = write(tmp_path / "a.tsv", '\ufefftext\tpair\tlabel\nhi, there\tyou\tpos\nbye\ta "q"\tneg\n')
    jsonl = write(
        tmp_path / "a.jsonl",
        '{"text": "hi, there", "pair": "you", "label": "pos"}\n\n'
        '{"text": "bye", "pair": "a \\"q\\"", "label": "neg"}\n',
    )
    read = [D.read_table(p, "text", "pair", "label") for p in (csv_file, tsv_file, jsonl)]
    assert [(e.text, e.text_pair, e.label) for e in read[0]] == [("hi, there", "you", "pos"), ("bye", 'a "q"', "neg")]
    assert all(
        [(e.text, e.text_pair, e.label) for e in r] == [(e.text, e.text_pair, e.label) for e in read[0]] for r in read
    )
    assert [e.line for e in read[2]] == [1, 3]


def test_the_shared_mrpc_file_reads_as_glue_tsv():
    examples = D.read_table(MRPC, "#1 String", "#2 String", "Quality")  # BOM, unbalanced quotes
    assert len(examples) == 6 and {e.label for e in examples} == {"0", "1"}
    assert examples[0].text_pair.startswith('" The foodservice')
    assert D.label_set([(e.label, e.line) for e in examples], str(MRPC)).kind == "int"


@pytest.mark.parametrize(
    "content, kwargs, line, words",
    [
        ("text,y\na,1\n", {}, 1, ["no label column 'label'", "['text', 'y']", "--label-column"]),
        ("txt,label\na,1\n", {}, 1, ["no text column 'text'", "--text-column"]),
        ("text,label\na,1\nb\n", {}, 3, ["1 fields but the header has 2"]),
        ("text,label\na,1\nb,2,3\n", {}, 3, ["3 fields but the header has 2", "quote"]),
        ("text,label\na,1\nb, \n", {}, 3, ["empty label"]),
        ("text,label\na,1\n", {"text_pair_column": "b"}, 1, ["no text pair column 'b'", "--text-pair-column"]),
    ],
)
def test_table_errors_name_file_line_and_fix(tmp_path, content, kwargs, line, words):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(D.DataError) as info:
        D.read_table(path, **kwargs)
    assert info.value.line == line and str(info.value).startswith(f"{path}:{line}: ")
    for word in words:
        assert word in str(info.value)


def test_jsonl_errors_name_the_line(tmp_path):
    path = write(tmp_path / "bad.jsonl", '{"text": "a", "label": 1}\n[1, 2]\n')
    with pytest.raises(D.DataError, match=r"bad.jsonl:2: a JSON list, not an object"):
        D.read_table(path)
    path = write(tmp_path / "bad2.jsonl", '{"text": "a", "label": 1}\n{"text": "b"}\n')
    with pytest.raises(D.DataError, match=r"bad2.jsonl:2: no label column 'label'"):
        D.read_table(path)
    with pytest.raises(D.DataError, match=r"unknown table format '.txt'"):
        D.read_table(write(tmp_path / "x.txt", "text,label\n"))


def test_label_sets():
    names = D.label_set([("pos", 2), ("neg", 3), ("pos", 4)], "f")
    assert names.kind == "str" and names.id2label == {0: "neg", 1: "pos"}
    assert names.config_overrides()["label2id"] == {"neg": 0, "pos": 1}
    ints = D.label_set([("2", 2), ("0", 3)], "f")
    assert ints.kind == "int" and ints.num_labels == 3 and ints.id2label[2] == "LABEL_2"
    with pytest.raises(D.DataError, match=r"^f:2: every label is class 0 \(one class\)"):
        D.label_set([("0", 2)], "f")  # nothing to learn (and num_labels 1 would make a regression head)
    floats = D.label_set([("0.5", 2), ("3", 3)], "f")
    assert floats.kind == "float" and floats.config_overrides()["problem_type"] == "regression"
    assert floats.num_labels == 1
    tags = D.label_set([("B-X", 1), ("O", 2), ("I-X", 3)], "f", tags=True)
    assert list(tags.id2label.values()) == ["O", "B-X", "I-X"]
    # a base model's names are kept when they cover the data
    base = {0: "pos", 1: "neg"}
    assert D.label_set([("neg", 1), ("pos", 2)], "f", base=base).id2label == base
    assert D.label_set([("neg", 1), ("meh", 2)], "f", base=base).id2label == {0: "meh", 1: "neg"}


@pytest.mark.parametrize(
    "labels, num_labels, line, words",
    [
        ([("a", 2), ("b", 3), ("c", 7)], 2, 7, ["3 label names", "--num-labels is 2", "drop --num-labels"]),
        ([("a", 2), ("b", 3)], 3, 1, ["2 label names"]),
        ([("0", 2), ("5", 9)], 3, 9, ["label 5 is out of range for --num-labels 3"]),
        ([("0.5", 4)], 2, 4, ["regression", "--num-labels is 2"]),
        ([("-1", 6)], None, 6, ["negative"]),
    ],
)
def test_num_labels_must_agree_with_the_data(labels, num_labels, line, words):
    with pytest.raises(D.DataError) as info:
        D.label_set(labels, "train.csv", num_labels)
    assert str(info.value).startswith(f"train.csv:{line}: ")
    for word in words:
        assert word in str(info.value)


def test_eval_labels_are_checked_against_training():
    names = D.label_set([("pos", 2), ("neg", 3)], "t")
    assert D.label_ids([("neg", 5)], "e", names) == [0]
    with pytest.raises(D.DataError, match=r"^e:7: label 'meh' does not occur in the training data"):
        D.label_ids([("pos", 6), ("meh", 7)], "e", names)
    with pytest.raises(D.DataError, match=r"^e:3: label '2' is not a class id 0..1"):
        D.label_ids([("2", 3)], "e", D.label_set([("1", 2), ("0", 3)], "t"))
    with pytest.raises(D.DataError, match=r"^e:4: label 'x' is not a number"):
        D.label_ids([("x", 4)], "e", D.label_set([("1.5", 2), ("0.5", 3)], "t"))


@given(
    st.lists(st.sampled_from(["pos", "neg", "meh", "O", "B-PER", "10", "x y"]), min_size=2, max_size=20).filter(
        lambda names: len(set(names)) > 1
    )
)  # one class is refused (nothing to learn)
def test_label_ids_round_trip_through_id2label(names):
    labels = D.label_set([(n, i + 2) for i, n in enumerate(names)], "f", tags=True)
    ids = D.label_ids([(n, 1) for n in names], "f", labels)
    assert [labels.id2label[i] for i in ids] == names


def test_conll_reading_and_errors(tmp_path):
    sentences = D.read_conll(conll(tmp_path / "a.conll", 2))
    assert [s.tokens for s in sentences] == [
        ["John", "Smith", "visited", "Paris", "again"],
        ["John", "Smith", "visited", "Paris", "today"],
    ]
    assert sentences[0].tags == ["B-PER", "I-PER", "O", "B-LOC", "O"] and sentences[1].line == 9
    bad = write(tmp_path / "bad.conll", "John B-PER\n\nParis B-LOC\nvisited\n")
    with pytest.raises(D.DataError, match=r"bad.conll:4: 'visited' has no tag column;.*add the tag"):
        D.read_conll(bad)
    labels = D.label_set([(t, 1) for s in sentences for t in s.tags], "a", tags=True)
    other = D.read_conll(write(tmp_path / "e.conll", "x O\n\ny O\nz B-MISC\n"))
    with pytest.raises(D.DataError, match=r"e.conll:4: tag 'B-MISC' does not occur in the training data"):
        D.tag_ids(other, str(tmp_path / "e.conll"), labels)
    with pytest.raises(D.DataError, match="no sentences"):
        D.read_conll(write(tmp_path / "empty.conll", "\n-DOCSTART- O\n\n"))


words = st.lists(plain_text.map(lambda s: "".join(s.split())).filter(bool), min_size=1, max_size=12)


@given(st.lists(words, min_size=1, max_size=4), st.integers(6, 40))
def test_tags_go_on_the_first_sub_token_of_each_word(fast, sentences, max_length):
    tag_list = [[i % 3 for i in range(len(w))] for w in sentences]
    features = D.encode_token_classification(
        fast, [D.Sentence(w, ["O"] * len(w), 1) for w in sentences], tag_list, max_length
    )
    for feature, tags in zip(features, tag_list, strict=False):
        word_ids = feature["word_ids"]
        assert len(feature["labels"]) == len(feature["input_ids"]) == len(word_ids) <= max_length
        first = {}
        for position, word in enumerate(word_ids):
            if word is not None:
                first.setdefault(word, position)
        expected = [
            tags[word_ids[p]] if word_ids[p] is not None and first[word_ids[p]] == p else -100
            for p in range(len(word_ids))
        ]
        assert feature["labels"] == expected


def _squad_v1(contexts):
    data = [
        {
            "title": "t",
            "paragraphs": [
                {
                    "context": c,
                    "qas": [
                        {"id": f"q{i}-{j}", "question": q, "answers": [{"text": a, "answer_start": c.index(a)}]}
                        for j, (q, a) in enumerate(qas)
                    ],
                }
                for i, (c, qas) in enumerate(contexts)
            ],
        }
    ]
    return {"version": "1.1", "data": data}


LONG = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in "
    "France. " * 6 + "The capital of the duchy was Rouen, on the Seine. " + "They were descended from Norse "
    "raiders and pirates from Denmark, Iceland and Norway. " * 5
)


def test_squad_layouts_and_versions(tmp_path):
    official = write(
        tmp_path / "v1.json", json.dumps(_squad_v1([(LONG, [("Capital?", "Rouen"), ("From?", "Denmark")])]), indent=1)
    )
    examples, version = D.read_squad(official)
    assert version == 1 and [e.answers for e in examples] == [["Rouen"], ["Denmark"]]
    v2 = _squad_v1([(LONG, [("Capital?", "Rouen")])])
    v2["version"] = "v2.0"
    v2["data"][0]["paragraphs"][0]["qas"].append(
        {
            "id": "x",
            "question": "King?",
            "answers": [],
            "plausible_answers": [{"text": "Rouen", "answer_start": 3}],
            "is_impossible": True,
        }
    )
    examples, version = D.read_squad(write(tmp_path / "v2.json", json.dumps(v2)))
    assert version == 2 and examples[1].answers == []
    flat, version = D.read_squad(SQUAD)  # the datasets layout: records under "data"
    assert version == 2 and len(flat) == 14 and sum(not e.answers for e in flat) == 6
    lines = SQUAD.read_text().splitlines()
    assert all(f'"{e.id}"' in lines[e.line - 1] for e in flat)
    jsonl = write(
        tmp_path / "q.jsonl",
        "\n".join(
            json.dumps(
                {
                    "id": e.id,
                    "question": e.question,
                    "context": e.context,
                    "answers": {"text": e.answers, "answer_start": e.answer_starts},
                }
            )
            for e in flat[:3]
        ),
    )
    assert D.read_squad(jsonl)[0] == [
        D.QAExample(e.id, e.question, e.context, e.answers, e.answer_starts, i + 1) for i, e in enumerate(flat[:3])
    ]


def test_squad_answer_start_must_match_its_text(tmp_path):
    data = _squad_v1([(LONG, [("Capital?", "Rouen"), ("From?", "Denmark")])])
    right = data["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"]
    data["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["answer_start"] = right + 2
    path = write(tmp_path / "bad.json", json.dumps(data, indent=1))
    with pytest.raises(D.DataError) as info:
        D.read_squad(path)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if '"q0-1"' in t)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: answer 'Denmark' of question 'q0-1' has answer_start {right + 2}")
    assert f"set answer_start to {right}" in message
    data["data"][0]["paragraphs"][0]["qas"][1]["answers"][0]["text"] = "Sweden"
    with pytest.raises(D.DataError, match="does not occur in the context"):
        D.read_squad(write(tmp_path / "bad2.json", json.dumps(data)))
    with pytest.raises(D.DataError, match=r"bad3.json:2: not valid JSON"):
        D.read_squad(write(tmp_path / "bad3.json", '{"data": [\n}'))


@given(st.integers(48, 160), st.integers(0, 24))
def test_squad_windows_cover_the_context_and_label_the_answer(fast, max_length, stride):
    examples = [
        D.QAExample("a", "What was the capital?", LONG, ["Rouen"], [LONG.index("Rouen")], 1),
        D.QAExample(
            "b", "Where from?", LONG, ["Denmark, Iceland and Norway"], [LONG.index("Denmark, Iceland and Norway")], 2
        ),
        D.QAExample("c", "King?", LONG, [], [], 3),
    ]
    features = D.encode_squad(fast, examples, max_length, stride)
    for k, example in enumerate(examples):
        windows = [f for f in features if f["example_index"] == k]
        assert windows and all(len(f["input_ids"]) <= max_length for f in windows)
        spans = [[o for o in f["offsets"] if o is not None] for f in windows]
        assert spans[0][0][0] == 0 and spans[-1][-1][1] >= len(LONG.rstrip())  # the whole context is read
        hits = [f for f in windows if f["start_positions"] != 0]
        if not example.answers:
            assert not hits and all(f["end_positions"] == 0 for f in windows)
            continue
        for f in hits:
            text = example.context[f["offsets"][f["start_positions"]][0] : f["offsets"][f["end_positions"]][1]]
            assert M.normalize_answer(text) == M.normalize_answer(example.answers[0])
        span = len(fast(example.answers[0], add_special_tokens=False)["input_ids"])
        if span <= stride:  # windows overlap by `stride` tokens: one holds the whole answer
            assert hits


def test_squad_predictions_from_perfect_logits(fast):
    examples, version = D.read_squad(SQUAD)
    features = D.encode_squad(fast, examples, 96, 24)
    starts, ends = [], []
    for f in features:
        s, e = np.zeros(len(f["input_ids"])), np.zeros(len(f["input_ids"]))
        s[f["start_positions"]] = e[f["end_positions"]] = 10.0
        starts.append(s)
        ends.append(e)
    predicted = D.squad_predictions(examples, features, starts, ends, version)
    scores = M.squad_metrics({e.id: e.answers for e in examples}, predicted, version)
    assert scores["exact"] == 100.0 and scores["f1"] == 100.0 and scores["NoAns_total"] == 6


# -- metrics ----------------------------------------------------------------------------------------------
def test_squad_metric_definitions():
    assert M.normalize_answer("The  Quick, brown-fox!  an") == "quick brownfox"
    assert M.squad_exact("the Eiffel Tower", "Eiffel tower.") == 1
    assert M.squad_f1("the cat sat on the mat", "cat sat") == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert M.squad_f1("x b b", "b b b c") == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert M.squad_f1("", "", version=2) == 1.0 and M.squad_f1("", "", version=1) == 0.0
    assert M.squad_f1("the", "an", version=2) == 1.0  # both normalise to nothing
    got = M.squad_metrics({"a": ["Rouen", "in Rouen"], "b": [], "c": ["x"]}, {"a": "rouen", "b": "", "c": "y"})
    assert got["exact"] == pytest.approx(200 / 3) and got["HasAns_exact"] == 50.0 and got["NoAns_exact"] == 100.0
    v1 = M.squad_metrics({"a": ["Rouen"], "c": ["x y"]}, {"a": "the Rouen", "c": "x"}, version=1)
    assert v1["exact"] == 50.0 and v1["f1"] == pytest.approx(100 * (1 + 2 / 3) / 2) and "HasAns_exact" not in v1
    with pytest.raises(ValueError, match=r"SQuAD v1.1 scoring needs one"):
        M.squad_metrics({"b": []}, {"b": ""}, version=1)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=40))
def test_macro_f1_is_the_mean_of_per_class_f1(pairs):
    predictions, labels = [p for p, _ in pairs], [y for _, y in pairs]
    scores = []
    for c in sorted(set(predictions) | set(labels)):
        tp = sum(p == c == y for p, y in pairs)
        precision = tp / max(1, sum(p == c for p in predictions))
        recall = tp / max(1, sum(y == c for y in labels))
        scores.append(2 * precision * recall / (precision + recall) if tp else 0.0)
    assert M.macro_f1(predictions, labels) == pytest.approx(float(np.mean(scores)))
    assert M.accuracy(predictions, labels) == pytest.approx(sum(p == y for p, y in pairs) / len(pairs))
    assert M.macro_f1(labels, labels) == 1.0


@given(
    st.lists(st.integers(-100, 100), min_size=3, max_size=30, unique=True),
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=3, max_size=30, unique=True),
)
def test_spearman_is_pearson_of_ranks_and_ignores_monotone_maps(x, y):
    n = min(len(x), len(y))
    x, y = np.array(x[:n], dtype=float), np.array(y[:n])

    def ranks(v):  # no ties here
        return np.argsort(np.argsort(v)) + 1.0

    assert M.spearman(x, y) == pytest.approx(M.pearson(ranks(x), ranks(y)), abs=1e-9)
    assert M.spearman(np.exp(x / 50), y) == pytest.approx(M.spearman(x, y), abs=1e-9)
    assert M.pearson(x, 3 * x + 1) == pytest.approx(1.0)


def test_correlation_ties_and_constants():
    assert M.spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(M.pearson([1, 2.5, 2.5, 4], [1, 2, 3, 4]))
    assert math.isnan(M.pearson([1, 1, 1], [1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        M.accuracy([1, 2], [1])


@pytest.mark.parametrize(
    "tags, expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 1), ("LOC", 3, 3)]),
        (["I-PER", "I-PER", "B-PER", "I-LOC"], [("PER", 0, 1), ("PER", 2, 2), ("LOC", 3, 3)]),  # IOB1
        (["S-LOC", "B-PER", "E-PER", "O"], [("LOC", 0, 0), ("PER", 1, 2)]),  # IOBES
        (["PER", "PER", "O", "LOC"], [("PER", 0, 1), ("LOC", 3, 3)]),  # IO
        (["B-PER", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 1)]),
        (["O", "O"], []),
    ],
)
def test_entities_as_seqeval_reads_them(tags, expected):
    assert M.entities(tags) == expected


def test_entity_metrics_match_seqeval_readme():
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    scores = M.entity_metrics(y_pred, y_true)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.5, 0.5, 0.5)
    assert scores["per_type"]["PER"]["f1"] == 1.0 and scores["per_type"]["MISC"]["f1"] == 0.0


tag_lists = st.lists(
    st.lists(st.sampled_from(["O", "B-A", "I-A", "B-B", "I-B", "E-A", "S-B", "A"]), max_size=12), min_size=1, max_size=5
)


@given(tag_lists)
def test_entities_are_ordered_disjoint_spans_and_self_scores_perfect(sentences):
    for tags in sentences:
        found = M.entities(tags)
        assert all(0 <= a <= b < len(tags) for _, a, b in found)
        assert all(found[i][2] < found[i + 1][1] for i in range(len(found) - 1))
    scores = M.entity_metrics(sentences, sentences)
    assert scores["f1"] == (1.0 if any(M.entities(t) for t in sentences) else 0.0)
    assert scores["token_accuracy"] == (1.0 if any(sentences) else 0.0)


# -- the loop -----------------------------------------------------------------------------------------------
def test_text_classification_end_to_end(tmp_path, tiny_model):
    train = sentiment_csv(tmp_path / "train.csv")
    out = tmp_path / "out"
    metrics = F.finetune(args("text-classification", [train], out, tiny_model, eval=[str(train)], eval_every=4))
    training = json.loads((out / "training.json").read_text())
    assert [h["step"] for h in training["history"]] == list(range(1, 9))
    assert [e["step"] for e in training["evals"]] == [4, 8]
    assert set(metrics) >= {"eval_accuracy", "eval_macro_f1", "eval_loss", "final_loss"}
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "neg", "1": "pos"} and config["architectures"] == [
        "AlbertForSequenceClassification"
    ]
    result = A.pipeline("text-classification", model=str(out))("the film number 3, good")
    assert result[0]["label"] in {"neg", "pos"}
    import transformers as T

    theirs = T.AutoModelForSequenceClassification.from_pretrained(out)
    assert theirs.config.id2label == {0: "neg", 1: "pos"}
    T.AutoTokenizer.from_pretrained(out)
    ours = A.AlbertForSequenceClassification.from_pretrained(out)
    assert ours.load_report.ok and not ours.load_report.head_missing


def test_regression_when_labels_are_real_numbers(tmp_path, tiny_model):
    train = write(
        tmp_path / "sts.jsonl",
        "".join(json.dumps({"a": f"one {i}", "b": f"two {i % 3}", "score": i / 4}) + "\n" for i in range(12)),
    )
    out = tmp_path / "out"
    metrics = F.finetune(
        args(
            "text-classification",
            [train],
            out,
            tiny_model,
            eval=[str(train)],
            text_column="a",
            text_pair_column="b",
            label_column="score",
            steps=3,
        )
    )
    assert {"eval_pearson", "eval_spearman", "eval_mse"} <= set(metrics)
    config = json.loads((out / "config.json").read_text())
    assert config["problem_type"] == "regression" and len(config["id2label"]) == 1


def test_token_classification_end_to_end(tmp_path, tiny_model):
    train = conll(tmp_path / "train.conll")
    out = tmp_path / "out"
    metrics = F.finetune(
        args("token-classification", [train], out, tiny_model, eval=[str(train)], steps=12, learning_rate=5e-3)
    )
    assert {"eval_precision", "eval_recall", "eval_f1", "eval_token_accuracy"} <= set(metrics)
    config = json.loads((out / "config.json").read_text())
    assert list(config["id2label"].values()) == ["O", "B-LOC", "B-PER", "I-PER"]
    entities = A.pipeline("token-classification", model=str(out))("John Smith visited Paris")
    assert all(e["entity"] in {"B-LOC", "B-PER", "I-PER"} for e in entities)
    import transformers as T

    assert T.AutoModelForTokenClassification.from_pretrained(out).config.label2id["I-PER"] == 3


def test_question_answering_end_to_end(tmp_path, tiny_model):
    out = tmp_path / "out"
    metrics = F.finetune(
        args(
            "question-answering", [SQUAD], out, tiny_model, eval=[str(SQUAD)], steps=4, max_seq_length=96, doc_stride=24
        )
    )
    assert {"eval_exact", "eval_f1", "eval_HasAns_exact", "eval_NoAns_exact"} <= set(metrics)
    answer = A.pipeline("question-answering", model=str(out))(question="Where?", context="John lives in Paris.")
    assert set(answer) == {"score", "start", "end", "answer"}
    import transformers as T

    T.AutoModelForQuestionAnswering.from_pretrained(out)


def test_bad_input_stops_before_training(tmp_path, tiny_model):
    train = write(tmp_path / "t.csv", "sentence,label\na,pos\n")
    with pytest.raises(D.DataError, match=r"t.csv:1: no text column 'text'.*--text-column"):
        F.finetune(args("text-classification", [train], tmp_path / "o", tiny_model))
    with pytest.raises(D.DataError, match=r"t.csv:1: the data has 1 label names \['pos'\] but --num-labels is 3"):
        F.finetune(
            args("text-classification", [train], tmp_path / "o", tiny_model, text_column="sentence", num_labels=3)
        )
    with pytest.raises(ValueError, match="drop --num-labels 3"):
        F.finetune(
            args(
                "question-answering",
                [SQUAD],
                tmp_path / "o",
                tiny_model,
                num_labels=3,
                max_seq_length=96,
                doc_stride=24,
            )
        )
    with pytest.raises(FileNotFoundError, match="--train file"):
        args("text-classification", [tmp_path / "missing.csv"], tmp_path / "o", tiny_model)
    with pytest.raises(ValueError, match="task must be one of"):
        args("ner", [train], tmp_path / "o", tiny_model)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("task", ["text-classification", "question-answering"])  # token classification: same loop
def test_killed_run_resumes_to_the_same_result(tmp_path, tiny_model, task):
    """kill -9 right after the step-4 checkpoint, resume: losses and weights equal an uninterrupted run's."""
    train = {
        "text-classification": lambda: sentiment_csv(tmp_path / "t.csv"),
        "token-classification": lambda: conll(tmp_path / "t.conll"),
        "question-answering": lambda: SQUAD,
    }[task]()
    extra = {"max_seq_length": 96, "doc_stride": 24} if task == "question-answering" else {}
    straight = args(task, [train], tmp_path / "straight", tiny_model, steps=10, log_every=3, **extra)
    F.finetune(straight)
    killed = args(task, [train], tmp_path / "killed", tiny_model, steps=10, log_every=3, **extra)
    proc = run_killed_after_checkpoint("finetune", killed, at=4, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (tmp_path / "killed" / "training.json").exists()
    killed.resume = True
    F.finetune(killed)
    a = json.loads((tmp_path / "straight" / "training.json").read_text())
    b = json.loads((tmp_path / "killed" / "training.json").read_text())
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    assert [h["step"] for h in b["history"]] == [3, 6, 9, 10]
    cls = F.TASKS[task]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, y = cls.from_pretrained(tmp_path / "straight"), cls.from_pretrained(tmp_path / "killed")
    for (name, p), (_, q) in zip(x.state_dict().items(), y.state_dict().items(), strict=False):
        assert torch.equal(p, q), name


def test_resume_refuses_a_checkpoint_of_other_data(tmp_path, tiny_model):
    out = tmp_path / "out"
    F.finetune(
        args("text-classification", [sentiment_csv(tmp_path / "a.csv")], out, tiny_model, steps=4, keep_checkpoint=True)
    )
    other = sentiment_csv(tmp_path / "b.csv", n=10)
    with pytest.raises(ValueError, match=r"was made with other settings.*--train: the text of b.csv differs"):
        F.finetune(args("text-classification", [other], out, tiny_model, steps=4, resume=True))
    # more steps on the same data: the run continues from step 4
    F.finetune(args("text-classification", [tmp_path / "a.csv"], out, tiny_model, steps=6, resume=True))
    assert [h["step"] for h in json.loads((out / "training.json").read_text())["history"]] == list(range(1, 7))


def test_command_line(tmp_path, tiny_model, capsys):
    train = sentiment_csv(tmp_path / "t.csv")
    parser = F.build_parser()
    flags = {a.dest for a in parser._actions}
    assert {f for f in F.FinetuneArgs.__dataclass_fields__} <= flags
    code = F.main(
        [
            "--task",
            "text-classification",
            "--train",
            str(train),
            "--output",
            str(tmp_path / "o"),
            "--model",
            str(tiny_model),
            "--steps",
            "2",
            "--eval",
            str(train),
            "--device",
            "cpu",
            "--precision",
            "bf16",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "finetune text-classification" in captured.err and "| 2/2 [" in captured.err  # the progress bar
    assert "step 2: loss" in captured.err  # the evaluation line
    printed = json.loads(captured.out)
    assert printed["steps"] == 2 and printed["precision"] == "bf16" and "eval_accuracy" in printed
    with pytest.raises(SystemExit):
        parser.parse_args(["--task", "ner", "--train", "x", "--output", "o"])


def test_a_question_that_leaves_no_room_for_context_is_refused(fast):
    examples = [D.QAExample("q", "why " * 40, LONG, [], [], 17)]
    with pytest.raises(D.DataError, match=r"^f.json:17: question 'q' is 40 tokens.*raise --max-seq-length"):
        D.encode_squad(fast, examples, 48, 8, "f.json")

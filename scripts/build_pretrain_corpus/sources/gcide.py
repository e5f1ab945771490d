"""The GNU Collaborative International Dictionary of English (Debian dict-gcide): definitions, usage notes and
quotations, 30 entries per document; pronunciations, etymologies and source tags removed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from .. import dictd
from ..packages import Inputs
from ..text import Doc, group, norm_ws, paragraphs, split_sentences

NAME = "gcide"


def documents(inputs: Inputs) -> Iterator[Doc]:
    return group((gcide_entry(e) for e in dictd.entries("gcide")), 30)


def metadata(inputs: Inputs) -> dict[str, str]:
    return dict(
        inputs.deb("dict-gcide"),
        licence="GPL-2+ (GCIDE)",
        origin=str(dictd.DICTD / "gcide.dict.dz"),
        description="GNU Collaborative International Dictionary of English: definitions and quotations, "
        "markup/etymologies/pronunciations stripped",
    )


# GCIDE writes accented letters as ASCII escapes in brackets, e.g. [=a], ['e], [oe].
_GCIDE_NAMED = {
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "imac": "ī",
    "aum": "ä",
    "add": "ä",
    "asl": "a",
    "udd": "ü",
    "eth": "ð",
    "thorn": "þ",
    "th": "th",
    "ng": "ŋ",
    "yogh": "ȝ",
    "root": "√",
    "deg": "°",
    "sect": "§",
    "pounds": "£",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "Delta": "Δ",
    "epsilon": "ε",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "sigma": "σ",
    "Sigma": "Σ",
    "phi": "φ",
    "psi": "ψ",
    "omega": "ω",
    "Omega": "Ω",
    "chi": "χ",
    "tau": "τ",
    "eta": "η",
    "iota": "ι",
    "kappa": "κ",
    "nu": "ν",
    "xi": "ξ",
    "rho": "ρ",
    "zeta": "ζ",
    "omicron": "ο",
    "upsilon": "υ",
    "frac12": "½",
    "frac14": "¼",
    "frac34": "¾",
    "frac13": "⅓",
    "frac23": "⅔",
    "times": "×",
    "divide": "÷",
    "minus": "−",
    "prime": "′",
    "bprime": "″",
    "min": "′",
    "sec": "″",
    "cre": "˘",
    "hand": "☞",
    "dagger": "†",
    "ddagger": "‡",
    "para": "¶",
    "middot": "·",
    "flat": "♭",
    "sharp": "♯",
    "natural": "♮",
    "cced": "ç",
    "ntil": "ñ",
    "uum": "ü",
    "oum": "ö",
    "eum": "ë",
    "ium": "ï",
    "ocir": "ô",
    "ecir": "ê",
    "acir": "â",
    "ucir": "û",
    "icir": "î",
    "egrave": "è",
    "agrave": "à",
    "eacute": "é",
    "aacute": "á",
    "oacute": "ó",
    "iacute": "í",
    "uacute": "ú",
    "dsdot": "ḍ",
    "nsdot": "ṇ",
    "tsdot": "ṭ",
    "hsdot": "ḥ",
    "ssdot": "ṣ",
    "zsdot": "ẓ",
    "rsdot": "ṛ",
    "lsdot": "ḷ",
    "msdot": "ṃ",
    "bar": "",
    "lt": "<",
    "gt": ">",
    "amp": "&",
}
_GCIDE_MOD = {
    "=": "\u0304",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    ",": "\u0327",
    "*": "\u030a",
    ".": "\u0307",
    "-": "\u0304",
}
_GCIDE_ESC = re.compile(r"\[([=\-'`^\"~,*.])([A-Za-z]{1,2})\]|\[([A-Za-z]{1,2})\^\]|\[([A-Za-z]{2,9}[0-9]{0,2})\]")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_SOURCE_TAG = re.compile(
    r"^\s*\[[^\]]*(?:Webster|WordNet|PJC|RDH|RHUD|Century|Chambers|MW10|NRD|JS|JW|DC|"
    r"Mead|Wikipedia|Dict\.|Suppl\.)[^\]]*\]\s*(.*)$"
)


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
            sents = [
                x
                for x in split_sentences(clean)
                if len(x.split()) >= 3
                and not _PRON_MARKS.search(x)
                and not re.fullmatch(r"(?:See|Cf\.|Same as)\b.{0,50}", x)
            ]
            if quote or joined.lstrip().startswith("{"):
                out.extend(sents)
            else:
                if head and sents:
                    sents[0] = f"{head}: {sents[0]}"
                out.extend(sents)
    return out

"""Languages: detection on short headlines, charset detectors, and matching cost.

    python bench/languages.py [--articles 10000] [--rules 1000]

1. detect_language on tests/data/headlines.tsv (the set it was tuned on) and
   headlines-heldout.tsv (written after tuning), per headline and per feed
   (a feed's headlines joined, as newswatch guesses a feed's language).
2. chardet against charset-normalizer on feeds in legacy charsets with no
   declared encoding: how many each names right, and the time per feed.
3. The matcher on a multilingual stream (English, German, French, Polish,
   Russian, Ukrainian, Chinese, Japanese articles; rules in those languages)
   beside the same stream and rules all in English: articles/s and the ratio.
   The non-English text is the English corpus written in each language's
   letters with its word endings, which is what stemming and CJK pairing cost.
   Timed on a second pass (words already met, as in a running daemon), with
   the first pass (every word stemmed for the first time) shown beside it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import zlib
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from corpus import Corpus, articles, rules  # noqa: E402

from newswatch.rules import CompiledRule, Document, Matcher, parse  # noqa: E402
from newswatch.rules.text import detect_language  # noqa: E402

DATA = HERE.parent / "tests" / "data"
LATIN_TO = {
    "ru": dict(zip("abcdefghijklmnopqrstuvwxyz", "абцдефгхиймлмнопкрстувшхыз", strict=True)),
    "uk": dict(zip("abcdefghijklmnopqrstuvwxyz", "абцдефгхіймлмнопкрстувшхиз", strict=True)),
}
ENDINGS = {"ru": ["", "ов", "ами", "ы", "а", "ом"], "uk": ["", "ів", "ами", "и", "а", "ом"],
           "de": ["", "en", "er", "ung", "e"], "fr": ["", "s", "é", "ée", "es"],
           "pl": ["", "ów", "ami", "y", "ą", "em"], "en": [""]}
CJK = {"zh": (0x4E00, 0x9FA5), "ja": (0x30A1, 0x30F6)}


def headlines(name: str) -> list[tuple[str, str]]:
    rows = []
    for line in (DATA / name).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            lang, text = line.split("\t")
            rows.append((lang, text))
    return rows


def detection() -> None:
    print("language detection (detect_language)")
    for name in ("headlines.tsv", "headlines-heldout.tsv"):
        rows = headlines(name)
        right = sum(detect_language(t) == lang for lang, t in rows)
        by_lang: defaultdict[str, list[str]] = defaultdict(list)
        for lang, t in rows:
            by_lang[lang].append(t)
        feeds = sum(detect_language(" ".join(ts)) == lang for lang, ts in by_lang.items())
        started = time.perf_counter()
        for _ in range(20):
            for _, t in rows:
                detect_language(t)
        per = (time.perf_counter() - started) / (20 * len(rows)) * 1e6
        print(f"  {name:<24} per headline {right}/{len(rows)} ({right / len(rows):.0%}), "
              f"per feed {feeds}/{len(by_lang)}, {per:.0f} µs a headline")


SAMPLES = {
    "windows-1251": "Россия запустила рекордное количество дронов по Украине, сообщили власти.",
    "koi8-r": "В Киеве снова отключают электричество после ночных обстрелов энергосистемы.",
    "euc-jp": "ロシアが過去最大規模のドローン攻撃を実施したと、ウクライナ空軍が発表した。",
    "gb2312": "俄罗斯对乌克兰发动了战争开始以来最大规模的无人机袭击，乌克兰空军表示。",
    "shift_jis": "停戦交渉が行き詰まる中、欧州の首脳が安全保障について協議した。",
    "iso-8859-2": "Największy atak dronów na Ukrainę od początku wojny, są ofiary i ranni.",
    "windows-1252": "La Russie lance la plus grande attaque de drones, dit-on à Kiev.",
}


def charsets() -> None:
    import chardet
    import charset_normalizer

    print("\ncharset detection, feeds with no declared encoding")
    detectors = {"chardet": chardet.detect, "charset-normalizer": charset_normalizer.detect}
    for name, detect in detectors.items():
        right, started = 0, time.perf_counter()
        for encoding, text in SAMPLES.items():
            body = ('<rss version="2.0"><channel><title>t</title>' + "".join(
                f"<item><title>{text}</title><description>{text} {text}</description></item>"
                for _ in range(10)) + "</channel></rss>").encode(encoding)
            found = detect(body)["encoding"] or ""
            right += body.decode(found, errors="replace") == body.decode(encoding)
        per = (time.perf_counter() - started) / len(SAMPLES) * 1000
        print(f"  {name:<20} decoded right {right}/{len(SAMPLES)}, {per:.1f} ms a feed")


def rewrite(text: str, lang: str, rng: random.Random) -> str:
    """English corpus text in another language's letters and word endings."""
    if lang in CJK:
        lo, hi = CJK[lang]
        return "".join("".join(chr(lo + (zlib.crc32(f"{w}{i}".encode()) % (hi - lo)))
                               for i in range(2 + len(w) % 2)) for w in text.split())
    out = []
    for w in text.split():
        if lang in LATIN_TO:
            w = "".join(LATIN_TO[lang].get(c, c) for c in w)
        out.append(w + rng.choice(ENDINGS[lang]))
    return " ".join(out)


def matching(n_articles: int, n_rules: int) -> None:
    corpus = Corpus.make(seed=7)
    queries = rules(corpus, n_rules)
    stream = articles(corpus, n_articles, [])
    langs = ["en", "de", "fr", "pl", "ru", "uk", "zh", "ja"]
    rng = random.Random(3)

    def rule_in(q: str, lang: str) -> str:
        return " ".join(
            tok if tok in ("OR", "AND", "NOT") or tok.startswith("NEAR/") else (
                tok[0] + rewrite(tok[1:-1], lang, rng) + tok[-1] if tok[:1] in "\"(" and
                tok[-1:] in "\")" and len(tok) > 2 else rewrite(tok, lang, rng))
            for tok in q.split())

    results = {}
    for label, multilingual in (("English", False), ("multilingual", True)):
        compiled = []
        for i, q in enumerate(queries):
            lang = langs[i % len(langs)] if multilingual else "en"
            text = q if lang == "en" else rule_in(q, lang)
            try:
                compiled.append(CompiledRule(f"r{i}", parse(text)))
            except Exception:  # noqa: BLE001 - a rewritten query that no longer parses
                continue
        matcher = Matcher(compiled)
        docs = []
        for i, a in enumerate(stream):
            lang = langs[i % len(langs)] if multilingual else "en"
            docs.append({k: (rewrite(v, lang, rng) if lang != "en" and k in (
                "title", "summary", "content") else v) for k, v in a.items()} | {
                "language": lang})
        started = time.process_time()
        hits = sum(len(matcher.match(Document.of(**d))) for d in docs)
        cold = len(docs) / (time.process_time() - started)
        started = time.process_time()  # again, as a daemon that has met these words
        hits = sum(len(matcher.match(Document.of(**d))) for d in docs)
        results[label] = len(docs) / (time.process_time() - started)
        print(f"  {label:<13} {len(compiled):>6} rules {results[label]:>9.0f} articles/s "
              f"(first pass, every word new: {cold:.0f}/s), {hits} matches")
    print(f"  language handling costs {results['English'] / results['multilingual']:.2f}× "
          "(target < 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=1_000)
    args = parser.parse_args()
    detection()
    charsets()
    print(f"\nmatching, {args.articles} articles, one process")
    matching(args.articles, args.rules)


if __name__ == "__main__":
    main()

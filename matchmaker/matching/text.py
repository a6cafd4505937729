"""Text pipeline: one Chinese script, segmentation, English tokens and language detection."""

import hashlib
import logging
import marshal
import os
import re
import threading
import unicodedata
from functools import cache
from pathlib import Path

import jieba
import opencc

from .files import cached, write_atomically

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9+.#-]*[a-z0-9+#]|[a-z0-9]|[\u3400-\u9fff]+")
_lock = threading.Lock()

STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "等",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "它",
        "他们",
        "有",
        "也",
        "都",
        "就",
        "要",
        "会",
        "能",
        "可",
        "可以",
        "一个",
        "一些",
        "这",
        "那",
        "这个",
        "那个",
        "其",
        "之",
        "而",
        "并",
        "并且",
        "但",
        "但是",
        "如果",
        "因为",
        "所以",
        "对",
        "把",
        "被",
        "让",
        "给",
        "从",
        "到",
        "为",
        "为了",
        "以",
        "用",
        "由",
        "于",
        "上",
        "下",
        "中",
        "里",
        "个",
        "吗",
        "呢",
        "吧",
        "啊",
        "很",
        "还",
        "又",
        "再",
        "已",
        "已经",
        "没有",
        "不",
        "无",
        "该",
        "各",
        "每",
        "此",
        "目前",
        "现在",
        "希望",
        "需要",
        "想",
        "如何",
        "怎么",
        "什么",
        "哪",
        "哪些",
        "我哋",
        "佢",
        "嘅",
        "咗",
        "喺",
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "as",
        "is",
        "are",
        "be",
        "been",
        "was",
        "were",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "we",
        "our",
        "you",
        "your",
        "they",
        "their",
        "i",
        "my",
        "me",
        "us",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "do",
        "does",
        "did",
        "not",
        "no",
        "into",
        "over",
        "per",
        "via",
        "than",
        "then",
        "so",
        "such",
        "any",
        "all",
        "some",
        "more",
        "most",
        "very",
        "also",
        "just",
        "about",
        "using",
        "use",
        "used",
        "need",
        "needs",
        "want",
        "looking",
        "seek",
        "seeking",
    ]
)


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Convert Traditional Chinese characters to Simplified; other text passes through."""
    with _lock:  # OpenCC converters are not documented as thread-safe
        return _converter("t2s").convert(text)


def normalize(text: str) -> str:
    """Return text in one script and case: NFKC, Simplified Chinese, lower-case."""
    return to_simplified(unicodedata.normalize("NFKC", text or "")).lower()


def detect_language(text: str) -> str:
    """Return 'zh-Hant', 'zh-Hans' or 'en' for the text's main language."""
    text = unicodedata.normalize("NFKC", text or "")
    cjk = len(_CJK.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]+", text))
    if cjk == 0 or latin_words > cjk:
        return "en"
    traditional_only = sum(a != b for a, b in zip(text, to_simplified(text)))
    with _lock:
        simplified_only = sum(a != b for a, b in zip(text, _converter("s2t").convert(text)))
    return "zh-Hant" if traditional_only > simplified_only else "zh-Hans"


def language_group(language: str) -> str:
    """Return 'zh' for either Chinese script, else the language itself."""
    return "zh" if language.startswith("zh") else (language or "en")


def _stem(token: str) -> str:
    """Fold simple English plurals so 'defects' matches 'defect'."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


_segmenter = {"pristine": True}  # no domain word taught to jieba in this process yet


def add_domain_words(words, cache_dir: str | Path | None = None) -> None:
    """Teach the segmenter domain terms so they stay whole.

    With a cache_dir, the first teaching in a process is kept there as jieba's whole dictionary with the
    words added, keyed by the words and jieba's dictionary; a later process reads that one file (a
    fraction of a second) instead of loading jieba's dictionary and adding the words one by one.
    """
    words = [normalize(word) for word in words if _CJK.search(word)]
    with _lock:
        pristine, _segmenter["pristine"] = _segmenter["pristine"], False
    if not (pristine and cache_dir):
        _teach(words)
        return
    cached(
        _dictionary_cache(words, cache_dir),
        _install_dictionary,
        lambda: _teach(words),
        lambda _, path: write_atomically(path, marshal.dumps((jieba.dt.FREQ, jieba.dt.total))),
        "segmenter dictionary",
    )


def _teach(words: list[str]) -> None:
    for word in words:
        jieba.add_word(word)


def _dictionary_cache(words: list[str], cache_dir: str | Path) -> Path:
    """The cache file of jieba's dictionary with these words added."""
    source = jieba.dt.dictionary or os.path.join(os.path.dirname(jieba.__file__), jieba.DEFAULT_DICT_NAME)
    try:
        stamp = os.stat(source)
        signature = f"{source}:{stamp.st_size}:{stamp.st_mtime_ns}"
    except (OSError, TypeError):
        signature = str(source)
    digest = hashlib.sha256(f"{jieba.__version__}\n{signature}\n".encode())
    digest.update("\n".join(sorted(words)).encode())
    return Path(cache_dir) / "segmenter" / f"jieba-{digest.hexdigest()[:20]}.marshal"


def _install_dictionary(path: Path) -> None:
    """Install a cached dictionary in jieba; raise if there is none or it is unreadable."""
    # from bytes: marshal.load on a file object reads it piece by piece, several times slower
    frequencies, total = marshal.loads(path.read_bytes())
    if not isinstance(frequencies, dict) or not isinstance(total, int):
        raise ValueError("not a segmenter dictionary")
    with jieba.dt.lock:
        jieba.dt.FREQ, jieba.dt.total, jieba.dt.initialized = frequencies, total, True


def tokenize(text: str) -> list[str]:
    """Return index tokens: segmented Simplified Chinese words and stemmed English words."""
    tokens = []
    for chunk in _TOKEN.findall(normalize(text)):
        if _CJK.match(chunk):
            tokens.extend(w for w in jieba.lcut_for_search(chunk) if w not in STOPWORDS)
        elif chunk not in STOPWORDS:
            tokens.append(_stem(chunk))
    return tokens


def posting_text(title: str, description: str) -> str:
    """Return the text a posting is embedded and indexed by."""
    return f"{title}\n{description}".strip()

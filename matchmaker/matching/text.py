"""Text pipeline: one Chinese script, segmentation, English tokens and language detection."""

import re
import threading
import unicodedata
from functools import cache

import opencc
import rjieba

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


class _Segmenter:
    """The word segmenter (jieba-rs, through rjieba), taught the domain words.

    An rjieba instance must not be taught while another thread segments with it (it raises), so teaching
    builds a new instance with every word taught so far and then puts it in place of the old one.
    """

    def __init__(self):
        self.words: list[str] = []
        self._current: rjieba.Jieba | None = None  # loaded when first needed: its dictionary takes ~0.2 s
        self._teaching = threading.Lock()

    @property
    def current(self) -> rjieba.Jieba:
        if self._current is None:
            self.teach([])
        return self._current

    def teach(self, words: list[str]) -> None:
        with self._teaching:
            taught = rjieba.Jieba()
            self.words += words
            for word in self.words:
                taught.add_word(word, None, None)
            self._current = taught


_segmenter = _Segmenter()


def add_domain_words(words) -> None:
    """Teach the segmenter domain terms so they stay whole."""
    _segmenter.teach([normalize(word) for word in words if _CJK.search(word)])


def tokenize(text: str) -> list[str]:
    """Return index tokens: segmented Simplified Chinese words and stemmed English words."""
    tokens = []
    segment = _segmenter.current.cut_for_search
    for chunk in _TOKEN.findall(normalize(text)):
        if _CJK.match(chunk):
            tokens.extend(w for w in segment(chunk) if w not in STOPWORDS)
        elif chunk not in STOPWORDS:
            tokens.append(_stem(chunk))
    return tokens


def posting_text(title: str, description: str) -> str:
    """Return the text a posting is embedded and indexed by."""
    return f"{title}\n{description}".strip()

"""Which matched terms are worth showing as a reason: distinctive words, never fragments or function words.

The index keeps every token BM25 can use, single characters included; an explanation names only terms a
person would recognise as what the two texts have in common. Filtering here changes explanations, never
ranking: the index and its tokens stay as they are.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache

from .text import STOPWORDS, normalize

# A term found in more than this share of postings explains nothing (an IDF below log(1 / share)).
COMMON_SHARE = 0.2
MIN_IDF = math.log(1 / COMMON_SHARE)
# Below this many postings shares are noise: a term in two postings still counts as rare.
SMALL_CORPUS_FREQUENCY = 2

_CJK_WORD = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}$")
_LATIN_WORD = re.compile(r"^(?=(?:.*[a-z]){3})[a-z0-9][a-z0-9+.#-]*$")
# Ordinals, counts and quantities ("第一", "一次", "三个", "两台") say nothing about what is matched.
_NUMERAL_WORD = re.compile(
    r"^第?[〇零一二两三四五六七八九十百千万亿几多半每]+[次个台条张件年月日天号批种项位名点倍成]?$"
)

# Function words the segmenter keeps as words, written in either script (folded to Simplified when compared),
# Cantonese particles and pronouns, and English words that say nothing on their own.
_CHINESE = """
以及 而且 或者 还是 然后 因此 因而 而是 不是 只是 就是 也是 都是 还有 没有 不会 不能 不要 不用 可能 能够 应该
必须 需要 希望 想要 进行 通过 使用 利用 根据 按照 对于 关于 由于 其中 其他 其它 以上 以下 之一 之后 之前 之间
以后 以前 以来 左右 一般 一定 一直 一起 一下 一样 一些 一种 一个 一次 这些 那些 这样 那样 这里 那里 这种 那种
每个 每次 所有 任何 各种 各个 已经 正在 目前 现在 当前 现有 如何 怎样 怎么 为什么 什么 哪些 多少 非常 比较
特别 主要 大量 很多 许多 不同 相关 有关 包括 例如 比如 以便 以免 为了 同时 并且 但是 不过 然而 虽然 如果 假如
可以 就会 我们 你们 他们 她们 它们 自己 大家 本公司 公司 问题 方面 情况 方式 东西 地方 时候 工作 情况下
希望能 是否 能否 还要 只有 只要 直到 甚至 尤其 而言 来说 来讲 等等 之类 方面 部分 整体 全部 一部分
唔 嘅 咗 喺 啲 嘢 咁 冇 佢 佢哋 我哋 你哋 係 噉 嚟 畀 俾 睇 咩 乜 點 點樣 邊個 邊度 而家 依家 呢個 嗰個
呢啲 嗰啲 咁樣 唔係 唔該 好似 即係 因為 所以 但係 不過 都係 就係 先至 已經 仲有 成日 有冇 係咪 揾 搵 啦 喇 囉
嘞 咋 㗎 喎 吖 呀 嗎 吓 咯
"""
_ENGLISH = """
about above after again against all also although among and another any are around because been before being
below between both but can cannot could did does doing done down during each either else even ever every few for
from further had has have having her here hers herself him himself his how however into its itself just least
less let like made make makes many may might more most much must near need needs neither never new nor not now off
often once one only onto other others otherwise our ours ourselves out over own per please quite rather really
same say says several shall she should since some still such than that the their theirs them themselves then
there therefore these they this those though through thus too toward towards under until upon very via want wants
was way ways well were what whatever when where whether which while who whom whose why will with within without
would yes yet you your yours yourself able use used uses using looking seek seeking get gets got want wanted
help helps based etc e.g i.e include includes including within across first second third
"""
EXPLANATION_STOPWORDS = frozenset(STOPWORDS | set(_ENGLISH.split()))


@cache
def _chinese_stopwords() -> frozenset[str]:
    """Return the Chinese function words folded to the script the index compares in."""
    return frozenset(normalize(word) for word in _CHINESE.split())


@lru_cache(maxsize=65536)
def is_distinctive(term: str) -> bool:
    """Return whether a term, as the index stores it, could explain a match to a person.

    Chinese: two characters or more, not a function word, a Cantonese particle or a numeral phrase.
    Latin: at least three letters (so '2d', 'ai' or '99.5' never), not an English stopword.
    """
    term = normalize(term)
    if _CJK_WORD.match(term):
        return term not in _chinese_stopwords() and term not in STOPWORDS and not _NUMERAL_WORD.match(term)
    return bool(_LATIN_WORD.match(term)) and term not in EXPLANATION_STOPWORDS


def is_rare(document_frequency: int, corpus_size: int) -> bool:
    """Return whether a term found in this many of corpus_size postings is rare enough to explain anything."""
    if document_frequency <= SMALL_CORPUS_FREQUENCY:
        return True
    return math.log(corpus_size / document_frequency) >= MIN_IDF


def distinctive_terms(terms: Iterable[str], frequency: Mapping[str, int], corpus_size: int) -> list[str]:
    """Return the distinctive, rare terms, rarest first, leaving out any term a longer one listed contains."""
    kept = [t for t in dict.fromkeys(terms) if is_distinctive(t) and is_rare(frequency.get(t, 0), corpus_size)]
    kept.sort(key=lambda t: (frequency.get(t, 0), -len(t)))
    return without_parts(kept)


def without_parts(terms: list[str]) -> list[str]:
    """Drop each term contained in another term of the list ('检测' when '缺陷检测' is there), keeping order."""
    return [t for t in terms if not any(t != other and t in other for other in terms)]


def shown_terms(terms: Iterable[str]) -> list[str]:
    """Return stored reason terms that are still worth showing (reasons stored before this filter existed)."""
    return without_parts([t for t in dict.fromkeys(terms) if is_distinctive(t)])

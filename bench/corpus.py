"""Generate N records in the seed's exact format, deterministically for a seed.

    python bench/corpus.py OUT_DIR N [--seed 1]

Distributions: a few hundred topics and several hundred providers with Zipf-like popularity,
1-4 topics a record, 0-4 images, 0-5 related links, dates over several years, a few percent
unpublished, some mojibake, markup characters and duplicate URLs. Records go into 100
subfolders, as a large archive would.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = (
    "climate grid battery solar wind chip model vision health vaccine orbit lunar rover ocean "
    "reef policy court market startup funding data privacy security quantum fusion carbon "
    "drought flood city transit rail robot sensor network cloud open source language research"
).split()
HOSTILE = [
    "<script>alert(1)</script>",
    "AT&T",
    "a < b > c",
    '"quoted"',
    "governmentâ€™s",
    "]]>",
    "café",
]


def zipf_choice(rng: random.Random, items: list[str], s: float = 1.1) -> str:
    weights = [1 / (rank + 1) ** s for rank in range(len(items))]
    return rng.choices(items, weights)[0]


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.05:
        words.insert(rng.randrange(len(words)), rng.choice(HOSTILE))
    return " ".join(words).capitalize()


def record(
    rng: random.Random,
    n: int,
    topics: list[str],
    providers: list[tuple[str, str]],
    urls: list[str],
    after: datetime | None = None,
) -> str:
    name, domain = providers[
        [p[0] for p in providers].index(zipf_choice(rng, [p[0] for p in providers]))
    ]
    if after is None:
        when = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(SPAN))
    else:  # news that arrives after the archive: the 30 days after ``after``
        when = after + timedelta(seconds=rng.randrange(30 * 86400))
    if urls and rng.random() < 0.01:
        url = rng.choice(urls)  # the same article filed twice
    else:
        url = f"https://www.{domain}/{when:%Y/%m/%d}/{n}-{rng.choice(WORDS)}-{rng.choice(WORDS)}"
        urls.append(url)
    title = sentence(rng, rng.randint(6, 14))
    lines = [
        "---",
        "category: news",
        f"title: {quote(title)}",
        f"excerpt: {quote(sentence(rng, rng.randint(25, 60)) + '.')}",
        f"publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
        f"webUrl: {quote(url)}",
        f"ampWebUrl: {quote(url + '/amp/')}",
        f"cdnAmpWebUrl: {quote('https://cdn.ampproject.example/c/s/' + url.split('://')[1] + '/amp/')}",
        "type: article",
        f"quality: {rng.randint(1, 100)}",
        f"heat: {rng.randint(1, 100)}",
        f"published: {'false' if rng.random() < 0.03 else 'true'}",
        "",
        "provider:",
        f"  name: {name}",
        f"  domain: {domain}",
        "",
        "topics:",
    ]
    chosen = {zipf_choice(rng, topics) for _ in range(rng.randint(1, 4))}
    lines += [f"  - {t}" for t in sorted(chosen)]
    images = rng.randint(0, 4)
    lines += ["", "images:" if images else "images: []"]
    for i in range(images):
        lines += [
            f'  - url: "https://img.{domain}/{when:%Y/%m}/{n}-{i}.{rng.choice(["jpg", "png", "webp"])}?w=1200"',
            f"    width: {rng.choice([800, 1200, 1600, 3000])}",
            f"    height: {rng.choice([450, 675, 900, 1687])}",
            "    isCached: true",
            f"    title: {quote(title)}",
        ]
    related = rng.randint(0, 5)
    lines += ["", "related:" if related else "related: []"]
    for i in range(related):
        other_name, other_domain = rng.choice(providers)
        lines += [
            f"  - title: {quote(sentence(rng, rng.randint(5, 12)))}",
            f"    excerpt: {quote(sentence(rng, rng.randint(15, 30)) + '.')}",
            f"    publishedDateTime: {when - timedelta(hours=rng.randint(1, 72)):%Y-%m-%dT%H:%M:%SZ}",
            f'    webUrl: "https://{other_domain}/news/{n}-{i}"',
            "    type: article",
            "    provider:",
            f"      name: {other_name}",
            f"      domain: {other_domain}",
            f"    quality: {rng.randint(1, 100)}",
        ]
    secret = "".join(
        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", k=600)
    )
    lines += ["", f'secured: "{secret}=="', "---", ""]
    return "\n".join(lines)


# The dates of a corpus: six years from 2019-01-01 (so, before 2025-01-01).
SPAN = 6 * 365 * 86400


def generate(out: Path, count: int, seed: int = 1, after: datetime | None = None) -> None:
    rng = random.Random(seed)
    topics = [f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} {i}" for i in range(300)]
    providers = [
        (f"{rng.choice(WORDS).capitalize()} Times {i}", f"news{i}.example") for i in range(400)
    ]
    urls: list[str] = []
    for n in range(count):
        folder = out / f"{n % 100:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{n:07d}.txt").write_text(
            record(rng, n, topics, providers, urls, after), encoding="utf-8"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--after",
        type=lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC),
        help="date every record in the 30 days after this day (YYYY-MM-DD), not over 6 years",
    )
    args = parser.parse_args()
    generate(args.out, args.count, args.seed, args.after)


if __name__ == "__main__":
    main()

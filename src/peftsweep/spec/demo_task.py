"""Built-in demo task: short reviews whose sentiment depends on word order.

"the plot was not dull" is positive, "the plot was dull , not great" is
negative: the word "not" flips the adjective right after it only, so a bag of
words cannot solve the task and the tuning strategies separate. Generated
deterministically from a seed; no files, no network.
"""

from __future__ import annotations

import random

SUBJECTS = ("the movie", "the film", "the plot", "the acting", "the story", "the ending",
            "the music", "the cast", "the script", "the show")
POSITIVE = ("good", "great", "excellent", "wonderful", "fun", "brilliant", "moving", "charming")
NEGATIVE = ("bad", "awful", "boring", "dull", "terrible", "weak", "silly", "poor")
PREFIXES = ("", "honestly ", "i think ", "overall ", "to be fair ")
SUFFIXES = ("", " .", " to me", " overall", " !")
SPLIT_SEEDS = {"train": 11, "validation": 22, "test": 33}
LABEL_NAMES = ("negative", "positive")


def vocabulary() -> list[str]:
    words = {"was", "not", "but", ",", ".", "!", "to", "me"}
    for phrase in SUBJECTS + POSITIVE + NEGATIVE + PREFIXES + SUFFIXES:
        words.update(phrase.split())
    return sorted(words)


def _adjective(rng: random.Random, positive: bool) -> str:
    return rng.choice(POSITIVE if positive else NEGATIVE)


def make_example(rng: random.Random) -> tuple[str, int]:
    polarity = rng.random() < 0.5
    first = _adjective(rng, polarity)
    other = _adjective(rng, not polarity)
    form = rng.randrange(4)
    if form == 0:
        body, label = first, polarity
    elif form == 1:
        body, label = f"not {first}", not polarity
    elif form == 2:
        body, label = f"{first} , not {other}", polarity
    else:
        body, label = f"not {first} but {other}", not polarity
    text = f"{rng.choice(PREFIXES)}{rng.choice(SUBJECTS)} was {body}{rng.choice(SUFFIXES)}"
    return text, int(label)


def make_split(split: str, size: int) -> dict[str, list]:
    rng = random.Random(SPLIT_SEEDS[split])
    texts, labels = zip(*(make_example(rng) for _ in range(size)), strict=True)
    return {"text": list(texts), "label": list(labels)}


def split_sizes(train_size: int) -> dict[str, int]:
    held_out = max(train_size // 5, 50)
    return {"train": train_size, "validation": held_out, "test": held_out}

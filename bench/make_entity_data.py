"""Writes the custom-entity dataset: citizen questions with communes, dates and relations.

Why it exists: the shipped data annotates mostly procedures, which gazetteers find. This set
measures the learned tagger (nlu/tagger.py) on entities no gazetteer knows: ``commune`` (the
names of the country's 3,321 communes and wards since July 2025, from the vietnam-provinces
package, MIT licence), ``date`` and ``relation`` ("cho [con](relation)"). It is written by us
from templates (free to redistribute with the project). The test file uses templates and names
the training file never saw, and a third of each file is stripped of its diacritics, as
citizens type. Rerun ``python bench/make_entity_data.py`` to rewrite both files (seeded: the
same files every time).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vietnam_provinces import Ward

from nlu.normalize import strip_diacritics
from nlu.rasa_data import AnnotatedEntity, Example, TrainingData, dump_training_data

OUT = Path(__file__).resolve().parent / "data"
DATES = ["ngày mai", "hôm nay", "thứ hai tuần sau", "chiều mai", "sáng thứ năm", "cuối tuần này",
         "tuần sau", "ngày 15/7", "ngày 20 tháng 8", "thứ sáu này", "sáng mai", "tháng sau",
         "ngày kia", "thứ ba tới", "ngày 3 tháng 9", "chiều thứ tư", "đầu tháng sau", "mùng 5"]
RELATIONS = ["con", "bố", "mẹ", "vợ", "chồng", "ông nội", "bà ngoại", "cháu", "em gái",
             "anh trai", "con gái", "con trai", "ba", "má", "ông ngoại", "bà nội", "chị gái"]
# {c} commune, {d} date, {r} relation
TRAIN_TEMPLATES = {
    "ask_office": ["ủy ban {c} ở đâu ạ", "cho hỏi địa chỉ một cửa {c}",
                   "bộ phận một cửa của {c} làm việc giờ nào", "em ở {c} thì nộp hồ sơ ở đâu",
                   "số điện thoại ubnd {c} là bao nhiêu", "nhà em thuộc {c}, nộp ở đâu ạ"],
    "book_visit": ["em muốn đặt lịch nộp hồ sơ {d} ở {c}", "đặt lịch {d} tại {c} được không",
                   "{d} em lên {c} làm giấy tờ được không", "cho em hẹn {d} ở {c}",
                   "em đặt lịch {d} nhé", "{d} ủy ban {c} có làm việc không"],
    "papers_for": ["làm giấy tờ cho {r} cần mang gì", "em làm căn cước cho {r} thì cần gì ạ",
                   "đăng ký thường trú cho {r} cần giấy gì", "xin giấy khai sinh cho {r} ở {c}",
                   "làm hộ chiếu cho {r} cần những gì", "làm thủ tục cho {r} {d} được không"],
}
TEST_TEMPLATES = {
    "ask_office": ["ubnd {c} nằm ở chỗ nào vậy", "giờ làm việc của {c} thế nào ạ",
                   "mình ở {c} thì đến đâu làm thủ tục"],
    "book_visit": ["{d} mình qua {c} nộp hồ sơ được chứ", "hẹn giúp em {d} tại {c}",
                   "em muốn đến {c} vào {d}"],
    "papers_for": ["cần giấy tờ gì để làm thủ tục cho {r}", "nộp hồ sơ cho {r} ở {c} cần gì",
                   "em muốn làm giấy tờ cho {r} vào {d}"],
}


def _fill(template: str, values: dict[str, list[str]], rng: random.Random) -> Example:
    text = ""
    entities: list[AnnotatedEntity] = []
    rest = template
    names = {"c": "commune", "d": "date", "r": "relation"}
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        text += before
        value = rng.choice(values[key])
        entities.append(AnnotatedEntity(names[key], value, len(text), len(text) + len(value)))
        text += value
    text += rest
    if rng.random() < 1 / 3:
        text = strip_diacritics(text)  # lengths are kept, so the spans hold
        entities = [AnnotatedEntity(e.entity, strip_diacritics(e.value), e.start, e.end)
                    for e in entities]
    return Example(text, "", tuple(entities))


def build(templates: dict[str, list[str]], values: dict[str, list[str]], per_template: int,
          rng: random.Random) -> TrainingData:
    """Examples of each intent from its templates."""
    examples = []
    for intent, lines in templates.items():
        for template in lines:
            for _ in range(per_template):
                example = _fill(template, values, rng)
                examples.append(Example(example.text, intent, example.entities))
    return TrainingData(examples)


def main() -> int:
    rng = random.Random(14)
    communes = sorted({ward.name for ward in Ward.iter_all()})
    rng.shuffle(communes)
    split = {"c": len(communes) * 7 // 10, "d": len(DATES) * 7 // 10,
             "r": len(RELATIONS) * 7 // 10}
    pools = {"c": communes, "d": DATES, "r": RELATIONS}
    seen = {key: pool[: split[key]] for key, pool in pools.items()}
    unseen = {key: pool[split[key]:] for key, pool in pools.items()}
    train = build(TRAIN_TEMPLATES, seen, 14, rng)
    # the test file: new templates and old ones, half the values never seen in training
    mixed = {key: seen[key][:60] + unseen[key][:60] for key in pools}
    test = build(TEST_TEMPLATES, mixed, 8, rng).merge(build(TRAIN_TEMPLATES, unseen, 2, rng))
    for name, data in (("entities_train.yml", train), ("entities_test.yml", test)):
        (OUT / name).write_text(dump_training_data(data), encoding="utf-8")
        print(f"wrote {OUT / name}: {len(data.examples)} examples")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

import json
import re
from collections import Counter

import pytest

from ffbench.data import load_prompts
from ffbench.data.config import DatasetError, load_dataset_config
from ffbench.data.ucf101 import (class_balanced, class_to_phrase, list_split_videos, load_split,
                                 parse_class_index, parse_split_list)
from ffbench.errors import ConfigError


CFG = load_dataset_config("ucf101")


@pytest.mark.parametrize("name, phrase", [
    ("ApplyEyeMakeup", "apply eye makeup"), ("YoYo", "yo-yo"), ("PlayingDaf", "playing daf"),
    ("JumpingJack", "jumping jack"), ("PlayingTabla", "playing tabla"), ("Skijet", "jet ski"),
    ("WalkingWithDog", "walking with dog"), ("BlowDryHair", "blow dry hair"), ("TaiChi", "tai chi"),
    ("HandstandPushups", "handstand push-ups"), ("HandStandPushups", "handstand push-ups"),
    ("RockClimbingIndoor", "rock climbing indoor"), ("CleanAndJerk", "clean and jerk"),
])
def test_class_names_become_phrases(name, phrase):
    assert class_to_phrase(name) == phrase


def test_every_shipped_class_has_a_readable_phrase():
    for name in CFG.prompts.class_prompts:
        p = class_to_phrase(name)
        assert p == p.lower() and re.fullmatch(r"[a-z -]+", p), (name, p)


def test_parse_class_index_official_format(tmp_path, fx):
    d = fx.write_ucf_splits(tmp_path)
    classes = parse_class_index(d / "classInd.txt")
    assert [c.name for c in classes] == fx.UCF_CLASSES
    assert [c.index for c in classes] == [1, 2, 3, 4, 5]
    assert classes[4].phrase == "yo-yo"


def test_parse_split_lists_with_the_handstand_spelling_quirk(tmp_path, fx):
    d = fx.write_ucf_splits(tmp_path)
    classes = parse_class_index(d / "classInd.txt")
    train = parse_split_list(d / "trainlist01.txt", classes)
    test = parse_split_list(d / "testlist01.txt", classes)
    assert len(train) == 10 and len(test) == 5
    hs = [v for v in train if v.class_name == "HandstandPushups"]
    assert hs[0].relpath == "HandstandPushups/v_HandStandPushups_g08_c01.avi" and hs[0].label == 2
    assert test[-1].class_name == "YoYo" and test[-1].label == 5


def test_classind_spelled_HandStandPushups_still_matches(tmp_path, fx):
    names = [("HandStandPushups" if c == "HandstandPushups" else c) for c in fx.UCF_CLASSES]
    d = fx.write_ucf_splits(tmp_path, classind_names=names)
    classes, videos = load_split(CFG, tmp_path, "train+test", 1)
    assert classes[1].name == "HandStandPushups"
    assert sum(v.label == 2 for v in videos) == 3
    ps = load_prompts("ucf101", n=10, seed=0, root=tmp_path)
    # the shipped prompt is found case-insensitively, not the generic template
    assert "a person doing handstand push-ups" in ps.prompts
    assert "templated_classes" not in ps.provenance
    assert ps.provenance["class_index"].endswith("classInd.txt")


def test_missing_and_malformed_files_name_the_file_and_its_source(tmp_path, fx):
    with pytest.raises(DatasetError, match="UCF101TrainTestSplits") as e:
        parse_class_index(tmp_path / "classInd.txt")
    assert "classInd.txt" in str(e.value)
    bad = tmp_path / "classInd.txt"
    bad.write_text("1 ApplyEyeMakeup\n2 Apply Lipstick\n")
    with pytest.raises(DatasetError, match=r"classInd.txt:2"):
        parse_class_index(bad)
    bad.write_text("1 ApplyEyeMakeup\n3 Archery\n")
    with pytest.raises(DatasetError, match="must run 1..2"):
        parse_class_index(bad)
    d = fx.write_ucf_splits(tmp_path / "r")
    classes = parse_class_index(d / "classInd.txt")
    lst = tmp_path / "trainlist01.txt"
    lst.write_text("YoYo/v_YoYo_g01_c01.avi 3\n")
    with pytest.raises(DatasetError, match="disagrees with classInd"):
        parse_split_list(lst, classes)
    lst.write_text("Bowling/v_Bowling_g01_c01.avi\n")
    with pytest.raises(DatasetError, match="'Bowling' is not in classInd"):
        parse_split_list(lst, classes)
    (tmp_path / "empty_root").mkdir()
    with pytest.raises(DatasetError, match="classInd.txt not found under"):
        load_split(CFG, tmp_path / "empty_root")


def test_split_videos_on_disk_and_missing_ones_reported(tmp_path, fx):
    fx.write_ucf_splits(tmp_path)
    written = fx.write_ucf_videos(tmp_path, frames=3, skip={"YoYo/v_YoYo_g01_c01.avi"})
    vdir, files, missing = list_split_videos(CFG, tmp_path, "test", 1)
    assert vdir == tmp_path / "UCF-101"
    assert missing == ["YoYo/v_YoYo_g01_c01.avi"]
    assert len(files) == 4
    _, files_all, missing_all = list_split_videos(CFG, tmp_path, "train+test", 1)
    assert len(files_all) == len(written) == 14 and len(missing_all) == 1


def test_prompts_reproducible_by_seed_and_class_balanced():
    a = load_prompts("ucf101", n=2 * 101 + 7, seed=3)
    b = load_prompts("ucf101", n=2 * 101 + 7, seed=3)
    c = load_prompts("ucf101", n=2 * 101 + 7, seed=4)
    assert a == b and a.content_hash == b.content_hash
    assert a.labels != c.labels
    counts = Counter(a.labels)
    assert len(counts) == 101 and set(counts.values()) == {2, 3}
    assert sum(v == 3 for v in counts.values()) == 7
    # each prompt is its class's fixed prompt
    shipped = CFG.prompts.class_prompts
    assert all(p == shipped[lab] for p, lab in zip(a.prompts, a.labels))


def test_prompts_prefix_stable_and_every_prefix_balanced():
    big = load_prompts("ucf101", n=300, seed=0)
    small = load_prompts("ucf101", n=150, seed=0)
    assert big.prompts[:150] == small.prompts and big.sample_ids[:150] == small.sample_ids
    for k in (50, 101, 160, 300):
        counts = Counter(big.labels[:k])
        assert max(counts.values()) - min(counts.get(c, 0) for c in CFG.prompts.class_prompts) <= 1


def test_sample_ids_are_positions_not_text():
    ps = load_prompts("ucf101", n=12, seed=0)
    assert ps.sample_ids[0] == "ucf101-00000" and ps.sample_ids[11] == "ucf101-00011"
    assert ps.seed == 0 and ps.sampling == "class-balanced"
    assert ps.provenance["config_sha256"] == CFG.sha256
    assert "seed=0" in ps.describe()


def test_class_balanced_small_helper():
    labels = class_balanced(["a", "b", "c"], 7, seed=1)
    assert Counter(labels) in (Counter(a=3, b=2, c=2), Counter(a=2, b=3, c=2), Counter(a=2, b=2, c=3))
    assert set(labels[:3]) == {"a", "b", "c"}


def test_user_prompt_files(tmp_path):
    names = list(CFG.prompts.class_prompts)
    txt = tmp_path / "p.txt"
    txt.write_text("# PYoCo-style sentences\n" + "\n".join(f"sentence for {n}" for n in names) + "\n")
    ps = load_prompts("ucf101", n=101, seed=0, prompt_file=txt)
    assert all(p == f"sentence for {lab}" for p, lab in zip(ps.prompts, ps.labels))
    assert ps.provenance["prompt_file_sha256"] and ps.provenance["prompt_file"].endswith("p.txt")
    js = tmp_path / "p.json"
    js.write_text(json.dumps({n.lower(): f"j {n}" for n in names}))
    assert load_prompts("ucf101", n=5, seed=0, prompt_file=js).prompts[0].startswith("j ")
    tm = tmp_path / "p.toml"
    tm.write_text("[prompts]\n" + "\n".join(f'{n} = "t {n}"' for n in names))
    assert load_prompts("ucf101", n=5, seed=0, prompt_file=tm).prompts[0].startswith("t ")
    txt.write_text("only one line\n")
    with pytest.raises(ConfigError, match="1 prompts for 101 classes"):
        load_prompts("ucf101", n=5, prompt_file=txt)
    js.write_text(json.dumps({"NotAClass": "x"}))
    with pytest.raises(ConfigError, match="unknown class 'NotAClass'"):
        load_prompts("ucf101", n=5, prompt_file=js)
    with pytest.raises(ConfigError, match="does not exist"):
        load_prompts("ucf101", n=5, prompt_file=tmp_path / "nope.txt")


def test_prompt_set_save_load_roundtrip(tmp_path):
    from ffbench.data import PromptSet

    ps = load_prompts("ucf101", n=7, seed=2)
    path = ps.save(tmp_path / "sub" / "prompts.json")
    back = PromptSet.load(path)
    assert back == ps and back.provenance == ps.provenance and back.item("ucf101-00003") == list(ps)[3]
    path.write_text(path.read_text().replace(ps.prompts[0], "edited prompt"))
    with pytest.raises(ConfigError, match="content hash mismatch"):
        PromptSet.load(path)

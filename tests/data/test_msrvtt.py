import json

import pytest

from ffbench.data import load_prompts
from ffbench.data.config import DatasetError, load_dataset_config
from ffbench.data.msrvtt import (list_split_videos, load_annotations, parse_jsfusion_csv,
                                 parse_videodatainfo)
from ffbench.errors import ConfigError

CFG = load_dataset_config("msrvtt")


def test_parse_test_videodatainfo(tmp_path, fx):
    fx.write_msrvtt(tmp_path, n_test=4, n_caps=3)
    ann = parse_videodatainfo(tmp_path / "test_videodatainfo.json")
    assert [v.video_id for v in ann.videos] == ["video7010", "video7011", "video7012", "video7013"]
    assert all(v.split == "test" for v in ann.videos)
    assert ann.videos[0].start == 1.5 and ann.videos[0].category == 3
    assert ann.captions["video7012"][0][1] == "caption 0 of video 7012"
    assert ann.num_captions == 12


def test_parse_train_val_splits(tmp_path, fx):
    fx.write_msrvtt(tmp_path)
    train = load_annotations(CFG, tmp_path, "train")
    val = load_annotations(CFG, tmp_path, "validate")
    assert [v.video_id for v in train.videos] == ["video0"] and train.num_captions == 2
    assert [v.video_id for v in val.videos] == ["video6513"]


def test_parse_jsfusion_1ka_csv(tmp_path, fx):
    fx.write_msrvtt(tmp_path)
    ann = parse_jsfusion_csv(tmp_path / "MSRVTT_JSFUSION_test.csv")
    assert [v.video_id for v in ann.videos] == ["video7010", "video7011", "video7012"]
    assert ann.captions["video7011"][0][1] == "a person is connecting something 1"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,sentence\n1,x\n")
    with pytest.raises(DatasetError, match="key,vid_key,video_id,sentence") as e:
        parse_jsfusion_csv(bad)
    assert "bad.csv" in str(e.value)


def test_malformed_and_missing_files_name_file_and_source(tmp_path):
    f = tmp_path / "test_videodatainfo.json"
    with pytest.raises(DatasetError, match="MSR-VTT release"):
        parse_videodatainfo(f)
    f.write_text("{not json")
    with pytest.raises(DatasetError, match="not valid JSON") as e:
        parse_videodatainfo(f)
    assert str(f) in str(e.value)
    f.write_text(json.dumps({"videos": [{"video_id": "clip1", "split": "test"}], "sentences": []}))
    with pytest.raises(DatasetError, match=r"videos\[0\].*video1234"):
        parse_videodatainfo(f)
    f.write_text(json.dumps({"videos": [{"video_id": "video1", "split": "test"}],
                             "sentences": [{"video_id": "video2", "caption": "x", "sen_id": 0}]}))
    with pytest.raises(DatasetError, match="unknown video 'video2'"):
        parse_videodatainfo(f)
    (tmp_path / "x").mkdir()
    with pytest.raises(DatasetError, match="test_json not found under"):
        load_annotations(CFG, tmp_path / "x", "test")


def test_one_caption_per_video_reproducible_by_seed(tmp_path, fx):
    fx.write_msrvtt(tmp_path, n_test=10, n_caps=20)
    a = load_prompts("msrvtt", seed=0, root=tmp_path)
    b = load_prompts("msrvtt", seed=0, root=tmp_path)
    c = load_prompts("msrvtt", seed=1, root=tmp_path)
    assert a == b
    assert len(a) == 10 and sorted(a.video_ids) == [f"video{7010 + i}" for i in range(10)]
    assert dict(zip(a.video_ids, a.prompts)) != dict(zip(c.video_ids, c.prompts))
    for vid, p in zip(a.video_ids, a.prompts):
        assert p.startswith("caption ") and p.endswith(f"of video {vid[5:]}")
    assert a.provenance["annotation_sha256"] and a.provenance["split"] == "test"
    assert a.provenance["expected_videos"] == 2990 and a.provenance["num_videos"] == 10


def test_caption_choice_does_not_depend_on_n_and_prefix_is_stable(tmp_path, fx):
    fx.write_msrvtt(tmp_path, n_test=10, n_caps=20)
    full = load_prompts("msrvtt", seed=5, root=tmp_path)
    part = load_prompts("msrvtt", n=4, seed=5, root=tmp_path)
    part6 = load_prompts("msrvtt", n=6, seed=5, root=tmp_path)
    chosen = dict(zip(full.video_ids, full.prompts))
    assert all(chosen[v] == p for v, p in zip(part.video_ids, part.prompts))
    assert part6.prompts[:4] == part.prompts and part.sample_ids[0] == "msrvtt-00000"
    with pytest.raises(ConfigError, match="asked for n=11"):
        load_prompts("msrvtt", n=11, root=tmp_path)


def test_all_captions_and_1ka(tmp_path, fx, monkeypatch):
    fx.write_msrvtt(tmp_path, n_test=3, n_caps=4)
    allc = load_prompts("msrvtt", root=tmp_path, sampling="all-captions")
    assert len(allc) == 12 and len(set(allc.prompts)) == 12
    monkeypatch.setenv("FFBENCH_MSRVTT_ROOT", str(tmp_path))  # root from the environment
    ka = load_prompts("msrvtt", split="1k-a")
    assert ka.video_ids == ("video7010", "video7011", "video7012")
    with pytest.raises(ConfigError, match="split must be one of"):
        load_prompts("msrvtt", split="val")
    with pytest.raises(ConfigError, match="class-based"):
        load_prompts("msrvtt", prompt_file=tmp_path / "x.txt")


def test_test_split_videos_found_and_missing_reported(tmp_path, fx):
    fx.write_msrvtt(tmp_path, n_test=4, n_caps=1)
    vd = tmp_path / "TestVideo"
    vd.mkdir()
    for i in (0, 1, 3):
        (vd / f"video{7010 + i}.mp4").write_bytes(b"x")
    (vd / "video42.mp4").write_bytes(b"x")  # not in the test split
    d, files, missing = list_split_videos(CFG, tmp_path)
    assert d == vd and [f.name for f in files] == ["video7010.mp4", "video7011.mp4", "video7013.mp4"]
    assert missing == ["video7012"]

"""Small fixtures in the official UCF-101 / MSR-VTT formats, written by the tests themselves.

A module of its own (not conftest.py): several test folders have a conftest, so `conftest` is
an ambiguous module name."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

UCF_CLASSES = ["ApplyEyeMakeup", "HandstandPushups", "PlayingDaf", "Skijet", "YoYo"]


def write_ucf_splits(root: Path, classes=UCF_CLASSES, classind_names=None) -> Path:
    """ucfTrainTestlist/ with classInd.txt, trainlist01.txt, testlist01.txt (CRLF, as shipped)."""
    d = root / "ucfTrainTestlist"
    d.mkdir(parents=True, exist_ok=True)
    names = classind_names or classes
    (d / "classInd.txt").write_bytes("".join(f"{i} {c}\r\n" for i, c in enumerate(names, 1)).encode())
    train, test = [], []
    for i, c in enumerate(classes, 1):
        file_cls = "HandStandPushups" if c == "HandstandPushups" else c  # the official quirk
        train.append(f"{c}/v_{file_cls}_g08_c01.avi {i}\r\n")
        train.append(f"{c}/v_{file_cls}_g09_c02.avi {i}\r\n")
        test.append(f"{c}/v_{file_cls}_g01_c01.avi\r\n")
    (d / "trainlist01.txt").write_bytes("".join(train).encode())
    (d / "testlist01.txt").write_bytes("".join(test).encode())
    return d


def write_avi(path: Path, frames: int, size: int = 32) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(frames):
            img = np.full((size, size, 3), (i * 9) % 256, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def write_ucf_videos(root: Path, frames: int = 20, skip=()) -> list[str]:
    """UCF-101/<Class>/v_<Class>_gGG_cCC.avi for every entry of the split lists (except skip)."""
    written = []
    for lst in ("trainlist01.txt", "testlist01.txt"):
        for line in (root / "ucfTrainTestlist" / lst).read_text().splitlines():
            rel = line.split()[0]
            if rel in skip:
                continue
            write_avi(root / "UCF-101" / rel, frames)
            written.append(rel)
    return written


def counter_video(t: int, size: int = 8) -> np.ndarray:
    """uint8 [t,size,size,3] whose frame i is filled with value i: a clip reveals its frame indices."""
    return np.broadcast_to(np.arange(t, dtype=np.uint8)[:, None, None, None], (t, size, size, 3)).copy()


def msrvtt_json(videos: dict[str, tuple[str, list[str]]], start_sen: int = 0) -> dict:
    """videodatainfo JSON: videos = {video_id: (split, [captions])}."""
    vids, sents, sen = [], [], start_sen
    for vid, (split, caps) in videos.items():
        vids.append({"category": 3, "url": f"https://www.youtube.com/watch?v={vid}", "video_id": vid,
                     "start time": 1.5, "end time": 11.5, "split": split, "id": int(vid[5:])})
        for c in caps:
            sents.append({"caption": c, "video_id": vid, "sen_id": sen})
            sen += 1
    return {"info": {"contributor": "test", "data_created": "2016", "version": "1.0",
                     "year": 2016, "description": "fixture"}, "videos": vids, "sentences": sents}


def write_msrvtt(root: Path, n_test: int = 10, n_caps: int = 20) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    # listed out of order on purpose: parsers sort by video number
    test = {f"video{7010 + i}": ("test", [f"caption {j} of video {7010 + i}" for j in range(n_caps)])
            for i in reversed(range(n_test))}
    (root / "test_videodatainfo.json").write_text(json.dumps(msrvtt_json(test, 180000)))
    tv = {"video0": ("train", ["a man is talking", "someone talks"]),
          "video6513": ("validate", ["a cat plays"])}
    (root / "train_val_videodatainfo.json").write_text(json.dumps(msrvtt_json(tv)))
    rows = ["key,vid_key,video_id,sentence"] + [
        f"ret{i},msr{7010 + i},video{7010 + i},a person is connecting something {i}" for i in range(3)]
    (root / "MSRVTT_JSFUSION_test.csv").write_text("\n".join(rows) + "\n")
    return root

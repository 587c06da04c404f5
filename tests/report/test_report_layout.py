"""The HTML report's layout, measured in headless Chromium at 1400 px (issue 22).

Load errors are test_report_html.py's job; this test measures boxes: metric headers such as
`fvd@stylegan-v-2048x16↓` and `is@c3d-ucf101↑` keep their text inside their own cell (so
neighbours cannot overlap), every table fits its card or the card scrolls (the page never scrolls
sideways), a 10,000-character prompt does not stretch the video grid, videos fetch nothing until
played, and the profile table has human labels. Chromium is required (see test_report_html.py).
"""
from __future__ import annotations

import json

import pytest

from ffbench.report.builder import build_report

from _report_browser import Browser

H_IS, H_FVD, H_CLIP, W_SHA = "1" * 64, "2" * 64, "4" * 64, "ab" * 32  # as tests/report/conftest.py

WIDTH = 1400

MEASURE = r"""(() => {
  const box = e => e.getBoundingClientRect();
  const textBox = e => { const r = document.createRange(); r.selectNodeContents(e);
                         return r.getBoundingClientRect(); };
  const headers = [];
  for (const tr of document.querySelectorAll('table thead tr')) {
    const cells = [...tr.children].filter(c => c.offsetParent !== null);
    cells.forEach((th, i) => {
      const b = box(th), t = textBox(th);
      const next = cells[i + 1] ? textBox(cells[i + 1]) : null;
      headers.push({text: th.innerText, cell: [b.left, b.right], textBox: [t.left, t.right],
                    overflow: th.scrollWidth - th.clientWidth,
                    nextText: next ? [next.left, next.right, next.top, next.bottom] : null,
                    top: t.top, bottom: t.bottom, section: th.closest('section').id});
    });
  }
  const tables = [...document.querySelectorAll('table')].filter(t => t.offsetParent !== null).map(t => {
    const card = t.closest('.card');
    const cs = card ? getComputedStyle(card) : null;
    return {section: t.closest('section').id, cls: t.className, hasCard: !!card,
            tableRight: box(t).right, cardRight: card ? box(card).right : null,
            cardScrolls: card ? (cs.overflowX === 'auto' || cs.overflowX === 'scroll') : false,
            cardScrollWidth: card ? card.scrollWidth : null,
            cardClientWidth: card ? card.clientWidth : null};
  });
  const videoRows = [...document.querySelectorAll('table.videos tbody tr')].map(r => box(r).height);
  const prompts = [...document.querySelectorAll('table.videos th.prompt')].map(th => ({
    title: th.getAttribute('title'), shown: th.querySelector('.prompt-text').innerText,
    tagged: !!th.querySelector('.tag'), height: box(th).height}));
  const videos = [...document.querySelectorAll('video')].map(v => ({
    preload: v.getAttribute('preload'), poster: v.getAttribute('poster'), ready: v.readyState}));
  const profile = [...document.querySelectorAll('#profile thead th')].map(th => th.innerText);
  return {pageScrollWidth: document.documentElement.scrollWidth, viewport: window.innerWidth,
          headers, tables, videoRows, prompts, videos, profile};
})()"""

LONG_PROMPT = ("a very long prompt " * 600).strip()  # ~11,400 characters


@pytest.fixture
def layout_report(tmp_path, run_dirs, fixed_store, make_run_dir):
    """The usual fixture runs plus one with a 10,000-character prompt, a hostile model name, all
    three long metric headers, and a profile with every field `ffbench profile` writes."""
    s = lambda m, p, h, v: {"metric": m, "protocol": p, "protocol_hash": h, "value": v, "n": 2,  # noqa: E731
                            "std": None, "weights_sha256": W_SHA, "random_weights": True, "extra": {}}
    odd = make_run_dir(tmp_path / "runs", "odd-run", "<script>alert(1)</script>|x",
                        [LONG_PROMPT, "short prompt"], True, True,
                        [s("fvd", "fvd@stylegan-v-2048x16", H_FVD, 123456.789),
                         s("is", "is@c3d-ucf101", H_IS, 1.2345),
                         s("clipsim", "clipsim@vit-b-32", H_CLIP, 0.2)])
    first = odd / "samples" / "s000.json"  # the engine marks prompts an encoder truncated
    first.write_text(json.dumps({**json.loads(first.read_text()), "prompt_truncated": True}))
    prof = tmp_path / "profile"
    prof.mkdir()
    row = {"stage": "interpolation", "variant": "fusionframes", "pass": 1, "preset": "full",
           "height": 512, "width": 512, "keyframes": 15, "fps": "high", "steps": 50,
           "guidance": True, "decoder": "image", "device": "meta", "frames_in": 57,
           "frames_out": 225, "batch": 1, "calls": 56, "flops_per_call": 3.2e13, "flops": 1.8e15,
           "params": 3.9e9, "weights_bytes_fp32": 1.56e10, "weights_bytes_fp16": 7.8e9,
           "weights_bytes_bf16": 7.8e9, "activation_bytes": 2.1e9, "top_modules": [["a.b", 1e12]],
           "model": "fusionframes"}
    (prof / "profile.json").write_text(json.dumps([row, {**row, "stage": "mfi", "variant": "mfi"}]))
    out = tmp_path / "report"
    index = build_report([*run_dirs, odd], out, ["html", "md"], profile_dir=prof, store=fixed_store)
    return index


def _intersects(a, b) -> bool:
    """Two [left, right, top, bottom] boxes overlap by more than a pixel."""
    return min(a[1], b[1]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[2], b[2]) > 1


def test_report_layout_measured_in_chromium(chromium, layout_report, tmp_path):
    html = layout_report.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    browser = Browser(chromium, tmp_path / "chromium-profile", width=WIDTH, height=900)
    try:
        browser.open(layout_report.as_uri())
        browser.pump(0.5)
        m = browser.evaluate(MEASURE)
        urls = browser.requested_urls()
    finally:
        browser.close()

    # the page never scrolls sideways: wide tables scroll inside their cards
    assert m["pageScrollWidth"] <= m["viewport"], (m["pageScrollWidth"], m["viewport"])
    for t in m["tables"]:
        assert t["hasCard"], t
        fits = t["tableRight"] <= t["cardRight"] + 1
        assert fits or (t["cardScrolls"] and t["cardScrollWidth"] > t["cardClientWidth"]), t
        assert t["cardRight"] <= m["viewport"], t

    # header text stays inside its own cell, so neighbouring headers cannot overlap
    texts = [h["text"].replace("\n", "") for h in m["headers"]]
    assert "fvd@stylegan-v-2048x16↓" in texts and "is@c3d-ucf101↑" in texts, texts
    for h in m["headers"]:
        assert h["overflow"] <= 1, h
        assert h["textBox"][0] >= h["cell"][0] - 1 and h["textBox"][1] <= h["cell"][1] + 1, h
        if h["nextText"]:
            mine = [h["textBox"][0], h["textBox"][1], h["top"], h["bottom"]]
            assert not _intersects(mine, h["nextText"]), h

    # the 10,000-character prompt is cut (full text on hover) and its row stays short
    long_rows = [p for p in m["prompts"] if p["title"] == LONG_PROMPT]
    assert len(long_rows) == 1 and len(long_rows[0]["shown"]) < 300, long_rows
    assert long_rows[0]["shown"].endswith("…") and long_rows[0]["tagged"]
    assert not [p for p in m["prompts"] if p["title"] == "short prompt"][0]["tagged"]
    assert max(m["videoRows"]) < 400, m["videoRows"]

    # videos: posters only until played
    assert m["videos"] and all(v["preload"] == "none" and v["poster"] for v in m["videos"]), m["videos"]
    assert [u for u in urls if u.endswith(".mp4")] == []

    # the profile table speaks English, not field names
    assert "FLOPs" in m["profile"] and "Frames out" in m["profile"], m["profile"]
    assert not [h for h in m["profile"] if "_" in h], m["profile"]


def test_markdown_escapes_model_names(layout_report):
    md = (layout_report.parent / "tables" / "results.md").read_text()
    assert "<script>" not in md and "&lt;script>alert(1)&lt;/script>\\|x" in md

"""The HTML report in headless Chromium: no console errors, every image and video loads,
nothing outside the report folder is requested, and a screenshot is saved.

Chromium is required (CI installs Debian's `chromium` via .ci/run): without it this test fails
with a message saying so rather than skipping.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ffbench.report.builder import build_report

from _report_browser import Browser

WAIT_MEDIA = """(async () => {
  const vids = [...document.querySelectorAll('video')];
  const preloads = vids.map(v => v.getAttribute('preload'));
  // preload="none" (posters only until played): load each clip now to check that it decodes
  vids.forEach(v => { v.preload = 'auto'; v.load(); });
  const imgs = [...document.images];
  const deadline = Date.now() + 20000;
  const pending = () => vids.some(v => v.readyState < 2 && !v.error) ||
                        imgs.some(i => !i.complete);
  while (Date.now() < deadline && pending()) await new Promise(r => setTimeout(r, 100));
  return {
    images: imgs.map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0})),
    videos: vids.map(v => ({src: v.getAttribute('src'), ready: v.readyState,
                            error: v.error ? v.error.code : null, poster: v.getAttribute('poster'),
                            controls: v.controls, muted: v.muted, loop: v.loop})),
    posters: await Promise.all(vids.filter(v => v.poster).map(v => new Promise(res => {
      const im = new Image(); im.onload = () => res({src: v.poster, ok: im.naturalWidth > 0});
      im.onerror = () => res({src: v.poster, ok: false}); im.src = v.poster; }))),
    banner: !!document.getElementById('random-weights-banner'),
    preloads,
    text: document.body.innerText,
  };
})()"""


def test_html_report_in_chromium(chromium, run_dirs, profile_dir, fixed_store, tmp_path):
    out = tmp_path / "report"
    index = build_report(run_dirs, out, ["html", "md", "latex", "csv"], profile_dir=profile_dir,
                         store=fixed_store)
    assert index == out / "index.html"
    html = index.read_text()
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "&lt;blue&gt;" in html and "<blue>" not in html  # prompt text is escaped
    for key in ("results", "table1", "table2", "table3"):
        for suffix in ("md", "tex", "csv"):
            assert (out / "tables" / f"{key}.{suffix}").is_file()

    browser = Browser(chromium, tmp_path / "chromium-profile")
    try:
        browser.open(index.as_uri())
        state = browser.evaluate(WAIT_MEDIA)
        browser.pump(0.3)
        shot = browser.screenshot(tmp_path / "report.png")
        errors = browser.errors()
        urls = browser.requested_urls()
    finally:
        browser.close()
    if os.environ.get("FFBENCH_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["FFBENCH_SCREENSHOT_DIR"]) / "report.png")

    assert errors == []
    assert [u for u in urls if not u.startswith(("file://", "data:"))] == []
    for u in (u for u in urls if u.startswith("file://")):
        assert u.startswith(out.as_uri()), f"report loads a file outside its folder: {u}"
    assert len(state["images"]) >= 6 and all(i["ok"] for i in state["images"]), state["images"]
    # 2 runs x 2 prompts; every video decodes at least its current frame (HAVE_CURRENT_DATA)
    assert len(state["videos"]) == 4
    assert state["preloads"] == ["none"] * 4  # nothing fetched until asked (issue 22)
    for v in state["videos"]:
        assert v["error"] is None and v["ready"] >= 2, v
        assert v["controls"] and v["muted"] and v["loop"] and v["poster"], v
    assert len(state["posters"]) == 4 and all(p["ok"] for p in state["posters"]), state["posters"]
    assert state["banner"] and "Random weights." in state["text"]
    for text in ("Text-to-video: IS and FVD on UCF-101", "CogVideo (English)", "701.59†",
                 "weights sha256", "s999 [decode]"):
        assert text in state["text"], text
    assert shot.stat().st_size > 10_000


def test_no_banner_without_random_weights(run_dirs, tmp_path):
    index = build_report(run_dirs[1:], tmp_path / "r", "html")
    html = index.read_text()
    assert "random-weights-banner" not in html and "tiny-baseline" in html
    assert not (tmp_path / "r" / "tables").exists()  # only html asked for


def test_banner_when_only_a_score_is_random(run_dirs, tmp_path):
    import json

    res = json.loads((run_dirs[1] / "results.json").read_text())
    res["scores"][0]["random_weights"] = True  # e.g. a random-weights extractor
    (run_dirs[1] / "results.json").write_text(json.dumps(res))
    html = build_report(run_dirs[1:], tmp_path / "r", "html").read_text()
    assert 'id="random-weights-banner"' in html

"""`seg report` through the real CLI on tiny runs (a two-run sweep and an eval with worst panels), and the pages
opened in a real headless Chromium: every image loads, a header click sorts, the screenshot is not blank."""

import base64
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import FAST_TRAIN, read_metrics, run_seg

pytestmark = pytest.mark.slow
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Appended to a copy of a page: once it has loaded, write each image's decoded width and, after clicking the
# header named SORT_BY, the first column of its table into the DOM that --dump-dom prints.
PROBE = """<script>
window.addEventListener("load", function () {
  var out = {images: [], sorted: null};
  document.querySelectorAll("img").forEach(function (img) { out.images.push([img.alt, img.naturalWidth]); });
  var th = Array.prototype.find.call(document.querySelectorAll("table.sortable th"),
                                     function (h) { return h.textContent === "SORT_BY"; });
  if (th) {
    th.click();
    out.sorted = Array.prototype.map.call(th.closest("table").tBodies[0].rows,
                                          function (r) { return r.cells[0].textContent; });
  }
  var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A two-job `seg train -m` sweep and a `seg eval eval.worst=2` of its first job."""
    root = tmp_path_factory.mktemp("report")
    result = run_seg("train", "-m", "optimizer.lr=0.01,0.02", *FAST_TRAIN, cwd=root)
    assert result.returncode == 0, result.stderr
    (sweep,) = (root / "multirun" / "train").glob("*/*")
    ckpt = sweep / "0" / "checkpoints" / "best.pt"
    result = run_seg("eval", f"ckpt={ckpt}", "workers=0", "eval.worst=2", cwd=root)
    assert result.returncode == 0, result.stderr
    (evaluation,) = (root / "outputs" / "eval").glob("*/*")
    return {"root": root, "sweep": sweep, "eval": evaluation}


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def test_one_run_folder_gets_its_report_rewritten(runs):
    run = runs["eval"]
    (run / "report.html").unlink(missing_ok=True)
    result = run_seg("report", str(run), cwd=runs["root"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"seg report: 1 run(s); page written to {run / 'report.html'}"
    page = (run / "report.html").read_text()
    pictures = [*run.glob("*.png"), *run.glob("worst/*.png")]
    assert len(list(run.glob("worst/rank*.png"))) == 2
    assert all(data_uri(p) in page for p in pictures)
    assert f'miou <b>{read_metrics(run)["miou"]:.4f}</b>' in page and "seg eval " in page and "eval.worst=2" in page


def test_a_multirun_folder_gets_one_page_comparing_its_runs(runs):
    sweep = runs["sweep"]
    result = run_seg("report", str(sweep), cwd=runs["root"])
    assert result.returncode == 0, result.stderr
    page = (sweep / "report.html").read_text()
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r"<th>(.*?)</th>", header)[:3] == ["run", "optimizer.lr", "miou"]
    assert re.search(r">0</(a|td)>.*?<td>0.01</td>", page) and re.search(r">1</(a|td)>.*?<td>0.02</td>", page)
    with_history = any((sweep / job / "history.json").is_file() for job in ("0", "1"))
    assert ('alt="curves of every run"' in page) == with_history


def test_runs_named_one_by_one_and_out_relative_to_where_seg_started(runs):
    jobs = [str(runs["sweep"] / "0"), str(runs["sweep"] / "1")]
    result = run_seg("report", *jobs, "out=pages/compare.html", cwd=runs["root"])
    assert result.returncode == 0, result.stderr
    page = (runs["root"] / "pages" / "compare.html").read_text()
    assert "seg report: 2 runs" in page and page.count("<tr>") == 3


@pytest.mark.parametrize("words, message", [
    (["missing"], "missing is not a folder"),
    (["outputs/eval"], None),  # a folder of runs: fine (one run below it)
    (["pages"], "no run folders in"),
    ([], "name the runs: seg report RUN_DIR"),
    (["outputs/eval", "out=pages/a_file/bad.html"], "cannot write"),
    (["outputs/eval", "out=pages"], "pages is a folder"),
])
def test_bad_input_is_one_line(runs, words, message):
    (runs["root"] / "pages").mkdir(exist_ok=True)
    (runs["root"] / "pages" / "a_file").write_text("")
    out = [] if any(word.startswith("out=") for word in words) else ["out=pages/bad.html"]
    result = run_seg("report", *words, *out, cwd=runs["root"])
    if message is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def chromium() -> list[str]:
    """The browser command line, or a skip saying why there is none."""
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        pytest.skip(f"no headless browser: none of {', '.join(BROWSERS)} is on PATH (install the system's chromium "
                    "package to open report.html in a real browser)")
    command = [found, "--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars", "--mute-audio"]
    return command + (["--no-sandbox"] if os.geteuid() == 0 else [])  # Chromium refuses root with its sandbox


def browse(page: Path, tmp_path: Path, sort_by: str = "") -> dict:
    """What the probe saw in a copy of `page` opened by Chromium: each image's width, the rows after a sort."""
    probe = tmp_path / f"probe_{page.parent.name}.html"
    probe.write_text(page.read_text().replace("</body>", PROBE.replace("SORT_BY", sort_by) + "</body>"))
    result = subprocess.run([*chromium(), f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
                             "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


def test_chromium_loads_every_image_of_the_run_page(runs, tmp_path):
    page = runs["eval"] / "report.html"
    if not page.is_file():
        assert run_seg("report", str(runs["eval"]), cwd=runs["root"]).returncode == 0
    seen = browse(page, tmp_path, sort_by="iou")
    pictures = [*runs["eval"].glob("*.png"), *runs["eval"].glob("worst/*.png")]
    assert len(seen["images"]) == len(pictures) >= 2
    assert all(width > 0 for _, width in seen["images"]), seen["images"]
    ious = read_metrics(runs["eval"])["per_class_iou"]
    ranked = sorted(ious, key=lambda name: (ious[name] is None, ious[name] or 0))  # n/a last, as the page sorts
    assert [ious[name] for name in seen["sorted"]] == [ious[name] for name in ranked]


def test_chromium_loads_the_comparison_page_and_sorts_by_a_metric(runs, tmp_path):
    sweep = runs["sweep"]
    assert run_seg("report", str(sweep), cwd=runs["root"]).returncode == 0
    seen = browse(sweep / "report.html", tmp_path, sort_by="optimizer.lr")
    assert all(width > 0 for _, width in seen["images"]), seen["images"]
    assert seen["sorted"] == ["0", "1"]


def test_chromium_screenshot_of_the_run_page_is_not_blank(runs, tmp_path):
    page = runs["eval"] / "report.html"
    if not page.is_file():
        assert run_seg("report", str(runs["eval"]), cwd=runs["root"]).returncode == 0
    shot = tmp_path / "shot.png"
    result = subprocess.run([*chromium(), f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                             "--window-size=1200,1600", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.is_file(), result.stderr[-2000:]
    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, tables and pictures, not a white page

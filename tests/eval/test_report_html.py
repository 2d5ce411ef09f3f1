"""The HTML report: self-contained, and a real browser draws its charts.

The screenshot test opens the page in headless Chromium (skipped where there is none)
and checks the picture for the bar colours, so the SVG really rendered."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from alc_mcp.eval_cli import eval_command
from alc_mcp.report_html import PALETTE, PASS, render
from alc_mcp.responder import LlmConfig
from alc_mcp.store.cards import CardStore
from tests.eval.fake_llm import FakeLlm
from tests.eval.support import FACTUAL, cot_reply

CHROMIUM = next(
    (
        p
        for p in (shutil.which("chromium"), shutil.which("chromium-browser"), "/usr/bin/chromium")
        if p and Path(p).exists()
    ),
    None,
)


@pytest.fixture
def two_cards(config) -> list[dict]:
    cards = []
    for wrong in (set(), {"Hamlet", "Moon", "water"}):
        with FakeLlm(cot_reply(FACTUAL, wrong=wrong)) as fake:
            llm = LlmConfig(base_url=fake.base_url, model="stand-in", backoff_seconds=0.0)
            code = eval_command(
                "factual",
                "cot",
                llm=True,
                repeats=2,
                config=config,
                llm_config=llm,
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
            assert code == 0
    for card in CardStore(config.db_path).list_cards():
        cards.append(card.to_json())
    return cards


def test_the_page_is_self_contained(two_cards):
    page = render(two_cards, "cot vs cot")
    assert page.startswith("<!DOCTYPE html>")
    assert 'id="strategy-chart"' in page and 'id="case-chart"' in page and 'id="token-chart"' in page
    assert page.count('class="whisker"') == 2  # one CI whisker per card
    assert page.count('<rect class="bar"') == 2 + 2 * 8  # strategies, then cases and tokens
    for remote in ("http://", "https://", "<script", "<link", "@import", "src="):
        assert remote not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into rows of pixel bytes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, up_left = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line[j : j + 3]) for j in range(0, stride, bpp))
        rows[-1] = list(rows[-1])
        previous = line
    return width, height, rows


def _rgb(color: str) -> bytes:
    return bytes.fromhex(color.lstrip("#"))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium to run this test)")
def test_the_report_renders_its_charts_in_headless_chromium(two_cards, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render(two_cards, "cot vs cot"), encoding="utf-8")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1100,1400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1100, 1400)
    colours = {}
    for row in rows:
        for pixel in row:
            colours[pixel] = colours.get(pixel, 0) + 1
    # Both strategy bars (first two palette colours) and the passing case bars are drawn.
    for colour in (PALETTE[0], PALETTE[1], PASS):
        assert colours.get(_rgb(colour), 0) > 500, colour

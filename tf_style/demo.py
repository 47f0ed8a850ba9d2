"""Built-in demo images, drawn by code so the project ships no third-party pictures.

Both functions return float32 (H, W, 3) RGB in [0, 1] and are deterministic.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def demo_content_image(size: int = 384) -> np.ndarray:
    """A landscape "photo": sky, sun, mountains, a lake with reflections, a house.

    Args:
        size: Width in pixels; the height is 3/4 of it.
    """
    width, height = size, size * 3 // 4
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = (1 - y) * np.array([0.35, 0.55, 0.90]) + y * np.array([0.95, 0.80, 0.65])
    canvas = Image.fromarray((np.broadcast_to(sky, (height, width, 3)) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    s = width / 384
    draw.ellipse([260 * s, 40 * s, 310 * s, 90 * s], fill=(255, 236, 170))
    horizon = int(height * 0.62)
    draw.polygon([(0, horizon), (70 * s, 120 * s), (150 * s, horizon)], fill=(92, 104, 128))
    draw.polygon([(90 * s, horizon), (200 * s, 90 * s), (330 * s, horizon)], fill=(70, 84, 110))
    draw.polygon([(200 * s, 90 * s), (180 * s, 118 * s), (222 * s, 116 * s)], fill=(240, 244, 250))
    draw.polygon([(260 * s, horizon), (340 * s, 140 * s), (width, horizon)], fill=(104, 116, 140))
    draw.rectangle([0, horizon - 12 * s, width, horizon], fill=(60, 110, 60))
    for index in range(14):  # A row of trees.
        x = 10 * s + index * 27 * s
        draw.polygon(
            [(x, horizon - 4 * s), (x + 9 * s, horizon - 34 * s - (index % 3) * 6 * s), (x + 18 * s, horizon - 4 * s)],
            fill=(34, 80 + (index % 4) * 8, 42),
        )
    draw.rectangle([150 * s, horizon - 40 * s, 200 * s, horizon - 8 * s], fill=(190, 70, 50))
    draw.polygon(
        [(144 * s, horizon - 40 * s), (175 * s, horizon - 62 * s), (206 * s, horizon - 40 * s)], fill=(110, 50, 40)
    )
    draw.rectangle([168 * s, horizon - 26 * s, 180 * s, horizon - 8 * s], fill=(70, 40, 30))
    array = np.asarray(canvas, dtype=np.float32) / 255.0
    reflection = array[horizon - (height - horizon) : horizon][::-1]
    water = 0.55 * reflection + 0.45 * np.array([0.15, 0.35, 0.55], dtype=np.float32)
    ripples = 0.04 * np.sin(np.arange(height - horizon) * 1.3)[:, None, None]
    array[horizon:] = np.clip(water + ripples, 0.0, 1.0)
    smooth = Image.fromarray((array * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.6))
    return np.asarray(smooth, dtype=np.float32) / 255.0


def demo_style_image(size: int = 384, seed: int = 7) -> np.ndarray:
    """A "painting": thick, swirling brush strokes in a night-sky palette.

    Strokes follow a vortex flow field, so the style has both colour and
    oriented texture for the Gram matrices to capture.
    """
    rng = np.random.default_rng(seed)
    palette = np.array(
        [(20, 40, 100), (40, 80, 160), (70, 130, 200), (240, 200, 60), (250, 230, 130), (20, 30, 60), (100, 160, 210)]
    )
    canvas = Image.new("RGB", (size, size), (25, 45, 95))
    draw = ImageDraw.Draw(canvas)
    centres = rng.uniform(0, size, size=(4, 2))
    for _ in range(1400):
        x, y = rng.uniform(0, size, size=2)
        colour = tuple(int(v) for v in palette[rng.integers(len(palette))] + rng.integers(-15, 16, 3))
        points = [(x, y)]
        for _ in range(8):  # Follow the swirl of the nearest vortex.
            cx, cy = centres[np.argmin(np.hypot(centres[:, 0] - x, centres[:, 1] - y))]
            angle = math.atan2(y - cy, x - cx) + math.pi / 2 + 0.3
            x, y = x + 5 * math.cos(angle), y + 5 * math.sin(angle)
            points.append((x, y))
        draw.line(points, fill=colour, width=int(rng.integers(3, 7)))
    return np.asarray(canvas, dtype=np.float32) / 255.0

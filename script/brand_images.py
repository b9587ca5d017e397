"""Draw CrossWatch's brand images into custom_components/crosswatch/brand/.

Home Assistant (2026.3 and later) serves a custom integration's icons and logos from its own
brand/ folder. Run with the project's venv: `.venv/bin/python script/brand_images.py`.
The images are committed; this script is how they were made, so they can be redrawn.
"""

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

BRAND_DIR = Path(__file__).resolve().parent.parent / "custom_components" / "crosswatch" / "brand"
TEAL = (0, 150, 136, 255)
DEEP = (18, 52, 86, 255)
WHITE = (255, 255, 255, 255)
INK = (33, 33, 33, 255)
SUPERSAMPLE = 4


def _arrow_arc(draw: ImageDraw.ImageDraw, size: int, start: float, end: float) -> None:
    """Draw one sync arrow: an arc from start to end degrees with a head at its end."""
    centre = size / 2
    radius = size * 0.30
    width = round(size * 0.075)
    box = (centre - radius, centre - radius, centre + radius, centre + radius)
    draw.arc(box, start, end, fill=WHITE, width=width)
    angle = math.radians(end)
    tip_x, tip_y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
    # The head points along the tangent of the circle in the direction of travel.
    tangent = angle + math.pi / 2
    head = size * 0.11
    back_x, back_y = tip_x - head * math.cos(tangent), tip_y - head * math.sin(tangent)
    normal_x, normal_y = math.cos(angle), math.sin(angle)
    spread = head * 0.75
    draw.polygon(
        [
            (tip_x + head * 0.45 * math.cos(tangent), tip_y + head * 0.45 * math.sin(tangent)),
            (back_x + spread * normal_x, back_y + spread * normal_y),
            (back_x - spread * normal_x, back_y - spread * normal_y),
        ],
        fill=WHITE,
    )


def draw_icon(size: int) -> Image.Image:
    """A rounded square with two sync arrows circling a play symbol."""
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=DEEP)
    draw.ellipse((big * 0.08, big * 0.08, big * 0.92, big * 0.92), fill=TEAL)
    _arrow_arc(draw, big, 200, 330)
    _arrow_arc(draw, big, 20, 150)
    centre = big / 2
    play = big * 0.13
    draw.polygon(
        [
            (centre - play * 0.7, centre - play),
            (centre - play * 0.7, centre + play),
            (centre + play, centre),
        ],
        fill=WHITE,
    )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def draw_logo(height: int, text_colour: tuple[int, int, int, int]) -> Image.Image:
    """The icon followed by the word mark, on a transparent background."""
    big = height * SUPERSAMPLE
    font = ImageFont.load_default(size=round(big * 0.5))
    text = "CrossWatch"
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = probe.textbbox((0, 0), text, font=font)
    gap = round(big * 0.18)
    width = int(big + gap + (right - left) + gap)
    image = Image.new("RGBA", (width, big), (0, 0, 0, 0))
    image.alpha_composite(draw_icon(big))
    draw = ImageDraw.Draw(image)
    text_y = (big - (bottom - top)) / 2 - top
    draw.text((big + gap - left, text_y), text, font=font, fill=text_colour)
    return image.resize((width // SUPERSAMPLE, height), Image.Resampling.LANCZOS)


def main() -> None:
    """Write every image Home Assistant's brands view knows about."""
    BRAND_DIR.mkdir(parents=True, exist_ok=True)
    images = {
        "icon.png": draw_icon(256),
        "icon@2x.png": draw_icon(512),
        "dark_icon.png": draw_icon(256),
        "dark_icon@2x.png": draw_icon(512),
        "logo.png": draw_logo(128, INK),
        "logo@2x.png": draw_logo(256, INK),
        "dark_logo.png": draw_logo(128, WHITE),
        "dark_logo@2x.png": draw_logo(256, WHITE),
    }
    for name, image in images.items():
        image.save(BRAND_DIR / name, optimize=True)


if __name__ == "__main__":
    main()

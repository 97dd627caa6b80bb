"""The names a condition's ``display:`` may give a codec's marker: the one vocabulary the condition checks and
every figure draws (:mod:`bench.report.styles` maps each name to its SVG and matplotlib shape)."""

MARKER_NAMES = ("circle", "square", "diamond", "triangle", "triangle_down", "pentagon", "hexagon", "star", "plus",
                "cross")

"""Frame I/O, pixel formats, colour conversion and spatial handling (pad/crop).

Everything here works one frame at a time so that memory does not grow with sequence length.
"""

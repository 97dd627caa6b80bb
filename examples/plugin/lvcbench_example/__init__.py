"""An example plug-in for lvc-bench: a JPEG 2000 all-intra codec (OpenJPEG through Pillow), shipped with its
descriptor. The adapter is in :mod:`lvcbench_example.jpeg2000`; the descriptors in ``codecs/``."""

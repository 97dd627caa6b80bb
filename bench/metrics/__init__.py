"""Every quality number the suite reports, computed by the suite from decoded frames.

* :mod:`bench.metrics.registry`: what a measure and a metric are, the registry, measurement keys;
* :mod:`bench.metrics.frames`: the measured-domain frames every measure sees, in batches read ahead;
* :mod:`bench.metrics.backends`: where per-frame measures run (CPU or GPU) and the batches they see;
  :mod:`bench.metrics.kernels`: the compiled CPU arithmetic (SSE, MS-SSIM, YUV -> RGB);
* one module per measure and its metrics: :mod:`~bench.metrics.psnr` (per-plane SSE, six PSNR variants),
  :mod:`~bench.metrics.ms_ssim`, :mod:`~bench.metrics.vmaf`, :mod:`~bench.metrics.xpsnr`, and
  :mod:`~bench.metrics.imported` (names known only from imported results);
* :mod:`bench.metrics.measuring`: taking measurements; :mod:`bench.metrics.pooling`: from stored per-frame
  values to the pooled numbers a record shows.
"""

from bench.metrics.registry import (
    POOLINGS,
    PSNR_PEAKS,
    MeasureRequest,
    Metric,
    MetricSpec,
    definitions,
    headline_columns,
    measure,
    measures,
    metric,
    metric_label,
    metric_name,
    metric_names,
    metrics,
    psnr_peak,
    request,
)

__all__ = ["POOLINGS", "PSNR_PEAKS", "MeasureRequest", "Metric", "MetricSpec", "definitions", "headline_columns",
           "measure", "measures", "metric", "metric_label", "metric_name", "metric_names", "metrics", "psnr_peak", "request"]

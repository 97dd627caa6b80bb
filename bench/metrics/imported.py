"""Metrics the suite only reads from imported results, never measures: their producers' own definitions."""

from __future__ import annotations

from bench.metrics.registry import Metric, register_metric

register_metric(Metric("ms_ssim_yuv_611", "MS-SSIM-YUV (6:1:1)", "",
                       "(6*MS-SSIM_Y + MS-SSIM_U + MS-SSIM_V)/8 as DCVC's test_video.py reports it (imported only)",
                       "as the producer pooled it", None, display="db"))
register_metric(Metric("psnr_yuv_compressai", "PSNR-YUV (CompressAI)", "dB",
                       "CompressAI's video bench psnr-yuv (imported only)", "as the producer pooled it", None))

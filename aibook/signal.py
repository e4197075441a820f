"""Audio front end from scratch in NumPy: framing, windows, the STFT and a mel filter bank.

Speech models do not read raw samples one by one; they read a spectrogram: the signal is cut
into short overlapping frames, each frame is windowed and Fourier transformed, and the power
spectrum is pooled by triangular filters spaced evenly on the mel scale. tests/test_signal.py
checks these against ``scipy.signal``, ``numpy.fft`` and ``torch.stft``.
"""

from __future__ import annotations

import numpy as np


def frame_signal(x: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Cut a 1-D signal into frames: row m is x[m*hop : m*hop + frame_length] (a copy).

    Only whole frames are kept: there are 1 + (len(x) - frame_length) // hop_length of them.
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D signal, got shape {x.shape}")
    if frame_length < 1 or hop_length < 1:
        raise ValueError("frame_length and hop_length must be >= 1")
    if len(x) < frame_length:
        raise ValueError(f"signal of {len(x)} samples is shorter than one frame ({frame_length})")
    windows = np.lib.stride_tricks.sliding_window_view(x, frame_length)
    return windows[::hop_length].copy()


def overlap_add(frames: np.ndarray, hop_length: int) -> np.ndarray:
    """Inverse of framing: add row m back at offset m*hop (overlapping parts are summed)."""
    n_frames, frame_length = frames.shape
    out = np.zeros((n_frames - 1) * hop_length + frame_length, dtype=frames.dtype)
    for m, frame in enumerate(frames):
        out[m * hop_length : m * hop_length + frame_length] += frame
    return out


def hann_window(n: int, periodic: bool = True) -> np.ndarray:
    """Hann window 0.5 - 0.5 cos(2 pi k / N), N = n (periodic, for spectra) or n - 1 (symmetric)."""
    if n < 1:
        raise ValueError(f"window length must be >= 1, got {n}")
    if n == 1:
        return np.ones(1)
    denom = n if periodic else n - 1
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / denom)


def stft(x: np.ndarray, n_fft: int, hop_length: int, window: np.ndarray | None = None) -> np.ndarray:
    """Short-time Fourier transform, frames × (n_fft // 2 + 1) complex (no padding, no scaling).

    X[m, k] = sum_n w[n] x[m*hop + n] exp(-2 pi i k n / n_fft); the default window is Hann.
    """
    window = hann_window(n_fft) if window is None else np.asarray(window)
    if window.shape != (n_fft,):
        raise ValueError(f"window must have n_fft = {n_fft} samples, got shape {window.shape}")
    return np.fft.rfft(frame_signal(x, n_fft, hop_length) * window, axis=-1)


def fft_frequencies(n_fft: int, sample_rate: float) -> np.ndarray:
    """Frequency in Hz of each of the n_fft // 2 + 1 bins of a real FFT: k * sample_rate / n_fft."""
    return np.arange(n_fft // 2 + 1) * sample_rate / n_fft


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """The mel scale (O'Shaughnessy; HTK): m = 2595 log10(1 + f / 700); 1000 Hz is about 1000 mel."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=float) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`: f = 700 (10^(m / 2595) - 1)."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=float) / 2595.0) - 1.0)


def mel_filter_bank(n_mels: int, n_fft: int, sample_rate: float, f_min: float = 0.0,
                    f_max: float | None = None) -> np.ndarray:
    """Triangular filters, n_mels × (n_fft // 2 + 1), centres evenly spaced on the mel scale.

    Filter i rises linearly from edge i to 1 at edge i + 1 and falls to 0 at edge i + 2, where
    the n_mels + 2 edges are evenly spaced in mel between f_min and f_max (default Nyquist).
    Peak height 1, no area normalisation (torchaudio's mel_scale="htk", norm=None).
    """
    f_max = sample_rate / 2 if f_max is None else f_max
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ValueError("need 0 <= f_min < f_max <= sample_rate / 2")
    if n_mels < 1:
        raise ValueError(f"n_mels must be >= 1, got {n_mels}")
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    freqs = fft_frequencies(n_fft, sample_rate)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - left) / (centre - left)
    falling = (right - freqs) / (right - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def mel_spectrogram(x: np.ndarray, sample_rate: float, n_fft: int, hop_length: int, n_mels: int,
                    f_min: float = 0.0, f_max: float | None = None) -> np.ndarray:
    """Power mel spectrogram, frames × n_mels: |STFT|^2 (Hann window) pooled by the filter bank."""
    power = np.abs(stft(x, n_fft, hop_length)) ** 2
    return power @ mel_filter_bank(n_mels, n_fft, sample_rate, f_min, f_max).T

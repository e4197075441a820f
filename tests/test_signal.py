"""Framing, windows, STFT and mel filter bank against scipy.signal, numpy.fft and torch."""

import numpy as np
import pytest
import scipy.signal
import torch

from aibook import signal as sig

rng = np.random.default_rng(0)
X = rng.normal(size=1000)


def test_frame_signal_matches_torch_unfold_and_drops_the_partial_frame():
    frames = sig.frame_signal(X, 64, 16)
    ref = torch.tensor(X).unfold(0, 64, 16).numpy()
    np.testing.assert_array_equal(frames, ref)
    assert frames.shape == (1 + (1000 - 64) // 16, 64)
    frames[0, 0] = 99.0  # a copy, not a view of the signal
    assert X[0] != 99.0


def test_frame_signal_rejects_bad_input():
    with pytest.raises(ValueError, match="shorter than one frame"):
        sig.frame_signal(np.zeros(10), 16, 4)
    with pytest.raises(ValueError, match="1-D"):
        sig.frame_signal(np.zeros((2, 20)), 4, 2)
    with pytest.raises(ValueError, match=">= 1"):
        sig.frame_signal(np.zeros(20), 4, 0)


def test_overlap_add_inverts_framing_with_a_cola_window():
    n, hop = 64, 32
    frames = sig.frame_signal(X, n, hop) * sig.hann_window(n)
    rebuilt = sig.overlap_add(frames, hop)
    # a periodic Hann window at 50 % overlap sums to 1 wherever two frames overlap
    np.testing.assert_allclose(rebuilt[n - hop : len(rebuilt) - n + hop], X[n - hop : len(rebuilt) - n + hop],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(sig.overlap_add(np.ones((3, 4)), 4), np.ones(12))


def test_hann_window_matches_scipy_numpy_and_torch():
    np.testing.assert_allclose(sig.hann_window(16), scipy.signal.get_window("hann", 16), atol=1e-15)
    np.testing.assert_allclose(sig.hann_window(16), torch.hann_window(16, dtype=torch.float64), atol=1e-15)
    np.testing.assert_allclose(sig.hann_window(9, periodic=False), np.hanning(9), atol=1e-15)
    np.testing.assert_array_equal(sig.hann_window(1), [1.0])
    with pytest.raises(ValueError):
        sig.hann_window(0)


def test_stft_matches_scipy_torch_and_a_plain_fft():
    spec = sig.stft(X, 64, 16)
    window = sig.hann_window(64)
    _, _, ref = scipy.signal.stft(X, nperseg=64, noverlap=48, window="hann", boundary=None,
                                  padded=False, detrend=False)
    np.testing.assert_allclose(spec.T / window.sum(), ref, atol=1e-12)  # scipy scales by 1/sum(w)
    ref_torch = torch.stft(torch.tensor(X), 64, 16, window=torch.tensor(window), center=False,
                           return_complex=True).numpy()
    np.testing.assert_allclose(spec.T, ref_torch, atol=1e-10)
    np.testing.assert_allclose(spec[3], np.fft.fft(X[48:112] * window)[:33], atol=1e-12)
    rect = sig.stft(X, 64, 64, window=np.ones(64))
    np.testing.assert_allclose(rect[0], np.fft.rfft(X[:64]), atol=1e-12)
    with pytest.raises(ValueError, match="window"):
        sig.stft(X, 64, 16, window=np.ones(32))


def test_fft_frequencies_match_numpy():
    np.testing.assert_allclose(sig.fft_frequencies(256, 8000), np.fft.rfftfreq(256, 1 / 8000))


def test_mel_scale_is_the_standard_formula_and_invertible():
    f = np.array([0.0, 700.0, 1000.0, 4000.0, 8000.0])
    np.testing.assert_allclose(sig.hz_to_mel(f), 1127.0 * np.log(1 + f / 700), rtol=1e-4)
    assert sig.hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.1)
    np.testing.assert_allclose(sig.mel_to_hz(sig.hz_to_mel(f)), f, atol=1e-9)


def reference_filter(freqs, left, centre, right):
    """One triangular filter, written piecewise with explicit loops."""
    out = np.zeros(len(freqs))
    for k, f in enumerate(freqs):
        if left < f <= centre:
            out[k] = (f - left) / (centre - left)
        elif centre < f < right:
            out[k] = (right - f) / (right - centre)
    return out


def test_mel_filter_bank_is_triangles_between_mel_spaced_edges():
    sr, n_fft, n_mels = 8000, 256, 20
    bank = sig.mel_filter_bank(n_mels, n_fft, sr, f_min=50.0)
    assert bank.shape == (n_mels, n_fft // 2 + 1)
    edges = sig.mel_to_hz(np.linspace(sig.hz_to_mel(50.0), sig.hz_to_mel(4000.0), n_mels + 2))
    np.testing.assert_allclose(np.diff(sig.hz_to_mel(edges)), np.diff(sig.hz_to_mel(edges))[0])
    freqs = sig.fft_frequencies(n_fft, sr)
    for i in range(n_mels):
        np.testing.assert_allclose(bank[i], reference_filter(freqs, *edges[i : i + 3]), atol=1e-12)
    assert bank.max() <= 1.0 and bank.min() == 0.0


def test_mel_filter_bank_rejects_bad_ranges():
    with pytest.raises(ValueError):
        sig.mel_filter_bank(10, 256, 8000, f_max=5000.0)
    with pytest.raises(ValueError):
        sig.mel_filter_bank(0, 256, 8000)


def test_mel_spectrogram_finds_a_pure_tone():
    sr = 8000
    t = np.arange(sr) / sr
    tone = np.sin(2 * np.pi * 1000.0 * t)
    mel = sig.mel_spectrogram(tone, sr, 256, 128, n_mels=40)
    assert mel.shape == (1 + (sr - 256) // 128, 40)
    centres = sig.mel_to_hz(np.linspace(0, sig.hz_to_mel(sr / 2), 42))[1:-1]
    assert abs(centres[mel.mean(axis=0).argmax()] - 1000.0) < 100.0

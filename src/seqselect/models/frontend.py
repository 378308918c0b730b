"""Audio front-ends as the first layer of a model, and the shell of a framed model.

Symbols: B batch, L samples (steps), C input channels, T frames, M mel bands,
F features per frame, D model width, O outputs.

A model that takes raw waveforms ``(B, L, C)`` turns them into frames ``(B, T, F)``
inside itself, so the trainer, the bake-off, export and ONNX see an ordinary zoo model:

* :class:`WaveformFrontend` keeps every sample as a frame (``hop = 1``, ``F = C``);
* :class:`LogMelFrontend` computes a log-mel spectrogram per channel with ``torch.stft``
  and librosa's mel filterbank (computed once, a buffer; torchaudio has no wheel for our
  torch), normalised per utterance over real frames, with SpecAugment masking in
  training mode only (Park et al. 2019, arXiv:1904.08779);
* :class:`TokenFrontend` embeds token ids one frame per token, so the zoo's token
  contract holds for every model.

Padding: samples past a sequence's end are zero, and ``torch.stft`` pads with zeros
(``pad_mode="constant"``), so frame ``t`` (centred on sample ``t * hop``) of a padded
sequence of true length n equals the unpadded one for ``t * hop <= n``; those are the real
frames. Per-step outputs map sample ``s`` to frame ``s // hop`` (:func:`frames_to_steps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from seqselect.models.base import ModelSpec, SequenceModel, check_input

FRONTENDS = ("logmel", "waveform")


@dataclass(frozen=True)
class LogMelSettings:
    """The spectrogram's parameters, copied from a model's config (recorded with it)."""

    sample_rate: int = 16_000  # Hz of the waveform the model is trained on
    n_fft: int = 400  # 25 ms windows at 16 kHz, the usual speech frame
    hop: int = 160  # 10 ms between frames at 16 kHz
    n_mels: int = 40  # mel bands; 40 is the classic keyword-spotting size
    freq_masks: int = 2  # SpecAugment frequency masks per example (training only)
    freq_width: int = 8  # widest frequency mask, in mel bands
    time_masks: int = 2  # SpecAugment time masks per example (training only)
    time_width: int = 10  # widest time mask, in frames

    def __post_init__(self) -> None:
        for name in ("sample_rate", "n_fft", "hop", "n_mels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.hop > self.n_fft:
            raise ValueError(f"hop={self.hop} must not exceed n_fft={self.n_fft}")


def frame_mask(mask: Tensor | None, hop: int, n_frames: int) -> Tensor | None:
    """Real frames ``(B, T)`` from real samples ``(B, L)``: frame t is real if t*hop <= n."""
    if mask is None:
        return None
    lengths = mask.sum(dim=1, keepdim=True)  # (B, 1)
    starts = torch.arange(n_frames, device=mask.device)[None, :] * hop  # (1, T)
    return starts <= lengths


def frames_to_steps(h: Tensor, hop: int, length: int) -> Tensor:
    """``(B, T, D)`` frame features to ``(B, L, D)``: sample s reads frame ``s // hop``."""
    index = torch.arange(length, device=h.device) // hop
    return h[:, index.clamp(max=h.shape[1] - 1)]


def spec_augment(feats: Tensor, settings: LogMelSettings) -> Tensor:
    """SpecAugment's frequency and time masks on ``(B, T, C, M)``, filled with the mean.

    A new random draw (torch's global generator) per example and call.
    """
    B, T, _, M = feats.shape
    keep = torch.ones(B, T, 1, M, dtype=torch.bool, device=feats.device)
    bands = torch.arange(M, device=feats.device)
    frames = torch.arange(T, device=feats.device)
    for count, width, size, axis in (
        (settings.freq_masks, settings.freq_width, M, bands),
        (settings.time_masks, settings.time_width, T, frames),
    ):
        for _ in range(count):
            w = torch.randint(0, min(width, size) + 1, (B, 1), device=feats.device)
            start = (torch.rand(B, 1, device=feats.device) * (size - w + 1)).long()
            hit = (axis[None, :] >= start) & (axis[None, :] < start + w)  # (B, size)
            keep &= ~(hit[:, None, None, :] if axis is bands else hit[:, :, None, None])
    fill = feats.mean(dim=(1, 2, 3), keepdim=True)
    return torch.where(keep, feats, fill)


class LogMelFrontend(nn.Module):
    """``(B, L, C)`` waveforms -> ``(B, T, C * M)`` normalised log-mel, ``T = L // hop + 1``."""

    def __init__(self, n_channels: int, settings: LogMelSettings):
        super().__init__()
        # librosa is imported here so that importing the zoo stays quick (it loads numba).
        from librosa.filters import mel

        self.settings = settings
        self.hop = settings.hop
        self.d_features = n_channels * settings.n_mels
        fbank = mel(sr=settings.sample_rate, n_fft=settings.n_fft, n_mels=settings.n_mels)
        self.register_buffer("fbank", torch.from_numpy(fbank).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(settings.n_fft), persistent=False)

    def mel_power(self, x: Tensor) -> Tensor:
        """Mel power spectrogram ``(B, T, C, M)`` of ``x: (B, L, C)`` (as librosa's)."""
        B, L, C = x.shape
        s = self.settings
        wave = x.transpose(1, 2).reshape(B * C, L).float()  # (B*C, L)
        spec = torch.stft(
            wave, s.n_fft, hop_length=s.hop, window=self.window, center=True,
            pad_mode="constant", return_complex=True,
        )  # (B*C, n_fft//2 + 1, T)
        power = spec.real.square() + spec.imag.square()
        mel = torch.einsum("mf,nft->ntm", self.fbank, power)  # (B*C, T, M)
        return mel.reshape(B, C, -1, s.n_mels).transpose(1, 2).to(x.dtype)  # (B, T, C, M)

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        feats = torch.log(self.mel_power(x) + 1e-6)  # (B, T, C, M)
        fmask = frame_mask(mask, self.hop, feats.shape[1])
        # Per-utterance, per-channel normalisation over real frames (CMVN-like): a
        # speaker's loudness and the microphone's gain should not move the features.
        weight = torch.ones_like(feats[..., :1, :1]) if fmask is None else (
            fmask[:, :, None, None].to(feats.dtype)
        )  # (B, T, 1, 1)
        count = weight.sum(dim=1, keepdim=True) * feats.shape[-1]  # (B, 1, 1, 1)
        mean = (feats * weight).sum(dim=(1, 3), keepdim=True) / count
        var = ((feats - mean).square() * weight).sum(dim=(1, 3), keepdim=True) / count
        feats = (feats - mean) / (var + 1e-5).sqrt()
        if self.training:
            feats = spec_augment(feats, self.settings)
        if fmask is not None:
            feats = feats.masked_fill(~fmask[:, :, None, None], 0.0)
        return feats.flatten(2), fmask  # (B, T, C * M)


class WaveformFrontend(nn.Module):
    """Raw samples as frames: ``(B, L, C) -> (B, L, C)``, ``hop = 1``."""

    hop = 1

    def __init__(self, n_channels: int):
        super().__init__()
        self.d_features = n_channels

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return x, mask


class TokenFrontend(nn.Module):
    """Token ids as frames: ``(B, L) -> (B, L, D)`` by a lookup, ``hop = 1``."""

    hop = 1

    def __init__(self, vocab_size: int, d_model: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.d_features = d_model

    def forward(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        return self.embed(x), mask


def build_frontend(spec: ModelSpec, kind: str, settings: LogMelSettings, d_model: int):
    """The front-end for ``spec``'s input: tokens are embedded, real values go to ``kind``."""
    if kind not in FRONTENDS:
        raise ValueError(f"frontend must be one of {', '.join(FRONTENDS)}, got {kind!r}")
    if spec.vocab_size is not None:
        return TokenFrontend(spec.vocab_size, d_model)
    if kind == "waveform":
        return WaveformFrontend(spec.d_input)
    return LogMelFrontend(spec.d_input, settings)


class FramedModel(SequenceModel):
    """front-end -> backbone over frames -> LayerNorm -> head; one output shape per task.

    ``forward(x, mask)``: ``x (B, L, C)`` waveforms (or ``(B, L)`` tokens) ->
    ``(B, O)`` or, for per_step, ``(B, L, O)`` (each sample reads its frame). The
    backbone's ``hop`` (its own subsampling, 1 if none) multiplies the front-end's.
    """

    def __init__(self, spec: ModelSpec, frontend: nn.Module, backbone: nn.Module, pooling: str):
        super().__init__(spec, 1, backbone, pooling)
        self.embed = frontend  # replaces the per-step embedding: frames come from here
        self.backbone_hop = getattr(backbone, "hop", 1)
        self.hop = frontend.hop * self.backbone_hop

    def frames(self, x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """Frame features ``(B, T', d_out)`` and their mask ``(B, T')`` (None: all real).

        The backbone keeps every ``backbone_hop``-th frame, and such a frame is real when
        the front-end's frame is.
        """
        feats, fmask = self.embed(x, mask)
        h = self.norm(self.backbone(feats, fmask))
        if fmask is not None:
            fmask = fmask[:, :: self.backbone_hop]
        return h, fmask

    def forward_features(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Frame features ``(B, T', d_out)`` before the head."""
        return self.frames(x, mask)[0]

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        mask = check_input(x, mask, self.spec)
        if mask is not None:
            x = x.masked_fill(~(mask if x.dim() == 2 else mask.unsqueeze(-1)), 0)
        h, fmask = self.frames(x, mask)  # (B, T', d_out)
        if self.spec.task == "per_step":
            return self.head.linear(frames_to_steps(h, self.hop, x.shape[1]))  # (B, L, O)
        return self.head(h, fmask)  # (B, O)


def stream_chunks(model: nn.Module, chunks, state=None):
    """Feed a causal streaming model audio chunk by chunk through ``step()``.

    Args:
        model: built with ``causal=True`` and ``streaming`` (wavenet, tcn, s4, s4d, mamba).
        chunks: an iterable of ``(B, n, C)`` waveform pieces (n may vary per chunk).
        state: where a previous stream stopped (None: a fresh ``init_state``).

    Yields:
        ``(outputs (B, n, O), state)`` per chunk: ``outputs[:, i]`` is the model's output
        after sample i of the chunk, equal to ``forward`` over everything streamed so far.
    """
    for chunk in chunks:
        if state is None:
            state = model.init_state(chunk.shape[0], device=chunk.device, dtype=chunk.dtype)
        outputs = []
        for i in range(chunk.shape[1]):
            y, state = model.step(chunk[:, i], state)
            outputs.append(y)
        yield torch.stack(outputs, dim=1), state

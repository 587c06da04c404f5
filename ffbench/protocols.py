"""Every evaluation protocol as data, with a stable hash.

A metric value is only meaningful with the protocol that produced it: FVD differs between
codebases in detector weights, resize, covariance, matrix square root, sample count and clip
sampling (shared/reference/metrics.md §1f). Each protocol here pins all of those. Two numbers
are comparable only when their protocol hashes are equal.

The hash is the sha256 of the canonical JSON (sorted keys, no whitespace) of every field that
affects the number; `description`, `source`, `precision` and `reference_gap` are documentation
and are left out. A field added after protocols were published carries `_SINCE`: it enters the
hash only when it differs from its default, so every protocol that does not use it keeps its
published hash (tests/test_protocols.py pins them).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace

from .errors import FFBenchError

__all__ = [
    "Protocol",
    "FVDProtocol",
    "ISProtocol",
    "CLIPSIMProtocol",
    "ReconstructionProtocol",
    "PROTOCOLS",
    "get",
    "names",
    "ProtocolError",
]


class ProtocolError(FFBenchError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want plain text
        return str(self.args[0])


_DOC = {"hash": False}  # field metadata: documentation only, not part of the hash
_SINCE = {"hash": "non-default"}  # added later: hashed only where a protocol sets it


def _pillow_version() -> str:
    try:
        from importlib.metadata import version

        return version("pillow")
    except Exception:  # noqa: BLE001 - documentation only
        return "unknown"


@dataclass(frozen=True)
class Protocol:
    name: str
    metric: str
    description: str = field(default="", metadata=_DOC, compare=False)
    source: str = field(default="", metadata=_DOC, compare=False)
    # float precision of our computation, and where it differs from the reference's, the gap
    precision: str = field(default="", metadata=_DOC, compare=False)

    def canonical(self) -> dict:
        """The fields that affect the number, with the protocol's type."""
        data = {}
        for f in fields(self):
            rule = f.metadata.get("hash", True)
            value = getattr(self, f.name)
            if rule is True or (rule == "non-default" and value != f.default):
                data[f.name] = value
        data = json.loads(json.dumps(data))  # tuples -> lists, so the JSON is canonical
        data["type"] = type(self).__name__
        return data

    @property
    def hash(self) -> str:
        blob = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def short_hash(self) -> str:
        return self.hash[:12]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["type"] = type(self).__name__
        d["hash"] = self.hash
        return d


@dataclass(frozen=True)
class FVDProtocol(Protocol):
    extractor: str = "i3d-torchscript"  # registry name in ffbench.metrics.extractors
    weights: str = "i3d_torchscript"  # registry name in ffbench.weights
    num_frames: int = 16
    frame_stride: int = 1  # every k-th frame
    num_real: int = 2048
    num_fake: int = 2048
    resize: str = "detector"  # detector | short-side-crop | direct
    resolution: int = 224
    feature: str = "logits-400-time-mean"
    covariance: str = "biased"  # biased (/N) | unbiased (/N-1)
    sqrtm: str = "scipy-sqrtm"  # scipy-sqrtm | tfgan | eig
    real_clip: str = "random-offset"  # random-offset | first | central
    fake_clip: str = "first"
    uint8_roundtrip: bool = True  # generated frames quantised to uint8 before the detector
    discard_short_videos: bool = True
    trials: int = 1  # VideoGPT: mean±std over trials of num_fake videos


@dataclass(frozen=True)
class ISProtocol(Protocol):
    extractor: str = "c3d-ucf101"
    weights: str = "c3d_ucf101"
    num_frames: int = 16
    num_samples: int = 2048
    splits: int = 10
    split_rule: str = "stylegan-v"  # stylegan-v: RandomState(42) shuffle, 10 splits | tgan2: 10 loops
    shuffle_seed: int = 42
    eps: float = 0.0
    clip: str = "first"
    # 0: `splits` partition the num_samples videos (StyleGAN-V). N > 0: every split is a fresh
    # draw of N videos (TGAN2's script: 10 loops of 2048), so splits x N videos are needed.
    samples_per_split: int = field(default=0, metadata=_SINCE)

    @property
    def videos_needed(self) -> int:
        """How many videos (probability rows) the protocol scores."""
        return self.splits * self.samples_per_split if self.samples_per_split else self.num_samples


@dataclass(frozen=True)
class CLIPSIMProtocol(Protocol):
    backbone: str = "ViT-B/32"
    weights: str = "clip_vit_b32"
    image_size: int = 224
    resize: str = "bicubic-short-side-center-crop"
    normalize_mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    normalize_std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)
    context_length: int = 77
    scale: float = 1.0  # 100 for the CLIPScore-style variant
    reduction: str = "frame-mean-then-video-mean"
    frames: str = "all"
    # the reference preprocessing is Pillow's resampler: its version is provenance (every
    # CLIPSIM number records the version it ran with), never part of the hash
    pillow: str = field(default_factory=_pillow_version, metadata=_DOC, compare=False)


@dataclass(frozen=True)
class ReconstructionProtocol(Protocol):
    dataset: str = "vimeo90k-septuplet"
    frames_per_sequence: int = 7
    value_range: tuple[float, float] = (0.0, 1.0)
    psnr_data_range: float = 1.0
    psnr_identical: str = "inf"  # inf | 100-below-1e-10 (common_metrics_on_video_quality)
    ssim_kernel: str = "gaussian"
    ssim_kernel_size: int = 11  # the Gaussian window is kernel_size taps of sigma (both matter)
    ssim_sigma: float = 1.5
    ssim_k1: float = 0.01
    ssim_k2: float = 0.03
    # valid: mean over window positions inside the frame (Wang et al., scikit-image, pytorch-msssim,
    # torchmetrics <= 1.4); reflect-full-map: reflect-pad, mean over the whole map incl. border
    # (torchmetrics >= 1.5, PR #2721)
    ssim_border: str = "valid"
    color: str = "rgb"  # rgb: mean over R,G,B | y-bt601: luma Y of ITU-R BT.601 (16..235)/255
    lpips_net: str = "alex"
    lpips_version: str = "0.1"
    reduction: str = "frame-mean-then-video-mean"


_STYLEGAN_V_SRC = (
    "universome/stylegan-v src/metrics/frechet_video_distance.py, metric_utils.py "
    "(metrics.md §1a): TorchScript I3D called with rescale=True, resize=True, "
    "return_features=True on uint8 [B,C,T,H,W]; FeatureStats float64 with cov = X^T X/N - mu mu^T; "
    "scipy.linalg.sqrtm(sigma_gen @ sigma_real), real part"
)

_FVD_F64 = ("detector float32; feature statistics (float64 sums), covariance and square root in "
            "float64, as the reference")
_IS_PREC = "classifier float32; probabilities and scores in float64 (StyleGAN-V: float32 probs)"

_CLIP_PREC = ("float32 network as the clip package; preprocessing bit-equal to clip's PIL path "
              "under the recorded Pillow version; per-video means float64")

_CLIP_MEAN_STD_SRC = "openai/CLIP clip/clip.py _transform (Normalize mean/std)"

_ALL: list[Protocol] = [
    FVDProtocol(
        name="fvd@stylegan-v-2048x16", metric="fvd",
        description="StyleGAN-V fvd2048_16f: 2048 real and 2048 fake clips of 16 frames; the "
                    "protocol FusionFrames reports (paper §6).",
        source=_STYLEGAN_V_SRC, precision=_FVD_F64,
    ),
    FVDProtocol(
        name="fvd@stylegan-v-2048x128", metric="fvd", num_frames=128,
        description="StyleGAN-V fvd2048_128f: as 2048x16 with 128-frame clips.",
        source=_STYLEGAN_V_SRC, precision=_FVD_F64,
    ),
    FVDProtocol(
        name="fvd@videogpt", metric="fvd", extractor="i3d-400", weights="i3d_pretrained_400",
        num_real=256, num_fake=256, resize="short-side-crop", covariance="unbiased",
        sqrtm="tfgan", real_clip="first", uint8_roundtrip=True, discard_short_videos=False,
        description="VideoGPT/TATS: 256 videos per trial, bilinear short side to 224 and centre "
                    "crop, [-1,1], unbiased covariance, TF-GAN SVD square root (eps 1e-10).",
        source="wilson1yan/VideoGPT videogpt/fvd/fvd.py, scripts/compute_fvd.py (metrics.md §1b)",
        precision="I3D float32; statistics and TF-GAN square root in float64 (TF-GAN's own "
                  "precision). VideoGPT's torch port as shipped runs them in float32: measured "
                  "|ours - float32| median 0.031, max 0.13 (relative <= 6.3e-5) on random "
                  "features, N=256, d=400, FVD ~2000, 8 seeds; ours is the more accurate.",
    ),
    FVDProtocol(
        name="fvd@cd-fvd-i3d", metric="fvd", extractor="i3d-400", weights="i3d_pretrained_400",
        num_real=2048, num_fake=2048, resize="direct", covariance="biased", sqrtm="scipy-sqrtm",
        real_clip="random-offset",
        description="content-debiased-fvd (cd-fvd) array path (cdfvd.compute_fvd on uint8 "
                    "arrays): bilinear straight to 224x224 (no crop), 2x/255-1, biased "
                    "covariance, scipy sqrtm. Not the path of cd-fvd's published .pkl statistics: "
                    "those came from its folder pipeline (fvd@cd-fvd-i3d-folder*).",
        source="songweige/content-debiased-fvd cdfvd/fvd.py compute_fvd, "
               "third_party/i3d/utils.py preprocess_i3d (metrics.md §1e)",
        precision=_FVD_F64,
    ),
    *[FVDProtocol(
        name=f"fvd@cd-fvd-i3d-folder{'' if r == 256 else r}", metric="fvd", extractor="i3d-400",
        weights="i3d_pretrained_400", num_real=2048, num_fake=2048, resize=f"cd-fvd-folder-{r}",
        covariance="biased", sqrtm="scipy-sqrtm", real_clip="random-offset",
        fake_clip="random-offset",
        description=f"cd-fvd folder pipeline (load_videos(data_type='video_folder', resolution={r})), "
                    f"the one its published res{r} .pkl statistics came from: frames /255, "
                    f"antialiased bilinear short side -> {r} (long side ceil), centre crop "
                    f"{r}x{r} at (dim-{r})//2, x255 truncated to uint8, then the array path "
                    "(bilinear to 224x224, 2x/255-1); one random 16-frame clip per video.",
        source="songweige/content-debiased-fvd cdfvd/utils/data_utils.py preprocess, "
               "VideoDataset; cdfvd/fvd.py compute_real_stats (metrics.md §1e)",
        precision=_FVD_F64,
    ) for r in (256, 128)],
    ISProtocol(
        name="is@c3d-ucf101", metric="is",
        description="StyleGAN-V isv2048_ucf: C3D fine-tuned on UCF-101 on the first 16 frames "
                    "of 2048 videos; 10 splits after np.random.RandomState(42).shuffle; the "
                    "protocol FusionFrames reports (paper §6: 'IS on 2048 videos ... first 16 frames').",
        source="universome/stylegan-v src/metrics/video_inception_score.py (metrics.md §4)",
        precision="probabilities stored float32 and scored in float32/float64 as StyleGAN-V's "
                  "FeatureStats and compute_isv",
    ),
    ISProtocol(
        name="is@c3d-ucf101-tgan2", metric="is", split_rule="tgan2", eps=1e-20,
        samples_per_split=2048, precision="float64 probabilities and scores, as TGAN2",
        description="TGAN2 scripts/compute_inception_score.py: 10 loops, each drawing 2048 fresh "
                    "samples scored as one split (eps 1e-20); mean and std over loops. Needs "
                    "10 x 2048 = 20480 videos; fewer is an error.",
        source="pfnet-research/tgan2 tgan2/evaluations/inception_score.py (metrics.md §4)",
    ),
    CLIPSIMProtocol(
        name="clipsim@vit-b-32", metric="clipsim",
        description="Raw cosine between CLIP ViT-B/32 embeddings of each frame and of the prompt, "
                    "mean over frames then over videos (Video LDM / Make-A-Video / FusionFrames).",
        source=_CLIP_MEAN_STD_SRC + "; metrics.md §3 'CLIPSIM as used in T2V papers'",
        precision=_CLIP_PREC,
    ),
    CLIPSIMProtocol(
        name="clipsim100@vit-b-32", metric="clipsim", scale=100.0,
        description="clipsim@vit-b-32 x 100, to compare with torchmetrics CLIPScore(ViT-B/32) "
                    "(torchmetrics defaults to ViT-L/14 and clamps the mean at 0; we do not clamp).",
        source="Lightning-AI/torchmetrics functional/multimodal/clip_score.py (metrics.md §3)",
        precision=_CLIP_PREC,
    ),
    CLIPSIMProtocol(
        name="clipsim@vit-b-16", metric="clipsim", backbone="ViT-B/16", weights="clip_vit_b16",
        description="CLIPSIM with CLIP ViT-B/16 (Phenaki / VideoPoet convention).",
        source=_CLIP_MEAN_STD_SRC, precision=_CLIP_PREC,
    ),
    CLIPSIMProtocol(
        name="clipsim@vit-l-14", metric="clipsim", backbone="ViT-L/14", weights="clip_vit_l14",
        description="CLIPSIM with CLIP ViT-L/14 (torchmetrics CLIPScore's default backbone).",
        source=_CLIP_MEAN_STD_SRC, precision=_CLIP_PREC,
    ),
    ReconstructionProtocol(
        name="reconstruction@vimeo90k-septuplet", metric="reconstruction",
        description="Paper Table 3: decoder reconstructions of the Vimeo-90k septuplet test list, "
                    "PSNR (data range 1, per frame, RGB), SSIM valid-window Gaussian (11 taps, "
                    "sigma 1.5, K1 0.01, K2 0.03; Wang et al., scikit-image gaussian_weights="
                    "True use_sample_covariance=False, pytorch-msssim, torchmetrics <= 1.4), MSE, "
                    "LPIPS (alex, v0.1); mean over frames then videos.",
        source="paper.md Table 3; metrics.md §5; Wang et al. 2004 ssim_index.m",
        precision="float64 (PSNR, SSIM); LPIPS float32",
    ),
    ReconstructionProtocol(
        name="reconstruction@vimeo90k-septuplet-tm15", metric="reconstruction",
        ssim_border="reflect-full-map",
        description="As reconstruction@vimeo90k-septuplet but SSIM as torchmetrics >= 1.5 "
                    "computes it: reflect-padded, mean over the full map incl. the border "
                    "(higher by ~1e-4..2e-3 at Vimeo-90k size).",
        source="Lightning-AI/torchmetrics functional/image/ssim.py since 1.5.0 (PR #2721)",
        precision="float64",
    ),
    ReconstructionProtocol(
        name="reconstruction@vimeo90k-septuplet-y", metric="reconstruction", color="y-bt601",
        description="Frame-interpolation convention on Vimeo-90k: PSNR and valid-window SSIM on "
                    "the BT.601 luma Y = (16 + 65.481R + 128.553G + 24.966B)/255 (MATLAB "
                    "rgb2ycbcr); MSE and LPIPS stay on RGB.",
        source="scikit-image color.rgb2ycbcr; BasicSR calculate_psnr/ssim(test_y_channel=True)",
        precision="float64",
    ),
    ReconstructionProtocol(
        name="reconstruction@common-metrics", metric="reconstruction",
        psnr_identical="100-below-1e-10",
        description="common_metrics_on_video_quality calculate_psnr / calculate_ssim: per frame "
                    "PSNR 10log10(1/MSE) on [0,1] (100 when MSE < 1e-10); SSIM per channel with "
                    "cv2 Gaussian 11/1.5 filter2D cropped [5:-5,5:-5] (= valid window), C1=0.01², "
                    "C2=0.03², mean over channels; 'final' = mean over all frames of all videos.",
        source="JunyaoHu/common_metrics_on_video_quality calculate_psnr.py, calculate_ssim.py "
               "(metrics.md §5)",
        precision="float64 (the reference: SSIM float64, PSNR in the input dtype, float32 "
                  "videos -> |Δ| <= 1e-5 dB)",
    ),
]

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in _ALL}


def names(metric: str | None = None) -> list[str]:
    return [n for n, p in PROTOCOLS.items() if metric is None or p.metric == metric]


def get(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        from .errors import did_you_mean

        raise ProtocolError(f"unknown protocol {name!r}.{did_you_mean(name, PROTOCOLS)} "
                            f"Known: {', '.join(PROTOCOLS)}") from None


# --- distances beyond FVD (issue 19 item 3): frame FID/KID through clean-fid, KVD, JEDi ----------

@dataclass(frozen=True)
class FrameProtocol(Protocol):
    """Frame-level FID / KID: clean-fid's Inception on frames taken from each video.

    frames: "all" (every frame of every video) | "uniform" (`frames_per_video` frames at
    ``torch.linspace(0, T−1, n).long()``, the UniformTemporalSubsample rule of pytorchvideo
    and torchvision's video models; fewer frames than asked is an error). The distance is
    clean-fid's own: FID = cleanfid.fid.frechet_distance(μ, Σ of the generated frames, μ, Σ
    of the real ones) with np.cov (unbiased) statistics as `fid_from_feats` makes them; KID =
    cleanfid.fid.kernel_distance (cubic polynomial kernel (x·y/d + 1)³, `kid_subsets` subsets
    of at most `kid_subset_size`, float32 features as clean-fid's extractor returns them).
    """

    extractor: str = "inception-cleanfid"
    weights: str = "cleanfid_inception"
    resize: str = "clean"  # cleanfid make_resizer("PIL", False, "bicubic", (299, 299))
    resolution: int = 299
    frames: str = "all"  # all | uniform
    frames_per_video: int = 0  # for frames = "uniform"
    num_real: int = 2048  # videos per set
    num_fake: int = 2048
    covariance: str = "unbiased"  # np.cov, as cleanfid.fid.fid_from_feats
    fid_eps: float = 1e-6  # cleanfid.fid.frechet_distance's diagonal offset, used only on failure
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_seed: int = 0  # numpy RandomState seed of the subset draws (clean-fid: global np.random)
    precision: str = field(default="float32 features; FID statistics float64 (np.cov); KID in "
                                   "float32 as clean-fid", metadata=_DOC, compare=False)

    def canonical(self) -> dict:
        """Only fields that move this protocol's number are hashed (a KID field never moves
        an FID, a frame count never moves an all-frames protocol)."""
        data = super().canonical()
        drop = ["kid_subsets", "kid_subset_size", "kid_seed"] if self.metric == "fid" \
            else ["covariance", "fid_eps"]
        if self.frames == "all":
            drop.append("frames_per_video")
        for k in drop:
            data.pop(k, None)
        return data


@dataclass(frozen=True)
class KernelProtocol(Protocol):
    """Squared MMD with a polynomial kernel k(x, y) = (γ x·y + c)^degree on video features.

    gamma 0 means 1/d (scikit-learn's default). estimator: "unbiased" (U-statistic, kernel
    diagonals left out: KID, KVD) | "biased" (V-statistic, plain means of the kernel matrices:
    JEDi's `mmd_poly`). subsets 0 = the full sets, else the mean over `subsets` random subsets
    of min(subset_size, N_real, N_fake) drawn without replacement (StyleGAN2-ADA / clean-fid
    KID). scale multiplies the value (JEDi reports ×100). For KVD, `fvd_protocol` names the FVD
    protocol whose clips and I3D features are reused; its hash is part of this hash.
    """

    extractor: str = "i3d-torchscript"
    weights: str = "i3d_torchscript"
    fvd_protocol: str = ""  # KVD: clips/features of this FVD protocol
    # KVD: that FVD protocol's detector input size instead of its own (smoke tests with a random
    # detector, RunConfig.resolution); 0: as registered. Hashed through the FVD protocol it gives
    fvd_resolution: int = field(default=0, metadata={"hash": False})
    feature: str = "logits-400-time-mean"
    num_frames: int = 16
    clip: str = "first"  # JEDi: first | central; KVD: as-fvd-protocol (its real/fake clip rules)
    pooling: str = ""  # JEDi: attentive-probe | token-mean
    num_real: int = 2048
    num_fake: int = 2048
    kernel_degree: int = 3
    kernel_gamma: float = 0.0  # 0 -> 1/d
    kernel_coef0: float = 1.0
    estimator: str = "unbiased"  # unbiased | biased
    subsets: int = 0
    subset_size: int = 1000
    subset_seed: int = 0
    scale: float = 1.0
    precision: str = field(default="float64 (features cast from float32)", metadata=_DOC,
                           compare=False)
    reference_settings: str = field(default="", metadata=_DOC, compare=False)

    def canonical(self) -> dict:
        """Only fields that move the number are hashed: with `fvd_protocol` its clips, extractor
        and features replace ours; without subsets their size and seed are unused."""
        data = super().canonical()
        if self.fvd_protocol:
            for k in ("extractor", "weights", "feature", "num_frames", "clip", "pooling",
                      "num_real", "num_fake"):
                data.pop(k, None)
            data["fvd_protocol_canonical"] = self.fvd().canonical()
        if not self.subsets:
            data.pop("subset_size", None)
            data.pop("subset_seed", None)
        return data

    def fvd(self) -> "FVDProtocol":
        """KVD: the FVD protocol whose clips and features it uses (with `fvd_resolution`)."""
        p = get(self.fvd_protocol)
        return replace(p, resolution=self.fvd_resolution) if self.fvd_resolution else p


_CLEANFID_SRC = ("GaParmar/clean-fid cleanfid/resize.py make_resizer('PIL', False, 'bicubic', "
                 "(299, 299)); inception_torchscript.py InceptionV3W (clean mode); fid.py "
                 "frechet_distance, kernel_distance, fid_from_feats")
_TATS_KVD_SRC = ("songweige/TATS tats/fvd/fvd.py polynomial_mmd: sklearn polynomial_kernel "
                 "defaults (degree 3, gamma 1/d, coef0 1), unbiased, full sets (the KVD of "
                 "Unterthiner et al. 2018 as the VideoGPT/TATS/DIGAN line computes it)")
_JEDI_SETTINGS = ("JEDi (Luo et al., ICLR 2025; oooolga/JEDi videojedi/JEDi.py, "
                  "mmd_polynomial.py, V_JEPA.py): V-JEPA 1 ViT-H/16 (vith16.pth.tar, 1280-d) "
                  "+ SSv2 attentive-probe pooler (ssv2-probe.pth.tar), frames in [0,1] "
                  "normalised with ImageNet mean/std, no resize inside JEDi; "
                  "mmd_poly(train, test, degree=2, gamma=None (1/d), coef0=0) = "
                  "K_xx.mean() + K_yy.mean() - 2 K_xy.mean() (biased), x100; "
                  "load_features num_samples=5000; the paper: JEDi settles with ~16% of the "
                  "samples FVD needs")

_DISTANCES: list[Protocol] = [
    FrameProtocol(
        name="fid@clean-frames-all", metric="fid",
        description="Frame FID through clean-fid: every frame of 2048 real and 2048 generated "
                    "videos, clean resize to 299, Inception pool3 2048-d, np.cov, scipy sqrtm.",
        source=_CLEANFID_SRC),
    FrameProtocol(
        name="fid@clean-frames-16", metric="fid", frames="uniform", frames_per_video=16,
        description="Frame FID through clean-fid on 16 frames per video at "
                    "linspace(0, T-1, 16) (pytorchvideo UniformTemporalSubsample).",
        source=_CLEANFID_SRC),
    FrameProtocol(
        name="kid@clean-frames-all", metric="kid",
        description="Frame KID through clean-fid (kernel_distance: 100 subsets of <=1000, "
                    "cubic kernel), every frame; reported raw (papers often print x1e3).",
        source=_CLEANFID_SRC),
    FrameProtocol(
        name="kid@clean-frames-16", metric="kid", frames="uniform", frames_per_video=16,
        description="Frame KID through clean-fid on 16 frames per video at linspace(0, T-1, 16).",
        source=_CLEANFID_SRC),
    KernelProtocol(
        name="kvd@stylegan-v-2048x16", metric="kvd", fvd_protocol="fvd@stylegan-v-2048x16",
        clip="as-fvd-protocol",
        description="KVD: unbiased cubic-polynomial MMD^2 on the full sets of the I3D features "
                    "of fvd@stylegan-v-2048x16 (StyleGAN-V itself has no KVD; kernel and "
                    "estimator of TATS' polynomial_mmd).",
        source=_TATS_KVD_SRC),
    KernelProtocol(
        name="kvd@stylegan-v-2048x16-subsets", metric="kvd", fvd_protocol="fvd@stylegan-v-2048x16",
        clip="as-fvd-protocol",
        subsets=100, subset_size=1000,
        description="KVD as StyleGAN-V's kid50k_full estimates KID (100 subsets of <=1000, "
                    "mean of unbiased MMD^2), on the I3D features of fvd@stylegan-v-2048x16.",
        source="universome/stylegan-v src/metrics/metric_main.py kid50k_full "
               "(compute_kid num_subsets=100, max_subset_size=1000; = cleanfid kernel_distance)"),
    KernelProtocol(
        name="kvd@tats-i3d", metric="kvd", extractor="i3d-400", weights="i3d_pretrained_400",
        fvd_protocol="fvd@cd-fvd-i3d", clip="as-fvd-protocol",
        description="KVD on the i3d_pretrained_400 features with TATS' preprocessing (bilinear "
                    "straight to 224, 2x/255-1; the clips and I3D path of fvd@cd-fvd-i3d).",
        source=_TATS_KVD_SRC),
    KernelProtocol(
        name="jedi@vjepa2-vitl-ssv2", metric="jedi", extractor="vjepa2", weights="vjepa2_vitl_ssv2",
        feature="vjepa2-attentive-probe-1024", num_frames=16, clip="first",
        pooling="attentive-probe", num_real=5000, num_fake=5000, kernel_degree=2,
        kernel_coef0=0.0, estimator="biased", scale=100.0,
        description="JEDi-style distance: JEDi's MMD (polynomial degree 2, gamma 1/d, coef0 0, "
                    "biased, x100) on V-JEPA 2 ViT-L/16 SSv2-probe pooled features of the "
                    "first 16 frames (transformers has V-JEPA 2 only; JEDi used V-JEPA 1 "
                    "ViT-H/16 + its SSv2 probe, so values are not JEDi's own numbers).",
        source="oooolga/JEDi; facebook/vjepa2-vitl-fpc16-256-ssv2 via transformers "
               "VJEPA2ForVideoClassification (encoder + pooler) and VJEPA2VideoProcessor",
        reference_settings=_JEDI_SETTINGS),
    KernelProtocol(
        name="jedi@vjepa2-vitl-mean", metric="jedi", extractor="vjepa2", weights="vjepa2_vitl_ssv2",
        feature="vjepa2-token-mean-1024", num_frames=16, clip="first", pooling="token-mean",
        num_real=5000, num_fake=5000, kernel_degree=2, kernel_coef0=0.0, estimator="biased",
        scale=100.0,
        description="As jedi@vjepa2-vitl-ssv2 with the mean of the encoder tokens instead of "
                    "the attentive probe (JEDi's finetuned=False path).",
        source="oooolga/JEDi videojedi/V_JEPA.py get_feats (finetuned=False)",
        reference_settings=_JEDI_SETTINGS),
]

_ALL.extend(_DISTANCES)
PROTOCOLS.update({p.name: p for p in _DISTANCES})
__all__ += ["FrameProtocol", "KernelProtocol"]

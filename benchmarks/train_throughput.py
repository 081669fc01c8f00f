"""Training throughput: tandem's trainer pieces vs Hugging Face MBart (the anchor) on the same shapes.

Both train random full-length batches (no padding) with fused AdamW (HF Trainer's default), bf16 autocast on CUDA and fp32
on CPU; nothing is downloaded. tandem runs Seq2SeqLM through `Seq2SeqTrainModule` (fused chunked
cross-entropy) and `parallelize()` (optional per-block torch.compile / activation checkpointing); HF runs
MBartForConditionalGeneration (SDPA attention) with matching dimensions and its own loss.

Prints one JSON line per implementation (tokens/s, TFLOP/s, MFU against a matmul peak measured on the same
device, peak memory) and a final ratio line. With `--impl both` each implementation runs in a fresh child
process (clean peak memory), sharing one measured peak.

    python benchmarks/train_throughput.py --impl both --preset tiny --device cpu --rounds 7   # 2 threads
    python benchmarks/train_throughput.py --impl both --preset base --device cuda --compile   # 32x(512+512)
    python benchmarks/train_throughput.py --impl both --preset alexatm-1.9b --device cuda --compile --compile-mode default
    python benchmarks/train_throughput.py --impl tandem --preset base --device cuda --compile --profile prof/

Measured 2026-11-27 (torch 2.11, transformers 5.17; 3 warm-up + 10 timed steps), base, tandem --compile with
CUDA graphs per block (auto) and the bf16 residual stream (the default): H100 75.2 ms/step, 436k tokens/s,
328 TFLOP/s, 45.9% MFU of the 714 TFLOP/s peak measured in that run, HF 261k tokens/s (27.5%); H200 (30
steps) 70.3 ms/step, 466k tokens/s, 49.9% of 704, HF 319k (34.1%). The fp32 stream: 43.5% (H100), 48.5-49.8%
(H200). alexatm-1.9b on the H200: 67.9% (76.4k tokens/s, 26.7 GiB); 2026-11-26 with Inductor's default mode
and the fp32 stream 60.3% (74.2k tokens/s, 47.6 GiB), HF 53.6% (65.9k tokens/s, 60.0 GiB).
CPU tiny, idle 2-core machine, 7 alternating rounds, 2026-11-28: on an Intel Xeon (AVX-512) best steps 1.38-1.43x
HF tokens/s and paired medians 1.41-1.45x in three runs at 2 threads (the default), 1.33x (paired 1.38x) at 1
thread; the same code on an AMD EPYC (AVX-512) the session before, 1.18x in two runs. Rows name the CPU
(`device_name`): the ratio depends on it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from _common import cpu_name, nonneg_int, positive_int, require

# name -> (tandem ModelConfig preset, overrides, batch, src_len, tgt_len)
SHAPES = {
    "tiny": ("tiny", {}, 8, 128, 128),
    "small": ("small", {}, 8, 256, 256),
    "edge-17m": ("edge-17m", {}, 8, 128, 128),
    "base": ("base", {}, 32, 512, 512),
    "alexatm-1.9b": ("2b", {}, 8, 1024, 1024),
}


def fill_lengths(n: int, rows: int, fill: float) -> list[int]:
    """Real lengths of `rows` rows of `n` positions whose mean is `fill` of `n`: spread evenly from full rows
    down to (2 fill - 1) n (fill >= 0.5), or from 2 fill n down to one token, as packed denoising rows and
    unpacked CLM rows leave a trainer's batch."""
    if fill >= 1.0 or rows == 1:
        return [max(1, round(fill * n))] * rows
    hi, lo = (n, (2 * fill - 1) * n) if fill >= 0.5 else (2 * fill * n, 1.0)
    step = (hi - lo) / max(1, rows - 1)
    return [max(1, min(n, round(hi - i * step))) for i in range(rows)]


def _model_config(args):
    from tandem.config import ModelConfig

    preset, over, *_ = SHAPES[args.preset]
    return ModelConfig.preset(preset, dropout=0.0, **over)


def _hf_model(cfg):
    from transformers import MBartConfig, MBartForConditionalGeneration

    hcfg = MBartConfig(
        vocab_size=cfg.vocab_size,
        d_model=cfg.d_model,
        encoder_layers=cfg.encoder_layers,
        decoder_layers=cfg.decoder_layers,
        encoder_attention_heads=cfg.num_heads,
        decoder_attention_heads=cfg.num_heads,
        encoder_ffn_dim=cfg.ffn_dim,
        decoder_ffn_dim=cfg.ffn_dim,
        max_position_embeddings=cfg.max_positions,
        activation_function="gelu",
        dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        scale_embedding=cfg.embed_scale != 1.0,
        tie_word_embeddings=cfg.tie_lm_head,
        pad_token_id=cfg.pad_token_id,
        bos_token_id=cfg.bos_token_id,
        eos_token_id=cfg.eos_token_id,
        decoder_start_token_id=cfg.decoder_start_token_id,
        attn_implementation="sdpa",
    )
    return MBartForConditionalGeneration(hcfg)


def _peak_flops(device, dtype) -> float:
    from tandem.train.flops import measure_matmul_peak

    return measure_matmul_peak(device, dtype)


def run_one(args) -> dict:
    import torch

    from tandem.train import Seq2SeqTrainModule, build_optimizer, parallelize
    from tandem.train.flops import seq2seq_train_flops
    from tandem.train.loss import scored_index
    from tandem.train.optim import LateRead, can_defer_norm, clip_grad_norm

    torch.manual_seed(0)
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = _model_config(args)
    _, _, B, S, T = SHAPES[args.preset]
    B, S, T = args.batch or B, args.src_len or S, args.tgt_len or T
    bf16 = device.type == "cuda" and args.precision != "fp32"
    gen = torch.Generator().manual_seed(0)
    batches = []
    src_lens, tgt_lens = fill_lengths(S, B, args.source_fill), fill_lengths(T, B, args.target_fill)
    real_tokens = sum(src_lens) + sum(tgt_lens)  # per step
    for _ in range(2):
        ids = torch.randint(4, cfg.vocab_size, (B, S), generator=gen)
        labels = torch.randint(4, cfg.vocab_size, (B, T), generator=gen)
        mask = torch.ones_like(ids)
        for i, (n, m) in enumerate(zip(src_lens, tgt_lens, strict=True)):  # rows padded as the trainer's are
            ids[i, n:], mask[i, n:], labels[i, m:] = cfg.pad_token_id, 0, -100
        # what tandem's trainer reads on the host before a batch moves (no host sync on the device for it)
        facts = {"padded": bool((mask == 0).any()), "scored": scored_index(labels).to(device)}
        batches.append((ids.to(device), mask.to(device), labels.to(device), facts))

    if args.sdpa != "default":
        from torch.nn.attention import SDPBackend, sdpa_kernel

        first = {
            "cudnn": SDPBackend.CUDNN_ATTENTION,
            "flash": SDPBackend.FLASH_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION,
        }[args.sdpa]
        order = [first] + [
            b
            for b in (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH)
            if b != first
        ]
        # for the whole process (both implementations' eager calls and tandem's compiled blocks)
        sdpa_kernel(order, set_priority=True).__enter__()
    if args.impl == "tandem":
        from tandem.model import Seq2SeqLM

        with device:  # initialise on the device: building a 1.9B model on the host CPU takes minutes
            model = Seq2SeqLM(cfg)
        if args.residual_dtype in ("auto", "bf16") and bf16:
            model.set_residual_dtype(torch.bfloat16)
        from tandem.train.trainer import resolve_compile_mode

        module = Seq2SeqTrainModule(model, fused_loss=not args.no_fused_loss, compile_loss=args.compile)
        # the mode the trainer takes for the same flags (one process, one micro-batch per step)
        compile_mode = resolve_compile_mode(args.compile_mode, device, 1, 1)
        parallelize(
            module,
            device,
            activation_checkpointing=args.ac,
            compile=args.compile,
            mixed_precision=None,
            compile_mode=compile_mode,
        )
        opt = build_optimizer(module, lr=1e-4, weight_decay=0.1)

        def step(b):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss, _, _ = module(b[0], b[1], b[2], **b[3])
            loss.backward()
            return loss

        nparams = sum(p.numel() for p in module.parameters())
    else:
        with device:
            model = _hf_model(cfg)
        if args.ac:
            model.gradient_checkpointing_enable()
        params = list(model.parameters())
        # fused on CPU too: HF Trainer's default optimizer is adamw_torch_fused with torch >= 2.8
        opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, fused=True)

        def step(b):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = model(input_ids=b[0], attention_mask=b[1], labels=b[2]).loss
            loss.backward()
            return loss

        nparams = sum(p.numel() for p in model.parameters())
        model.train()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    # the trainer's one-process step: the gradient norm is read back while the next step's kernels are queued
    # (a non-finite step is skipped on the device)
    defer = args.impl == "tandem" and can_defer_norm(opt)
    last_norm: list[LateRead] = []

    def train_step(i):
        torch.compiler.cudagraph_mark_step_begin()  # a new iteration for blocks compiled with CUDA graphs
        loss = step(batches[i % 2])
        grads = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if defer:
            if last_norm:
                last_norm.pop().value()
            last_norm.append(LateRead(clip_grad_norm(grads, 1.0, opt, defer=True)))
        elif args.impl == "tandem":  # the trainer's clipping: folded into the fused step's grad_scale
            clip_grad_norm(grads, 1.0, opt)
        else:
            torch.nn.utils.clip_grad_norm_(grads, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for i in range(args.warmup):
        train_step(i)
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times, cpu_times = [], []
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for i in range(args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = train_step(i)
        sync()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / args.steps
    window = None
    if device.type == "cuda" or args.window:
        # the same steps back to back, one sync at the end: what the per-step syncs above hide, the host
        # queueing the next step while the device runs this one (the trainer's deferred gradient-norm read)
        sync()
        t0 = time.perf_counter()
        for i in range(args.steps):
            loss = train_step(i)
        sync()
        window = (time.perf_counter() - t0) / args.steps
    final = float(loss.detach())
    profile = _profile(args, train_step, sync) if args.profile else None
    # the median step: robust to other processes' bursts on a shared machine (equal to the mean on a GPU)
    dt = statistics.median(times) * args.steps
    flops = (
        seq2seq_train_flops(
            cfg.d_model,
            cfg.ffn_dim,
            cfg.encoder_layers,
            cfg.decoder_layers,
            cfg.vocab_size,
            B,
            S,
            T,
            kv_dim=cfg.kv_dim,
            gated_ffn=cfg.gated_ffn,
        )
        * args.steps
    )
    peak = args.peak_flops or _peak_flops(device, torch.bfloat16 if bf16 else torch.float32)
    extra_mem = {}
    if device.type == "cuda":
        mem = torch.cuda.max_memory_allocated(device) / 2**30
        mem_key = "peak_gpu_mem_gib"
        # CUDA graphs allocate from a private pool that max_memory_allocated does not see: reserved does
        extra_mem["peak_gpu_reserved_gib"] = torch.cuda.max_memory_reserved(device) / 2**30
    else:
        mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        mem_key = "peak_rss_gib"
    return {
        "impl": args.impl,
        "preset": args.preset,
        "device": args.device,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "precision": "bf16-autocast" if bf16 else "fp32",
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "params": nparams,
        "shape": f"{B}x({S}+{T})",
        "compile": bool(args.compile and args.impl == "tandem"),
        "compile_mode": (compile_mode or "default") if args.compile and args.impl == "tandem" else None,
        "sdpa": args.sdpa,
        "residual_dtype": ("fp32" if args.residual_dtype == "fp32" else "bf16")
        if args.impl == "tandem" and bf16
        else None,
        "steps": args.steps,
        "seconds": sum(times),
        "median_step_s": dt / args.steps,
        "fill": real_tokens / (B * (S + T)),
        "tokens_per_s": real_tokens * args.steps / dt,
        # process CPU time per step: on a shared CPU with --threads 1 this is what other jobs distort least
        "median_step_cpu_s": statistics.median(cpu_times),
        "tokens_per_cpu_s": real_tokens / statistics.median(cpu_times),
        # the host process's minor page faults per timed step: memory the step takes fresh from the kernel
        # (on CPU, HF's new logits and gradients each step; each 4 KiB page is faulted in, zeroed, then written)
        "minor_faults_per_step": faults,
        "tflops": flops / dt / 1e12,
        "mfu": flops / dt / peak,
        **(
            {
                "window_step_s": window,
                "window_tokens_per_s": real_tokens / window,
                "window_mfu": flops / args.steps / window / peak,
            }
            if window is not None
            else {}
        ),
        "matmul_peak_tflops": peak / 1e12,
        mem_key: mem,
        **extra_mem,
        "final_loss": final,
        **({"profile": profile} if profile is not None else {}),
    }


# device kernels by kind, from their names (cuBLAS/CUTLASS GEMMs, attention, Inductor's Triton kernels, optimizer)
_KINDS = (
    ("attention", ("flash", "fmha", "attention", "cudnn", "sdpa")),
    (
        "gemm",
        (
            "gemm",
            "xmma",
            "cutlass",
            "nvjet",
            "sm90_",
            "sm80_",
            "matmul",
            "triton_tem",
            "aten::mm",
            "addmm",
            "bmm",
        ),
    ),
    ("optimizer", ("adam", "multi_tensor", "foreach", "norm_kernel")),
    ("triton_fused", ("triton_",)),
)


def _kind(name: str) -> str:
    low = name.lower()
    for kind, keys in _KINDS:
        if any(k in low for k in keys):
            return kind
    return "other"


_DEVICE_CATS = ("kernel", "gpu_memcpy", "gpu_memset")
_HOST_CATS = ("cpu_op", "cuda_runtime", "cuda_driver", "user_annotation")


def _device_gaps(events: list[dict], steps: int, top: int = 8) -> dict:
    """Where the device idled in a profiled Chrome trace's events: its busy intervals (kernels, copies,
    memsets) merged, the idle time between the first and the last of them per step, how many gaps were
    longer than 50 us, and the `top` longest gaps, each with the device work on either side and the host
    calls that spanned most of it (innermost first): what the host was doing instead of launching."""
    busy = sorted(
        (e["ts"], e["ts"] + e.get("dur", 0), e.get("name", "?"))
        for e in events
        if e.get("ph") == "X" and e.get("cat") in _DEVICE_CATS
    )
    if not busy:
        return {}
    gaps = []
    end, last = busy[0][1], busy[0][2]
    for start, stop, name in busy[1:]:
        if start > end:
            gaps.append((start - end, end, start, last, name))
        if stop >= end:
            end, last = stop, name
    host = [
        (e["ts"], e["ts"] + e.get("dur", 0), e.get("name", "?"))
        for e in events
        if e.get("ph") == "X" and e.get("cat") in _HOST_CATS
    ]
    longest = []
    for length, g0, g1, before, after in sorted(gaps, reverse=True)[:top]:
        spanning = [(h1 - h0, name) for h0, h1, name in host if min(h1, g1) - max(h0, g0) >= 0.5 * length]
        longest.append(
            {
                "us": round(length, 1),
                "after": before[:80],
                "before": after[:80],
                "host": [name[:80] for _, name in sorted(spanning)[:4]],
            }
        )
    return {
        "idle_ms_per_step": round(sum(g[0] for g in gaps) / 1e3 / steps, 3),
        "gaps_over_50us_per_step": round(sum(g[0] > 50 for g in gaps) / steps, 1),
        "longest_gaps": longest,
    }


def _profile(args, train_step, sync, steps: int = 3, top: int = 25) -> dict:
    """`steps` more steps under torch.profiler: a Chrome trace in --profile DIR (open it in
    chrome://tracing or Perfetto), the `top` ops by self time (device time on CUDA) per step with their
    share of the profiled time, the time by kind of kernel, and (CUDA) how busy the device was over the
    wall time of those steps and where it idled (`_device_gaps`): where a step goes, for the next
    optimisation."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    cuda = args.device == "cuda"
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    sync()
    with profile(activities=acts) as prof:
        t0 = time.perf_counter()
        for i in range(steps):
            train_step(i)
        sync()
        wall = time.perf_counter() - t0
    os.makedirs(args.profile, exist_ok=True)
    trace = os.path.join(args.profile, f"{args.impl}-{args.preset}-{args.device}.json")
    prof.export_chrome_trace(trace)
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, key, 0) > 0]
    if cuda:  # kernels only: a CPU-side op's device total repeats its kernels' time
        events = [
            e for e in events if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA
        ] or events
    total = sum(getattr(e, key) for e in events) or 1.0
    events.sort(key=lambda e: getattr(e, key), reverse=True)
    kinds: dict[str, float] = {}
    for e in events:
        kinds[_kind(e.key)] = kinds.get(_kind(e.key), 0.0) + getattr(e, key)
    del torch
    gaps = {}
    if cuda:
        with open(trace, encoding="utf-8") as f:
            gaps = _device_gaps(json.load(f).get("traceEvents", []), steps)
    return {
        "trace": trace,
        **gaps,
        "time": "device" if cuda else "cpu",
        "ms_per_step": round(total / 1e3 / steps, 3),
        "wall_ms_per_step": round(wall * 1e3 / steps, 3),
        "busy_share": round(total / 1e6 / wall, 4),
        "by_kind_ms_per_step": {k: round(v / 1e3 / steps, 3) for k, v in sorted(kinds.items())},
        "top": [
            {
                "op": e.key[:120],
                "calls_per_step": e.count / steps,
                "ms_per_step": round(getattr(e, key) / 1e3 / steps, 3),
                "share": round(getattr(e, key) / total, 4),
            }
            for e in events[:top]
        ],
    }


def summarize(pairs: list[tuple[dict, dict]], preset: str, device: str, mem_key: str) -> dict:
    """The ratio line from each round's (hf, tandem) records: `tokens_per_s` from the best round of each
    implementation, `tokens_per_s_paired_median` the median of the rounds' own ratios (each pair ran back
    to back: less moved by one lucky round on a shared CPU than the best of each)."""
    h = max((p[0] for p in pairs), key=lambda r: r["tokens_per_s"])
    t = max((p[1] for p in pairs), key=lambda r: r["tokens_per_s"])
    return {
        "ratio": "tandem/hf",
        "preset": preset,
        "device": device,
        "device_name": t["device_name"],
        "tokens_per_s": t["tokens_per_s"] / h["tokens_per_s"],
        "tokens_per_s_paired_median": statistics.median(
            b["tokens_per_s"] / a["tokens_per_s"] for a, b in pairs
        ),
        "rounds": len(pairs),
        "tokens_per_cpu_s": t["tokens_per_cpu_s"] / h["tokens_per_cpu_s"],
        "tokens_per_s_tandem": t["tokens_per_s"],
        "tokens_per_s_hf": h["tokens_per_s"],
        "mfu_tandem": t["mfu"],
        "mfu_hf": h["mfu"],
        "peak_mem": t[mem_key] / h[mem_key],
    }


def _fill(text: str) -> float:
    v = float(text)
    if not 0.0 < v <= 1.0:
        raise argparse.ArgumentTypeError(f"{text}: a share in (0, 1]")
    return v


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--impl", default="both", choices=["tandem", "hf", "both"])
    p.add_argument("--preset", default="tiny", choices=list(SHAPES))
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument(
        "--precision", default="auto", choices=["auto", "fp32"], help="auto: bf16 autocast on CUDA"
    )
    p.add_argument("--batch", type=positive_int, default=None)
    p.add_argument("--src-len", type=positive_int, default=None)
    p.add_argument("--tgt-len", type=positive_int, default=None)
    p.add_argument("--steps", type=positive_int, default=10, help="timed steps")
    p.add_argument("--warmup", type=nonneg_int, default=3, help="untimed steps first")
    p.add_argument("--threads", type=positive_int, default=2, help="CPU threads")
    p.add_argument("--compile", action="store_true", help="tandem: torch.compile each block")
    p.add_argument("--ac", action="store_true", help="activation checkpointing (both)")
    p.add_argument(
        "--window",
        action="store_true",
        help="also time the steps back to back with one sync at the end (window_* fields; always on CUDA)",
    )
    p.add_argument("--no-fused-loss", action="store_true", help="tandem: plain cross-entropy on full logits")
    p.add_argument(
        "--compile-mode",
        default="auto",
        choices=["auto", "default", "reduce-overhead", "max-autotune-no-cudagraphs"],
        help="tandem --compile: torch.compile mode as `tandem pretrain --compile-mode` (auto: CUDA graphs on a "
        "GPU, Inductor's default on CPU)",
    )
    p.add_argument(
        "--residual-dtype",
        default="auto",
        choices=["auto", "fp32", "bf16"],
        help="tandem: the residual stream under bf16 autocast, as `tandem pretrain --residual-dtype` (auto: bf16)",
    )
    p.add_argument(
        "--source-fill",
        type=_fill,
        default=1.0,
        help="mean share of each source row that is real tokens, the rest padding under the attention mask "
        "(the trainer's rows: about 0.78 at the base shape); tokens/s counts the real ones (default 1: no padding)",
    )
    p.add_argument(
        "--target-fill",
        type=_fill,
        default=1.0,
        help="mean share of each target row that is scored, the rest -100 (default 1)",
    )
    p.add_argument(
        "--sdpa",
        default="default",
        choices=["default", "cudnn", "flash", "efficient"],
        help="scaled_dot_product_attention backend tried first (both impls; flash takes no padding mask)",
    )
    p.add_argument(
        "--rounds", type=positive_int, default=None, help="runs per impl, best kept (default: 2 CPU, 1 GPU)"
    )
    p.add_argument(
        "--profile",
        metavar="DIR",
        default=None,
        help="after timing, profile 3 more steps: a Chrome trace per impl in DIR and the top ops per step",
    )
    p.add_argument("--peak-flops", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.impl in ("hf", "both"):
        require("train_throughput.py", "transformers")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            p.error("--device cuda: no CUDA device is available here; use --device cpu")

    if args.impl != "both":
        print(json.dumps(run_one(args)), flush=True)
        return 0
    import torch

    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    bf16 = args.device == "cuda" and args.precision != "fp32"
    peak = _peak_flops(torch.device(args.device), torch.bfloat16 if bf16 else torch.float32)
    del torch
    pairs: list[tuple[dict, dict]] = []  # (hf, tandem) of each round, run back to back
    base = list(argv if argv is not None else sys.argv[1:])
    rounds = args.rounds or (1 if args.device == "cuda" else 2)
    for _ in range(rounds):  # alternate the two on CPU, where load from other processes drifts
        pair = []
        for impl in ("hf", "tandem"):
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                *base,
                "--impl",
                impl,
                "--peak-flops",
                str(peak),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                print(proc.stderr[-4000:], file=sys.stderr)
                return proc.returncode
            line = [x for x in proc.stdout.splitlines() if x.startswith("{")][-1]
            pair.append(json.loads(line))
            print(line, flush=True)
        pairs.append(tuple(pair))
    mem_key = "peak_gpu_mem_gib" if args.device == "cuda" else "peak_rss_gib"
    print(json.dumps(summarize(pairs, args.preset, args.device, mem_key)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

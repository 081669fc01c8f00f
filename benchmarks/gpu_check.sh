#!/usr/bin/env bash
# The GPU training measurements of issue #3 in one prepared run (a lent H100/H200 device has minutes, not hours).
#
#   bash benchmarks/gpu_check.sh base     # ~3 min: base shape: HF, tandem --compile (auto: CUDA graphs) with
#                                         # the bf16 (default) and the fp32 residual stream, a profile by kernel kind
#   bash benchmarks/gpu_check.sh explore  # ~8 min: base shape, auto against other attention, loss and Inductor
#                                         # settings (each in the same call)
#   bash benchmarks/gpu_check.sh trainer  # ~4 min: `tandem pretrain` (base, synthetic corpus): auto, auto without the batch thread, default
#   bash benchmarks/gpu_check.sh 1.9b     # ~5 min: AlexaTM-shaped 1.9B, tandem --compile vs HF
#   bash benchmarks/gpu_check.sh padded   # ~5 min: base shape with rows padded as the trainer's (78% real): HF,
#                                         # tandem, and tandem with cuDNN / mem-efficient attention tried first
#   bash benchmarks/gpu_check.sh confirm  # ~6 min: the bf16 residual stream over 30 steps (base, HF beside it), at
#                                         # 1.9B, and in `tandem pretrain`
#
# Runs from the repository root with the machine's python3 (torch + transformers preinstalled, no pip needed:
# tandem is put on PYTHONPATH). Every benchmark's JSON lines go to $OUT (default ./gpu_out) as one file per
# stage, a gzipped trace of the profiled steps to $OUT/trace.json.gz; stderr is kept beside them. Each step is cut by
# `timeout` so that one hang cannot eat the whole lease.
set -u
stage=${1:-base}
out=${OUT:-gpu_out}
mkdir -p "$out"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
py=${PYTHON:-python3}
tb=benchmarks/train_throughput.py
log="$out/$stage.jsonl"
: >"$log"

start=$SECONDS
budget=${BUDGET_S:-570} # the whole stage stays under one device call's limit; a step gets what is left
step() {  # step SECONDS ARGS...: run one benchmark, append its JSON lines to the stage log
    local secs=$1
    shift
    local left=$((budget - (SECONDS - start)))
    if ((left < 30)); then
        echo "== skipped (stage budget spent): $*" | tee -a "$out/$stage.err"
        return
    fi
    ((secs > left)) && secs=$left
    echo "== $*" | tee -a "$out/$stage.err"
    timeout "$secs" "$py" "$tb" "$@" 2>>"$out/$stage.err" | tee -a "$log"
    echo "rc=${PIPESTATUS[0]}" | tee -a "$out/$stage.err"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
"$py" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" |
    tee -a "$out/gpu.txt"
case "$stage" in
base)
    peak=$("$py" -c "from tandem.train.flops import measure_matmul_peak as m; import torch; print(m(torch.device('cuda'), torch.bfloat16))")
    # the measurement the GPU rows before 2026-11-28 used (single calls, no warm-up), for comparison
    single=$("$py" -c "from tandem.train.flops import measure_matmul_peak as m; import torch; print(m(torch.device('cuda'), torch.bfloat16, warm_s=0, round_s=0))")
    echo "matmul peak $peak (single calls without warm-up: $single)" | tee -a "$out/gpu.txt"
    c=(--preset base --device cuda --peak-flops "$peak")
    step 60 --impl hf "${c[@]}"
    # auto: CUDA graphs per block (one GPU), the residual stream in bf16 (the elementwise kernels between the
    # GEMMs read and write half the bytes); then the fp32 stream, as before 2026-11-28; then a profile
    step 90 --impl tandem "${c[@]}" --compile
    step 90 --impl tandem "${c[@]}" --compile --residual-dtype fp32
    step 120 --impl tandem "${c[@]}" --compile --profile /tmp/prof
    gzip -c /tmp/prof/*.json >"$out/trace.json.gz" 2>/dev/null
    ;;
explore) # the base shape's next candidates, each against auto in the same call (one ~8 min call)
    peak=$("$py" -c "from tandem.train.flops import measure_matmul_peak as m; import torch; print(m(torch.device('cuda'), torch.bfloat16))")
    echo "matmul peak $peak" | tee -a "$out/gpu.txt"
    c=(--preset base --device cuda --peak-flops "$peak" --compile)
    step 90 --impl tandem "${c[@]}"
    step 90 --impl tandem "${c[@]}" --sdpa flash
    step 90 --impl tandem "${c[@]}" --no-fused-loss
    TORCHINDUCTOR_COORDINATE_DESCENT_TUNING=1 step 150 --impl tandem "${c[@]}"
    step 90 --impl tandem "${c[@]}"
    ;;
trainer) # `tandem pretrain` itself, base preset, on a synthetic corpus: auto (CUDA graphs), then default
    "$py" benchmarks/synthetic_corpus.py /tmp/syn.txt --lines 15000
    # auto (CUDA graphs, batches built in a background thread), the same without that thread, then
    # Inductor's default mode
    for run in auto:2 auto:0 default:2; do
        mode=${run%%:*} prefetch=${run##*:} name="$mode-prefetch$prefetch"
        left=$((budget - (SECONDS - start)))
        ((left < 40)) && break
        echo "== pretrain --compile-mode $mode --prefetch-batches $prefetch" | tee -a "$out/$stage.err"
        timeout "$left" "$py" -m tandem pretrain --preset base --data /tmp/syn.txt --vocab-size 8000 \
            $([ -d /tmp/pre-auto-prefetch2/tokenizer ] && echo --tokenizer /tmp/pre-auto-prefetch2/tokenizer) \
            --steps 30 --warmup 10 --batch-size 32 --seq-len 512 --log-every 10 --ckpt-every 1000 \
            --val-holdout 0.01 --val-every 15 --val-examples 64 --num-workers 6 --compile \
            --compile-mode "$mode" --prefetch-batches "$prefetch" --no-progress --no-tensorboard \
            --out "/tmp/pre-$name" >>"$out/$stage.err" 2>&1
        echo "rc=$?" | tee -a "$out/$stage.err"
        cp "/tmp/pre-$name/metrics.jsonl" "$out/pretrain-$name.jsonl" 2>/dev/null
    done
    ;;
1.9b) # measured with Inductor's default mode, then (time permitting) auto's CUDA graphs (both with the bf16 stream)
    step 420 --impl both --preset alexatm-1.9b --device cuda --compile --compile-mode default
    step 150 --impl tandem --preset alexatm-1.9b --device cuda --compile
    ;;
padded) # why `tandem pretrain` steps take longer than the benchmark's full rows: the padding mask's attention
    peak=$("$py" -c "from tandem.train.flops import measure_matmul_peak as m; import torch; print(m(torch.device('cuda'), torch.bfloat16))")
    echo "matmul peak $peak" | tee -a "$out/gpu.txt"
    c=(--preset base --device cuda --peak-flops "$peak")
    p=(--source-fill 0.78 --target-fill 0.78)
    step 60 --impl hf "${c[@]}" "${p[@]}"
    step 90 --impl tandem "${c[@]}" --compile "${p[@]}"
    step 90 --impl tandem "${c[@]}" --compile "${p[@]}" --sdpa cudnn
    step 90 --impl tandem "${c[@]}" --compile "${p[@]}" --sdpa efficient
    step 90 --impl tandem "${c[@]}" --compile # full rows, the same call
    ;;
confirm) # the bf16 residual stream: a longer base run with HF in the same call, the 1.9B shape, the trainer
    peak=$("$py" -c "from tandem.train.flops import measure_matmul_peak as m; import torch; print(m(torch.device('cuda'), torch.bfloat16))")
    echo "matmul peak $peak" | tee -a "$out/gpu.txt"
    c=(--preset base --device cuda --peak-flops "$peak" --steps 30)
    step 60 --impl hf "${c[@]}"
    step 90 --impl tandem "${c[@]}" --compile --residual-dtype bf16
    step 160 --impl tandem --preset alexatm-1.9b --device cuda --peak-flops "$peak" --compile --residual-dtype bf16
    "$py" benchmarks/synthetic_corpus.py /tmp/syn.txt --lines 15000
    left=$((budget - (SECONDS - start)))
    if ((left >= 40)); then
        echo "== pretrain --residual-dtype bf16" | tee -a "$out/$stage.err"
        timeout "$left" "$py" -m tandem pretrain --preset base --data /tmp/syn.txt --vocab-size 8000 \
            --steps 30 --warmup 10 --batch-size 32 --seq-len 512 --log-every 10 --ckpt-every 1000 \
            --val-holdout 0.01 --val-every 15 --val-examples 64 --num-workers 6 --compile --residual-dtype bf16 \
            --no-progress --no-tensorboard --out /tmp/pre-bf16 >>"$out/$stage.err" 2>&1
        echo "rc=$?" | tee -a "$out/$stage.err"
        cp /tmp/pre-bf16/metrics.jsonl "$out/pretrain-bf16.jsonl" 2>/dev/null
    fi
    ;;
*)
    echo "unknown stage $stage (base, explore, trainer, 1.9b, padded or confirm)" >&2
    exit 2
    ;;
esac

"""Runs `langevin bench` and every peer on the OU, double-well and Lorenz workloads at one size,
side by side on this machine, and writes the comparison (ratios to the best peer) into
BENCHMARKS.md between its `peers` markers. A peer that is not installed is skipped and said.

    python3 benches/peers/run_all.py [--log2 20] [--repeats 3] [--langevin PATH] [--cpu-max 18]
        [--peers numpy,jax,diffrax,torchsde] [--device cuda]
"""

import argparse
import json
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PEERS = ("numpy", "jax", "diffrax", "torchsde")
WORKLOADS = ("ou", "double_well", "lorenz")
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"


def records(command, timeout=None):
    """The JSON records a command prints, one per line (None when it failed or ran out of
    time)."""
    print("$", " ".join(command), file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"stopped after {timeout} s", file=sys.stderr)
        return None
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log2", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--langevin", default=str(ROOT / "target/release/langevin"))
    parser.add_argument("--cpu-max", type=int, default=18,
                        help="log2 cap on the CPU twin's trajectories (its rate is flat above ~2^14)")
    parser.add_argument("--slow-log2", type=int, default=14,
                        help="log2 size for diffrax and torchsde, whose per-step overhead makes "
                             "2^20 take many minutes on a CPU")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated peers to run")
    parser.add_argument("--device", default="cpu", help="torch device for torchsde (cpu, cuda)")
    parser.add_argument("--peer-timeout", type=float, default=None,
                        help="seconds after which a peer is stopped and left out of the table")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()

    rows, notes = [], []
    json_path = ROOT / "target" / "peers-langevin.json"
    bench = [args.langevin, "bench", "--size", "standard", "--only", ",".join(WORKLOADS),
             "--max-log2", str(args.log2), "--cpu-max", str(args.cpu_max),
             "--repeats", str(args.repeats), "--json", str(json_path)]
    print("$", " ".join(bench), file=sys.stderr, flush=True)
    if subprocess.run(bench, cwd=ROOT).returncode != 0:
        sys.exit("langevin bench failed (see above)")
    for r in json.loads(json_path.read_text())["results"]:
        if r["backend"] == "gpu" and r["trajectories"] != 1 << args.log2:
            continue
        r["backend"] = "langevin " + ("GPU backend" if r["backend"] == "gpu" else "CPU twin")
        rows.append(r)
    for peer in args.peers.split(","):
        if peer not in PEERS:
            sys.exit(f"--peers: unknown peer {peer!r}, expected some of {', '.join(PEERS)}")
        log2 = args.slow_log2 if peer in ("diffrax", "torchsde") else args.log2
        got = records([sys.executable, str(HERE / f"{peer}_peer.py"), "--log2", str(log2),
                       "--repeats", str(args.repeats), "--device", args.device], args.peer_timeout)
        if got is None:
            notes.append(f"{peer}: not run (not installed, failed or out of time; see stderr)")
            continue
        rows.extend(got)

    lines = [BEGIN, "",
             f"`python3 benches/peers/run_all.py --log2 {args.log2}`: 2^{args.log2} trajectories "
             f"(the CPU twin at most 2^{args.cpu_max}, diffrax and torchsde 2^{args.slow_log2}), "
             f"median of {args.repeats} after a warm-up, all on this machine in one run. Rates in "
             "trajectory-steps per second; `/ best peer` is the rate over the best peer's on the "
             "same workload; setup is the warm-up run (compilation included).", "",
             "| workload | who | trajectories | rate | setup s | / best peer | check |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for w in WORKLOADS:
        peers = [r["rate"] for r in rows if r["workload"] == w and not r["backend"].startswith("langevin")]
        best = max(peers) if peers else None
        for r in sorted((r for r in rows if r["workload"] == w), key=lambda r: -r["rate"]):
            ratio = f"{r['rate'] / best:.2f}" if best else "-"
            lines.append(f"| {w} | {r['backend']} ({r['adapter']}) | 2^{r['trajectories'].bit_length() - 1} "
                         f"| {r['rate']:.3e} | {r['setup_seconds']:.2f} | {ratio} | {r['check']} |")
    lines += [""] + [f"- {n}" for n in notes] + ["", END]
    table = "\n".join(lines)
    print(table)

    out = pathlib.Path(args.out)
    text = out.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + table + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Peers: NumPy, JAX, diffrax, torchsde\n\n" + table + "\n"
    out.write_text(text)
    print(f"written into {out}", file=sys.stderr)


if __name__ == "__main__":
    main()

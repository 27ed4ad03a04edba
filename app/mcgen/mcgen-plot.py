#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Draw mcgen's --sweep result: achieved throughput against p99 (and p50, p999) latency.

    mcgen-plot.py RESULT.json OUT.png
    mcgen-plot.py --check       (exit status 0 when matplotlib is there to draw with)

RESULT.json is what `mcgen --sweep ... --json FILE` wrote; mcgen --plot runs this script
itself. Needs matplotlib (Debian: python3-matplotlib). Exit status 0, or 1 with a message.
"""
import json
import sys


def have_matplotlib():
    """matplotlib.pyplot on the Agg backend, or None (said on stderr)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("mcgen-plot: matplotlib is missing (apt-get install python3-matplotlib)",
              file=sys.stderr)
        return None
    return plt


def main(argv):
    if len(argv) == 2 and argv[1] == "--check":
        return 0 if have_matplotlib() else 1
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        result = json.load(f)
    # A step with no reply has no latency to draw.
    steps = [s for s in result["steps"] if s["latency_us"]["count"] > 0]
    if not steps:
        print("mcgen-plot: no step with a reply in " + argv[1] + ": nothing to draw",
              file=sys.stderr)
        return 1
    plt = have_matplotlib()
    if plt is None:
        return 1
    opts = result["options"]
    x = [s["achieved_rate"] / 1000.0 for s in steps]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for q, style in (("p50", "o-"), ("p99", "s-"), ("p999", "^--")):
        ax.plot(x, [s["latency_us"][q] for s in steps], style, label=q)
    for s, xi in zip(steps, x):
        # A step cut short (an error, Ctrl-C) is a point of fewer seconds: marked "*".
        ax.annotate("%.0fk%s" % (s["offered_rate"] / 1000.0, "*" if s.get("failed") else ""),
                    (xi, s["latency_us"]["p99"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_yscale("log")
    cut = any(s.get("failed") for s in steps)
    ax.set_xlabel("achieved throughput (k requests/s); labels: offered"
                  + ("; *: step cut short" if cut else ""))
    ax.set_ylabel("latency (us, from the scheduled send)")
    ax.set_title("mcgen %s/%s %s, %s conns x %s" % (
        opts["transport"], opts["protocol"], opts["server"], opts["conns"], opts["depth"]))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(argv[2], dpi=110)
    except OSError as e:
        print("mcgen-plot: cannot write %s: %s" % (argv[2], e.strerror or e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

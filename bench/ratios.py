#!/usr/bin/env python3
"""Ratios and target checks from one bench.sh raw CSV (bench/run.sh calls this).

Medians are computed exactly as bench.sh computes its table: accepted runs only,
median of per-run req/s, of per-run proxy CPU us/request and of per-run p99.

Usage: ratios.py BENCH.csv [CLK_TCK]
"""
import csv
import os
import statistics as st
import sys

raw = sys.argv[1]
clk = int(sys.argv[2]) if len(sys.argv) > 2 else os.sysconf("SC_CLK_TCK")
rows = [r for r in csv.DictReader(open(raw)) if r.get("accepted", "1") != "0"]
objs = list(dict.fromkeys(r["object"] for r in rows))


def cell(o, n):
    rs = [r for r in rows if r["object"] == o and r["target"] == n]
    if not rs:
        return None
    cpu = [int(r["proxy_ticks"]) / clk * 1e6 / int(r["requests"]) for r in rs if r["proxy_ticks"]]
    oth = [float(r["other_pct"]) for r in rs if r.get("other_pct")]
    return dict(
        rps=st.median(int(r["requests"]) * 1e6 / int(r["duration_us"]) for r in rs),
        cpu=st.median(cpu) if cpu else None,
        p99=st.median(float(r["p99_us"]) for r in rs),
        other=max(oth) if oth else None,
        n=len(rs),
    )


def ratio(a, b, key):
    if not a or not b or a[key] is None or b[key] is None or not b[key]:
        return None
    return a[key] / b[key]


def f(x, fmt="{:.2f}"):
    return "-" if x is None else fmt.format(x)


# object sizes the targets are stated for (by file name: static/1k.bin -> "1k")
SIZE = {"1k": "1 KiB", "16k": "16 KiB", "128k": "128 KiB", "1m": "1 MiB"}


def size_of(o):
    base = o.rsplit("/", 1)[-1].split(".")[0]
    return base if base in SIZE else None


def report(cf_name):
    """The ratio table and the target checks for one cachefront target."""
    print("| object | cf/nginx req/s | cf/nginx CPU us/req | cf/floor req/s | cf/floor CPU us/req "
          "| cf/varnish CPU us/req | p99 cf / nginx | cf max other% |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    checks = []
    for o in objs:
        cf, ng, fl, va = (cell(o, n) for n in (cf_name, "nginx", "floor", "varnish"))
        if not cf:
            continue
        r_ng, c_ng = ratio(cf, ng, "rps"), ratio(cf, ng, "cpu")
        r_fl, c_fl = ratio(cf, fl, "rps"), ratio(cf, fl, "cpu")
        c_va = ratio(cf, va, "cpu")
        p99 = f"{cf['p99']:.0f} / {ng['p99']:.0f} us" if ng else "-"
        print(f"| {o} | {f(r_ng)} | {f(c_ng)} | {f(r_fl)} | {f(c_fl)} | {f(c_va)} | {p99} "
              f"| {f(cf['other'], '{:.0f}')} |")
        s = size_of(o)
        if s == "1k":
            checks += [(o, "req/s >= 1.25x nginx", r_ng, ">=", 1.25),
                       (o, "CPU us/req <= 0.75x nginx", c_ng, "<=", 0.75)]
        if s == "16k":
            checks += [(o, "req/s >= 1.10x nginx", r_ng, ">=", 1.10),
                       (o, "CPU us/req <= 0.85x nginx", c_ng, "<=", 0.85)]
        if s in ("1k", "16k"):
            checks.append((o, "CPU us/req <= 1.3x floor", c_fl, "<=", 1.3))
        if ng:
            checks.append((o, "p99 <= nginx p99", ratio(cf, ng, "p99"), "<=", 1.0))
        if s == "128k":
            checks.append((o, "req/s >= nginx", r_ng, ">=", 1.0))
        if s == "1m":
            checks.append((o, "CPU us/req <= Varnish", c_va, "<=", 1.0))

    print("\n| object | target | measured ratio | result |")
    print("|---|---|---:|---|")
    for o, name, v, op, lim in checks:
        if v is None:
            res = "n/a (missing data)"
        else:
            ok = v >= lim if op == ">=" else v <= lim
            res = "met" if ok else "MISSED"
        print(f"| {o} | {name} | {f(v, '{:.3f}')} | {res} |")


report("cachefront")
# bench/run.sh ACCESS_LOG=1: the same node with the access log on, beside the log-off one
if any(r["target"] == "cachefront+log" for r in rows):
    print("\n## cachefront+log (access log on, to tmpfs)\n")
    report("cachefront+log")
    print("\n| object | +log/no-log req/s | +log/no-log CPU us/req | p99 +log / no-log |")
    print("|---|---:|---:|---:|")
    for o in objs:
        on, off = cell(o, "cachefront+log"), cell(o, "cachefront")
        print(f"| {o} | {f(ratio(on, off, 'rps'))} | {f(ratio(on, off, 'cpu'))} | {f(ratio(on, off, 'p99'))} |")

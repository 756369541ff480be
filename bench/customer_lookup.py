"""What knowing the caller costs on the call path (a benchmark, not a test).

    .venv/bin/python bench/customer_lookup.py [--customers 100000] [--calls 200000]

The directory is filled with ``--customers`` customers (two mobile numbers each); then
``ArrivalDesk.identify`` runs for ``--calls`` arrivals, half of them known customers: normalise
the caller's number as Asterisk gives it (national format), find the customer, attach the
profile to ``CallArrived.data``, map the segment to a queue. Figures: the index's build time and
memory, and identify's mean and p99 per call in microseconds. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import tracemalloc

from acd.core.customers import Customer
from acd.core.events import CallArrived
from acd.runtime.customer_directory import ArrivalDesk, CustomerDirectory


class _NoInbox:
    def now(self) -> float:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    tracemalloc.start()
    started = time.perf_counter()
    directory = CustomerDirectory(None, "FR")
    for i in range(args.customers):
        directory.index.put(
            Customer(
                customer_id=f"c{i}",
                name=f"Client {i}",
                segment="premium" if i % 10 == 0 else "standard",
                vip_level=i % 4,
                numbers=(f"+336{i:08d}", f"+337{i:08d}"),
            )
        )
    build_s = time.perf_counter() - started
    memory_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    desk = ArrivalDesk(_NoInbox(), directory, segment_queues={"premium": "vip"})  # type: ignore[arg-type]
    timings: list[float] = []
    known = 0
    for n in range(args.calls):
        i = (n * 7919) % args.customers
        number = f"06{i:08d}" if n % 2 == 0 else f"07{n % 10**8:08d}"
        event = CallArrived(at=float(n), call_id=f"k{n}", queue="support", caller_number=number)
        t0 = time.perf_counter()
        out = desk.identify(event)
        timings.append(time.perf_counter() - t0)
        known += out is not event
    timings.sort()
    mean_us = sum(timings) / len(timings) * 1e6
    p99_us = timings[int(len(timings) * 0.99)] * 1e6
    load = os.getloadavg()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {load}"
    )
    print(f"index: {args.customers} customers in {build_s:.2f} s, {memory_mb:.0f} MB")
    print(f"identify: {args.calls} arrivals ({known} known):", end=" ")
    print(f"mean {mean_us:.1f} us, p99 {p99_us:.1f} us")
    print(
        json.dumps(
            {
                "customers": args.customers,
                "calls": args.calls,
                "known": known,
                "index_build_s": round(build_s, 3),
                "index_mb": round(memory_mb, 1),
                "identify_mean_us": round(mean_us, 2),
                "identify_p99_us": round(p99_us, 2),
                "load_1m": load[0],
            }
        )
    )


if __name__ == "__main__":
    main()

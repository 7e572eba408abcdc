#!/usr/bin/env python3
"""Soak test for sse-serve (loopback only, bounded in time; not part of the test run).

Runs one server with a `tail:` source and, for --minutes:
  * publishers bursting POSTs (text/event-stream bodies of 1-20 events) on two channels;
  * a file writer appending lines to the tailed file and rotating it (rename + new file);
  * well-behaved subscribers on all three channels that leave and rejoin at random,
    always with Last-Event-ID;
  * slow subscribers (small reads with pauses) and idle ones that never read and leave;
  * SIGTERM and a restart on the same port, at 1/3 and 2/3 of the run.
At the end every well-behaved subscriber must hold every acknowledged event id
exactly once, in increasing order, and every tail line exactly once; the
server's RSS and open descriptors are sampled every few seconds and must be flat.
Exit status 0 when all checks pass.
"""
import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CHANNELS = ["soak-a", "soak-b"]
TAIL_CHANNEL = "tail"


def id_key(text):
    return tuple(int(g) for g in text.split("-"))


class Shared:
    """State shared by the threads: acknowledged ids, tail lines, the gate for restarts."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Condition()
        self.acked = {c: set() for c in CHANNELS}
        self.unacked_posts = 0
        self.post_errors = 0
        self.tail_written = []
        self.stop = False
        self.restarting = False  # no departures, no tail writes while set
        self.away = 0  # well-behaved subscribers currently disconnected by choice
        self.publish_paused = False


def http_post(port, path, body, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                f"Content-Type: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n")
        s.sendall(head.encode() + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    return status, rest


def publisher(shared, index, rng):
    n = 0
    while not shared.stop:
        if shared.publish_paused:
            time.sleep(0.05)
            continue
        channel = rng.choice(CHANNELS)
        burst = rng.randint(1, 20)
        blocks = []
        for _ in range(burst):
            n += 1
            blocks.append(f"data: {channel} p{index}-{n} {'x' * rng.randint(0, 300)}\n\n")
        try:
            status, body = http_post(shared.port, f"/events/{channel}", "".join(blocks).encode())
        except OSError:
            status, body = 0, b""
        if status == 200:
            ids = json.loads(body)["ids"]
            with shared.lock:
                shared.acked[channel].update(ids)
        else:
            with shared.lock:
                shared.unacked_posts += 1
        time.sleep(rng.uniform(0.0, 0.15))


def tail_writer(shared, path, rng):
    n = 0
    last_rotation = time.time()
    f = open(path, "a")
    while not shared.stop:
        # Checked and written under one lock: a restart begins either before the
        # line (which then waits) or after it is written and counted (and the
        # restart waits until every subscriber has it), never in between, where
        # the line would land while no server follows the file.
        with shared.lock:
            while shared.restarting and not shared.stop:
                shared.lock.wait(0.2)
            n += 1
            line = f"tail-{n}"
            f.write(line + "\n")
            f.flush()
            shared.tail_written.append(line)
        if time.time() - last_rotation > 20:
            f.close()
            os.replace(path, path + ".1")  # rotation: rename, then a new file at the path
            f = open(path, "a")
            last_rotation = time.time()
        time.sleep(rng.uniform(0.01, 0.08))
    f.close()


class Subscriber(threading.Thread):
    """Reads /events?channel=... over chunked HTTP/1.1; reconnects with Last-Event-ID."""

    def __init__(self, shared, name, rng, slow=False, wanders=True):
        super().__init__(daemon=True)
        self.shared, self.name_, self.rng, self.slow, self.wanders = shared, name, rng, slow, wanders
        self.ids = []
        self.tail = []
        self.duplicates = 0
        self.disorder = 0
        self.gaps_notices = 0
        self.connects = 0
        self.last_id = "0"
        self.seen = set()
        self.retry = 0.2
        self.previous = None  # (id, first word of data, connect number) of the last event
        self.disorder_examples = []

    def run(self):
        while not self.shared.stop:
            try:
                self.session()
            except OSError:
                pass
            if self.shared.stop:
                break
            time.sleep(self.retry)

    def session(self):
        query = "&".join(f"channel={c}" for c in CHANNELS + [TAIL_CHANNEL])
        s = socket.create_connection(("127.0.0.1", self.shared.port), timeout=2)
        if self.slow:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        self.connects += 1
        s.sendall(f"GET /events?{query} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
                  f"Last-Event-ID: {self.last_id}\r\n\r\n".encode())
        raw = b""
        text = b""
        head_done = False
        chunk_left = None
        leave_at = time.time() + self.rng.uniform(5, 40) if self.wanders else None
        try:
            while not self.shared.stop:
                if leave_at and time.time() > leave_at:
                    with self.shared.lock:
                        if not self.shared.restarting:
                            self.shared.away += 1
                            break
                    leave_at = time.time() + 1
                try:
                    data = s.recv(4096 if self.slow else 262144)
                except socket.timeout:
                    continue
                if not data:
                    return
                if self.slow:
                    time.sleep(self.rng.uniform(0.0, 0.02))
                raw += data
                if not head_done:
                    end = raw.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    if not raw.startswith(b"HTTP/1.1 200"):
                        return
                    raw = raw[end + 4:]
                    head_done = True
                while True:
                    if chunk_left is None:
                        le = raw.find(b"\r\n")
                        if le < 0:
                            break
                        size = int(raw[:le].split(b";")[0] or b"0", 16)
                        raw = raw[le + 2:]
                        if size == 0:
                            return
                        chunk_left = size
                    if len(raw) < chunk_left + 2:
                        break
                    text += raw[:chunk_left]
                    raw = raw[chunk_left + 2:]
                    chunk_left = None
                while True:
                    end = text.find(b"\n\n")
                    if end < 0:
                        break
                    self.block(text[:end].decode("utf-8", "replace"))
                    text = text[end + 2:]
        finally:
            s.close()
        # Left by choice: stay away a moment, then rejoin with Last-Event-ID.
        time.sleep(self.rng.uniform(0.1, 2.0))
        with self.shared.lock:
            self.shared.away -= 1
            self.shared.lock.notify_all()

    def block(self, block):
        event_id, event_type, data = None, "message", []
        for line in block.split("\n"):
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("event: "):
                event_type = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line.startswith("retry: "):
                self.retry = int(line[7:]) / 1000
        if event_type == "sse-gap":
            self.gaps_notices += 1
            return
        if event_id is None:
            return
        if event_id in self.seen:
            self.duplicates += 1
            return
        tag = ("\n".join(data).split(" ") or [""])[0]
        if self.ids and id_key(event_id) <= id_key(self.ids[-1]):
            self.disorder += 1
            if len(self.disorder_examples) < 3:
                self.disorder_examples.append((self.previous, (event_id, tag, self.connects)))
        self.previous = (event_id, tag, self.connects)
        self.seen.add(event_id)
        self.ids.append(event_id)
        self.last_id = event_id
        payload = "\n".join(data)
        if payload.startswith("tail-"):
            self.tail.append(payload)


def idle_subscriber(shared, rng):
    """Connects, never reads, leaves after a while: a descriptor the server must give back."""
    while not shared.stop:
        try:
            s = socket.create_connection(("127.0.0.1", shared.port), timeout=2)
            s.sendall(f"GET /events/{rng.choice(CHANNELS)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            time.sleep(rng.uniform(1, 10))
            s.close()
        except OSError:
            time.sleep(0.5)


def buffered_kib(port):
    """The bytes of events the server holds for replay (`sse_buffered_bytes`), in KiB."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        for line in data.decode(errors="replace").splitlines():
            if line.startswith("sse_buffered_bytes "):
                return int(float(line.split()[1])) // 1024
    except OSError:
        pass
    return 0


def sample(pid, port):
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        return rss, fds, buffered_kib(port)
    except (OSError, StopIteration):
        return None


class Server:
    def __init__(self, binary, port, tail_path, log):
        self.binary, self.port, self.tail_path, self.log = binary, port, tail_path, log
        self.proc = None

    def start(self):
        args = [self.binary, "--host", "127.0.0.1", "--port", str(self.port), "--buffer", "200000",
                "--retry", "200", "--heartbeat", "2", "--public", "", f"tail:{self.tail_path}@{TAIL_CHANNEL}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.PIPE)
        line = self.proc.stderr.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"server did not start: {line!r}")
        self.port = int(line.strip().rsplit(":", 1)[1])
        threading.Thread(target=lambda: [self.log.write(l) for l in self.proc.stderr], daemon=True).start()

    def stop(self):
        started = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code, time.time() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--binary", default=".build-hard/debug/sse-serve")
    parser.add_argument("--subscribers", type=int, default=12)
    parser.add_argument("--slow", type=int, default=3)
    parser.add_argument("--idle", type=int, default=3)
    parser.add_argument("--publishers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="sse-soak-")
    tail_path = os.path.join(work, "app.log")
    open(tail_path, "w").close()
    log = open(os.path.join(work, "server.log"), "wb")
    print(f"soak: {args.minutes} min, seed {args.seed}, work dir {work}", flush=True)

    # A free loopback port, then the same port for every restart.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = Server(args.binary, port, tail_path, log)
    server.start()
    shared = Shared(server.port)

    subs = [Subscriber(shared, f"good-{i}", random.Random(rng.random())) for i in range(args.subscribers)]
    slow = [Subscriber(shared, f"slow-{i}", random.Random(rng.random()), slow=True, wanders=False) for i in range(args.slow)]
    threads = [threading.Thread(target=publisher, args=(shared, i, random.Random(rng.random())), daemon=True)
               for i in range(args.publishers)]
    threads.append(threading.Thread(target=tail_writer, args=(shared, tail_path, random.Random(rng.random())), daemon=True))
    threads += [threading.Thread(target=idle_subscriber, args=(shared, random.Random(rng.random())), daemon=True)
                for _ in range(args.idle)]
    for t in subs + slow + threads:
        t.start()

    duration = args.minutes * 60
    start = time.time()
    restarts_at = [start + duration / 3, start + 2 * duration / 3]
    lifetimes = [[]]  # samples (t, rss KiB, fds) per server process
    restarts = []
    next_sample = start
    while time.time() - start < duration:
        now = time.time()
        if now >= next_sample:
            s = sample(server.proc.pid, server.port)
            if s:
                lifetimes[-1].append((round(now - start, 1), *s))
            next_sample = now + 5
        if restarts_at and now >= restarts_at[0]:
            restarts_at.pop(0)
            # Nobody away (they would miss what the old server held), no tail
            # line half-read: then SIGTERM, and the same port again.
            with shared.lock:
                shared.restarting = True
                deadline = time.time() + 10
                while shared.away > 0 and time.time() < deadline:
                    shared.lock.wait(0.2)
            last_tail = shared.tail_written[-1] if shared.tail_written else None
            deadline = time.time() + 10
            while last_tail and time.time() < deadline and not all(last_tail in s.tail[-50:] for s in subs):
                time.sleep(0.05)
            code, took = server.stop()
            server.start()
            restarts.append((round(time.time() - start, 1), code, round(took, 2)))
            lifetimes.append([])
            with shared.lock:
                shared.restarting = False
                shared.lock.notify_all()
        time.sleep(0.2)

    # Wind down: stop producing, let every subscriber catch up, then check.
    shared.publish_paused = True
    with shared.lock:
        shared.restarting = True
    time.sleep(0.5)
    all_acked = set().union(*shared.acked.values())
    tail_written = list(shared.tail_written)
    deadline = time.time() + 30
    while time.time() < deadline:
        if all(all_acked <= s.seen and len(s.tail) >= len(tail_written) for s in subs):
            break
        time.sleep(0.2)
    final = sample(server.proc.pid, server.port)
    shared.stop = True
    code, took = server.stop()
    restarts.append((round(time.time() - start, 1), code, round(took, 2)))

    ok = True
    print(f"\npublished (acknowledged): {len(all_acked)} events "
          f"({', '.join(f'{c} {len(v)}' for c, v in shared.acked.items())}); "
          f"posts refused or cut during restarts: {shared.unacked_posts}; tail lines written: {len(tail_written)}")
    print("server stops (t s, exit code, seconds to exit):", restarts)
    for s in subs + slow:
        missing = len(all_acked - s.seen)
        tail_missing = len(set(tail_written) - set(s.tail))
        extra = len(s.seen - all_acked) - len(s.tail)
        good = s in subs
        line = (f"{s.name_:8} connects {s.connects:3}  events {len(s.ids):6}  missing {missing}  duplicates {s.duplicates}"
                f"  out-of-order {s.disorder}  gap notices {s.gaps_notices}  tail {len(s.tail)}/{len(tail_written)}"
                f" (missing {tail_missing})  unacknowledged extras {extra}")
        print(line)
        for example in s.disorder_examples:
            print(f"           out of order: {example[0]} then {example[1]}")
        if good and (missing or s.duplicates or s.disorder or tail_missing or s.gaps_notices):
            ok = False
    for i, samples in enumerate(lifetimes):
        if not samples:
            continue
        rss = [r for _, r, _, _ in samples]
        fds = [f for _, _, f, _ in samples]
        buffered = [b for _, _, _, b in samples]
        # What the buffers legitimately hold (--buffer is large here, so they
        # fill for the whole run) is not growth: the rest must stay flat.
        rest = [r - b for r, b in zip(rss, buffered)]
        print(f"server {i + 1}: {len(samples)} samples; RSS KiB first {rss[0]} min {min(rss)} max {max(rss)} last {rss[-1]};"
              f" buffered events KiB last {buffered[-1]}; RSS less buffers first {rest[0]} max {max(rest)} last {rest[-1]};"
              f" fds first {fds[0]} min {min(fds)} max {max(fds)} last {fds[-1]}")
        # Flat: the second half of a lifetime does not grow past the first half's peak by much.
        half = len(rss) // 2
        if half >= 3 and max(rest[half:]) > max(rest[:half]) * 1.25 + 4096:
            print(f"  RSS grows in server {i + 1}")
            ok = False
        if half >= 3 and max(fds[half:]) > max(fds[:half]) + 8:
            print(f"  descriptors grow in server {i + 1}")
            ok = False
    if final:
        print(f"at the end (all subscribers connected, nothing pending): RSS {final[0]} KiB, {final[1]} descriptors")
    if any(c != 0 for _, c, _ in restarts):
        ok = False
    print("soak:", "PASS" if ok else "FAIL", f"(server log: {work}/server.log)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A Hugging Face hub in miniature for the download tests: serves one model folder as
repository REPO at one commit on a loopback port, with the hub's routes and headers.

  hub_server.py DIR REPO COMMIT [--cut-once] [--corrupt] [--token T] [--log FILE]

GET/HEAD /<REPO>/resolve/<main|COMMIT>/<file> answers as the hub does: ETag (the git
blob sha1) and X-Repo-Commit for small files; a 302 to /cdn/<sha256> with
X-Linked-Etag (the sha256) and X-Linked-Size for model.safetensors, whose bytes the
/cdn route serves with Range support. Failure switches: --cut-once closes the
connection halfway through the first full download of the weights; --corrupt serves
weights with one byte changed; --token answers 401 to requests without
"Authorization: Bearer T". Every request line (with its Range header) goes to --log.
Prints the port on stdout once it listens.
"""
import hashlib
import http.server
import os
import sys
import threading

LFS = {"model.safetensors"}


def main():
    args = sys.argv[1:]
    folder, repo, commit = args[0], args[1], args[2]
    cut_once = "--cut-once" in args
    corrupt = "--corrupt" in args
    token = args[args.index("--token") + 1] if "--token" in args else None
    log_path = args[args.index("--log") + 1] if "--log" in args else None
    state = {"cut": False}
    lock = threading.Lock()

    def read(name):
        with open(os.path.join(folder, name), "rb") as f:
            return f.read()

    def log(line):
        if log_path:
            with lock, open(log_path, "a") as f:
                f.write(line + "\n")

    class Hub(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def answer(self, status, headers, body=b"", send_body=True):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def route(self, send_body):
            log(f"{self.command} {self.path} range={self.headers.get('Range', '')}")
            if token is not None and self.headers.get("Authorization") != f"Bearer {token}":
                return self.answer(401, {"X-Error-Code": "GatedRepo"}, b"Access to this model is restricted", send_body)
            if self.path.startswith("/cdn/"):
                return self.cdn(self.path[len("/cdn/"):], send_body)
            prefix = f"/{repo}/resolve/"
            if not self.path.startswith(prefix):
                return self.answer(404, {"X-Error-Code": "RepoNotFound"}, b"Repository not found", send_body)
            revision, _, name = self.path[len(prefix):].partition("/")
            if revision not in ("main", commit):
                return self.answer(404, {"X-Error-Code": "RevisionNotFound"}, b"Revision not found", send_body)
            path = os.path.normpath(os.path.join(folder, name))
            if not path.startswith(os.path.abspath(folder) + os.sep) or not os.path.isfile(path):
                return self.answer(404, {"X-Error-Code": "EntryNotFound"}, b"Entry not found", send_body)
            data = read(name)
            if name in LFS:
                sha = hashlib.sha256(data).hexdigest()
                return self.answer(302, {"Location": f"/cdn/{sha}", "X-Repo-Commit": commit,
                                         "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)),
                                         "ETag": f'"{hashlib.sha1(data).hexdigest()}"'}, b"", send_body)
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            return self.answer(200, {"X-Repo-Commit": commit, "ETag": f'"{blob}"'}, data, send_body)

        def cdn(self, sha, send_body):
            data = next((read(n) for n in LFS if os.path.exists(os.path.join(folder, n))
                         and hashlib.sha256(read(n)).hexdigest() == sha), None)
            if data is None:
                return self.answer(404, {}, b"no such object", send_body)
            if corrupt:
                data = data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[len("bytes="):-1])
                if start >= len(data):
                    return self.answer(416, {"Content-Range": f"bytes */{len(data)}"}, b"", send_body)
            headers = {"ETag": f'"{sha}"', "Accept-Ranges": "bytes"}
            status = 200
            if start:
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            body = data[start:]
            if cut_once and not start and send_body and not state["cut"]:
                state["cut"] = True
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return None
            return self.answer(status, headers, body, send_body)

        def do_GET(self):
            self.route(True)

        def do_HEAD(self):
            self.route(False)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

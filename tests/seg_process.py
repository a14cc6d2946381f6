"""One Python process that runs `seg` commands one after another, for tests that run many of them.

A `python -m seg_cli` process spends about 3 s importing torch and torchvision (more with timm and
transformers) before its command starts, which is most of a tiny command's time. SegProcess pays that once:
its worker calls `seg_cli.cli.main` (what the `seg` entry point calls) for each command, with the command's
stdout and stderr sent to their own files at the file-descriptor level, so a command's output and exit status
read as a subprocess's would. Each command starts in the process's own working directory and environment.

What only a fresh process shows (start-up time, imports, signals, per-process globals read at import, such
as HF_HOME) is tested with `tests.helpers.run_seg`; the environment is set once, when the process starts.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from pathlib import Path

from tests.helpers import cli_env

WORKER = r"""
import json, os, sys, traceback
from seg_cli.cli import main

control = os.fdopen(os.dup(1), "w")  # replies go here, never into a command's output
saved = os.dup(1), os.dup(2)
home, environ = os.getcwd(), dict(os.environ)
for line in sys.stdin:
    request = json.loads(line)
    os.chdir(home)
    os.environ.clear()
    os.environ.update(environ)
    with open(request["stdout"], "w") as out, open(request["stderr"], "w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            code = main(request["argv"])
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            traceback.print_exc()
            code = 1
        if isinstance(code, str):  # sys.exit("message"): Python prints it and exits 1
            print(code, file=sys.stderr)
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
    control.write(json.dumps({"returncode": int(code or 0)}) + "\n")
    control.flush()
"""


class SegProcess:
    """`run(*args)` is `seg ARGS` in `cwd`, answered as a finished subprocess (text stdout and stderr)."""

    def __init__(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.cwd, self.count = Path(cwd), 0
        self.log = self.cwd / ".seg_process.log"  # the worker's own output outside commands (a crash)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen([sys.executable, "-c", WORKER], cwd=self.cwd, env=cli_env(env), text=True,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        self.count += 1
        out, err = (self.cwd / f".seg_process.{self.count}.{name}" for name in ("out", "err"))
        self.process.stdin.write(json.dumps({"argv": list(args), "stdout": str(out), "stderr": str(err)}) + "\n")
        self.process.stdin.flush()
        returncode = self._reply(timeout)
        stdout, stderr = (path.read_text() if path.exists() else "" for path in (out, err))
        for path in (out, err):
            path.unlink(missing_ok=True)
        if returncode is None:  # the worker died: its last words are in the log
            stderr += self.log.read_text()
            returncode = self.process.wait()
        return subprocess.CompletedProcess(["seg", *args], returncode, stdout, stderr)

    def _reply(self, timeout: float) -> int | None:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            self.process.kill()
            raise subprocess.TimeoutExpired(["seg"], timeout)
        line = self.process.stdout.readline()
        return json.loads(line)["returncode"] if line else None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self) -> SegProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

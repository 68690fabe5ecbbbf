"""The lesson kernel: runs one lesson's fences in order, in one namespace, as notebook cells run.

lessons.py starts a kernel in one of two ways, and the kernel cannot tell them apart:
- `python lesson_kernel.py serve SOCKET` starts the kernel server. It imports torch (with the
  parts torch.optim loads lazily) and matplotlib once, then listens on a Unix socket. Each
  connection is forked into a fresh kernel that starts in a fraction of a second. The server
  does no tensor work and starts no threads, so forking it is safe.
- `python lesson_kernel.py fresh FD` is one kernel in a new interpreter, talking over an
  inherited socket: for platforms where forking is unsafe (macOS) or missing. Same code, slower.

Every message is a framed Python object (multiprocessing.connection), on a channel of its own:
nothing a fence writes can reach it. The first message sets the kernel up
({"workdir", "figure_dir", "output"}) and is answered with {"pid"}; each later one is a fence
({"code", "syntax", "filename"}) answered with {"ok", "output", "figures", "error", "seconds"}.
What a fence writes, from Python, a C library or a child process alike, goes to the `output`
file, read back after the fence. Figures it shows are saved as SVG into `figure_dir`.
"""

import io
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import types
import warnings
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("module://capture_backend")

import capture_backend
import matplotlib.pyplot as plt
import matplotlib.text
import numpy as np
import torch
import torch._dynamo  # torch.optim imports it at its first call: 4 s saved in every kernel
from matplotlib.figure import Figure

# Hash salt and no date: the same figure gives the same SVG bytes on every build.
plt.rcParams["svg.hashsalt"] = "learn-the-training-loop"
plt.rcParams["svg.fonttype"] = "path"

EMPTY_STDIN = "fences run with an empty stdin: a lesson cannot ask its reader for input"


# On a 390 px phone a figure is drawn at most 316 px wide (the column, less the padding of the
# image and of a fold around it); an SVG's natural width is 96 px per inch of its figure.
PHONE_FIGURE_PX = 316
SMALLEST_TEXT_PX = 8


def smallest_text_on_a_phone(figure: Figure) -> tuple[float, str]:
    """The height in px, on a phone, of the figure's smallest visible text, and that text."""
    width_px = figure.get_figwidth() * 96
    scale = min(1.0, PHONE_FIGURE_PX / width_px)
    texts = [
        text
        for text in figure.findobj(matplotlib.text.Text)
        if isinstance(text, matplotlib.text.Text) and text.get_visible() and text.get_text().strip()
    ]
    if not texts:
        return float("inf"), ""
    smallest = min(texts, key=lambda text: float(text.get_fontsize()))
    return float(smallest.get_fontsize()) * 96 / 72 * scale, smallest.get_text()


def save_shown_figures(figure_dir: Path, first_index: int) -> list[dict[str, str]]:
    saved = []
    for offset, figure in enumerate(capture_backend.shown):
        alt = str(figure.get_label()).strip()
        if not alt:
            raise ValueError(
                "a figure was shown without alt text: call fig.set_label('what it shows') "
                "before plt.show()"
            )
        words = re.sub(r"[^a-z0-9]+", "-", alt.lower()).strip("-").split("-")[:6]
        name = f"fig-{first_index + offset}-{'-'.join(words)}.svg"
        figure.savefig(figure_dir / name, format="svg", metadata={"Date": None})
        # A PNG copy for the notebooks: Jupyter shows no SVG in a notebook it does not trust.
        png = figure_dir / f"{name.removesuffix('.svg')}.png"
        figure.savefig(png, format="png", dpi=100, metadata={"Software": None})
        px, text = smallest_text_on_a_phone(figure)
        if px < SMALLEST_TEXT_PX:
            widest = 10 * 96 / 72 * PHONE_FIGURE_PX / SMALLEST_TEXT_PX / 96  # for 10 pt text
            raise ValueError(
                f"figure {first_index + offset} ('{alt[:40]}...'): its text {text!r} would be "
                f"{px:.1f} px tall on a phone, under {SMALLEST_TEXT_PX} px. The figure is "
                f"{figure.get_figwidth():.1f} in wide; 10 pt text stays legible up to "
                f"{widest:.1f} in: stack side-by-side panels, or make the text larger"
            )
        plt.close(figure)
        saved.append({"file": name, "alt": alt})
    capture_backend.shown.clear()
    return saved


def error_report(error: BaseException) -> dict[str, Any]:
    frames = [
        {"filename": frame.filename, "lineno": frame.lineno or 0, "line": frame.line or ""}
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename != __file__  # the kernel's own frames say nothing about the lesson
    ]
    if isinstance(error, SyntaxError) and error.filename:
        frames.append(
            {"filename": error.filename, "lineno": error.lineno or 0, "line": error.text or ""}
        )
    message = str(error)
    if isinstance(error, EOFError):
        message = f"{message} ({EMPTY_STDIN})"
    return {"type": type(error).__name__, "message": message, "frames": frames}


def run_fence(request: dict[str, str], namespace: dict[str, Any]) -> None:
    code, syntax = request["code"], request["syntax"]
    if syntax == "python":
        exec(compile(code, request["filename"], "exec"), namespace)
        return
    shell = shutil.which(syntax)
    if shell is None:
        raise RuntimeError(f"{syntax} is not installed, so this {syntax} fence cannot run")
    # The shell writes to the kernel's own stdout and stderr: the output file.
    done = subprocess.run([shell, "-c", code], stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{syntax} fence exited with status {done.returncode}")


def read_output(output: io.BufferedReader, start: int, limit: int) -> str:
    output.seek(start)
    return output.read(limit).decode("utf-8", errors="replace")


def unbuffered_text(fd: int) -> io.TextIOWrapper:
    """Unbuffered, so that Python's output and a child's interleave in the order written."""
    raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 (open as long as the kernel)
    return io.TextIOWrapper(raw, encoding="utf-8", write_through=True)


def start_clean(setup: dict[str, str]) -> tuple[dict[str, Any], io.BufferedReader]:
    """Make this process look like a new program: its own stdin, stdout, directory, seeds and
    `__main__` module. Returns the fences' namespace and a reader of what they write."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # input() sees end of file at once, and a shell's `cat` reads nothing
    written = os.open(setup["output"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(written, 1)
    os.dup2(written, 2)
    os.close(null)
    os.close(written)
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout, sys.stderr = unbuffered_text(1), unbuffered_text(2)
    os.chdir(setup["workdir"])
    # A forked kernel inherits the server's generators: draw fresh seeds as a new program does.
    random.seed()
    np.random.seed()
    torch.manual_seed(torch.initial_seed())
    # A real module, so that pickle finds classes and functions a fence defines.
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    warnings.simplefilter("error")  # a warning on the page is a defect: fail instead
    return main.__dict__, open(setup["output"], "rb")


def run_kernel(channel: Connection) -> None:
    setup = channel.recv()
    namespace, output = start_clean(setup)
    figure_dir = Path(setup["figure_dir"])
    channel.send({"pid": os.getpid()})
    figure_count = 0
    while True:
        try:
            request = channel.recv()
        except EOFError:
            return  # the lesson is over
        start = os.fstat(output.fileno()).st_size
        began = time.perf_counter()
        reply: dict[str, Any] = {"ok": True, "figures": []}
        try:
            run_fence(request, namespace)
            reply["figures"] = save_shown_figures(figure_dir, figure_count + 1)
            figure_count += len(reply["figures"])
            if plt.get_fignums():
                raise ValueError("a figure was drawn but never shown: end it with plt.show()")
        except BaseException as error:  # report everything, SystemExit included
            reply = {"ok": False, "figures": [], "error": error_report(error)}
            capture_backend.shown.clear()
            plt.close("all")
        reply["seconds"] = time.perf_counter() - began
        reply["output"] = read_output(output, start, setup["output_limit"])
        channel.send(reply)


def serve(path: str) -> None:
    """Fork a kernel for each connection, until the process that started the server ends."""
    missing = [name for name in ("torch._dynamo", "matplotlib.pyplot") if name not in sys.modules]
    if missing:
        raise SystemExit(f"kernel server: preloading failed for {', '.join(missing)}")
    tasks = Path("/proc/self/task")
    if tasks.is_dir() and len(list(tasks.iterdir())) > 1:  # a fork copies only one thread
        raise SystemExit("kernel server: preloading started threads, so forking is unsafe")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel's parent is lessons.py, not us
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready:
            return  # end of file: the build or test run that started the server has ended
        client, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            os.setsid()  # a group of its own: closing the lesson ends what its fences started
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            exit_code = 0
            try:
                run_kernel(Connection(client.detach()))
            except BaseException:
                traceback.print_exc()
                exit_code = 1
            os._exit(exit_code)  # never return into the server's loop
        client.close()


def main() -> None:
    mode, where = sys.argv[1], sys.argv[2]
    if mode == "serve":
        serve(where)
    else:
        run_kernel(Connection(int(where)))


if __name__ == "__main__":
    main()

"""Runs one lesson's fences in order, in one namespace, as notebook cells run.

The build hook and the tests start this file as a child process (see lessons.py) and send it one
JSON request per line on stdin: {"code", "syntax", "filename"}. It answers one JSON line per
request on the pipe it was started with, then waits for the next fence. What the code prints
is captured per fence; figures it shows are saved as SVG into the folder named by argv[1].
"""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("module://capture_backend")

import capture_backend
import matplotlib.pyplot as plt

# Hash salt and no date: the same figure gives the same SVG bytes on every build.
plt.rcParams["svg.hashsalt"] = "learn-the-training-loop"
plt.rcParams["svg.fonttype"] = "path"


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
    return {
        "type": type(error).__name__,
        "message": str(error),
        "frames": frames,
    }


def run_fence(request: dict[str, str], namespace: dict[str, Any], out: io.StringIO) -> None:
    code, syntax = request["code"], request["syntax"]
    if syntax == "python":
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(compile(code, request["filename"], "exec"), namespace)
        return
    shell = {"bash": "/bin/bash", "sh": "/bin/sh"}[syntax]
    done = subprocess.run([shell, "-c", code], capture_output=True, text=True, check=False)
    out.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{syntax} fence exited with status {done.returncode}")


def main() -> None:
    figure_dir = Path(sys.argv[1])
    # Replies go to a private copy of stdout; fd 1 then points at stderr, so output that user
    # code writes past sys.stdout (a C library, a child process) cannot corrupt the protocol.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    warnings.simplefilter("error")  # a warning on the page is a defect: fail instead
    namespace: dict[str, Any] = {"__name__": "__main__"}
    figure_count = 0
    for line in sys.stdin:
        request = json.loads(line)
        out = io.StringIO()
        reply: dict[str, Any] = {"ok": True, "figures": []}
        try:
            run_fence(request, namespace, out)
            reply["figures"] = save_shown_figures(figure_dir, figure_count + 1)
            figure_count += len(reply["figures"])
            if plt.get_fignums():
                raise ValueError("a figure was drawn but never shown: end it with plt.show()")
        except BaseException as error:  # report everything, SystemExit included
            reply = {"ok": False, "error": error_report(error)}
            capture_backend.shown.clear()
            plt.close("all")
        reply["output"] = out.getvalue()
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
